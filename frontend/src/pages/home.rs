//! `/`: what Chorus is, and a way into each experience.

use crate::components::page::PageHeader;
use leptos::prelude::*;
use leptos_router::components::A;

/// (path, title, what it does, transport)
const EXPERIENCES: &[(&str, &str, &str, &str)] = &[
    (
        "/rolecard",
        "Role cards",
        "Write memories about a person; watch a layered persona card being built, with live progress.",
        "SSE",
    ),
    (
        "/books",
        "BooksWriter",
        "Agents plan plots, worlds, characters and authors, stream their work and save what they make.",
        "WebSocket",
    ),
    (
        "/personas",
        "Personas",
        "Ask one question and watch many personas answer side by side, at the same time.",
        "WebSocket",
    ),
    (
        "/chat",
        "Chat",
        "A chat with history: free replies for visitors, credits for members.",
        "WebSocket + SSE",
    ),
    (
        "/support",
        "Support",
        "A supportive conversation that notices risk and keeps crisis resources in view.",
        "WebSocket",
    ),
];

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <PageHeader
            title="Home"
            lead="Chorus streams AI work to you as it happens. Pick an experience."
        />
        <ul class="grid grid--cards" role="list">
            {EXPERIENCES
                .iter()
                .map(|(href, title, text, transport)| {
                    view! {
                        <li class="card card--link">
                            <h2 class="card__title">
                                <A href=*href>{*title}</A>
                            </h2>
                            <p class="card__text">{*text}</p>
                            <span class="chip">{*transport}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
