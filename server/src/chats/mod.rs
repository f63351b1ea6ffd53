//! The hybrid chat. A socket manages the chats; every reply
//! streams over SSE. Anonymous visitors (`x-anon-id`) chat up to the free
//! limit; signed-in users spend credits.
//!
//! - Management: `GET /api/v1/chats/ws` (plain WebSocket, [`socket`]) and
//!   the socket.io namespace `/chats` ([`socketio`]), both answered by
//!   [`manage`]: `list_chats`, `list_messages`, `rename_chat`,
//!   `delete_chat`, `get_usage`; `usage_info` on connect and after every
//!   reply; news from the owner's other tabs through [`hub`].
//! - Replies (SSE, `event:` = the JSON `type`, `id:` = seq):
//!   `POST /api/v1/messages/send` (no `chat_id` starts a chat),
//!   `POST /api/v1/messages/{message_id}/regenerate` (a new version; the old
//!   ones stay), `POST /api/v1/messages/{message_id}/edit` ([`edit`]: a
//!   user's message with new text, and its reply written again), `GET /api/v1/chats/{chat_id}/stream` (re-attach to the
//!   reply being written, after `Last-Event-ID`; 204 when none). Events are
//!   rendered by [`render`]. Bad input is a 4xx JSON error before any
//!   stream; a refused reply (`ANON_LIMIT_REACHED`, `INSUFFICIENT_BALANCE`)
//!   is a stream of `assistant_error` and `usage_info`, and the management
//!   channel hears the `assistant_error` too. Stop with
//!   `POST /api/streams/{stream_id}/stop` (every event carries `stream_id`).
//! - Search: `GET /api/v1/chats/search?q=…` ([`search`]), on both databases.
//!
//! While a reply is written, where it goes in its chat is noted in the
//! database ([`Noted`]), so that after a crash start-up recovery puts its
//! saved text in the chat, marked interrupted.

pub(crate) mod edit;
pub(crate) mod hub;
pub(crate) mod manage;
pub(crate) mod render;
pub(crate) mod search;
pub mod socket;
pub(crate) mod socketio;

use crate::auth::identity::Identity;
use crate::engine::{ChatMessage, GenRequest};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::chats::ReplyPlace;
use crate::streams::generation::Generator;
use crate::streams::generation::{self, Generation, Out, Outcome, Render};
use crate::streams::sse_of;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use render::{ChatRender, Kind, out};
use shared::chat::{
    MAX_CONTENT_CHARS, Regenerate, SendMessage, ServerEvent, ServerMessage, title_from,
};
use shared::{ErrorCode, Role};

/// Characters per `assistant_delta`.
const CHUNK_CHARS: usize = 40;
/// Messages of context a reply is written from.
const HISTORY: u32 = 20;
/// Most output tokens of one reply.
const MAX_REPLY_TOKENS: u32 = 1000;
/// Longest model name accepted.
const MAX_MODEL_CHARS: usize = 100;

const SYSTEM: &str = "You are Chorus, a helpful assistant. Answer in Markdown.";

/// The chat routes (nested under `/api`); the socket route gets the Origin guard.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/chats/ws", get(socket::upgrade))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            crate::web::ws_origin_guard,
        ))
        .route("/v1/messages/send", post(send))
        .route("/v1/messages/{message_id}/regenerate", post(regenerate))
        .route("/v1/messages/{message_id}/edit", post(edit::edit))
        .route("/v1/chats/{chat_id}/stream", get(reattach))
        .route("/v1/chats/search", get(search::search))
}

