//! `/personas`: the multi-persona panel (the persona protocol on `/ws`).
//!
//! Pick personas (up to 8), type once, and watch each answer stream into its
//! own column at the same time, each with its own status, token count and
//! stop button (in the column's header, where growing text cannot move it),
//! under the question asked; earlier questions and their answers stay above,
//! "Stop all" stops a panel, and the composer says what sending will cost.
//! A request refused as a whole (the free limit) keeps the earlier answers
//! and gives the question back. "One persona" keeps a conversation with
//! history; "Model" talks to the model and keeps `previous_response_id`.
//! One socket per page (reconnecting, resuming open streams), closed when
//! the page is left.

use crate::api::{self, Auth};
use crate::components::composer::Composer;
use crate::components::conversation::{Conversation, EmptyState};
use crate::components::model_settings::{ModelPicker, ModelSettings};
use crate::components::page::AppTitle;
use crate::components::status::ConnectionStatus;
use crate::components::toggle::ToggleButton;
use crate::hooks::panel::{Column, ColumnState, Effect, Mode, PanelState, Round};
use crate::hooks::session::{group_thousands, use_session};
use crate::hooks::websocket::{UseWebSocketOptions, use_websocket_with_options, ws_url};
use leptos::prelude::*;
use shared::auth::UsageKind;
use shared::personas::{ChatData, MAX_PERSONAS, MultiChatData, OpenaiChatData, Persona};
use shared::ws::{ClientMessage, ServerMessage, StopData};

const DEFAULT_PANEL: [&str; 3] = ["tech_enthusiast", "creative_writer", "data_scientist"];
/// What a request asks for until the picker changes it; the longest reply
/// is also what one reply can cost a member at most, in credits.
const MAX_TOKENS: u32 = 1000;

