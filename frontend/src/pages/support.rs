//! `/support`: Support. The page fills in with its issue; until then it says
//! what it will do.

use crate::components::page::PageHeader;
use leptos::prelude::*;

#[component]
pub fn Support() -> impl IntoView {
    view! {
        <PageHeader title="Support" lead="A supportive conversation. If you are in danger, the crisis resources stay on screen." />
        <section class="card" aria-labelledby="support-soon">
            <h2 id="support-soon" class="card__title">"Coming soon"</h2>
            <p class="card__text">"This experience is being built. The server and the app are ready for it."</p>
        </section>
    }
}