async fn send(
    State(state): State<AppState>,
    who: Identity,
    body: Result<Json<SendMessage>, JsonRejection>,
) -> AppResult<Response> {
    let Json(body) = body.map_err(invalid_body)?;
    let content = message_text(&body.content)?;
    let mut request = request_base(&state.generator, &body.model, body.temperature)?;
    limit_reply(&mut request, body.max_tokens)?;
    if let Some(chat_id) = &body.chat_id {
        manage::own_chat(&state.store, &who, chat_id).await?;
    }
    let ticket = match admit(&state, &who, request.max_tokens).await {
        Ok(t) => t,
        Err(refusal) => return refusal,
    };
    let owner = who.owner_key();
    let chat_id = match body.chat_id {
        Some(id) => id,
        None => {
            let chat = state.store.create_chat(&owner, &title_from(content)).await;
            match chat {
                Ok(chat) => {
                    state.chats.notify(
                        &owner,
                        None,
                        ServerMessage::ChatUpdated { chat: chat.clone() },
                    );
                    chat.id
                }
                Err(e) => {
                    state.generator.quota.settle(ticket, None, "chat").await;
                    return Err(e.into());
                }
            }
        }
    };
    let history = state.store.chat_history(&chat_id, None, HISTORY).await;
    let saved = match history {
        Ok(h) => state
            .store
            .add_chat_message(&chat_id, &crate::store::new_id(), Role::User, content)
            .await
            .map(|_| h),
        Err(e) => Err(e),
    };
    let (history, ticket) = or_release(&state.generator.quota, ticket, saved).await?;
    request.messages = context(&history);
    request.messages.push(ChatMessage::user(content));
    let message_id = crate::store::new_id();
    let render = ChatRender::new(&state, &who, Kind::Send, &chat_id, &message_id);
    Ok(run(&state, &who, request, render, ticket))
}

async fn regenerate(
    State(state): State<AppState>,
    who: Identity,
    Path(message_id): Path<String>,
    body: Result<Option<Json<Regenerate>>, JsonRejection>,
) -> AppResult<Response> {
    let opts = body
        .map_err(invalid_body)?
        .map(|Json(b)| b)
        .unwrap_or_default();
    let mut request = request_base(
        &state.generator,
        &opts.model,
        opts.temperature.unwrap_or(0.7),
    )?;
    let stored = own_message(&state.store, &who, &message_id).await?;
    if stored.message.role != Role::Assistant {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            "only an assistant reply can be regenerated",
        ));
    }
    let ticket = match admit(&state, &who, MAX_REPLY_TOKENS).await {
        Ok(t) => t,
        Err(refusal) => return refusal,
    };
    let chat_id = stored.message.chat_id.clone();
    let history = state
        .store
        .chat_history(&chat_id, Some(stored.position), HISTORY)
        .await;
    let (history, ticket) = or_release(&state.generator.quota, ticket, history).await?;
    request.messages = context(&history);
    // A different seed, so the offline generator writes another version.
    request.seed = stored.message.versions.len() as u64;
    let render = ChatRender::new(&state, &who, Kind::Regenerate, &chat_id, &message_id);
    Ok(run(&state, &who, request, render, ticket))
}

/// A message's text, trimmed: 1 to [`MAX_CONTENT_CHARS`] characters, else
/// `VALIDATION_ERROR`.
fn message_text(content: &str) -> AppResult<&str> {
    let content = content.trim();
    let n = content.chars().count();
    if n == 0 || n > MAX_CONTENT_CHARS {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            format!("a message has 1 to {MAX_CONTENT_CHARS} characters"),
        ));
    }
    Ok(content)
}

/// The reply's most output tokens, when the body names them (1 to 4000).
fn limit_reply(request: &mut GenRequest, max_tokens: Option<u32>) -> AppResult<()> {
    if let Some(n) = max_tokens {
        if !(1..=shared::personas::MAX_TOKENS_LIMIT).contains(&n) {
            return Err(AppError::client(
                ErrorCode::ValidationError,
                format!("max_tokens is 1 to {}", shared::personas::MAX_TOKENS_LIMIT),
            ));
        }
        request.max_tokens = n;
    }
    Ok(())
}

