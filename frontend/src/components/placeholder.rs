//! A page whose experience is still being built: its title, what it will
//! do, and a card saying so.

use crate::components::page::PageHeader;
use leptos::prelude::*;

#[component]
pub fn Placeholder(title: &'static str, lead: &'static str) -> impl IntoView {
    view! {
        <PageHeader title=title lead=lead />
        <section class="card" aria-label="Coming soon">
            <h2 class="card__title">"Coming soon"</h2>
            <p class="card__text">"This experience is being built. The server and the app are ready for it."</p>
        </section>
    }
}
