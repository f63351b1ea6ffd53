//! A button that is on or off (`aria-pressed`), for segmented choices such
//! as "Sign in / Create account" or the personas page's modes.

use leptos::prelude::*;

#[component]
pub fn ToggleButton(
    /// Whether this choice is the current one.
    #[prop(into)]
    pressed: Signal<bool>,
    on_click: Callback<()>,
    children: Children,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="btn btn--sm"
            class:btn--primary=move || pressed.get()
            aria-pressed=move || pressed.get().to_string()
            on:click=move |_| on_click.run(())
        >
            {children()}
        </button>
    }
}