/// The caller's message `message_id`: 404 for an unknown one, 403 for
/// someone else's.
async fn own_message(
    store: &crate::store::Store,
    who: &Identity,
    message_id: &str,
) -> AppResult<crate::store::chats::StoredMessage> {
    let stored = store
        .chat_message(message_id)
        .await?
        .ok_or_else(|| AppError::not_found("no such message"))?;
    if stored.owner != who.owner_key() {
        return Err(AppError::client(
            ErrorCode::Forbidden,
            "this message belongs to someone else",
        ));
    }
    Ok(stored)
}

/// The reply's ticket (its hold on the caller's quota, up to `max_tokens`),
/// or what to answer instead: the refusal's short stream, or an error.
async fn admit(
    state: &AppState,
    who: &Identity,
    max_tokens: u32,
) -> Result<crate::quota::Ticket, AppResult<Response>> {
    match state
        .generator
        .quota
        .begin(who, i64::from(max_tokens))
        .await
    {
        Ok(t) => Ok(t),
        Err(e) => Err(refused(state, who, e).await),
    }
}

/// What a database step before the reply gave, with the reply's ticket;
/// on an error the ticket's hold is given back first.
async fn or_release<T>(
    quota: &crate::quota::Quota,
    ticket: crate::quota::Ticket,
    step: Result<T, sqlx::Error>,
) -> AppResult<(T, crate::quota::Ticket)> {
    match step {
        Ok(v) => Ok((v, ticket)),
        Err(e) => {
            quota.settle(ticket, None, "chat").await;
            Err(e.into())
        }
    }
}

/// A body that is not the endpoint's JSON: `VALIDATION_ERROR`, saying why.
fn invalid_body(e: JsonRejection) -> AppError {
    AppError::client(ErrorCode::ValidationError, e.body_text())
}

async fn reattach(
    State(state): State<AppState>,
    who: Identity,
    Path(chat_id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    manage::own_chat(&state.store, &who, &chat_id).await?;
    let after = crate::streams::last_event_id(&headers)?.unwrap_or(0);
    let found = match state.chats.running(&chat_id).await {
        Some(id) => match state.generator.streams.get(&id) {
            Some(entry) => Some(crate::streams::Found::Local(entry)),
            None => crate::streams::remote_stream(&state.generator, &id).await?,
        },
        None => None,
    }
    .filter(|f| !f.is_finished() && f.owner() == who.owner_key());
    Ok(match found {
        Some(found) => with_stream_id(
            crate::streams::sse_of_found(&state.shutdown, &found, after, "assistant_error"),
            found.id(),
        ),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The request without its messages, or 4xx for a bad model or temperature
/// (`MODEL_NOT_ALLOWED` for a model the operator does not offer).
fn request_base(generator: &Generator, model: &str, temperature: f64) -> AppResult<GenRequest> {
    if !(0.0..=2.0).contains(&temperature) {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            "temperature is 0 to 2",
        ));
    }
    let model = model.trim();
    if model.chars().count() > MAX_MODEL_CHARS {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            format!("a model name has at most {MAX_MODEL_CHARS} characters"),
        ));
    }
    generator.models.check(Some(model))?;
    let mut request = GenRequest::new("");
    request.messages.clear();
    request.system = SYSTEM.into();
    request.model = (!model.is_empty()).then(|| model.to_owned());
    request.temperature = temperature;
    request.max_tokens = MAX_REPLY_TOKENS;
    Ok(request)
}

fn context(history: &[shared::chat::Message]) -> Vec<ChatMessage> {
    history
        .iter()
        // A reply that failed before a word is kept (to show and retry),
        // but says nothing to the model.
        .filter(|m| !m.content.is_empty())
        .map(|m| ChatMessage {
            role: m.role,
            content: m.content.clone(),
        })
        .collect()
}

/// Starts the reply and answers with its stream.
fn run(
    state: &AppState,
    who: &Identity,
    request: GenRequest,
    render: ChatRender,
    ticket: crate::quota::Ticket,
) -> Response {
    let render = Noted {
        render,
        store: state.store.clone(),
        noting: None,
    };
    let entry = generation::start(
        &state.generator,
        who,
        Generation {
            request,
            chunk_chars: CHUNK_CHARS,
            render,
            ticket: Some(ticket),
        },
    );
    with_stream_id(sse_of(&state.shutdown, &entry, 0), &entry.id)
}

