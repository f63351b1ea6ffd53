//! The top of every page: the document title and the visible heading.

use crate::router::set_title;
use leptos::prelude::*;

/// Sets `<title>` to "`title` · Chorus" and shows `title` as the page's h1.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional)] lead: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    set_title(title);
    view! {
        <div class="page-header">
            <div>
                <h1 class="page-header__title">{title}</h1>
                {(!lead.is_empty()).then(|| view! { <p class="page-header__lead">{lead}</p> })}
            </div>
            {children.map(|c| c())}
        </div>
    }
}

/// The top of an app-shell page: the document title, and the h1 for
/// screen readers only (the conversation's empty state explains the page).
#[component]
pub fn AppTitle(title: &'static str) -> impl IntoView {
    set_title(title);
    view! {
        <h1 class="visually-hidden">{title}</h1>
    }
}
