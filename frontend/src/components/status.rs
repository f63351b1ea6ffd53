//! The connection-status indicator: a coloured dot and a word, announced to
//! screen readers when it changes. Every hook that owns a connection feeds
//! one of these with its `ConnState`.

use crate::hooks::connection::ConnState;
use leptos::prelude::*;

#[component]
pub fn ConnectionStatus(
    #[prop(into)] state: Signal<ConnState>,
    /// What is connected ("Server", "Stream" …), read before the state.
    label: &'static str,
) -> impl IntoView {
    view! {
        <span
            class="status"
            role="status"
            aria-live="polite"
            data-state=move || state.get().key()
            title=move || format!("{label}: {}", state.get().label())
        >
            <span class=move || format!("dot dot--{}", state.get().tone()) aria-hidden="true"></span>
            <span class="status__text">
                <span class="visually-hidden">{label} ": "</span>
                {move || state.get().label()}
            </span>
        </span>
    }
}
