//! `/books`: BooksWriter (the BooksWriter protocol on `/ws/{session_id}`).
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
use crate::components::conversation::{Conversation, EmptyState, SideToggle};
use crate::components::files::download;
use crate::components::page::AppTitle;
use crate::components::status::ConnectionStatus;
use crate::hooks::books_chat::{BooksChat, Follow};
use crate::hooks::connection::ConnState;
use crate::hooks::session::{new_anon_id, store_get, store_set, use_session};
use crate::hooks::websocket::{UseWebSocketOptions, use_websocket_with_options, ws_url};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::books::{
    Artifact, ArtifactKind, ArtifactList, BookList, BookSummary, ClientMessage, Entry,
    ServerMessage, ToolStatus,
};

/// localStorage key of the session id, per kind of identity (a new sign-in
/// that does not own the stored session gets a new one).
fn storage_key(signed_in: bool) -> &'static str {
    if signed_in {
        "chorus.books.session.user"
    } else {
        "chorus.books.session.anon"
    }
}

/// After signing in: the book this browser wrote as a visitor moved into
/// the account (the server moved it), so it is the account's open book now.
pub fn adopt_visitor_book() {
    if let Some(id) = store_get(storage_key(false)) {
        store_set(storage_key(true), Some(&id));
        store_set(storage_key(false), None);
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

/// The day (and time) of an RFC 3339 moment, in the reader's locale.
fn local_date(ts: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(ts));
    if date.get_time().is_nan() {
        return String::new();
    }
    date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
        .into()
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
    let side_open = RwSignal::new(false);

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

    // The caller's books, to reopen one (`GET /api/books`).
    let library = RwSignal::new(Vec::<BookSummary>::new());
    let reload_library = move || {
        spawn_local(async move {
            if let Ok(list) = api::get::<BookList>("/api/books", &session.auth()).await {
                library.set(list.books);
            }
        });
    };
    reload_library();

    let restart_slot = StoredValue::new_local(None::<Callback<()>>);
    // Opens the book `id` (its conversation comes back with
    // `session_restore` on the new connection).
    let open_book = move |id: String| {
        if id == session_id.get_untracked() {
            return;
        }
        store_set(key, Some(&id));
        session_id.set(id);
        chat.update(BooksChat::reset);
        if let Some(restart) = restart_slot.get_value() {
            restart.run(());
        }
    };
    let start_new_session = move || {
        open_book(new_session_id());
        reload_library();
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
            on_message: Callback::new(move |msg: ServerMessage| {
                let mut follow = Follow::Nothing;
                chat.update(|c| follow = c.apply(msg));
                match follow {
                    Follow::Nothing => {}
                    Follow::ReloadArtifacts => {
                        reload_artifacts();
                        reload_library();
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
        let mut wire = None;
        chat.update(|c| wire = Some(c.send(client_id, text, now)));
        if let Some(msg) = wire {
            ws.send.run(msg);
        }
    };
    let stop = move || ws.send.run(ClientMessage::Stop);

    let empty = Memo::new(move |_| {
        chat.with(|c| c.loaded && c.transcript.entries.is_empty() && c.pending.is_empty())
    });
    view! {
        <AppTitle title="BooksWriter" />
        <div class="app books" class:app--side-open=side_open>
            <section class="app__main" aria-label="BooksWriter">
                <div class="app__bar">
                    <div class="app__bar-start">
                        <span class="chip" data-testid="current-agent" title="Who is working on your book">
                            {move || chat.with(|c| agent_label(&c.transcript.current_agent))}
                        </span>
                        <SideToggle controls="books-saved" open=side_open>
                            {move || format!("Books · {} saved", chat.with(|c| c.artifacts.len()))}
                        </SideToggle>
                    </div>
                    <span class="books__status">
                        <ConnectionStatus state=ws.state label="BooksWriter connection" />
                    </span>
                </div>
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
                <Conversation label="Conversation with the writers" testid="books-log" changes=Signal::derive(move || chat.track())>
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
                    {move || empty.get().then(|| view! {
                        <EmptyState
                            title="Write a book with a team of writers"
                            text="Ask for a plot, a world, characters or an author. Specialist writers take it in turn, you watch them write, and everything they make is saved for your book, each piece building on the last."
                            examples=&EXAMPLES
                            on_example=Callback::new(move |text: String| {
                                draft.set(text);
                                send();
                            })
                        />
                    })}
                </Conversation>
                {move || chat.with(|c| c.notice.clone()).map(|n| view! {
                    <div class="banner banner--warn" role="status" data-testid="books-notice"><p>{n}</p></div>
                })}
                <Composer
                    id="books-text"
                    label="Your request"
                    rows=1
                    max_length=10_000
                    placeholder="Ask for a plot, a world, characters…"
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
            <aside class="app__side books__artifacts card" id="books-saved" aria-label="Your books">
                <details class="books__library" data-testid="books-library">
                    <summary>{move || format!("Your books ({})", library.with(Vec::len))}</summary>
                    {move || {
                        let books = library.get();
                        if books.is_empty() {
                            return view! { <p class="field__hint">"Books you write are listed here, to reopen."</p> }.into_any();
                        }
                        let open = session_id.get();
                        view! {
                            <ul class="books__list">
                                {books
                                    .into_iter()
                                    .map(|b| {
                                        let here = b.session_id == open;
                                        let id = b.session_id.clone();
                                        let when = local_date(&b.updated_at);
                                        let saved = match b.artifacts {
                                            0 => "nothing saved yet".to_owned(),
                                            1 => "1 piece saved".to_owned(),
                                            n => format!("{n} pieces saved"),
                                        };
                                        view! {
                                            <li>
                                                <button
                                                    type="button"
                                                    class="books__book"
                                                    aria-current=here.then_some("true")
                                                    on:click=move |_| open_book(id.clone())
                                                >
                                                    <span class="books__book-title">{b.title}</span>
                                                    <span class="field__hint">
                                                        {if here { format!("Open now · {saved}") } else { format!("{when} · {saved}") }}
                                                    </span>
                                                </button>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any()
                    }}
                </details>
                <div data-testid="books-artifacts">
                <div class="row">
                    <h2 class="card__title">"Saved"</h2>
                    <Show when=move || chat.with(|c| !c.artifacts.is_empty())>
                        <button
                            type="button"
                            class="btn btn--sm"
                            on:click=move |_| download(
                                "book.md",
                                &chat.with_untracked(|c| book_markdown(&c.artifacts)),
                                "text/markdown;charset=utf-8",
                            )
                        >
                            "Export as Markdown"
                        </button>
                    </Show>
                </div>
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
                                    {of_kind.into_iter().map(|a| {
                                        let based_on = builds_on(&a, &artifacts);
                                        view! { <ArtifactView artifact=a based_on=based_on /> }
                                    }).collect_view()}
                                </ul>
                            })
                        })
                        .collect_view()
                        .into_any()
                }}
                </div>
            </aside>
        </div>
    }
}

/// First steps offered by the empty conversation.
const EXAMPLES: [&str; 3] = [
    "Create a fantasy novel with dragons",
    "Build a world of floating islands",
    "Invent an author for this plot",
];

/// The name people see for an agent (the wire keeps the seed's names).
fn agent_label(agent: &str) -> String {
    match agent {
        "OrchestratorAgent" => "Guide".to_owned(),
        "PlotGeneratorAgent" => "Plot writer".to_owned(),
        "WorldBuilderAgent" => "World builder".to_owned(),
        "CharacterCreatorAgent" => "Character creator".to_owned(),
        "AuthorGeneratorAgent" => "Author creator".to_owned(),
        other => words(other.trim_end_matches("Agent")),
    }
}

/// What a tool did, in words: `save_plot` → "Saved the plot".
fn tool_label(tool: &str, status: ToolStatus) -> String {
    let what = tool.strip_prefix("save_").unwrap_or(tool).replace('_', " ");
    match status {
        ToolStatus::Executing => format!("Saving the {what}…"),
        ToolStatus::Completed => format!("Saved the {what}"),
        ToolStatus::Failed => format!("Could not save the {what}"),
    }
}

/// `CamelCase` → "Camel case".
fn words(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A field's key as a label: `act_ii` → "Act II", `main_conflict` →
/// "Main conflict".
fn field_label(key: &str) -> String {
    key.split('_')
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, w)| {
            let roman = w.len() <= 4 && w.chars().all(|c| matches!(c, 'i' | 'v' | 'x'));
            // The wire's names and keys are ASCII: ASCII case keeps
            // Unicode's case tables out of the app.
            if roman {
                w.to_ascii_uppercase()
            } else if i == 0 {
                let mut w = w.to_owned();
                if let Some(f) = w.get_mut(..1) {
                    f.make_ascii_uppercase();
                }
                w
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
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
                "→ Over to the " <strong>{agent_label(&to_agent).to_ascii_lowercase()}</strong>
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
            let label = agent_label(&agent);
            view! {
            <div
                class="bubble bubble--assistant"
                class:bubble--streaming=streaming
                data-kind="agent"
                data-agent=agent
            >
                <span class="bubble__meta">{label} " · " {local_time(&timestamp)}</span>
                <span class="books__text">{content}</span>
            </div>
            }
            .into_any()
        }
        Entry::Tool {
            tool_name,
            status,
            progress,
            ..
        } => {
            let state = match status {
                ToolStatus::Executing => "executing",
                ToolStatus::Completed => "completed",
                ToolStatus::Failed => "failed",
            };
            // In whole percent: a float's text would bring the float formatter.
            let percent = ((progress.clamp(0.0, 1.0) * 100.0).round() as u32).to_string();
            view! {
                <div class="books__tool" data-kind="tool" data-status=state>
                    <span aria-hidden="true">"🔧"</span>
                    <span class="books__tool-text">{tool_label(&tool_name, status)}</span>
                    <progress max="100" value=percent aria-label="Tool progress"></progress>
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

/// The saved artifacts as one Markdown document, by kind, each with what
/// it builds on.
pub fn book_markdown(artifacts: &[Artifact]) -> String {
    let mut out = String::from("# My book\n");
    for kind in ArtifactKind::ALL {
        let of_kind: Vec<&Artifact> = artifacts.iter().filter(|a| a.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {}\n", kind_label(kind)));
        for a in of_kind {
            out.push_str(&format!("\n### {}\n\n", a.title));
            let based = builds_on(a, artifacts);
            if !based.is_empty() {
                out.push_str(&format!("_Builds on: {}_\n\n", based.join(", ")));
            }
            out.push_str(a.content.trim());
            out.push('\n');
        }
    }
    out
}

/// The titles of the artifacts `a` builds on.
fn builds_on(a: &Artifact, all: &[Artifact]) -> Vec<String> {
    a.builds_on
        .iter()
        .filter_map(|id| all.iter().find(|o| &o.id == id).map(|o| o.title.clone()))
        .collect()
}

#[component]
fn ArtifactView(artifact: Artifact, based_on: Vec<String>) -> impl IntoView {
    let fields: Vec<(String, String)> = artifact
        .fields
        .iter()
        .map(|(k, v)| {
            let label = field_label(k);
            (
                label,
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| crate::json::ToJson::to_json(v).encode()),
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
                {(!based_on.is_empty()).then(|| view! {
                    <p class="field__hint">"Builds on: " {based_on.join(", ")}</p>
                })}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_see_names_not_the_wire_names() {
        assert_eq!(agent_label("PlotGeneratorAgent"), "Plot writer");
        assert_eq!(agent_label("MapMakerAgent"), "Map maker");
        assert_eq!(
            tool_label("save_plot", ToolStatus::Completed),
            "Saved the plot"
        );
        assert_eq!(
            tool_label("save_world", ToolStatus::Executing),
            "Saving the world…"
        );
    }

    #[test]
    fn a_book_exports_as_markdown_with_what_each_piece_builds_on() {
        let artifact = |id: &str, kind, title: &str, builds: &[&str]| Artifact {
            id: id.into(),
            kind,
            title: title.into(),
            fields: Default::default(),
            content: format!("About {title}."),
            status: "complete".into(),
            builds_on: builds.iter().map(|b| (*b).to_owned()).collect(),
            created_at: "t".into(),
        };
        let md = book_markdown(&[
            artifact("w", ArtifactKind::World, "Isles", &[]),
            artifact("p", ArtifactKind::Plot, "Dragons", &["w"]),
        ]);
        assert!(md.find("## Plots").unwrap() < md.find("## Worlds").unwrap());
        assert!(md.contains("### Dragons\n\n_Builds on: Isles_\n\nAbout Dragons."));
    }

    #[test]
    fn field_labels_keep_roman_numerals_upright() {
        assert_eq!(field_label("act_ii"), "Act II");
        assert_eq!(field_label("act_iii"), "Act III");
        assert_eq!(field_label("main_conflict"), "Main conflict");
        assert_eq!(field_label("genre"), "Genre");
    }
}
