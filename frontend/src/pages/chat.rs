//! `/chat`: the hybrid chat (the hybrid chat protocol). Chats on the side, kept live over
//! the management WebSocket (`/api/v1/chats/ws`: list, rename, delete,
//! usage, news from other tabs); the conversation in the middle, whose
//! replies stream over SSE (`POST /api/v1/messages/send`, regenerate) and
//! render as safe Markdown. `/chat?chat=<id>` survives a reload, and a reply
//! still being written is re-attached (`GET /api/v1/chats/{id}/stream`).
//!
//! Visitors chat up to the free limit; then a sign-in prompt keeps their
//! typed message (in sessionStorage, across the sign-in page). The event →
//! state logic is `hooks::chat_state`.

use crate::api::to_json;
use crate::components::conversation::{Conversation, EmptyState, SideToggle};
use crate::components::copy::CopyButton;
use crate::components::markdown::Markdown;
use crate::components::model_settings::{ModelPicker, ModelSettings};
use crate::components::page::AppTitle;
use crate::components::reply_status::ReplyStatus;
use crate::components::status::ConnectionStatus;
use crate::hooks::chat_state::{Bubble, ChatState, Notice, ReplyEvent, Then};
use crate::hooks::session::{group_thousands, usage_label, use_session};
use crate::hooks::sse::{Delivered, SseRequest, UseSseOptions, use_sse_with_options};
use crate::hooks::websocket::{UseWebSocketOptions, use_websocket_with_options, ws_url};
use crate::router::{use_navigate, use_query_map};
use leptos::prelude::*;
use shared::auth::UsageKind;
use shared::chat::{
    ChatHit, ClientMessage, EditMessage, MAX_CONTENT_CHARS, MAX_SEARCH_CHARS, SendMessage,
    ServerEvent, ServerMessage,
};

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
        <AppTitle title="Chat" />
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
    // The chat whose delete waits for a confirmation.
    let confirming = RwSignal::new(None::<String>);
    // The user's message being edited, and its text in the editor.
    let edit_id = RwSignal::new(None::<String>);
    let edit_text = RwSignal::new(String::new());
    let go = move |path: String| navigate.with_value(|n| n(&path));
    let side_open = RwSignal::new(false);
    // The model and settings replies are asked with.
    let settings = ModelSettings::new(1000);
    Effect::new(move |_| {
        current.track();
        side_open.set(false);
    });
    // Credits, explained where they are spent: the balance before a reply,
    // and what the last one cost.
    let balance_before = StoredValue::new(None::<i64>);
    let last_cost = RwSignal::new(None::<i64>);
    let credits_note = move || {
        let u = session.usage.get()?;
        Some(match u.kind {
            UsageKind::User => {
                let left = group_thousands(u.remaining);
                let rate = "A reply costs 1 credit per token it writes (a token is about \u{be} of a word)";
                match last_cost.get() {
                    Some(c) if c > 0 => format!(
                        "The last reply cost {} credits; {left} left, about {} more like it. {rate}.",
                        group_thousands(c),
                        group_thousands(u.remaining / c)
                    ),
                    _ => format!("{rate}; you have {left}."),
                }
            }
            UsageKind::Anonymous => format!(
                "{} of {} free replies left; after that, an account (free) gives you credits to go on.",
                u.remaining, u.limit
            ),
        })
    };

    // What the page does after an event: the hooks below call it; it is
    // filled in once `ws` exists.
    let follow = StoredValue::new_local(Box::new(|_: Then| {}) as Box<dyn Fn(Then)>);

    let ws = use_websocket_with_options(
        move || match session.token.get_untracked() {
            Some(t) => ws_url(&format!("/api/v1/chats/ws?token={t}")),
            None => ws_url(&format!("/api/v1/chats/ws?anon_id={}", session.anon_id())),
        },
        UseWebSocketOptions {
            on_message: Callback::new(move |msg: ServerMessage| {
                if let ServerMessage::UsageInfo(u) = &msg {
                    session.usage.set(Some(u.clone()));
                }
                let then = state.try_update(|s| s.apply(&msg)).unwrap_or(Then::Nothing);
                follow.with_value(|f| f(then));
            }),
            on_open: Callback::new(move |()| {
                let mut first = vec![ClientMessage::ListChats { page: 0, limit: 50 }];
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
            on_event: Callback::new(move |Delivered { event: e, .. }: Delivered<ReplyEvent>| {
                if let ReplyEvent::Chat(ServerEvent::UsageInfo(u)) = &e {
                    if u.kind == UsageKind::User
                        && let Some(before) = balance_before.get_value()
                    {
                        last_cost.set(Some((before - u.remaining).max(0)));
                        balance_before.set_value(None);
                    }
                    session.usage.set(Some(u.clone()));
                }
                let then = state
                    .try_update(|s| s.apply_reply(&e))
                    .unwrap_or(Then::Nothing);
                follow.with_value(|f| f(then));
            }),
            is_last: ReplyEvent::is_last,
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
        Then::RestoreEdit(id, text) => {
            edit_text.set(text);
            edit_id.set(Some(id));
        }
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
        balance_before.set_value(
            session
                .usage
                .with_untracked(|u| u.as_ref().map(|u| u.remaining)),
        );
        state.update(|s| s.sent(&text));
        let body = SendMessage {
            chat_id: current.get_untracked(),
            model: settings.model.get_untracked(),
            content: text,
            temperature: settings.temperature.get_untracked(),
            max_tokens: Some(settings.max_tokens.get_untracked()),
        };
        sse.start.run(SseRequest {
            method: "POST",
            path: "/api/v1/messages/send".into(),
            body: Some(to_json(&body)),
        });
    };
    let stop = move || {
        sse.cancel.run(());
        state.update(|s| s.stopped());
    };
    let regenerate = move |id: String| {
        balance_before.set_value(
            session
                .usage
                .with_untracked(|u| u.as_ref().map(|u| u.remaining)),
        );
        state.update(|s| s.regenerating(&id));
        sse.start.run(SseRequest {
            method: "POST",
            path: format!("/api/v1/messages/{id}/regenerate"),
            // Asked as the picker says now (Retry, Regenerate).
            body: Some(crate::api::to_json(&shared::chat::Regenerate {
                model: settings.model.get_untracked(),
                temperature: Some(settings.temperature.get_untracked()),
            })),
        });
    };
    // Edit and resend: the message's new text as a new version, and the
    // reply to it written again.
    let resend = move |id: String| {
        let text = edit_text.get_untracked().trim().to_owned();
        if text.is_empty() || state.with_untracked(|s| s.busy) {
            return;
        }
        edit_id.set(None);
        balance_before.set_value(
            session
                .usage
                .with_untracked(|u| u.as_ref().map(|u| u.remaining)),
        );
        state.update(|s| s.edited(&id, &text));
        sse.start.run(SseRequest {
            method: "POST",
            path: format!("/api/v1/messages/{id}/edit"),
            body: Some(to_json(&EditMessage {
                content: text,
                model: settings.model.get_untracked(),
                temperature: Some(settings.temperature.get_untracked()),
                max_tokens: Some(settings.max_tokens.get_untracked()),
            })),
        });
        focus("#chat-text");
    };
    let cancel_edit = move || {
        if let Some(id) = edit_id.get_untracked() {
            edit_id.set(None);
            request_animation_frame(move || focus(&format!("[data-edit=\"{id}\"]")));
        }
    };

    // Keyboard focus through rename and delete: into the title box when
    // renaming starts, back to the chat's Rename button when it ends (also
    // after the list is redrawn with the new title); to "Keep" when a delete
    // asks for confirmation.
    let refocus = StoredValue::new(None::<(String, String)>);
    Effect::new(move |_| {
        let done = state.with(|s| {
            let (id, title) = refocus.get_value()?;
            Some(s.chats.iter().any(|c| c.id == id && c.title == title))
        });
        editing.track();
        let Some((id, _)) = refocus.get_value() else {
            return;
        };
        request_animation_frame(move || focus(&format!("[data-rename=\"{id}\"]")));
        if done == Some(true) {
            refocus.set_value(None);
        }
    });
    let end_edit = move |title: Option<String>| {
        if let Some((id, typed)) = editing.get_untracked() {
            let kept = state
                .with_untracked(|s| s.chats.iter().find(|c| c.id == id).map(|c| c.title.clone()));
            let expected = title.unwrap_or_else(|| kept.unwrap_or(typed));
            refocus.set_value(Some((id, expected)));
        }
        editing.set(None);
    };
    let save_title = move || {
        let mut new_title = None;
        if let Some((id, title)) = editing.get_untracked() {
            let title = title.trim().to_owned();
            if !title.is_empty() {
                ws.send.run(ClientMessage::RenameChat {
                    chat_id: id,
                    title: title.clone(),
                });
                new_title = Some(title);
            }
        }
        end_edit(new_title);
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
                let is_confirming = {
                    let id = id.clone();
                    move || confirming.with(|e| e.as_deref() == Some(id.as_str()))
                };
                let title = c.title.clone();
                // One closure per state of the item (not nested `Show`s:
                // each of those is a generic instantiation, and the app's
                // size counts).
                let item = move || {
                    if is_editing() {
                        return view! {
                            <RenameForm editing=editing on_save=Callback::new(move |()| save_title()) on_cancel=Callback::new(move |()| end_edit(None)) />
                        }
                        .into_any();
                    }
                    let (id, title) = (id.clone(), title.clone());
                    let here = here.clone();
                    let tools = if is_confirming() {
                        let confirm_id = id.clone();
                        view! {
                            <span class="chat-side__confirm" role="group" aria-label="Delete this chat?">
                                <span class="field__hint">"Delete this chat?"</span>
                                <button
                                    type="button"
                                    class="btn btn--danger btn--sm"
                                    aria-label=format!("Yes, delete {title}")
                                    on:click=move |_| {
                                        confirming.set(None);
                                        ws.send.run(ClientMessage::DeleteChat { chat_id: confirm_id.clone() });
                                    }
                                >"Delete"</button>
                                <button
                                    type="button"
                                    class="btn btn--ghost btn--sm"
                                    aria-label=format!("Keep {title}")
                                    data-keep=""
                                    on:click=move |_| confirming.set(None)
                                >"Keep"</button>
                            </span>
                        }
                        .into_any()
                    } else {
                        let (rename_id, delete_id, rename_title) = (id.clone(), id.clone(), title.clone());
                        view! {
                            <span class="chat-side__tools">
                                <button
                                    type="button"
                                    class="btn btn--ghost btn--sm"
                                    aria-label=format!("Rename {title}")
                                    data-rename=id.clone()
                                    on:click=move |_| editing.set(Some((rename_id.clone(), rename_title.clone())))
                                >"Rename"</button>
                                <button
                                    type="button"
                                    class="btn btn--ghost btn--sm"
                                    aria-label=format!("Delete {title}")
                                    on:click=move |_| {
                                        confirming.set(Some(delete_id.clone()));
                                        request_animation_frame(|| focus("[data-keep]"));
                                    }
                                >"Delete"</button>
                            </span>
                        }
                        .into_any()
                    };
                    view! {
                        <a
                            href=format!("/chat?chat={id}")
                            class="chat-side__link"
                            aria-current=move || here().then_some("page")
                        >
                            {title.clone()}
                        </a>
                        {tools}
                    }
                    .into_any()
                };
                view! { <li class="chat-side__item">{item}</li> }
            })
            .collect_view()
    };

    let bubble = move |b: Bubble, last: bool, busy: bool, editing: bool| {
        let user = b.role == "user";
        let streaming = b.streaming.is_some();
        let text = b.text().to_owned();
        let id = b.id.clone().unwrap_or_default();
        let versions = b.versions.len();
        let shown = b.shown;
        let (arrows_id, regen_id) = (id.clone(), id.clone());
        // Stopped or failed: say so, and offer Retry on the last reply.
        let interrupted = b.interrupted;
        let cut_short = b.cut_short().map(|status| {
            let retry_id = id.clone();
            let on_retry =
                (last && !busy).then(|| Callback::new(move |()| regenerate(retry_id.clone())));
            view! { <ReplyStatus status=status on_retry=on_retry interrupted=interrupted /> }
        });
        let copy_text = text.clone();
        if editing {
            let save_id = id.clone();
            return view! {
                <div class="bubble chat-bubble bubble--user chat-bubble--editing" data-testid="chat-user">
                    <MessageEditor
                        text=edit_text
                        on_save=Callback::new(move |()| resend(save_id.clone()))
                        on_cancel=Callback::new(move |()| cancel_edit())
                    />
                </div>
            }
            .into_any();
        }
        let edit_id_of = id.clone();
        let user_tools = (user && !streaming && b.id.is_some()).then(|| view! {
            <div class="chat-bubble__tools">
                {(versions > 1).then(|| version_arrows(state, id.clone(), shown, versions, "edit"))}
                {(!busy).then(|| {
                    let text = text.clone();
                    view! {
                        <button
                            type="button"
                            class="btn btn--ghost btn--sm"
                            aria-label="Edit message"
                            data-edit=edit_id_of.clone()
                            on:click=move |_| {
                                edit_text.set(text.clone());
                                edit_id.set(Some(edit_id_of.clone()));
                            }
                        >"Edit"</button>
                    }
                })}
            </div>
        });
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
                    view! { <p class="chat-bubble__plain">{text.clone()}</p> }.into_any()
                } else if streaming && text.is_empty() {
                    view! { <p class="chat-bubble__typing">"Typing…"</p> }.into_any()
                } else {
                    view! { <div class="md">
                        <Markdown text=text />
                    </div> }.into_any()
                }}
                {cut_short}
                {user_tools}
                {(!user && !streaming).then(|| view! {
                    <div class="chat-bubble__tools">
                        <CopyButton text=copy_text label="Copy reply" />
                        {(versions > 1).then(|| version_arrows(state, arrows_id.clone(), shown, versions, "version"))}
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
        .into_any()
    };

    // Search across the chats (on the server): the results replace the list
    // while the box has text; a newer search makes older answers moot.
    let query = RwSignal::new(String::new());
    let hits = RwSignal::new(None::<Vec<ChatHit>>);
    let searches = StoredValue::new(0u64);
    Effect::new(move |_| {
        let q = query.get().trim().to_owned();
        searches.update_value(|n| *n += 1);
        let run = searches.get_value();
        if q.is_empty() {
            hits.set(None);
            return;
        }
        let auth = session.auth();
        leptos::task::spawn_local(async move {
            // Typing pauses before the server is asked.
            gloo_timers::future::sleep(std::time::Duration::from_millis(200)).await;
            if searches.get_value() != run {
                return;
            }
            let path = format!(
                "/api/v1/chats/search?q={}",
                js_sys::encode_uri_component(&q)
            );
            let found = crate::api::get::<Vec<ChatHit>>(&path, &auth).await;
            if searches.get_value() == run {
                hits.set(Some(found.unwrap_or_default()));
            }
        });
    });
    let results = move || {
        let found = hits.get()?;
        if found.is_empty() {
            return Some(
                view! { <p class="field__hint" role="status">"No chat matches."</p> }.into_any(),
            );
        }
        Some(
            view! {
                <ul class="chat-side__list" data-testid="chat-search-results" aria-label="Search results">
                    {found
                        .into_iter()
                        .map(|hit| {
                            view! {
                                <li class="chat-side__item">
                                    <a
                                        href=format!("/chat?chat={}", hit.chat.id)
                                        class="chat-side__link"
                                        on:click=move |_| query.set(String::new())
                                    >
                                        {hit.chat.title}
                                        {hit.excerpt.map(|e| view! { <span class="chat-side__excerpt">{e}</span> })}
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any(),
        )
    };

    let empty = Memo::new(move |_| state.with(|s| s.bubbles.is_empty()));
    view! {
        <div class="app" class:app--side-open=side_open>
            <aside class="app__side card chat-side" id="chat-side" aria-label="Your chats">
                <button type="button" class="btn btn--primary" on:click=move |_| go("/chat".into())>
                    "New chat"
                </button>
                <form role="search" class="chat-side__search" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
                    <label class="visually-hidden" for="chat-search">"Search your chats"</label>
                    <input
                        id="chat-search"
                        class="input"
                        type="search"
                        placeholder="Search chats"
                        maxlength=MAX_SEARCH_CHARS.to_string()
                        bind:value=query
                    />
                </form>
                {results}
                <ul class="chat-side__list" data-testid="chat-list" hidden=move || hits.with(Option::is_some)>{sidebar}</ul>
                <Show when=move || state.with(|s| s.chats.is_empty())>
                    <p class="field__hint">"Your chats will show here."</p>
                </Show>
            </aside>
            <section class="app__main" aria-label="Chat">
                <div class="app__bar">
                    <div class="app__bar-start">
                        <SideToggle controls="chat-side" open=side_open>
                            "Chats"
                        </SideToggle>
                        {move || state.with(|s| s.usage.clone()).map(|u| view! {
                            <span class="chat-usage" data-testid="chat-usage">
                                <meter min="0" max=u.limit.max(1) value=u.remaining aria-label="Usage left"></meter>
                                {usage_label(&u)}
                            </span>
                        })}
                    </div>
                    <ConnectionStatus state=ws.state label="Live connection" />
                </div>
                <Conversation label="Conversation" testid="chat-log" changes=Signal::derive(move || state.track())>
                    {move || {
                        let (bubbles, busy) = state.with(|s| (s.bubbles.clone(), s.busy));
                        let editing = edit_id.get();
                        let n = bubbles.len();
                        bubbles
                            .into_iter()
                            .enumerate()
                            .map(|(i, b)| {
                                let here = b.id.is_some() && b.id == editing;
                                bubble(b, i + 1 == n, busy, here)
                            })
                            .collect_view()
                    }}
                    {move || empty.get().then(|| view! {
                        <EmptyState
                            title="Ask anything"
                            text="Replies stream in as they are written and read as formatted text: lists, tables, code. Your chats are kept on the side, to reopen, rename or delete."
                            examples=&["Explain how tides work", "Plan a three-day trip to Lisbon", "Write a haiku about coffee"]
                            on_example=Callback::new(move |text: String| {
                                draft.set(text);
                                send();
                            })
                        />
                    })}
                </Conversation>
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
                        <div class="banner banner--warn chat-notice" role="status">
                            <p>{e}</p>
                            {state.with_untracked(|s| s.last_reply().map(str::to_owned)).map(|id| view! {
                                <button type="button" class="btn btn--sm" on:click=move |_| regenerate(id.clone())>"Retry"</button>
                            })}
                        </div>
                    }.into_any(),
                })}
                <ModelPicker settings=settings />
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
                        rows="1"
                        maxlength=MAX_CONTENT_CHARS.to_string()
                        placeholder="Message…"
                        bind:value=draft
                        on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                            if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
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
                    <p class="composer__hint" data-testid="chat-cost">{credits_note}</p>
                </form>
            </section>
        </div>
    }
}

/// The title box of a chat being renamed: focused when it appears; Enter
/// saves, Escape cancels.
#[component]
fn RenameForm(
    editing: RwSignal<Option<(String, String)>>,
    on_save: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
            el.select();
        }
    });
    view! {
        <form
            class="chat-side__rename"
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                on_save.run(());
            }
        >
            <label class="visually-hidden" for="chat-rename">"New title"</label>
            <input
                id="chat-rename"
                class="input"
                maxlength="100"
                node_ref=input
                prop:value=move || editing.with(|e| e.as_ref().map(|(_, t)| t.clone()).unwrap_or_default())
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    editing.update(|e| if let Some((_, t)) = e { *t = v });
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        ev.prevent_default();
                        on_cancel.run(());
                    }
                }
            />
            <button type="submit" class="btn btn--primary btn--sm">"Save"</button>
            <button type="button" class="btn btn--ghost btn--sm" on:click=move |_| on_cancel.run(())>"Cancel"</button>
        </form>
    }
}

