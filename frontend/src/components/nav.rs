//! The header: brand, one link per experience, the server status and the
//! account corner, in one row; on a phone the links and the account fold
//! into a menu.

use crate::components::status::ConnectionStatus;
use crate::components::user_menu::UserMenu;
use crate::hooks::connection::ConnState;
use crate::router::use_location;
use leptos::prelude::*;

/// The experiences, in navigation order: (path, label).
pub const NAV_LINKS: &[(&str, &str)] = &[
    ("/rolecard", "Role cards"),
    ("/books", "BooksWriter"),
    ("/personas", "Personas"),
    ("/chat", "Chat"),
    ("/support", "Support"),
];

/// The site header; the current page's link has `aria-current="page"`.
#[component]
pub fn NavBar(#[prop(into)] server: Signal<ConnState>) -> impl IntoView {
    let open = RwSignal::new(false);
    // A link followed closes the menu.
    let location = use_location();
    Effect::new(move |_| {
        location.pathname.track();
        open.set(false);
    });
    view! {
        <header class="site-header">
            <div class="site-header__inner">
                <a href="/" class="brand">
                    <span class="brand__mark" aria-hidden="true">"◐"</span>
                    <span>"Chorus"</span>
                </a>
                <ConnectionStatus state=server label="Server" />
                <button
                    type="button"
                    class="btn btn--sm site-menu__button"
                    aria-expanded=move || open.get().to_string()
                    aria-controls="site-menu"
                    on:click=move |_| open.update(|o| *o = !*o)
                >
                    "Menu"
                </button>
                <div id="site-menu" class="site-menu" class:site-menu--open=open>
                <nav class="nav" aria-label="Main">
                    <ul class="nav__list">
                        {NAV_LINKS
                            .iter()
                            .map(|(href, label)| {
                                view! {
                                    <li>
                                        <a
                                            href=*href
                                            class="nav__link"
                                            aria-current=move || location.pathname.with(|p| p == href).then_some("page")
                                        >
                                            {*label}
                                        </a>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
                <div class="site-header__end">
                    <UserMenu />
                </div>
                </div>
            </div>
        </header>
    }
}
