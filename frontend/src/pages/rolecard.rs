//! `/rolecard`: memories and relations in, a layered role card out, streamed
//! with live progress (the role-card protocol over SSE).

use crate::api::{self, Auth};
use crate::components::files::{download, picked_text};
use crate::components::page::PageHeader;
use crate::components::require_account::RequireAccount;
use crate::components::status::ConnectionStatus;
use crate::hooks::rolecard_run::{CARD_FIELDS, RoleCardRun, card_memories, is_last, with_edits};
use crate::hooks::session::{store_get, store_set, use_session};
use crate::hooks::sse::{Delivered, SseRequest, UseSseOptions, use_sse_with_options};
use crate::json::Json;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::rolecard::{
    GenerateOptions, Memory, NewMemory, NewRelation, Relation, RoleCard, SavedRoleCard, ServerEvent,
};

/// localStorage key of the person's name.
const NAME_KEY: &str = "chorus.rolecard.name";

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
            on_event: Callback::new(
                move |Delivered { seq, event: parsed }: Delivered<ServerEvent>| {
                    let mut ended = false;
                    run.update(|r| ended = r.apply(seq, &parsed));
                    if ended {
                        session.refresh();
                    }
                },
            ),
            is_last,
            max_retries: 5,
        },
    );
    let generate = move |path: String, message: &'static str| {
        run.update(|r| r.begin(message));
        sse.start.run(SseRequest {
            method: "POST",
            path,
            body: Some(crate::api::to_json(&GenerateOptions::default())),
        });
    };

    let add_memory = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let content = memory_draft.get_untracked();
        if content.trim().is_empty() {
            return;
        }
        spawn_local(async move {
            match api::post::<_, Memory>("/api/memories", &NewMemory { content }, &session.auth())
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
        let body = NewRelation {
            name: rel_name.get_untracked(),
            relationship: rel_kind.get_untracked(),
            notes: rel_notes.get_untracked(),
        };
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
    // The person's name: on the card's exports, kept in this browser.
    let name = RwSignal::new(store_get(NAME_KEY).unwrap_or_default());
    Effect::new(move |_| name.with(|n| store_set(NAME_KEY, Some(n))));
    let export_href = move |format: &str| {
        let token = session.token.get().unwrap_or_default();
        let who = js_sys::encode_uri_component(&name.get());
        format!("/api/rolecard/export?format={format}&token={token}&name={who}")
    };
    // A Character Card V2/V3 (or V1) file to start from: its name, and its
    // paragraphs as memories.
    let import = move |ev: leptos::ev::Event| {
        spawn_local(async move {
            let card = picked_text(&ev)
                .await
                .and_then(|t| api::parse_json::<Json>(&t).ok());
            let Some((card_name, paragraphs)) = card.as_ref().and_then(card_memories) else {
                note.set(Some(
                    "That file is not a Character Card (V1, V2 or V3 JSON).".into(),
                ));
                return;
            };
            if !card_name.is_empty() {
                name.set(card_name);
            }
            for content in paragraphs {
                let body = NewMemory { content };
                match api::post::<_, Memory>("/api/memories", &body, &session.auth()).await {
                    Ok(m) => memories.update(|l| l.push(m)),
                    Err(e) => {
                        note.set(Some(e.error));
                        return;
                    }
                }
            }
            note.set(None);
        });
    };

    view! {
        <div class="rolecard">
            <div class="rolecard__inputs stack">
                <section class="card stack" aria-labelledby="memories-title">
                    <h2 id="memories-title" class="card__title">"Memories"</h2>
                    <div class="field">
                        <label class="field__label" for="card-name">"Their name"</label>
                        <input id="card-name" class="input" maxlength="100" placeholder="Rosa" bind:value=name />
                    </div>
                    <div class="field">
                        <label class="field__label" for="card-import">"Start from a character card (V2 or V3 JSON)"</label>
                        <input id="card-import" class="input" type="file" accept=".json,application/json" on:change=import />
                    </div>
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
                {move || run.with(|r| r.card.clone()).map(|card| view! { <CardView card=card tab=tab name=name export_href=export_href /> })}
            </div>
        </div>
    }
}

#[component]
fn CardView(
    card: RoleCard,
    tab: RwSignal<usize>,
    name: RwSignal<String>,
    export_href: impl Fn(&str) -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let session = use_session();
    // The export being edited: the card's text fields, as the V2 export
    // has them (with the name).
    let editing = RwSignal::new(None::<Json>);
    let error = RwSignal::new(None::<String>);
    let path = move |format: &str| {
        let who = js_sys::encode_uri_component(&name.get_untracked());
        format!("/api/rolecard/export?format={format}&name={who}")
    };
    let edit = move |_| {
        spawn_local(async move {
            match api::get::<Json>(&path("ccv2"), &session.auth()).await {
                Ok(card) => editing.set(card.get("data").cloned()),
                Err(e) => error.set(Some(e.error)),
            }
        })
    };
    let save = move |format: &'static str| {
        spawn_local(async move {
            match api::get::<Json>(&path(format), &session.auth()).await {
                Ok(card) => {
                    let edits = editing.get_untracked().unwrap_or_default();
                    let card = with_edits(card, &edits);
                    download(
                        &format!("rolecard.{format}.json"),
                        &card.encode(),
                        "application/json",
                    );
                }
                Err(e) => error.set(Some(e.error)),
            }
        })
    };
    let layers = card.relation_layers.clone();
    let layers_for_panel = layers.clone();
    view! {
        <section class="card stack" aria-labelledby="card-title" data-testid="rolecard">
            <div class="row">
                <h2 id="card-title" class="card__title">"The role card"</h2>
                <span class="row">
                    <a class="btn btn--sm" href=move || export_href("ccv2") download="rolecard.ccv2.json">"Export V2"</a>
                    <a class="btn btn--sm" href=move || export_href("ccv3") download="rolecard.ccv3.json">"Export V3"</a>
                    <button type="button" class="btn btn--sm" aria-expanded=move || editing.with(Option::is_some).to_string() on:click=edit>
                        "Edit before export"
                    </button>
                </span>
            </div>
            {move || error.get().map(|e| view! { <div class="banner banner--warn" role="status"><p>{e}</p></div> })}
            {move || editing.with(Option::is_some).then(|| view! {
                <form class="stack card-editor" aria-label="Edit the card before export" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
                    {CARD_FIELDS
                        .iter()
                        .map(|(key, label)| {
                            let id = format!("card-field-{key}");
                            let value = move || {
                                editing.with(|e| e.as_ref().and_then(|d| d.get(key)).and_then(|v| v.as_str()).unwrap_or("").to_owned())
                            };
                            view! {
                                <div class="field">
                                    <label class="field__label" for=id.clone()>{*label}</label>
                                    <textarea
                                        id=id
                                        class="textarea"
                                        rows="2"
                                        prop:value=value
                                        on:input=move |ev| {
                                            let v = event_target_value(&ev);
                                            editing.update(|e| {
                                                if let Some(d) = e.as_mut() {
                                                    d.set(key, Json::Str(v));
                                                }
                                            });
                                        }
                                    ></textarea>
                                </div>
                            }
                        })
                        .collect_view()}
                    <div class="row">
                        <button type="button" class="btn btn--primary btn--sm" on:click=move |_| save("ccv2")>"Download V2"</button>
                        <button type="button" class="btn btn--primary btn--sm" on:click=move |_| save("ccv3")>"Download V3"</button>
                        <button type="button" class="btn btn--ghost btn--sm" on:click=move |_| editing.set(None)>"Close"</button>
                    </div>
                </form>
            })}
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
