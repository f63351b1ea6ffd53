//! Any path the app does not know.

use crate::components::page::PageHeader;
use crate::router::use_location;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    let location = use_location();
    view! {
        <PageHeader title="Page not found" />
        <section class="banner banner--info" role="note">
            <p>
                "There is no page at " <code>{move || location.pathname.get()}</code> ". "
                <a href="/">"Go to the home page"</a> "."
            </p>
        </section>
    }
}
