//! `/chat`: the hybrid chat (seed 003). Chats on the side, kept live over
//! the management WebSocket (`/api/v1/chats/ws`: list, rename, delete,
//! usage, news from other tabs); the conversation in the middle, whose
//! replies stream over SSE (`POST /api/v1/messages/send`, regenerate) and
//! render as safe Markdown. `/chat?chat=<id>` survives a reload, and a reply
//! still being written is re-attached (`GET /api/v1/chats/{id}/stream`).
//!
//! Visitors chat up to the free limit; then a sign-in prompt keeps their
//! typed message (in sessionStorage, across the sign-in page). The event →
//! state logic is `hooks::chat_state`.

use crate::components::markdown::Markdown;
use crate::components::page::PageHeader;
use crate::components::status::ConnectionStatus;
use crate::hooks::chat_state::{Bubble, ChatState, Notice, Then};
use crate::hooks::session::{usage_label, use_session};
use crate::hooks::sse::{SseEvent, SseRequest, UseSseOptions, use_sse_with_options};
use crate::hooks::websocket::{UseWebSocketOptions, use_websocket_with_options, ws_url};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde_json::json;
use shared::chat::{MAX_CONTENT_CHARS, ServerEvent, ServerMessage};

/// Where a refused message waits while its author signs in.
const DRAFT_KEY: &str = "chorus.chat.draft";

fn kept_draft(value: Option<&str>) -> Option<String> {
    let store = web_sys::window()?.session_storage().ok()??;
    match value {
        Some(v) => {
            let _ = store.set_item(DRAFT_KEY, v);
            None
        }
        None => {
            let v = store.get_item(DRAFT_KEY).ok()?;
            let _ = store.remove_item(DRAFT_KEY);
            v
        }
    }
}

#[component]
pub fn Chat() -> impl IntoView {
    view! {
        <PageHeader
            title="Chat"
            lead="A chat with history. Visitors get a number of free replies; members spend credits."
        />
        <ChatRoom />
    }
}

