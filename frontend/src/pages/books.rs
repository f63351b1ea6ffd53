//! `/books`: BooksWriter (seed 002 on `/ws/{session_id}`).
//!
//! The conversation with the agents in the middle (user, agent, status,
//! tool and error lines; streamed text with a typing cursor), the current
//! agent and the connection in the header, the saved artifacts on the side.
//! The session id lives in localStorage, so a refresh restores the whole
//! conversation (`session_restore`); a dropped connection comes back with
//! the seed's RobustWebSocket behaviour (1 s × 2ⁿ up to 30 s, 10 attempts,
//! "retry now") and resumes from the last event seen, and messages typed
//! meanwhile go out in order.

use crate::api;
use crate::components::composer::Composer;
use crate::components::page::PageHeader;
use crate::components::status::ConnectionStatus;
use crate::hooks::books_chat::{BooksChat, Follow};
use crate::hooks::connection::ConnState;
use crate::hooks::session::{new_anon_id, store_get, store_set, use_session};
use crate::hooks::websocket::{UseWebSocketOptions, use_websocket_with_options, ws_url};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::books::{Artifact, ArtifactKind, ArtifactList, Entry, ServerMessage, ToolStatus};

/// localStorage key of the session id, per kind of identity (a new sign-in
/// that does not own the stored session gets a new one).
fn storage_key(signed_in: bool) -> &'static str {
    if signed_in {
        "chorus.books.session.user"
    } else {
        "chorus.books.session.anon"
    }
}

fn new_session_id() -> String {
    let id: String = new_anon_id()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    format!("book-{id}")
}

fn local_time(ts: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(ts));
    if date.get_time().is_nan() {
        return String::new();
    }
    date.to_locale_time_string("default").into()
}