#[component]
pub fn Personas() -> impl IntoView {
    let session = use_session();
    // With the caller's identity, so their generated role card is listed.
    let catalog = LocalResource::new(move || {
        let auth = session.auth();
        async move {
            api::get::<Vec<Persona>>("/api/personas", &auth)
                .await
                .unwrap_or_default()
        }
    });
    let state = RwSignal::new(PanelState::default());
    let mode = RwSignal::new(Mode::Panel);
    let selected = RwSignal::new(DEFAULT_PANEL.map(String::from).to_vec());
    let draft = RwSignal::new(String::new());
    let settings = ModelSettings::new(MAX_TOKENS);

    let ws = use_websocket_with_options(
        move || {
            let who = match session.auth() {
                Auth::Token(t) => format!("token={t}"),
                Auth::Anon(a) => format!("anon_id={a}"),
                Auth::None => String::new(),
            };
            ws_url(&format!("/ws?{who}"))
        },
        UseWebSocketOptions {
            on_message: Callback::new(move |msg: ServerMessage| {
                let mut effect = Effect::None;
                state.update(|s| effect = s.apply(&msg));
                match effect {
                    Effect::None => {}
                    Effect::RefreshUsage => session.refresh(),
                    Effect::RestoreDraft(question) => {
                        if draft.with_untracked(String::is_empty) {
                            draft.set(question);
                        }
                    }
                }
            }),
            on_open: Callback::new(move |()| state.with_untracked(PanelState::resume_messages)),
            heartbeat_secs: 25,
            max_backoff_secs: 30,
            max_attempts: None,
        },
    );
    let send = ws.send;

    let personas_by_id = move |ids: &[String]| -> Vec<Persona> {
        let all = catalog.get().unwrap_or_default();
        ids.iter()
            .filter_map(|id| all.iter().find(|p| &p.id == id).cloned())
            .collect()
    };

    let submit = move || {
        let text = draft.get_untracked().trim().to_owned();
        if text.is_empty() || state.with_untracked(|s| s.busy) {
            return;
        }
        let ids = selected.get_untracked();
        let msg = match mode.get_untracked() {
            Mode::Panel => {
                if ids.is_empty() {
                    state.update(|s| s.error = Some("Pick at least one persona.".into()));
                    return;
                }
                let personas = personas_by_id(&ids);
                state.update(|s| s.start_panel(&text, personas));
                ClientMessage::MultiChat {
                    data: MultiChatData {
                        message: text,
                        persona_ids: ids,
                        api: None,
                        model: settings.model_name(),
                        temperature: settings.temperature.get_untracked(),
                        max_tokens: settings.max_tokens.get_untracked(),
                    },
                }
            }
            Mode::Chat => {
                let Some(p) = personas_by_id(&ids).into_iter().next() else {
                    state.update(|s| s.error = Some("Pick a persona to talk to.".into()));
                    return;
                };
                let history = state.with_untracked(PanelState::history);
                state.update(|s| s.start_turn(&text, &p.name));
                ClientMessage::Chat {
                    data: ChatData {
                        message: text,
                        persona_id: p.id,
                        api: None,
                        model: settings.model_name(),
                        temperature: settings.temperature.get_untracked(),
                        max_tokens: settings.max_tokens.get_untracked(),
                        history,
                    },
                }
            }
            Mode::Model => {
                let prev = state.with_untracked(|s| s.previous_response_id.clone());
                state.update(|s| s.start_turn(&text, "Model"));
                ClientMessage::OpenaiChat {
                    data: OpenaiChatData {
                        input_text: text,
                        model: settings.model_name(),
                        previous_response_id: prev,
                        tools: None,
                        include_reasoning: None,
                    },
                }
            }
        };
        send.run(msg);
        draft.set(String::new());
    };
    let stop = move |stream_id: Option<String>| {
        if let Some(stream_id) = stream_id {
            send.run(ClientMessage::Stop {
                data: StopData { stream_id },
            });
        }
    };
    let stop_all = move || {
        for id in state.with_untracked(PanelState::running_streams) {
            stop(Some(id));
        }
    };

    let toggle = move |id: String| {
        selected.update(|sel| {
            if mode.get_untracked() == Mode::Chat {
                *sel = vec![id];
            } else if let Some(i) = sel.iter().position(|s| *s == id) {
                sel.remove(i);
            } else if sel.len() < MAX_PERSONAS {
                sel.push(id);
            }
        });
    };

    let mode_button = move |m: Mode, label: &'static str| {
        view! {
            <ToggleButton
                pressed=Signal::derive(move || mode.get() == m)
                on_click=Callback::new(move |()| {
                    mode.set(m);
                    if m == Mode::Chat {
                        selected.update(|s| s.truncate(1));
                    }
                })
            >
                {label}
            </ToggleButton>
        }
    };

    let empty = Memo::new(move |_| state.with(|s| s.columns.is_empty() && s.earlier.is_empty()));
    let earlier = Memo::new(move |_| state.with(|s| s.earlier.len()));
    // What sending will cost, said before it is sent.
    let cost = move || {
        let replies = match mode.get() {
            Mode::Panel => selected.with(Vec::len),
            _ => 1,
        };
        let who = match replies {
            1 => "1 reply".to_owned(),
            n => format!("{n} personas"),
        };
        session.usage.get().map(|u| match u.kind {
            UsageKind::User => format!(
                "{who} · at most {} credits (1 per token written) · you have {}",
                group_thousands(i64::from(settings.max_tokens.get()) * replies as i64),
                group_thousands(u.remaining),
            ),
            UsageKind::Anonymous => format!(
                "{who} · uses {replies} of your {} free replies left",
                u.remaining
            ),
        })
    };

    view! {
        <AppTitle title="Personas" />
        <div class="app">
            <section class="app__main" aria-label="Personas">
                <div class="app__bar">
                    <div class="app__bar-start" role="group" aria-label="Mode">
                        {mode_button(Mode::Panel, "Panel")}
                        {mode_button(Mode::Chat, "One persona")}
                        {mode_button(Mode::Model, "Model")}
                    </div>
                    <ConnectionStatus state=ws.state label="Live connection" />
                </div>
                {move || {
                    matches!(ws.state.get(), crate::hooks::connection::ConnState::Reconnecting { .. })
                        .then(|| {
                            view! {
                                <div class="banner banner--warn" role="status">
                                    <p>"The connection dropped. Messages you send now go out when it is back."</p>
                                    <button type="button" class="btn btn--sm" on:click=move |_| ws.reconnect_now.run(())>
                                        "Retry now"
                                    </button>
                                </div>
                            }
                        })
                }}
                <Show when=move || mode.get() != Mode::Model>
                    <fieldset class="chips">
                        <legend class="visually-hidden">
                            {move || match mode.get() {
                                Mode::Chat => "Talk to".to_owned(),
                                _ => format!("Panel ({} of {MAX_PERSONAS})", selected.with(Vec::len)),
                            }}
                        </legend>
                        <Suspense fallback=|| view! { <span class="field__hint">"Loading personas…"</span> }>
                            {move || {
                                catalog
                                    .get()
                                    .unwrap_or_default()
                                    .into_iter()
                                    .map(|p| {
                                        let id = p.id.clone();
                                        let id2 = p.id.clone();
                                        let on = move || selected.with(|s| s.contains(&id));
                                        view! {
                                            <button
                                                type="button"
                                                class="chip chip--toggle"
                                                aria-pressed=move || on().to_string()
                                                title=p.description.clone()
                                                on:click=move |_| toggle(id2.clone())
                                            >
                                                <span aria-hidden="true">{p.avatar.clone()}</span>
                                                {p.name.clone()}
                                            </button>
                                        }
                                    })
                                    .collect_view()
                            }}
                        </Suspense>
                    </fieldset>
                </Show>
                <Conversation label="Answers" changes=Signal::derive(move || state.track())>
                    <Show
                        when=move || mode.get() == Mode::Panel
                        fallback=move || view! { <Turns state=state /> }
                    >
                        {move || empty.get().then(|| view! {
                            <EmptyState
                                title="Many minds, one question"
                                text="Pick up to eight personas above, ask once, and each one answers in its own column, all at the same time. \u{201c}One persona\u{201d} keeps a conversation with one of them; \u{201c}Model\u{201d} talks to the model itself."
                            />
                        })}
                        // Redrawn only when a round is added, not on every chunk.
                        {move || {
                            earlier.track();
                            state
                                .with_untracked(|s| s.earlier.clone())
                                .into_iter()
                                .map(|round| view! { <EarlierRound round=round /> })
                                .collect_view()
                        }}
                        <p class="round__question" data-testid="panel-question" class:visually-hidden=empty>
                            <span class="visually-hidden">"You asked: "</span>
                            {move || state.with(|s| s.question.clone())}
                        </p>
                        <div class="grid grid--columns panel" role="group" aria-label="Answers to your question">
                            <For
                                each=move || state.with(|s| (0..s.columns.len()).collect::<Vec<_>>())
                                key=move |i| (*i, state.with_untracked(|s| s.columns.get(*i).map(|c| c.persona.id.clone())))
                                let:i
                            >
                                <PanelColumn state=state index=i on_stop=Callback::new(stop) />
                            </For>
                        </div>
                    </Show>
                </Conversation>
                {move || {
                    state
                        .with(|s| s.error.clone())
                        .map(|e| view! { <div class="banner banner--warn" role="alert"><p>{e}</p></div> })
                }}
                {move || {
                    state
                        .with(|s| s.limit_reached)
                        .then(|| {
                            view! {
                                <div class="banner banner--info" role="status">
                                    <p>
                                        "You have used your free replies. "
                                        <a href="/login?next=%2Fpersonas">"Sign in or create an account"</a>
                                        " to keep going: your question is kept."
                                    </p>
                                </div>
                            }
                        })
                }}
                <ModelPicker settings=settings sampling=Signal::derive(move || mode.get() != Mode::Model) />
                <Composer
                    id="composer-text"
                    label="Your message"
                    rows=1
                    placeholder="Ask something…"
                    draft=draft
                    on_send=Callback::new(move |()| submit())
                    busy=Signal::derive(move || state.with(|s| s.busy))
                >
                    <p class="composer__hint" data-testid="panel-cost">{cost}</p>
                    <Show when=move || state.with(|s| s.busy)>
                        <button
                            type="button"
                            class="btn"
                            on:click=move |_| {
                                if mode.get_untracked() == Mode::Panel {
                                    stop_all();
                                } else {
                                    stop(state.with_untracked(|s| s.turns.last().and_then(|t| t.stream_id.clone())));
                                }
                            }
                        >
                            {move || if mode.get() == Mode::Panel { "Stop all" } else { "Stop" }}
                        </button>
                    </Show>
                </Composer>
            </section>
        </div>
    }
}

