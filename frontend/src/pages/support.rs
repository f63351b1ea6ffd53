//! `/support`: Support. The page fills in with its issue.

use crate::components::placeholder::Placeholder;
use leptos::prelude::*;

#[component]
pub fn Support() -> impl IntoView {
    view! { <Placeholder title="Support" lead="A supportive conversation. If you are in danger, the crisis resources stay on screen." /> }
}
