//! `/support`: supportive conversations (the support protocol on `/ws?token=`).
//!
//! The app shell: sessions on the side (a drawer on phones), the
//! conversation as the only scrolling area, the composer pinned below. A
//! small "Get help now" button is always in the bar; when a message is high
//! risk the crisis banner appears above the conversation, before the reply,
//! and stays while the session is open; it comes back when the session is
//! reopened (`/support?session=<id>` survives a reload). Typing without
//! choosing a session starts one, and its reply streams into it.

use crate::api;
use crate::components::composer::Composer;
use crate::components::conversation::{Conversation, EmptyState, SideToggle};
use crate::components::crisis_banner::CrisisBanner;
use crate::components::page::AppTitle;
use crate::components::require_account::RequireAccount;
use crate::components::status::ConnectionStatus;
use crate::hooks::session::use_session;
use crate::hooks::support_chat::SupportChat;
use crate::hooks::websocket::{UseWebSocketOptions, use_websocket_with_options, ws_url};
use crate::json::Json;
use crate::router::{use_navigate, use_query_map};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::support::{SupportMessage, SupportSession};
use shared::ws::{ClientMessage, ServerMessage};

#[component]
pub fn Support() -> impl IntoView {
    view! {
        <AppTitle title="Support" />
        <RequireAccount
            title="Sign in to start a conversation"
            reason="Your conversations are private to your account."
            next="/support"
            visitor_note=ViewFn::from(|| view! {
                <p class="card__text">
                    "If you are in danger right now, call or text "
                    <a href="tel:988">"988"</a>
                    " (US), or call your local emergency number."
                </p>
            })
        >
            <SupportRoom />
        </RequireAccount>
    }
}

