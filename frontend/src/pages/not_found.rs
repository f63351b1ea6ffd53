//! Any path the app does not know.

use crate::components::page::PageHeader;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

#[component]
pub fn NotFound() -> impl IntoView {
    let location = use_location();
    view! {
        <PageHeader title="Page not found" />
        <section class="banner banner--info" role="note">
            <p>
                "There is no page at " <code>{move || location.pathname.get()}</code> ". "
                <A href="/">"Go to the home page"</A> "."
            </p>
        </section>
    }
}
