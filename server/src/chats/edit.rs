//! Edit and resend: `POST /api/v1/messages/{message_id}/edit` gives a
//! user's message new text (a new version; the old ones stay) and writes
//! the reply to it again, as a new version of that reply (like regenerate:
//! `assistant_regenerating`, deltas, `assistant_regenerated`, `usage_info`).
//! A message with no reply yet (the last of its chat) gets a new one
//! (`assistant_typing` … `assistant_complete`). The messages after that
//! reply stay as they were.
//!
//! Everything is checked before anything is saved: the text, the model
//! and settings, the owner, the reply it has, and the caller's quota (a
//! refused edit is the same short stream of `assistant_error` and
//! `usage_info` as a refused send, and changes nothing).

use super::render::{ChatRender, Kind};
use super::{
    HISTORY, admit, context, invalid_body, limit_reply, message_text, or_release, own_message,
    request_base, run,
};
use crate::auth::identity::Identity;
use crate::engine::ChatMessage;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use shared::chat::EditMessage;
use shared::{ErrorCode, Role};

pub(super) async fn edit(
    State(state): State<AppState>,
    who: Identity,
    Path(message_id): Path<String>,
    body: Result<Json<EditMessage>, JsonRejection>,
) -> AppResult<Response> {
    let Json(body) = body.map_err(invalid_body)?;
    let content = message_text(&body.content)?;
    let mut request = request_base(
        &state.generator,
        &body.model,
        body.temperature.unwrap_or(0.7),
    )?;
    limit_reply(&mut request, body.max_tokens)?;
    let stored = own_message(&state.store, &who, &message_id).await?;
    if stored.message.role != Role::User {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            "only your own messages can be edited; a reply is regenerated",
        ));
    }
    let chat_id = stored.message.chat_id.clone();
    let reply = match state.store.message_after(&chat_id, stored.position).await? {
        Some(m) if m.role == Role::Assistant => Some(m),
        // A user's message right after it: the chat went on without a
        // reply here, and a new one cannot be put between them.
        Some(_) => {
            return Err(AppError::client(
                ErrorCode::ValidationError,
                "this message has no reply to write again",
            ));
        }
        None => None,
    };
    let ticket = match admit(&state, &who, request.max_tokens).await {
        Ok(t) => t,
        Err(refusal) => return refusal,
    };
    let saved = match state
        .store
        .chat_history(&chat_id, Some(stored.position), HISTORY)
        .await
    {
        Ok(history) => state
            .store
            .edit_user_message(&message_id, content)
            .await
            .map(|_| history),
        Err(e) => Err(e),
    };
    let (history, ticket) = or_release(&state.generator.quota, ticket, saved).await?;
    request.messages = context(&history);
    request.messages.push(ChatMessage::user(content));
    let render = match &reply {
        Some(reply) => {
            // A different seed, so the offline generator writes another version.
            request.seed = reply.versions.len() as u64;
            ChatRender::new(&state, &who, Kind::Regenerate, &chat_id, &reply.id)
        }
        None => ChatRender::new(&state, &who, Kind::Send, &chat_id, &crate::store::new_id()),
    };
    Ok(run(&state, &who, request, render, ticket))
}