#[component]
pub fn Books() -> impl IntoView {
    let session = use_session();
    let signed_in = session.token.get_untracked().is_some();
    let key = storage_key(signed_in);
    let session_id = RwSignal::new(store_get(key).unwrap_or_else(|| {
        let id = new_session_id();
        store_set(key, Some(&id));
        id
    }));
    let chat = RwSignal::new(BooksChat::default());
    let draft = RwSignal::new(String::new());

    // Follow the newest line while the reader is at the bottom; leave them
    // be when they scrolled up to read.
    let log_ref = NodeRef::<leptos::html::Div>::new();
    let stick = StoredValue::new(true);
    Effect::new(move |_| {
        chat.track();
        if stick.get_value()
            && let Some(el) = log_ref.get()
        {
            request_animation_frame(move || el.set_scroll_top(el.scroll_height()));
        }
    });

    let reload_artifacts = move || {
        let id = session_id.get_untracked();
        spawn_local(async move {
            let path = format!("/api/books/{id}/artifacts");
            if let Ok(list) = api::get::<ArtifactList>(&path, &session.auth()).await
                && list.session_id == session_id.get_untracked()
            {
                chat.update(|c| c.artifacts = list.artifacts);
            }
        });
    };

    let restart_slot = StoredValue::new_local(None::<Callback<()>>);
    let start_new_session = move || {
        let id = new_session_id();
        store_set(key, Some(&id));
        session_id.set(id);
        chat.update(BooksChat::reset);
        if let Some(restart) = restart_slot.get_value() {
            restart.run(());
        }
    };

    let ws = use_websocket_with_options(
        move || {
            let id = session_id.get_untracked();
            let who = match session.token.get_untracked() {
                Some(t) => format!("token={t}"),
                None => format!("anon_id={}", session.anon_id()),
            };
            ws_url(&format!("/ws/{id}?{who}"))
        },
        UseWebSocketOptions {
            on_message: Callback::new(move |text: String| {
                let Ok(msg) = crate::api::parse_json::<ServerMessage>(&text) else {
                    return;
                };
                let mut follow = Follow::Nothing;
                chat.update(|c| follow = c.apply(msg));
                match follow {
                    Follow::Nothing => {}
                    Follow::ReloadArtifacts => {
                        reload_artifacts();
                        session.refresh();
                    }
                    Follow::NewSession => start_new_session(),
                }
            }),
            on_open: Callback::new(move |()| vec![chat.with_untracked(BooksChat::on_open)]),
            heartbeat_secs: 30,
            max_backoff_secs: 30,
            max_attempts: Some(10),
        },
    );
    restart_slot.set_value(Some(ws.restart));

    let send = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        draft.set(String::new());
        let client_id = new_anon_id();
        let now: String = js_sys::Date::new_0().to_iso_string().into();
        let mut wire = String::new();
        chat.update(|c| wire = c.send(client_id, text, now));
        ws.send.run(wire);
    };
    let stop = move || ws.send.run(r#"{"type":"stop"}"#.to_owned());

    view! {
        <PageHeader
            title="BooksWriter"
            lead="Ask for a plot, a world, characters or an author: specialist agents stream their work and save what they make."
        >
            <div class="books__status">
                <span class="chip" data-testid="current-agent" title="The agent working on your book">
                    {move || chat.with(|c| c.transcript.current_agent.clone())}
                </span>
                <ConnectionStatus state=ws.state label="BooksWriter connection" />
            </div>
        </PageHeader>
        {move || {
            let state = ws.state.get();
            matches!(state, ConnState::Reconnecting { .. } | ConnState::Closed).then(|| {
                let text = if state == ConnState::Closed {
                    "Could not reconnect after 10 attempts. Your messages are kept until you retry."
                } else {
                    "The connection dropped. Messages you send now go out when it is back."
                };
                view! {
                    <div class="banner banner--warn" role="status" data-testid="books-reconnect">
                        <p>{text}</p>
                        <button type="button" class="btn btn--sm" on:click=move |_| ws.reconnect_now.run(())>
                            "Retry now"
                        </button>
                    </div>
                }
            })
        }}
        <div class="books">
            <section class="books__main" aria-label="Conversation">
                <div
                    class="books__log"
                    role="log"
                    aria-live="polite"
                    data-testid="books-log"
                    node_ref=log_ref
                    on:scroll=move |_| {
                        if let Some(el) = log_ref.get_untracked() {
                            stick.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < 48);
                        }
                    }
                >
                    <For
                        each=move || chat.with(|c| c.transcript.entries.clone())
                        key=entry_key
                        children=move |e| view! { <EntryView entry=e /> }
                    />
                    {move || {
                        chat.with(|c| c.pending.clone())
                            .into_iter()
                            .map(|p| {
                                let open = ws.state.get_untracked() == ConnState::Open;
                                view! {
                                    <div class="bubble bubble--user bubble--pending" data-testid="books-pending">
                                        <span class="bubble__meta">
                                            {if open { "You · sending…" } else { "You · queued until reconnected" }}
                                        </span>
                                        <span class="books__text">{p.content}</span>
                                    </div>
                                }
                            })
                            .collect_view()
                    }}
                    <Show when=move || chat.with(|c| c.loaded && c.transcript.entries.is_empty() && c.pending.is_empty())>
                        <p class="field__hint">
                            "Try \u{201c}Create a fantasy novel with dragons\u{201d}, \u{201c}Build a world of floating islands\u{201d} or \u{201c}Invent an author for this plot\u{201d}."
                        </p>
                    </Show>
                </div>
                {move || chat.with(|c| c.notice.clone()).map(|n| view! {
                    <div class="banner banner--warn" role="status" data-testid="books-notice"><p>{n}</p></div>
                })}
                <Composer
                    id="books-text"
                    label="Your request"
                    rows=3
                    max_length=10_000
                    placeholder="Ask BooksWriter to create plots, authors, worlds, or characters… (Enter sends, Shift+Enter for a new line)"
                    draft=draft
                    on_send=Callback::new(move |()| send())
                >
                    <button type="button" class="btn" on:click=move |_| start_new_session()>
                        "New book"
                    </button>
                    <Show when=move || chat.with(BooksChat::working)>
                        <button type="button" class="btn" on:click=move |_| stop()>"Stop"</button>
                    </Show>
                </Composer>
            </section>
            <aside class="books__artifacts card" aria-label="Saved artifacts" data-testid="books-artifacts">
                <h2 class="card__title">"Saved"</h2>
                {move || {
                    let artifacts = chat.with(|c| c.artifacts.clone());
                    if artifacts.is_empty() {
                        return view! { <p class="field__hint">"Plots, worlds, characters and authors appear here once saved."</p> }.into_any();
                    }
                    ArtifactKind::ALL
                        .into_iter()
                        .filter_map(|kind| {
                            let of_kind: Vec<Artifact> = artifacts.iter().filter(|a| a.kind == kind).cloned().collect();
                            (!of_kind.is_empty()).then(|| view! {
                                <h3 class="books__kind">{kind_label(kind)}</h3>
                                <ul class="books__list">
                                    {of_kind.into_iter().map(|a| view! { <ArtifactView artifact=a /> }).collect_view()}
                                </ul>
                            })
                        })
                        .collect_view()
                        .into_any()
                }}
            </aside>
        </div>
    }
}

