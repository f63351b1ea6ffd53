//! `/personas`: Personas. The page fills in with its issue; until then it says
//! what it will do.

use crate::components::page::PageHeader;
use leptos::prelude::*;

#[component]
pub fn Personas() -> impl IntoView {
    view! {
        <PageHeader title="Personas" lead="Pick up to eight personas, ask once, and watch every answer stream into its own column." />
        <section class="card" aria-labelledby="personas-soon">
            <h2 id="personas-soon" class="card__title">"Coming soon"</h2>
            <p class="card__text">"This experience is being built. The server and the app are ready for it."</p>
        </section>
    }
}
