//! How a reply ended when it did not finish: "Stopped" or "Failed" under
//! the text it kept (perhaps none), with a Retry button.

use leptos::prelude::*;
use shared::stream::FinishStatus;

/// The note under a reply cut short; nothing for a completed one.
#[component]
pub fn ReplyStatus(status: FinishStatus, on_retry: Option<Callback<()>>) -> impl IntoView {
    let (label, text) = match status {
        FinishStatus::Completed => return ().into_any(),
        FinishStatus::Stopped => ("Stopped", "You stopped this reply; it ends here."),
        FinishStatus::Failed => (
            "Failed",
            "This reply did not finish: the model's answer was cut off or failed.",
        ),
    };
    view! {
        <p
            class="reply-status"
            class:reply-status--failed=status == FinishStatus::Failed
            data-testid="reply-status"
            data-status=status.as_str()
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
