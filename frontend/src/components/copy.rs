//! A button that copies a text to the clipboard and says so for a moment.

use leptos::prelude::*;

#[component]
pub fn CopyButton(
    /// What is copied.
    text: String,
    /// The button's accessible name ("Copy reply", "Copy code").
    label: &'static str,
) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = StoredValue::new(text);
    view! {
        <button
            type="button"
            class="btn btn--ghost btn--sm"
            aria-label=label
            on:click=move |_| {
                if let Some(w) = web_sys::window() {
                    let _ = w.navigator().clipboard().write_text(&text.get_value());
                    copied.set(true);
                    set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
                }
            }
        >
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
        <span class="visually-hidden" role="status">{move || copied.get().then_some("Copied")}</span>
    }
}
