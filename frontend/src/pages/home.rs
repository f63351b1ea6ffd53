//! `/`: what Chorus does for you, and a first step into each experience.

use crate::components::page::PageHeader;
use leptos::prelude::*;

/// (path, title, what it does for the person, the first step)
const EXPERIENCES: &[(&str, &str, &str, &str)] = &[
    (
        "/chat",
        "Chat",
        "Ask anything and read the answer as it is written. Your chats are kept, to reopen, rename or regenerate.",
        "Start a chat",
    ),
    (
        "/personas",
        "Personas",
        "Ask one question and hear it answered by several characters at once: a chef, a historian, a philosopher …",
        "Ask the panel",
    ),
    (
        "/books",
        "BooksWriter",
        "Plan a book with a team of writers: a plot, its world, its characters and an author, each saved as you go.",
        "Start a book",
    ),
    (
        "/rolecard",
        "Role cards",
        "Write down memories of someone you know, and get a portrait of how they speak and what they care about.",
        "Write a memory",
    ),
    (
        "/support",
        "Support",
        "Talk things through with a calm listener. If you are in danger, help lines are always one tap away.",
        "Start talking",
    ),
];

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <PageHeader
            title="Home"
            lead="Conversations with AI that answer as they think. Pick what you want to do."
        />
        <ul class="grid grid--cards" role="list">
            {EXPERIENCES
                .iter()
                .map(|(href, title, text, step)| {
                    view! {
                        <li class="card card--link">
                            <h2 class="card__title">
                                <a href=*href>{*title}</a>
                            </h2>
                            <p class="card__text">{*text}</p>
                            <span class="card__step" aria-hidden="true">{*step} " →"</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