/// An earlier question and its answers, as they ended.
#[component]
fn EarlierRound(round: Round) -> impl IntoView {
    view! {
        <p class="round__question">
            <span class="visually-hidden">"You asked: "</span>
            {round.question}
        </p>
        <div class="grid grid--columns panel" role="group" aria-label="Earlier answers">
            {round
                .columns
                .into_iter()
                .map(|c| view! {
                    <article class="card column column--earlier">
                        <header class="column__header">
                            <span class="column__avatar" aria-hidden="true">{c.persona.avatar}</span>
                            <h2 class="column__name">{c.persona.name}</h2>
                        </header>
                        <p class="stream-text">{c.text}</p>
                    </article>
                })
                .collect_view()}
        </div>
    }
}

/// One persona's answer in the panel.
#[component]
fn PanelColumn(
    state: RwSignal<PanelState>,
    index: usize,
    on_stop: Callback<Option<String>>,
) -> impl IntoView {
    // Each reactive read takes only the field it shows: cloning the whole
    // column (its text included) in every closure made each streamed delta
    // cost the length of the answer so far, several times over.
    let field = move |f: fn(&Column) -> String| {
        Memo::new(move |_| state.with(|s| s.columns.get(index).map(f).unwrap_or_default()))
    };
    let name = field(|c| c.persona.name.clone());
    let avatar = field(|c| c.persona.avatar.clone());
    let persona_id = field(|c| c.persona.id.clone());
    let col_state =
        Memo::new(move |_| state.with(|s| s.columns.get(index).map(|c| c.state.clone())));
    let status = move || match col_state.get() {
        Some(ColumnState::Waiting) => "Waiting…".to_owned(),
        Some(ColumnState::Streaming) => "Answering…".to_owned(),
        Some(ColumnState::Done) => "Done".to_owned(),
        Some(ColumnState::Stopped) => "Stopped".to_owned(),
        Some(ColumnState::Failed(m)) => format!("Failed: {m}"),
        None => String::new(),
    };
    let running =
        Memo::new(move |_| state.with(|s| s.columns.get(index).is_some_and(|c| c.is_running())));
    let stream_id =
        move || state.with_untracked(|s| s.columns.get(index).and_then(|c| c.stream_id.clone()));
    let (text_ref, chars) = append_only_text(state, index);
    view! {
        <article class="card column" data-persona=persona_id>
            // Stop sits in the header: the text growing below never moves it.
            <header class="column__header">
                <span class="column__avatar" aria-hidden="true">{avatar}</span>
                <h2 class="column__name">{name}</h2>
                <Show when=move || running.get()>
                    <button
                        type="button"
                        class="btn btn--sm column__stop"
                        aria-label=move || format!("Stop {}", name.get())
                        on:click=move |_| on_stop.run(stream_id())
                    >
                        "Stop"
                    </button>
                </Show>
            </header>
            <p
                class="stream-text"
                class:stream-text--live=running
                aria-live="polite"
                data-testid="column-text"
                node_ref=text_ref
            ></p>
            <footer class="column__footer">
                <span class="field__hint" data-testid="column-tokens">
                    // The server's approximation: 4 characters a token.
                    {move || format!("≈ {} tokens", chars.get().div_ceil(4))}
                </span>
                <span class="chip" data-testid="column-status">{status}</span>
            </footer>
        </article>
    }
}

