//! How a reply ended when it did not finish: "Stopped", "Failed" or
//! "Interrupted" (the server writing it stopped) under the text it kept
//! (perhaps none), with a Retry button.

use leptos::prelude::*;
use shared::stream::FinishStatus;

/// The sentence under a reply whose server stopped while writing it.
pub const INTERRUPTED: &str = "The server handling this reply stopped; the text so far is saved.";

/// The note under a reply cut short; nothing for a completed one.
/// `interrupted`: it failed because the server writing it stopped.
#[component]
pub fn ReplyStatus(
    status: FinishStatus,
    on_retry: Option<Callback<()>>,
    #[prop(optional)] interrupted: bool,
) -> impl IntoView {
    let (label, text, kind) = match status {
        FinishStatus::Completed => return ().into_any(),
        FinishStatus::Stopped => (
            "Stopped",
            "You stopped this reply; it ends here.",
            "stopped",
        ),
        FinishStatus::Failed if interrupted => ("Interrupted", INTERRUPTED, "interrupted"),
        FinishStatus::Failed => (
            "Failed",
            "This reply did not finish: the model's answer was cut off or failed.",
            "failed",
        ),
    };
    view! {
        <p
            class="reply-status"
            class:reply-status--failed=status == FinishStatus::Failed
            data-testid="reply-status"
            data-status=kind
        >
            <strong class="reply-status__label">{label}</strong>
            " "
            <span class="reply-status__text">{text}</span>
            {on_retry.map(|retry| view! {
                " "
                <button type="button" class="btn btn--sm" on:click=move |_| retry.run(())>
                    "Retry"
                </button>
            })}
        </p>
    }
    .into_any()
}
