//! The app shell's pieces for a conversation page: the scrolling
//! conversation that follows new text unless the reader scrolled up (then
//! a "Jump to latest" button), and the empty state that explains the page.

use leptos::prelude::*;

/// How close to the end (px) still counts as "at the end".
const NEAR_END: i32 = 48;

/// The only scrolling area of a conversation page. `changes` is read on
/// every change of the conversation; while the reader is at the end, each
/// change scrolls to the new end.
#[component]
pub fn Conversation(
    /// What the region is called ("Conversation", "Answers").
    label: &'static str,
    #[prop(optional)] testid: &'static str,
    /// Tracked: changes whenever the conversation does.
    #[prop(into)]
    changes: Signal<()>,
    children: Children,
) -> impl IntoView {
    let el = NodeRef::<leptos::html::Div>::new();
    let at_end = RwSignal::new(true);
    // Where the scroll stood when last seen (after our own scroll, or the
    // last scroll event): only a move up from there is the reader leaving
    // the end. Text that grows below the view makes a gap without any
    // scroll, and a scroll event can arrive after more text did, so the gap
    // alone cannot tell a reader who scrolled up from a reply that grew.
    let seen_top = StoredValue::new(0);
    let to_end = move || {
        let Some(el) = el.get_untracked() else {
            return;
        };
        // The reader scrolled up since (their scroll event may not have
        // been handled yet): leave them where they are.
        let top = el.scroll_top();
        if top < seen_top.get_value() && el.scroll_height() - top - el.client_height() >= NEAR_END {
            at_end.set(false);
            return;
        }
        if at_end.get_untracked() {
            el.set_scroll_top(el.scroll_height());
            seen_top.set_value(el.scroll_top());
        }
    };
    Effect::new(move |_| {
        changes.track();
        if at_end.get_untracked() {
            request_animation_frame(to_end);
        }
    });
    view! {
        <div class="convo">
            <div
                class="convo__scroll"
                role="region"
                aria-label=label
                tabindex="0"
                data-testid=(!testid.is_empty()).then_some(testid)
                node_ref=el
                on:scroll=move |_| {
                    if let Some(el) = el.get_untracked() {
                        let top = el.scroll_top();
                        let gap = el.scroll_height() - top - el.client_height();
                        let end = if gap < NEAR_END {
                            true
                        } else if top < seen_top.get_value() {
                            false
                        } else {
                            at_end.get_untracked()
                        };
                        seen_top.set_value(top);
                        if at_end.get_untracked() != end {
                            at_end.set(end);
                        }
                    }
                }
            >
                <div class="convo__inner">{children()}</div>
            </div>
            <Show when=move || !at_end.get()>
                <button
                    type="button"
                    class="btn btn--sm convo__jump"
                    on:click=move |_| {
                        at_end.set(true);
                        seen_top.set_value(0);
                        to_end();
                    }
                >
                    "↓ Jump to latest"
                </button>
            </Show>
        </div>
    }
}

/// What an empty conversation shows: what the page does for the person,
/// and a first step.
#[component]
pub fn EmptyState(
    title: &'static str,
    text: &'static str,
    /// Example requests; clicking one calls `on_example` with it.
    #[prop(optional)]
    examples: &'static [&'static str],
    #[prop(optional)] on_example: Option<Callback<String>>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="empty">
            <h2 class="empty__title">{title}</h2>
            <p>{text}</p>
            {children.map(|c| c())}
            {(!examples.is_empty()).then(|| view! {
                <div class="empty__examples">
                    {examples
                        .iter()
                        .map(|e| view! {
                            <button
                                type="button"
                                class="btn btn--sm"
                                on:click=move |_| {
                                    if let Some(f) = on_example {
                                        f.run((*e).to_owned());
                                    }
                                }
                            >
                                {*e}
                            </button>
                        })
                        .collect_view()}
                </div>
            })}
        </div>
    }
}

/// The button that opens the page's side panel on narrow screens (it is
/// always shown beside the conversation on wide ones).
#[component]
pub fn SideToggle(
    /// The id of the side panel.
    controls: &'static str,
    open: RwSignal<bool>,
    children: Children,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="btn btn--sm app__side-button"
            aria-controls=controls
            aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|o| *o = !*o)
        >
            {children()}
        </button>
    }
}
