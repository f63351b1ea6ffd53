//! `/chat`: Chat. The page fills in with its issue; until then it says
//! what it will do.

use crate::components::page::PageHeader;
use leptos::prelude::*;

#[component]
pub fn Chat() -> impl IntoView {
    view! {
        <PageHeader title="Chat" lead="A chat with history. Visitors get a number of free replies; members spend credits." />
        <section class="card" aria-labelledby="chat-soon">
            <h2 id="chat-soon" class="card__title">"Coming soon"</h2>
            <p class="card__text">"This experience is being built. The server and the app are ready for it."</p>
        </section>
    }
}