/// ‹ 2 / 3 › between the versions of message `id` (a reply's versions, or a
/// user's message's edits: `what` names them for the buttons' labels).
fn version_arrows(
    state: RwSignal<ChatState>,
    id: String,
    shown: usize,
    versions: usize,
    what: &'static str,
) -> impl IntoView {
    let next_id = id.clone();
    view! {
        <button
            type="button"
            class="btn btn--ghost btn--sm"
            aria-label=format!("Previous {what}")
            disabled={shown == 0}
            on:click=move |_| state.update(|s| s.step_version(&id, -1))
        >"‹"</button>
        <span class="chat-bubble__version">{format!("{} / {versions}", shown + 1)}</span>
        <button
            type="button"
            class="btn btn--ghost btn--sm"
            aria-label=format!("Next {what}")
            disabled={shown + 1 >= versions}
            on:click=move |_| state.update(|s| s.step_version(&next_id, 1))
        >"›"</button>
    }
}

/// The inline editor of a user's message: focused when it appears; Enter
/// (or "Save & resend") resends, Shift+Enter is a new line, Escape cancels.
#[component]
fn MessageEditor(
    text: RwSignal<String>,
    on_save: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let area = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move |_| {
        if let Some(el) = area.get() {
            let _ = el.focus();
        }
    });
    view! {
        <form
            class="chat-edit"
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                on_save.run(());
            }
        >
            <label class="visually-hidden" for="chat-edit">"Edit your message"</label>
            <textarea
                id="chat-edit"
                class="textarea"
                rows="3"
                maxlength=MAX_CONTENT_CHARS.to_string()
                node_ref=area
                bind:value=text
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        ev.prevent_default();
                        on_cancel.run(());
                    } else if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        on_save.run(());
                    }
                }
            ></textarea>
            <div class="chat-edit__actions">
                <button type="button" class="btn btn--ghost btn--sm" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                <button type="submit" class="btn btn--primary btn--sm">"Save & resend"</button>
            </div>
        </form>
    }
}

/// Focuses the first element matching `selector`, if any.
fn focus(selector: &str) {
    use wasm_bindgen::JsCast;
    if let Some(el) = document()
        .query_selector(selector)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

fn list_messages(chat_id: &str) -> ClientMessage {
    ClientMessage::ListMessages {
        chat_id: chat_id.to_owned(),
        page: 0,
        limit: 100,
    }
}