/// A reply's render that notes, while the reply is written, where it goes
/// in its chat (`Store::record_chat_reply`), so that start-up recovery can
/// put its saved text there after a crash. The note is taken back once
/// the reply is saved; neither write holds the stream up (a note left
/// behind by a shutdown is dropped at the next start, the reply being in
/// its chat already).
struct Noted {
    render: ChatRender,
    store: crate::store::Store,
    /// The note's write.
    noting: Option<(String, tokio::task::JoinHandle<()>)>,
}

impl Render for Noted {
    fn start(&mut self, stream_id: &str) -> Vec<Out> {
        let events = self.render.start(stream_id);
        // The first event names the reply's place in the chat.
        let first = events.first().and_then(|(_, payload)| match payload {
            crate::streams::registry::Payload::Value(json) => {
                serde_json::from_value::<ServerEvent>(json.clone()).ok()
            }
            crate::streams::registry::Payload::Fields(_) => None,
        });
        let place = match first {
            Some(ServerEvent::AssistantTyping {
                chat_id,
                message_id,
            }) => Some((chat_id, message_id, ReplyPlace::New)),
            Some(ServerEvent::AssistantRegenerating {
                chat_id,
                message_id,
            }) => Some((chat_id, message_id, ReplyPlace::Version)),
            _ => None,
        };
        if let Some((chat_id, message_id, place)) = place {
            let (store, stream) = (self.store.clone(), stream_id.to_owned());
            let write = tokio::spawn(async move {
                let noted = store.record_chat_reply(&stream, &chat_id, &message_id, place);
                if let Err(e) = noted.await {
                    tracing::error!(stream, error = %e, "could not note a reply's place");
                }
            });
            self.noting = Some((stream_id.to_owned(), write));
        }
        events
    }

    fn chunk(&mut self, text: &str) -> Vec<Out> {
        self.render.chunk(text)
    }

    async fn finish(&mut self, outcome: &Outcome) -> Vec<Out> {
        let events = self.render.finish(outcome).await;
        if let Some((stream, write)) = self.noting.take() {
            let store = self.store.clone();
            tokio::spawn(async move {
                let _ = write.await;
                if let Err(e) = store.forget_chat_reply(&stream).await {
                    tracing::warn!(stream, error = %e, "could not take back a reply's note");
                }
            });
        }
        events
    }
}

/// Names the stream in a header too, so a client can stop it before its
/// first event arrives.
fn with_stream_id(mut res: Response, id: &str) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(id) {
        res.headers_mut().insert("x-stream-id", v);
    }
    res
}

/// A refused reply: a short stream of `assistant_error` and `usage_info`
/// (so the seed's stream readers see why), and the `assistant_error` on the
/// caller's management connections. Other errors stay HTTP errors.
async fn refused(state: &AppState, who: &Identity, e: AppError) -> AppResult<Response> {
    let code = match &e {
        AppError::Client { code, .. }
            if matches!(
                code,
                ErrorCode::AnonLimitReached | ErrorCode::InsufficientBalance
            ) =>
        {
            *code
        }
        _ => return Err(e),
    };
    let error = e.to_string();
    let entry = state.generator.streams.create(&who.owner_key());
    let (name, json) = out(ServerEvent::AssistantError {
        error: error.clone(),
        code,
        retry_after: None,
    });
    let _ = entry.push_final(name, json);
    let usage = state.generator.quota.usage(who).await?;
    let (name, json) = out(ServerEvent::UsageInfo(usage));
    let _ = entry.push_final(name, json);
    entry.finish();
    state.chats.notify(
        &who.owner_key(),
        None,
        ServerMessage::AssistantError { error, code },
    );
    Ok(with_stream_id(
        sse_of(&state.shutdown, &entry, 0),
        &entry.id,
    ))
}
