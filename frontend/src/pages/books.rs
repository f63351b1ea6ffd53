//! `/books`: BooksWriter. The page fills in with its issue.

use crate::components::placeholder::Placeholder;
use leptos::prelude::*;

#[component]
pub fn Books() -> impl IntoView {
    view! { <Placeholder title="BooksWriter" lead="Ask for a plot, a world, characters or an author; specialist agents stream their work and save what they make." /> }
}
