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
pub mod json;
pub mod pages;
pub mod router;

use components::nav::NavBar;
use leptos::prelude::*;
use router::{provide_router, use_navigate};

/// The pages laid out as an app shell (see [`components::conversation`]).
const APP_PAGES: &[&str] = &["/chat", "/support", "/books", "/personas"];

/// The page at `path` (the pathname memo changes only with the path, so a
/// new query keeps the page).
fn page(path: &str) -> AnyView {
    use pages::*;
    match path.trim_end_matches('/') {
        "" => view! { <home::Home /> }.into_any(),
        "/rolecard" => view! { <rolecard::RoleCards /> }.into_any(),
        "/books" => view! { <books::Books /> }.into_any(),
        "/personas" => view! { <personas::Personas /> }.into_any(),
        "/chat" => view! { <chat::Chat /> }.into_any(),
        "/support" => view! { <support::Support /> }.into_any(),
        "/login" => view! { <login::Login /> }.into_any(),
        "/admin" => view! { <admin::Admin /> }.into_any(),
        "/docs" => view! { <docs::Docs /> }.into_any(),
        _ => view! { <not_found::NotFound /> }.into_any(),
    }
}

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    provide_router();
    view! { <Shell /> }
}

/// Everything inside the router: the session, the header and the pages.
#[component]
fn Shell() -> impl IntoView {
    let server = hooks::server_status::use_server_status();
    let session = hooks::session::provide_session();
    // A refused token sends the user to sign in, keeping their place.
    let navigate = use_navigate();
    let location = router::use_location();
    Effect::new(move |_| {
        if session.expired.get() {
            // `search` comes without its '?'.
            let search = location.search.get_untracked();
            let here = match search.is_empty() {
                true => location.pathname.get_untracked(),
                false => format!("{}?{search}", location.pathname.get_untracked()),
            };
            if !here.starts_with("/login") {
                let next = js_sys::encode_uri_component(&here);
                navigate(&format!("/login?expired=1&next={next}"));
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
            {move || page(&location.pathname.get())}
        </main>
        </div>
    }
}