/// Keeps a column's text in the DOM by appending only what is new to its
/// text node (a new stream starts it again), and counts its characters as
/// they come: each delta costs its own length, not the answer's.
fn append_only_text(
    state: RwSignal<PanelState>,
    index: usize,
) -> (NodeRef<leptos::html::P>, ReadSignal<usize>) {
    use wasm_bindgen::JsCast;
    let text_ref = NodeRef::<leptos::html::P>::new();
    let (chars, set_chars) = signal(0usize);
    // What the DOM shows: the stream it belongs to and its length in bytes.
    let shown = StoredValue::new((None::<String>, 0usize));
    leptos::prelude::Effect::new(move |_| {
        let Some(el) = text_ref.get() else { return };
        let update = state.with(|s| {
            let c = s.columns.get(index)?;
            let (stream, len) = shown.get_value();
            let same = stream == c.stream_id && len <= c.text.len() && c.text.is_char_boundary(len);
            let from = if same { len } else { 0 };
            Some((
                !same,
                c.stream_id.clone(),
                c.text[from..].to_owned(),
                c.text.len(),
            ))
        });
        let Some((restart, stream, piece, len)) = update else {
            return;
        };
        let text_node = el
            .last_child()
            .and_then(|n| n.dyn_into::<web_sys::CharacterData>().ok());
        match text_node {
            Some(node) if !restart => node.append_data(&piece).unwrap_or_default(),
            _ => el.set_text_content(Some(&piece)),
        }
        let added = piece.chars().count();
        if restart {
            set_chars.set(added);
        } else if added > 0 {
            set_chars.update(|n| *n += added);
        }
        shown.set_value((stream, len));
    });
    (text_ref, chars)
}

/// The single conversation of the "One persona" and "Model" modes.
#[component]
fn Turns(state: RwSignal<PanelState>) -> impl IntoView {
    view! {
        <div class="chat">
            {move || {
                state
                    .with(|s| s.turns.clone())
                    .into_iter()
                    .map(|t| {
                        let user = t.role == "user";
                        view! {
                            <div
                                class="bubble"
                                class:bubble--user=user
                                class:bubble--assistant=!user
                                class:bubble--streaming=t.streaming
                                aria-live=if t.streaming { "polite" } else { "off" }
                            >
                                <span class="bubble__meta">{t.speaker.clone()}</span>
                                {t.text.clone()}
                            </div>
                        }
                    })
                    .collect_view()
            }}
        </div>
    }
}
