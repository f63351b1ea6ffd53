//! `/books`: BooksWriter. The page fills in with its issue; until then it says
//! what it will do.

use crate::components::page::PageHeader;
use leptos::prelude::*;

#[component]
pub fn Books() -> impl IntoView {
    view! {
        <PageHeader title="BooksWriter" lead="Ask for a plot, a world, characters or an author; specialist agents stream their work and save what they make." />
        <section class="card" aria-labelledby="books-soon">
            <h2 id="books-soon" class="card__title">"Coming soon"</h2>
            <p class="card__text">"This experience is being built. The server and the app are ready for it."</p>
        </section>
    }
}
