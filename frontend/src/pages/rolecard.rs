//! `/rolecard`: memories and relations in, a layered role card out, streamed
//! with live progress (seed 000 over SSE).

use crate::api::{self, Auth};
use crate::components::page::PageHeader;
use crate::components::require_account::RequireAccount;
use crate::components::status::ConnectionStatus;
use crate::hooks::rolecard_run::{RoleCardRun, is_last};
use crate::hooks::session::use_session;
use crate::hooks::sse::{SseEvent, SseRequest, UseSseOptions, use_sse_with_options};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use shared::rolecard::{Memory, Relation, RoleCard, SavedRoleCard, ServerEvent};

#[component]
pub fn RoleCards() -> impl IntoView {
    view! {
        <PageHeader
            title="Role cards"
            lead="Write memories about a person and the people around them; Chorus turns them into a layered role card, streamed with live progress."
        />
        <RequireAccount
            title="Sign in to write a role card"
            reason="Memories and cards are private to your account."
            next="/rolecard"
        >
            <Studio />
        </RequireAccount>
    }
}

fn event_kind(ev: &SseEvent) -> bool {
    crate::api::parse_json::<serde_json::Value>(&ev.data)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(is_last))
        .unwrap_or(false)
}

#[component]
fn Studio() -> impl IntoView {
    let session = use_session();
    let memories = RwSignal::new(Vec::<Memory>::new());
    let relations = RwSignal::new(Vec::<Relation>::new());
    let run = RwSignal::new(RoleCardRun::default());
    let note = RwSignal::new(None::<String>);
    let memory_draft = RwSignal::new(String::new());
    let rel_name = RwSignal::new(String::new());
    let rel_kind = RwSignal::new(String::new());
    let rel_notes = RwSignal::new(String::new());
    let tab = RwSignal::new(0usize);

    let auth = Callback::new(move |()| session.auth());
    spawn_local(async move {
        let a = session.auth();
        if let Ok(m) = api::get::<Vec<Memory>>("/api/memories", &a).await {
            memories.set(m);
        }
        if let Ok(r) = api::get::<Vec<Relation>>("/api/relations", &a).await {
            relations.set(r);
        }
        if let Ok(c) = api::get::<SavedRoleCard>("/api/rolecard", &a).await {
            run.update(|r| r.card = Some(c.rolecard));
        }
    });

    let sse = use_sse_with_options(
        auth,
        UseSseOptions {
            on_event: Callback::new(move |ev: SseEvent| {
                let Ok(parsed) = crate::api::parse_json::<ServerEvent>(&ev.data) else {
                    return;
                };
                let seq = ev.id.as_deref().and_then(|i| i.parse().ok());
                let mut ended = false;
                run.update(|r| ended = r.apply(seq, &parsed));
                if ended {
                    session.refresh();
                }
            }),
            is_last: event_kind,
            max_retries: 5,
        },
    );
    let generate = move |path: String, message: &'static str| {
        run.update(|r| r.begin(message));
        sse.start.run(SseRequest {
            method: "POST",
            path,
            body: Some(
                json!({"options": {"includeCore": true, "includeRelations": true}}).to_string(),
            ),
        });
    };

    let add_memory = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let content = memory_draft.get_untracked();
        if content.trim().is_empty() {
            return;
        }
        spawn_local(async move {
            match api::post::<_, Memory>(
                "/api/memories",
                &json!({"content": content}),
                &session.auth(),
            )
            .await
            {
                Ok(m) => {
                    memories.update(|l| l.push(m));
                    memory_draft.set(String::new());
                    note.set(None);
                }
                Err(e) => note.set(Some(e.error)),
            }
        });
    };
    let add_relation = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({"name": rel_name.get_untracked(), "relationship": rel_kind.get_untracked(),
                          "notes": rel_notes.get_untracked()});
        spawn_local(async move {
            match api::post::<_, Relation>("/api/relations", &body, &session.auth()).await {
                Ok(r) => {
                    relations.update(|l| l.push(r));
                    rel_name.set(String::new());
                    rel_kind.set(String::new());
                    rel_notes.set(String::new());
                    note.set(None);
                }
                Err(e) => note.set(Some(e.error)),
            }
        });
    };
    let remove = move |kind: &'static str, id: String| {
        spawn_local(async move {
            let Some(window) = web_sys::window() else {
                return;
            };
            let init = web_sys::RequestInit::new();
            init.set_method("DELETE");
            let headers = web_sys::Headers::new().expect("headers");
            if let Auth::Token(t) = session.auth() {
                let _ = headers.set("Authorization", &format!("Bearer {t}"));
            }
            init.set_headers(&headers);
            let path = format!("/api/{kind}/{id}");
            if let Ok(req) = web_sys::Request::new_with_str_and_init(&path, &init) {
                let _ = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&req)).await;
            }
            match kind {
                "memories" => memories.update(|l| l.retain(|m| m.id != id)),
                _ => relations.update(|l| l.retain(|r| r.id != id)),
            }
        });
    };
    let export_href = move |format: &str| {
        let token = session.token.get().unwrap_or_default();
        format!("/api/rolecard/export?format={format}&token={token}")
    };

    view! {
        <div class="rolecard">
            <div class="rolecard__inputs stack">
                <section class="card stack" aria-labelledby="memories-title">
                    <h2 id="memories-title" class="card__title">"Memories"</h2>
                    <form class="stack" on:submit=add_memory>
                        <label class="field__label" for="memory-text">"A memory about them"</label>
                        <textarea
                            id="memory-text"
                            class="textarea"
                            rows="3"
                            maxlength="4000"
                            placeholder="She baked bread every Sunday and hummed while she worked."
                            bind:value=memory_draft
                        ></textarea>
                        <button class="btn" type="submit">"Add memory"</button>
                    </form>
                    <ul class="list" aria-label="Your memories">
                        <For each=move || memories.get() key=|m| m.id.clone() let:m>
                            <li class="list__item">
                                <span>{m.content.clone()}</span>
                                <button
                                    type="button"
                                    class="btn btn--sm btn--ghost"
                                    aria-label=format!("Delete memory: {}", m.content.chars().take(40).collect::<String>())
                                    on:click={
                                        let id = m.id.clone();
                                        move |_| remove("memories", id.clone())
                                    }
                                >
                                    "✕"
                                </button>
                            </li>
                        </For>
                    </ul>
                </section>
                <section class="card stack" aria-labelledby="relations-title">
                    <h2 id="relations-title" class="card__title">"People around them"</h2>
                    <form class="stack" on:submit=add_relation>
                        <div class="field">
                            <label class="field__label" for="rel-name">"Name"</label>
                            <input id="rel-name" class="input" bind:value=rel_name />
                        </div>
                        <div class="field">
                            <label class="field__label" for="rel-kind">"Relationship"</label>
                            <input id="rel-kind" class="input" placeholder="brother, friend, boss…" bind:value=rel_kind />
                        </div>
                        <div class="field">
                            <label class="field__label" for="rel-notes">"Notes"</label>
                            <input id="rel-notes" class="input" bind:value=rel_notes />
                        </div>
                        <button class="btn" type="submit">"Add person"</button>
                    </form>
                    <ul class="list" aria-label="People">
                        <For each=move || relations.get() key=|r| r.id.clone() let:r>
                            <li class="list__item">
                                <span>
                                    <strong>{r.name.clone()}</strong>
                                    {format!(" · {}", r.relationship)}
                                </span>
                                <span class="list__actions">
                                    <button
                                        type="button"
                                        class="btn btn--sm"
                                        disabled=move || run.with(|x| x.running)
                                        on:click={
                                            let id = r.id.clone();
                                            move |_| generate(format!("/api/rolecard/layers/relation/{id}/stream"), "Regenerating a layer…")
                                        }
                                    >
                                        "Regenerate"
                                    </button>
                                    <button
                                        type="button"
                                        class="btn btn--sm btn--ghost"
                                        aria-label=format!("Delete {}", r.name)
                                        on:click={
                                            let id = r.id.clone();
                                            move |_| remove("relations", id.clone())
                                        }
                                    >
                                        "✕"
                                    </button>
                                </span>
                            </li>
                        </For>
                    </ul>
                </section>
                {move || note.get().map(|n| view! { <div class="banner banner--warn" role="status"><p>{n}</p></div> })}
            </div>
            <div class="rolecard__output stack">
                <section class="card stack" aria-labelledby="generate-title">
                    <div class="row">
                        <h2 id="generate-title" class="card__title">"Generate"</h2>
                        <ConnectionStatus state=sse.state label="Stream" />
                    </div>
                    <div class="row">
                        <button
                            class="btn btn--primary"
                            type="button"
                            disabled=move || run.with(|r| r.running) || memories.with(Vec::is_empty)
                            on:click=move |_| generate("/api/rolecard/generate/stream".into(), "Starting…")
                        >
                            "Generate role card"
                        </button>
                        <button
                            class="btn"
                            type="button"
                            disabled=move || run.with(|r| r.running) || memories.with(Vec::is_empty)
                            on:click=move |_| generate("/api/rolecard/layers/core/stream".into(), "Regenerating the core…")
                        >
                            "Regenerate core"
                        </button>
                        <Show when=move || run.with(|r| r.running)>
                            <button
                                class="btn"
                                type="button"
                                on:click=move |_| {
                                    sse.cancel.run(());
                                    run.update(|r| {
                                        r.running = false;
                                        r.message = "Cancelled".into();
                                    });
                                }
                            >
                                "Cancel"
                            </button>
                        </Show>
                    </div>
                    <progress
                        class="progress"
                        max="100"
                        prop:value=move || run.with(|r| r.progress)
                        aria-label="Progress"
                        data-testid="progress"
                    ></progress>
                    <p class="field__hint" aria-live="polite" data-testid="stage">
                        {move || run.with(|r| {
                            if r.error.is_some() || sse.error.get().is_some() {
                                "Not generated: see why below.".to_owned()
                            } else if !r.message.is_empty() {
                                format!("{}% · {}", r.progress, r.message)
                            } else if memories.with(Vec::is_empty) {
                                "Add a memory first: the card is built from them.".to_owned()
                            } else {
                                "Ready: generate when you are.".to_owned()
                            }
                        })}
                    </p>
                    {move || run.with(|r| r.error.clone()).or_else(|| sse.error.get()).map(|e| view! {
                        <div class="banner banner--danger" role="alert"><p>{e}</p></div>
                    })}
                    <p class="stream-text" class:stream-text--live=move || run.with(|r| r.running)
                        aria-live="polite" data-testid="stream-text">
                        {move || run.with(|r| r.text.clone())}
                    </p>
                </section>
                {move || run.with(|r| r.card.clone()).map(|card| view! { <CardView card=card tab=tab export_href=export_href /> })}
            </div>
        </div>
    }
}

