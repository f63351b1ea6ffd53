//! `/rolecard`: Role cards. The page fills in with its issue; until then it says
//! what it will do.

use crate::components::page::PageHeader;
use leptos::prelude::*;

#[component]
pub fn RoleCards() -> impl IntoView {
    view! {
        <PageHeader title="Role cards" lead="Write memories about a person and the people around them; Chorus turns them into a layered role card, streamed with live progress." />
        <section class="card" aria-labelledby="rolecard-soon">
            <h2 id="rolecard-soon" class="card__title">"Coming soon"</h2>
            <p class="card__text">"This experience is being built. The server and the app are ready for it."</p>
        </section>
    }
}
