//! The crisis banner: shown on a safety escalation (or when asked for with
//! "Get help now") and kept for the whole session. It can be folded, never
//! dismissed. Calm and high-contrast: deep teal, not alarm red.

use leptos::prelude::*;

#[component]
pub fn CrisisBanner(
    /// Folded to its title (the page's "Get help now" unfolds it).
    collapsed: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <section class="banner crisis" role="alert" aria-labelledby="crisis-title">
            <div class="crisis__body">
                <h2 id="crisis-title" class="crisis__title">"You don't have to go through this alone"</h2>
                <Show when=move || !collapsed.get()>
                    <ul class="crisis__list">
                        <li>
                            <a href="tel:988">"Call or text 988"</a>
                            " (Suicide & Crisis Lifeline, US) — "
                            <a href="sms:988">"text 988"</a>
                        </li>
                        <li>
                            <a href="sms:741741?&body=HOME">"Text HOME to 741741"</a>
                            " (Crisis Text Line)"
                        </li>
                        <li>
                            "Outside the US: "
                            <a href="https://findahelpline.com" rel="noopener noreferrer" target="_blank">
                                "findahelpline.com"
                            </a>
                        </li>
                        <li>
                            <strong>"If you are in immediate danger, call your local emergency number."</strong>
                        </li>
                    </ul>
                </Show>
            </div>
            <button
                type="button"
                class="btn btn--sm crisis__toggle"
                aria-expanded=move || (!collapsed.get()).to_string()
                on:click=move |_| collapsed.update(|c| *c = !*c)
            >
                {move || if collapsed.get() { "Show help" } else { "Collapse" }}
            </button>
        </section>
    }
}
