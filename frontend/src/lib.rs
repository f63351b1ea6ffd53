//! The Chorus app: Leptos 0.8, client-side rendered, built by trunk.
//!
//! - [`App`]: the router and the shell (header, navigation, connection
//!   status, main area).
//! - [`pages`]: one module per route.
//! - [`components`]: pieces every page shares (page header, status dot).
//! - [`hooks`]: connections in the leptos-use shape (`use_x` returning
//!   signals), their logic in plain structs tested with `cargo test`.

pub mod api;
pub mod components;
pub mod hooks;
pub mod pages;

use components::nav::NavBar;
use leptos::prelude::*;
use leptos_meta::{Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::path;

/// The pages laid out as an app shell (see [`components::conversation`]).
const APP_PAGES: &[&str] = &["/chat", "/support", "/books", "/personas"];

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|text: String| {
            if text.is_empty() { "Chorus".to_owned() } else { format!("{text} · Chorus") }
        } />
        <Router>
            <Shell />
        </Router>
    }
}

/// Everything inside the router: the session, the header and the pages.
#[component]
fn Shell() -> impl IntoView {
    let server = hooks::server_status::use_server_status();
    let session = hooks::session::provide_session();
    // A refused token sends the user to sign in, keeping their place.
    let navigate = use_navigate();
    let location = use_location();
    Effect::new(move |_| {
        if session.expired.get() {
            // leptos_router's `search` comes without its '?'.
            let search = location.search.get_untracked();
            let here = match search.is_empty() {
                true => location.pathname.get_untracked(),
                false => format!("{}?{search}", location.pathname.get_untracked()),
            };
            if !here.starts_with("/login") {
                let next = js_sys::encode_uri_component(&here);
                navigate(&format!("/login?expired=1&next={next}"), Default::default());
            }
        }
    });
    // Conversation pages fill the window: only their conversation scrolls.
    let app_page =
        Memo::new(move |_| APP_PAGES.contains(&location.pathname.get().trim_end_matches('/')));
    view! {
        <div class="layout" class:layout--app=app_page>
        <a class="skip-link" href="#main">"Skip to content"</a>
        <NavBar server=server.state />
        <main id="main" class="main" tabindex="-1">
            <Routes fallback=|| view! { <pages::not_found::NotFound /> }>
                <Route path=path!("/") view=pages::home::Home />
                <Route path=path!("/rolecard") view=pages::rolecard::RoleCards />
                <Route path=path!("/books") view=pages::books::Books />
                <Route path=path!("/personas") view=pages::personas::Personas />
                <Route path=path!("/chat") view=pages::chat::Chat />
                <Route path=path!("/support") view=pages::support::Support />
                <Route path=path!("/login") view=pages::login::Login />
                <Route path=path!("/admin") view=pages::admin::Admin />
                <Route path=path!("/docs") view=pages::docs::Docs />
            </Routes>
        </main>
        </div>
    }
}
