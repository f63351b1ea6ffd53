//! `/rolecard`: Role cards. The page fills in with its issue.

use crate::components::placeholder::Placeholder;
use leptos::prelude::*;

#[component]
pub fn RoleCards() -> impl IntoView {
    view! { <Placeholder title="Role cards" lead="Write memories about a person and the people around them; Chorus turns them into a layered role card, streamed with live progress." /> }
}