fn kind_label(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Plot => "Plots",
        ArtifactKind::World => "Worlds",
        ArtifactKind::Character => "Characters",
        ArtifactKind::Author => "Authors",
    }
}

/// Re-render a line only when it changed.
fn entry_key(e: &Entry) -> (u64, usize, u8) {
    match e {
        Entry::Agent {
            id,
            content,
            streaming,
            ..
        } => (*id, content.len(), u8::from(*streaming)),
        Entry::Tool { id, status, .. } => (*id, 0, *status as u8),
        other => (other.id(), 0, 0),
    }
}

#[component]
fn EntryView(entry: Entry) -> impl IntoView {
    match entry {
        Entry::User {
            content, timestamp, ..
        } => view! {
            <div class="bubble bubble--user" data-kind="user">
                <span class="bubble__meta">"You · " {local_time(&timestamp)}</span>
                <span class="books__text">{content}</span>
            </div>
        }
        .into_any(),
        Entry::Switch {
            to_agent, reason, ..
        } => view! {
            <div class="books__status-line" data-kind="switch">
                "→ Switching to " <strong>{to_agent}</strong>
                <span class="field__hint">" " {reason}</span>
            </div>
        }
        .into_any(),
        Entry::Agent {
            agent,
            content,
            streaming,
            timestamp,
            ..
        } => {
            let name = agent.clone();
            view! {
            <div
                class="bubble bubble--assistant"
                class:bubble--streaming=streaming
                data-kind="agent"
                data-agent=name
            >
                <span class="bubble__meta">{agent} " · " {local_time(&timestamp)}</span>
                <span class="books__text">{content}</span>
            </div>
            }
            .into_any()
        }
        Entry::Tool {
            tool_name,
            status,
            message,
            progress,
            ..
        } => {
            let state = match status {
                ToolStatus::Executing => "executing",
                ToolStatus::Completed => "completed",
                ToolStatus::Failed => "failed",
            };
            view! {
                <div class="books__tool" data-kind="tool" data-status=state>
                    <span aria-hidden="true">"🔧"</span>
                    <span class="books__tool-text"><code>{tool_name}</code> " " {message}</span>
                    <progress max="1" value=progress.to_string() aria-label="Tool progress"></progress>
                </div>
            }
            .into_any()
        }
        Entry::Completion { message, .. } => view! {
            <div class="books__status-line books__status-line--done" data-kind="completion">
                <span aria-hidden="true">"✅ "</span>
                {message}
            </div>
        }
        .into_any(),
        Entry::Error {
            error_code,
            message,
            ..
        } => view! {
            <div class="books__error" role="alert" data-kind="error" data-code=error_code.as_str()>
                "Error: " {message}
            </div>
        }
        .into_any(),
    }
}

#[component]
fn ArtifactView(artifact: Artifact) -> impl IntoView {
    let fields: Vec<(String, String)> = artifact
        .fields
        .iter()
        .map(|(k, v)| {
            let label = k.replace('_', " ");
            (
                label,
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .collect();
    let partial = artifact.status == "partial";
    view! {
        <li class="books__artifact" data-kind=artifact.kind.as_str()>
            <details>
                <summary>
                    {artifact.title}
                    {partial.then(|| view! { <span class="chip chip--warn">"partial"</span> })}
                </summary>
                <dl class="books__fields">
                    {fields
                        .into_iter()
                        .map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> })
                        .collect_view()}
                </dl>
            </details>
        </li>
    }
}
