//! The header: brand, one link per experience, and the server status.

use crate::components::status::ConnectionStatus;
use crate::components::user_menu::UserMenu;
use crate::hooks::connection::ConnState;
use leptos::prelude::*;
use leptos_router::components::A;

/// The experiences, in navigation order: (path, label).
pub const NAV_LINKS: &[(&str, &str)] = &[
    ("/rolecard", "Role cards"),
    ("/books", "BooksWriter"),
    ("/personas", "Personas"),
    ("/chat", "Chat"),
    ("/support", "Support"),
];

/// The site header. `A` marks the current page with `aria-current="page"`.
#[component]
pub fn NavBar(#[prop(into)] server: Signal<ConnState>) -> impl IntoView {
    view! {
        <header class="site-header">
            <div class="site-header__inner">
                <A href="/" attr:class="brand">
                    <span class="brand__mark" aria-hidden="true">"◐"</span>
                    <span>"Chorus"</span>
                </A>
                <nav class="nav" aria-label="Main">
                    <ul class="nav__list">
                        {NAV_LINKS
                            .iter()
                            .map(|(href, label)| {
                                view! {
                                    <li>
                                        <A href=*href attr:class="nav__link">
                                            {*label}
                                        </A>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
                <div class="site-header__end">
                    <ConnectionStatus state=server label="Server" />
                    <UserMenu />
                </div>
            </div>
        </header>
    }
}
