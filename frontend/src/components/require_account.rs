//! Pages that need an account: their content once the server has confirmed
//! the user, a sign-in card for visitors.

use crate::hooks::session::use_session;
use leptos::prelude::*;

#[component]
pub fn RequireAccount(
    /// The card's heading for visitors ("Sign in to …").
    title: &'static str,
    /// Why, in a sentence.
    reason: &'static str,
    /// Where to come back after signing in.
    next: &'static str,
    /// Shown to visitors under the sign-in link (e.g. the crisis line).
    #[prop(optional)]
    visitor_note: Option<ViewFn>,
    children: ChildrenFn,
) -> impl IntoView {
    let session = use_session();
    // Memos, so a refreshed user (a new balance) does not rebuild the page;
    // and only a token the server confirmed opens the page's connections.
    let signed_in = Memo::new(move |_| session.user.with(Option::is_some));
    let has_token = Memo::new(move |_| session.token.with(Option::is_some));
    let login = format!("/login?next={}", js_sys::encode_uri_component(next));
    move || {
        if signed_in.get() {
            children().into_any()
        } else if has_token.get() {
            view! { <p class="field__hint">"Loading your account…"</p> }.into_any()
        } else {
            let note = visitor_note.clone();
            view! {
                <section class="card">
                    <h2 class="card__title">{title}</h2>
                    <p class="card__text">
                        {reason} " " <a href=login.clone()>"Sign in or create an account"</a> "."
                    </p>
                    {note.map(|n| n.run())}
                </section>
            }
            .into_any()
        }
    }
}
