//! The message box every conversation page uses: a labelled textarea where
//! Enter sends and Shift+Enter starts a new line, and a row of actions
//! (the page's own buttons, then Send).

use leptos::prelude::*;

#[component]
pub fn Composer(
    /// The textarea's id (its label points at it).
    id: &'static str,
    /// The label, read by screen readers.
    label: &'static str,
    placeholder: &'static str,
    #[prop(default = 2)] rows: u32,
    /// Longest text, in characters (none when 0).
    #[prop(default = 0)]
    max_length: u32,
    /// The text being typed.
    draft: RwSignal<String>,
    /// Send was asked for (Enter or the button).
    on_send: Callback<()>,
    /// Send is unavailable.
    #[prop(into, default = Signal::from(false))]
    busy: Signal<bool>,
    /// Buttons before Send (Stop, New …).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <form
            class="composer"
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                on_send.run(());
            }
        >
            <label class="visually-hidden" for=id>{label}</label>
            <textarea
                id=id
                class="textarea"
                rows=rows
                maxlength=(max_length > 0).then_some(max_length)
                placeholder=placeholder
                bind:value=draft
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        on_send.run(());
                    }
                }
            ></textarea>
            <div class="composer__actions">
                {children.map(|c| c())}
                <button class="btn btn--primary" type="submit" disabled=move || busy.get()>
                    "Send"
                </button>
            </div>
        </form>
    }
}