#[component]
fn SupportRoom() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let navigate = use_navigate();
    let current = Memo::new(move |_| query.read().get("session"));
    let sessions = RwSignal::new(Vec::<SupportSession>::new());
    let chat = RwSignal::new(SupportChat::default());
    let draft = RwSignal::new(String::new());
    // The crisis resources asked for with "Get help now", and whether the
    // banner is folded.
    let help = RwSignal::new(false);
    let folded = RwSignal::new(false);
    let side_open = RwSignal::new(false);

    let reload_sessions = move || {
        spawn_local(async move {
            if let Ok(list) =
                api::get::<Vec<SupportSession>>("/api/support/sessions", &session.auth()).await
            {
                sessions.set(list);
            }
        })
    };
    reload_sessions();

    // A session opened from the list or the address loads its history; the
    // one the first message just created is already on screen.
    Effect::new(move |_| {
        let id = current.get();
        side_open.set(false);
        let load = chat.try_update(|c| c.open(id.clone())).unwrap_or(false);
        let Some(id) = id.filter(|_| load) else {
            return;
        };
        spawn_local(async move {
            let path = format!("/api/support/sessions/{id}/messages");
            match api::get::<Vec<SupportMessage>>(&path, &session.auth()).await {
                Ok(history) => {
                    let max = sessions
                        .with_untracked(|l| l.iter().find(|s| s.id == id).map(|s| s.max_risk))
                        .unwrap_or(shared::support::RiskLevel::None);
                    chat.update(|c| c.restore(&id, &history, max));
                }
                Err(e) if api::is_session_error(&e) => session.expire(),
                Err(e) => chat.update(|c| c.error = Some(e.error)),
            }
        });
    });

    let ws = use_websocket_with_options(
        move || {
            let token = session.token.get_untracked().unwrap_or_default();
            ws_url(&format!("/ws?token={token}"))
        },
        UseWebSocketOptions {
            on_message: Callback::new(move |msg: ServerMessage| {
                let mut finished = false;
                chat.update(|c| finished = c.apply(&msg));
                if finished {
                    session.refresh();
                    reload_sessions();
                }
            }),
            on_open: Callback::new(|()| Vec::new()),
            heartbeat_secs: 25,
            max_backoff_secs: 30,
            max_attempts: None,
        },
    );

    let navigate_to = StoredValue::new_local(navigate);
    let open = move |id: String| {
        navigate_to.with_value(|n| n(&format!("/support?session={id}")));
    };
    let new_session = move || async move {
        api::post::<_, SupportSession>(
            "/api/support/sessions",
            &Json::Obj(Vec::new()),
            &session.auth(),
        )
        .await
    };
    let send = move || {
        let text = draft.get_untracked().trim().to_owned();
        if text.is_empty() || chat.with_untracked(|c| c.busy) {
            return;
        }
        draft.set(String::new());
        chat.update(|c| {
            c.busy = true;
            c.error = None;
        });
        spawn_local(async move {
            let id = match chat.with_untracked(|c| c.session.clone()) {
                Some(id) => id,
                None => match new_session().await {
                    Ok(s) => {
                        // On screen before the address changes, so opening
                        // it keeps the reply that is about to stream.
                        chat.update(|c| c.session = Some(s.id.clone()));
                        reload_sessions();
                        open(s.id.clone());
                        s.id
                    }
                    Err(e) => {
                        chat.update(|c| {
                            c.error = Some(e.error);
                            c.busy = false;
                        });
                        draft.set(text);
                        return;
                    }
                },
            };
            let msg = ClientMessage::SessionMessage {
                session_id: id,
                message_text: text,
            };
            ws.send.run(msg);
        });
    };

    let empty = Memo::new(move |_| chat.with(|c| c.lines.is_empty()));
    let banner_shown = move || chat.with(|c| c.escalated) || help.get();
    let help_expanded = move || banner_shown() && !folded.get();

    view! {
        <div class="app" class:app--side-open=side_open>
            <aside class="app__side card" id="support-sessions" aria-label="Your conversations">
                <button
                    type="button"
                    class="btn btn--primary"
                    on:click=move |_| {
                        spawn_local(async move {
                            match new_session().await {
                                Ok(s) => {
                                    reload_sessions();
                                    open(s.id);
                                }
                                Err(e) => chat.update(|c| c.error = Some(e.error)),
                            }
                        })
                    }
                >
                    "New conversation"
                </button>
                <ul class="support__list">
                    {move || {
                        sessions
                            .get()
                            .into_iter()
                            .map(|s| {
                                let id = s.id.clone();
                                let here = {
                                    let id = id.clone();
                                    move || current.get().as_deref() == Some(id.as_str())
                                };
                                view! {
                                    <li>
                                        <a
                                            href=format!("/support?session={id}")
                                            class="support__link"
                                            aria-current=move || here().then_some("page")
                                        >
                                            {s.title.clone()}
                                            <span class="field__hint">{s.created_at.get(..10).unwrap_or("").to_owned()}</span>
                                        </a>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </aside>
            <section class="app__main" aria-label="Support conversation">
                <div class="app__bar">
                    <div class="app__bar-start">
                        <SideToggle controls="support-sessions" open=side_open>
                            "Conversations"
                        </SideToggle>
                        <button
                            type="button"
                            class="btn btn--sm help-button"
                            aria-expanded=move || help_expanded().to_string()
                            on:click=move |_| {
                                if help_expanded() {
                                    if chat.with_untracked(|c| c.escalated) {
                                        folded.set(true);
                                    } else {
                                        help.set(false);
                                    }
                                } else {
                                    help.set(true);
                                    folded.set(false);
                                }
                            }
                        >
                            "Get help now"
                        </button>
                    </div>
                    <ConnectionStatus state=ws.state label="Live connection" />
                </div>
                <Show when=banner_shown>
                    <CrisisBanner collapsed=folded />
                </Show>
                <Conversation
                    label="Conversation"
                    testid="support-chat"
                    changes=Signal::derive(move || chat.track())
                >
                    {move || {
                        chat.with(|c| c.lines.clone())
                            .into_iter()
                            .map(|l| {
                                let user = l.role == "user";
                                view! {
                                    <div
                                        class="bubble"
                                        class:bubble--user=user
                                        class:bubble--assistant=!user
                                        class:bubble--streaming=l.streaming
                                        aria-live=if l.streaming { "polite" } else { "off" }
                                    >
                                        <span class="bubble__meta">{if user { "You" } else { "Listener" }}</span>
                                        {l.text.clone()}
                                    </div>
                                }
                            })
                            .collect_view()
                    }}
                    {move || empty.get().then(|| view! {
                        <EmptyState
                            title="A calm place to talk"
                            text="Say whatever is on your mind: a listener answers with care, and nothing here is shared. If you are in danger, \u{201c}Get help now\u{201d} shows who to call, any time."
                        />
                    })}
                </Conversation>
                {move || chat.with(|c| c.error.clone()).map(|e| view! {
                    <div class="banner banner--warn" role="status"><p>{e}</p></div>
                })}
                <Composer
                    id="support-text"
                    label="Your message"
                    rows=1
                    placeholder="Type a message…"
                    draft=draft
                    on_send=Callback::new(move |()| send())
                    busy=Signal::derive(move || chat.with(|c| c.busy))
                />
            </section>
        </div>
    }
}
