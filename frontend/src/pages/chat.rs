//! `/chat`: Chat. The page fills in with its issue.

use crate::components::placeholder::Placeholder;
use leptos::prelude::*;

#[component]
pub fn Chat() -> impl IntoView {
    view! { <Placeholder title="Chat" lead="A chat with history. Visitors get a number of free replies; members spend credits." /> }
}