#[component]
fn CardView(
    card: RoleCard,
    tab: RwSignal<usize>,
    export_href: impl Fn(&str) -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let layers = card.relation_layers.clone();
    let layers_for_panel = layers.clone();
    view! {
        <section class="card stack" aria-labelledby="card-title" data-testid="rolecard">
            <div class="row">
                <h2 id="card-title" class="card__title">"The role card"</h2>
                <span class="row">
                    <a class="btn btn--sm" href=move || export_href("ccv2") download="rolecard.ccv2.json">"Export V2"</a>
                    <a class="btn btn--sm" href=move || export_href("ccv3") download="rolecard.ccv3.json">"Export V3"</a>
                </span>
            </div>
            {card.core_layer.map(|core| view! {
                <div class="stack">
                    <p><strong>{core.identity_summary}</strong></p>
                    <h3 class="card__title">"Personality"</h3>
                    <ul class="traits">
                        {core.personality_traits.into_iter().map(|t| view! {
                            <li>
                                <span class="chip">{t.name}</span>
                                <ul class="evidence">
                                    {t.evidence.into_iter().map(|q| view! { <li>{q}</li> }).collect_view()}
                                </ul>
                            </li>
                        }).collect_view()}
                    </ul>
                    <p><strong>"Values: "</strong>{core.values.join(", ")}</p>
                    <p><strong>"Speaking style: "</strong>{core.speaking_style}</p>
                    <p><strong>"Interests: "</strong>{core.interests.join(", ")}</p>
                </div>
            })}
            <Show when={
                let n = layers.len();
                move || n > 0
            }>
                <div role="tablist" aria-label="Relationships" class="toolbar">
                    {layers.iter().enumerate().map(|(i, l)| view! {
                        <button
                            type="button"
                            role="tab"
                            class="btn btn--sm"
                            class:btn--primary=move || tab.get() == i
                            aria-selected=move || (tab.get() == i).to_string()
                            on:click=move |_| tab.set(i)
                        >
                            {l.name.clone()}
                        </button>
                    }).collect_view()}
                </div>
            </Show>
            {
                let layers = layers_for_panel.clone();
                move || layers.get(tab.get()).cloned().map(|l| view! {
                    <div role="tabpanel" class="stack">
                        <p><strong>{format!("{} · {}", l.name, l.relationship)}</strong></p>
                        <p>{l.how_they_treat_them}</p>
                        <p><strong>"Shared history: "</strong>{l.shared_history}</p>
                        <p><strong>"Tone: "</strong>{l.tone}</p>
                    </div>
                })
            }
        </section>
    }
}