#[component]
fn ChatRoom() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let navigate = StoredValue::new_local(use_navigate());
    let current = Memo::new(move |_| query.read().get("chat").filter(|c| !c.is_empty()));
    let state = RwSignal::new(ChatState::default());
    let draft = RwSignal::new(kept_draft(None).unwrap_or_default());
    // (chat id, title being typed) while a chat is renamed.
    let editing = RwSignal::new(None::<(String, String)>);
    let go = move |path: String| navigate.with_value(|n| n(&path, Default::default()));

    // What the page does after an event: the hooks below call it; it is
    // filled in once `ws` exists.
    let follow = StoredValue::new_local(Box::new(|_: Then| {}) as Box<dyn Fn(Then)>);

    let ws = use_websocket_with_options(
        move || match session.token.get_untracked() {
            Some(t) => ws_url(&format!("/api/v1/chats/ws?token={t}")),
            None => ws_url(&format!("/api/v1/chats/ws?anon_id={}", session.anon_id())),
        },
        UseWebSocketOptions {
            on_message: Callback::new(move |text: String| {
                let Ok(msg) = crate::api::parse_json::<ServerMessage>(&text) else {
                    return;
                };
                if let ServerMessage::UsageInfo(u) = &msg {
                    session.usage.set(Some(u.clone()));
                }
                let then = state.try_update(|s| s.apply(&msg)).unwrap_or(Then::Nothing);
                follow.with_value(|f| f(then));
            }),
            on_open: Callback::new(move |()| {
                let mut first =
                    vec![json!({"type": "list_chats", "page": 0, "limit": 50}).to_string()];
                if let Some(id) = current.get_untracked() {
                    first.push(list_messages(&id));
                }
                first
            }),
            heartbeat_secs: 25,
            max_backoff_secs: 30,
            max_attempts: None,
        },
    );

    let sse = use_sse_with_options(
        Callback::new(move |()| session.auth()),
        UseSseOptions {
            on_event: Callback::new(move |ev: SseEvent| {
                let Ok(e) = crate::api::parse_json::<ServerEvent>(&ev.data) else {
                    return;
                };
                if let ServerEvent::UsageInfo(u) = &e {
                    session.usage.set(Some(u.clone()));
                }
                let then = state
                    .try_update(|s| s.apply_event(&e))
                    .unwrap_or(Then::Nothing);
                follow.with_value(|f| f(then));
            }),
            // Every reply stream ends with `usage_info`.
            is_last: |ev| ev.event.as_deref() == Some("usage_info"),
            max_retries: 5,
        },
    );

    follow.set_value(Box::new(move |then: Then| match then {
        Then::Nothing => {}
        Then::Open(id) => go(format!("/chat?chat={id}")),
        Then::RestoreDraft(text) => {
            kept_draft(Some(&text));
            draft.set(text);
        }
        Then::Reload => {
            if let Some(id) = current.get_untracked() {
                ws.send.run(list_messages(&id));
            }
        }
        Then::Leave => go("/chat".into()),
    }));

    // A stream refused before it began (a 4xx): say why, keep the message.
    Effect::new(move |_| {
        if let Some(message) = sse.error.get() {
            let then = state
                .try_update(|s| s.refused(message))
                .unwrap_or(Then::Nothing);
            follow.with_value(|f| f(then));
        }
    });

    // Opening a chat lists its messages and re-attaches to a reply still
    // being written (after a refresh); the 204 of an idle chat ends at once.
    Effect::new(move |_| {
        let id = current.get();
        let busy = state.with_untracked(|s| s.busy && s.current == id);
        state.update(|s| s.open(id.clone()));
        if let Some(id) = id {
            ws.send.run(list_messages(&id));
            if !busy {
                sse.start.run(SseRequest {
                    method: "GET",
                    path: format!("/api/v1/chats/{id}/stream"),
                    body: None,
                });
            }
        }
    });

    let send = move || {
        let text = draft.get_untracked().trim().to_owned();
        if text.is_empty() || state.with_untracked(|s| s.busy) {
            return;
        }
        draft.set(String::new());
        kept_draft(None);
        state.update(|s| s.sent(&text));
        let mut body = json!({"model": "", "content": text, "temperature": 0.7});
        if let Some(id) = current.get_untracked() {
            body["chat_id"] = json!(id);
        }
        sse.start.run(SseRequest {
            method: "POST",
            path: "/api/v1/messages/send".into(),
            body: Some(body.to_string()),
        });
    };
    let stop = move || {
        sse.cancel.run(());
        state.update(|s| s.stopped());
    };
    let regenerate = move |id: String| {
        state.update(|s| s.regenerating(&id));
        sse.start.run(SseRequest {
            method: "POST",
            path: format!("/api/v1/messages/{id}/regenerate"),
            body: Some("{}".into()),
        });
    };
    let save_title = move || {
        if let Some((id, title)) = editing.get_untracked() {
            let title = title.trim().to_owned();
            if !title.is_empty() {
                ws.send
                    .run(json!({"type": "rename_chat", "chat_id": id, "title": title}).to_string());
            }
        }
        editing.set(None);
    };

    let sidebar = move || {
        state
            .with(|s| s.chats.clone())
            .into_iter()
            .map(|c| {
                let id = c.id.clone();
                let here = {
                    let id = id.clone();
                    move || current.get().as_deref() == Some(id.as_str())
                };
                let is_editing = {
                    let id = id.clone();
                    move || editing.with(|e| e.as_ref().is_some_and(|(e, _)| *e == id))
                };
                let (rename_id, rename_title, delete_id) = (id.clone(), c.title.clone(), id.clone());
                let title = c.title.clone();
                view! {
                    <li class="chat-side__item">
                        <Show
                            when=is_editing
                            fallback=move || {
                                let (rename_id, rename_title, delete_id) =
                                    (rename_id.clone(), rename_title.clone(), delete_id.clone());
                                let title = title.clone();
                                let here = here.clone();
                                view! {
                                    <a
                                        href=format!("/chat?chat={}", rename_id)
                                        class="chat-side__link"
                                        aria-current=move || here().then_some("page")
                                    >
                                        {title.clone()}
                                    </a>
                                    <span class="chat-side__tools">
                                        <button
                                            type="button"
                                            class="btn btn--ghost btn--sm"
                                            aria-label=format!("Rename {title}")
                                            on:click=move |_| editing.set(Some((rename_id.clone(), rename_title.clone())))
                                        >"Rename"</button>
                                        <button
                                            type="button"
                                            class="btn btn--ghost btn--sm"
                                            aria-label=format!("Delete {title}")
                                            on:click=move |_| ws.send.run(json!({"type": "delete_chat", "chat_id": delete_id}).to_string())
                                        >"Delete"</button>
                                    </span>
                                }
                            }
                        >
                            <form
                                class="chat-side__rename"
                                on:submit=move |ev: leptos::ev::SubmitEvent| {
                                    ev.prevent_default();
                                    save_title();
                                }
                            >
                                <label class="visually-hidden" for="chat-rename">"New title"</label>
                                <input
                                    id="chat-rename"
                                    class="input"
                                    maxlength="100"
                                    prop:value=move || editing.with(|e| e.as_ref().map(|(_, t)| t.clone()).unwrap_or_default())
                                    on:input=move |ev| {
                                        let v = event_target_value(&ev);
                                        editing.update(|e| if let Some((_, t)) = e { *t = v });
                                    }
                                />
                                <button type="submit" class="btn btn--primary btn--sm">"Save"</button>
                                <button type="button" class="btn btn--ghost btn--sm" on:click=move |_| editing.set(None)>"Cancel"</button>
                            </form>
                        </Show>
                    </li>
                }
            })
            .collect_view()
    };

    let bubble = move |b: Bubble, last: bool, busy: bool| {
        let user = b.role == "user";
        let streaming = b.streaming.is_some();
        let text = b.text().to_owned();
        let id = b.id.clone().unwrap_or_default();
        let versions = b.versions.len();
        let shown = b.shown;
        let (prev_id, next_id, regen_id) = (id.clone(), id.clone(), id.clone());
        view! {
            <div
                class="bubble chat-bubble"
                class:bubble--user=user
                class:bubble--assistant=!user
                class:bubble--streaming=streaming
                aria-live=if streaming { "polite" } else { "off" }
                data-testid=if user { "chat-user" } else { "chat-reply" }
            >
                <span class="bubble__meta">{if user { "You" } else { "Assistant" }}</span>
                {if user {
                    view! { <p class="chat-bubble__plain">{text}</p> }.into_any()
                } else if streaming && text.is_empty() {
                    view! { <p class="chat-bubble__typing">"Typing…"</p> }.into_any()
                } else {
                    view! { <div class="md">
                        <Markdown text=text />
                    </div> }.into_any()
                }}
                {(!user && !streaming && (versions > 1 || last)).then(|| view! {
                    <div class="chat-bubble__tools">
                        {(versions > 1).then(|| view! {
                            <button
                                type="button"
                                class="btn btn--ghost btn--sm"
                                aria-label="Previous version"
                                disabled={shown == 0}
                                on:click=move |_| state.update(|s| s.step_version(&prev_id, -1))
                            >"‹"</button>
                            <span class="chat-bubble__version">{format!("{} / {versions}", shown + 1)}</span>
                            <button
                                type="button"
                                class="btn btn--ghost btn--sm"
                                aria-label="Next version"
                                disabled={shown + 1 >= versions}
                                on:click=move |_| state.update(|s| s.step_version(&next_id, 1))
                            >"›"</button>
                        })}
                        {(last && !busy).then(|| view! {
                            <button
                                type="button"
                                class="btn btn--ghost btn--sm"
                                on:click=move |_| regenerate(regen_id.clone())
                            >"Regenerate"</button>
                        })}
                    </div>
                })}
            </div>
        }
    };

    view! {
        <div class="chat-page">
            <aside class="chat-side card" aria-label="Your chats">
                <button type="button" class="btn btn--primary" on:click=move |_| go("/chat".into())>
                    "New chat"
                </button>
                <ul class="chat-side__list" data-testid="chat-list">{sidebar}</ul>
                <Show when=move || state.with(|s| s.chats.is_empty())>
                    <p class="field__hint">"Your chats will show here."</p>
                </Show>
            </aside>
            <section class="chat-main" aria-label="Conversation">
                <div class="chat-main__bar">
                    {move || state.with(|s| s.usage.clone()).map(|u| view! {
                        <span class="chat-usage" data-testid="chat-usage">
                            <meter min="0" max=u.limit.max(1) value=u.remaining aria-label="Usage left"></meter>
                            {usage_label(&u)}
                        </span>
                    })}
                    <ConnectionStatus state=ws.state label="Live connection" />
                </div>
                <div class="chat chat-log" data-testid="chat-log">
                    {move || {
                        let (bubbles, busy) = state.with(|s| (s.bubbles.clone(), s.busy));
                        let n = bubbles.len();
                        bubbles
                            .into_iter()
                            .enumerate()
                            .map(|(i, b)| bubble(b, i + 1 == n, busy))
                            .collect_view()
                    }}
                    <Show when=move || state.with(|s| s.bubbles.is_empty())>
                        <p class="field__hint">"Ask anything. Replies stream in as they are written."</p>
                    </Show>
                </div>
                {move || state.with(|s| s.notice.clone()).map(|n| match n {
                    Notice::SignIn(_) => view! {
                        <div class="banner banner--warn chat-notice" role="alert" data-testid="chat-signin">
                            <p>
                                "You have used all your free replies. "
                                <a href="/login?next=/chat">"Sign in or create an account"</a>
                                " to keep chatting: your message is kept."
                            </p>
                        </div>
                    }.into_any(),
                    Notice::TopUp(_) => view! {
                        <div class="banner banner--warn chat-notice" role="alert" data-testid="chat-topup">
                            <p>"Your credits are used up, so no reply can be written. Your message is kept."</p>
                        </div>
                    }.into_any(),
                    Notice::Error(e) => view! {
                        <div class="banner banner--warn chat-notice" role="status"><p>{e}</p></div>
                    }.into_any(),
                })}
                <form
                    class="composer"
                    on:submit=move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        send();
                    }
                >
                    <label class="visually-hidden" for="chat-text">"Your message"</label>
                    <textarea
                        id="chat-text"
                        class="textarea"
                        rows="2"
                        maxlength=MAX_CONTENT_CHARS.to_string()
                        placeholder="Message… (Enter sends, Shift+Enter for a new line)"
                        bind:value=draft
                        on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                            if ev.key() == "Enter" && !ev.shift_key() {
                                ev.prevent_default();
                                send();
                            }
                        }
                    ></textarea>
                    <div class="composer__actions">
                        <Show
                            when=move || state.with(|s| s.busy)
                            fallback=move || view! {
                                <button class="btn btn--primary" type="submit">"Send"</button>
                            }
                        >
                            <button class="btn" type="button" on:click=move |_| stop()>"Stop"</button>
                        </Show>
                    </div>
                </form>
            </section>
        </div>
    }
}

fn list_messages(chat_id: &str) -> String {
    json!({"type": "list_messages", "chat_id": chat_id, "page": 0, "limit": 100}).to_string()
}
