//! BooksWriter: a multi-agent writing chat on
//! `GET /ws/{session_id}`, `GET /api/books/{session_id}/artifacts`, and
//! `GET /api/books` (the caller's books, [`library`]).
//!
//! - [`hub`]: live sessions: the event log with seq, the transcript, the
//!   request queue, the seed's 60-a-minute rate window.
//! - [`socket`]: one connection: validation, replies, resume and restore,
//!   batched writes, heartbeat and idle close.
//! - [`validate`]: the seed's `validateMessage`.
//! - [`agents`]: one request: orchestrator → specialists → tools →
//!   completion, with the agent timeout.
//! - [`outline`]: routing, the specialists' prompts, the offline writer, and
//!   reading their text into artifacts.
//!
//! A session belongs to whoever used its id first (a user by `?token=`, an
//! anonymous visitor by `?anon_id=`, or a client with neither by its IP
//! address, as the seed's clients send none); anyone else gets
//! `SESSION_FORBIDDEN` and a close.
//!
//! In a cluster (`--redis-url`) a session lives on one instance at a time
//! and sockets on the others are relayed to it ([`crate::cluster::books`]).

pub(crate) mod agents;
pub mod hub;
pub(crate) mod library;
pub(crate) mod outline;
pub mod socket;
pub(crate) mod validate;

pub use hub::Books;

use crate::auth::identity::{Caller, Identity};
use crate::cluster::books::{Route, relay};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, middleware, routing::get};
use shared::ErrorCode;
use shared::books::ArtifactList;

/// `GET /ws/{session_id}`, behind the WebSocket Origin guard.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ws/{session_id}", get(upgrade))
        .route_layer(middleware::from_fn_with_state(
            state,
            crate::web::ws_origin_guard,
        ))
}

/// `GET /api/books` and `GET /api/books/{session_id}/artifacts` (nested
/// under `/api`).
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/books", get(library::list))
        .route("/books/{session_id}/artifacts", get(artifacts))
}

/// 1–64 of `[A-Za-z0-9_-]`.
pub fn valid_session_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_session_id(id: &str) -> AppResult<()> {
    if valid_session_id(id) {
        Ok(())
    } else {
        Err(AppError::client(
            ErrorCode::BadRequest,
            "a session id is 1–64 characters of letters, digits, '-' and '_'",
        ))
    }
}

async fn upgrade(
    Path(session_id): Path<String>,
    State(state): State<AppState>,
    caller: Caller,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(e) = check_session_id(&session_id) {
        return e.into_response();
    }
    let slot = match caller.connection_slot(&state.connections).await {
        Ok(slot) => slot,
        Err(e) => return e.into_response(),
    };
    let who = caller.who;
    let context = crate::request_id::Context::current();
    crate::socket::tuned(ws).on_upgrade(move |socket: WebSocket| {
        context.run(async move {
            let _open = crate::metrics::Open::socket("books");
            // In a cluster the session lives on one instance; a socket
            // elsewhere is relayed to it.
            let leases = state.books.leases().cloned();
            match leases.as_ref().map(|l| (l, l.route(&session_id))) {
                Some((leases, route)) => match route.await {
                    Route::Here(taken) => {
                        if taken {
                            state.books.forget_unused(&session_id);
                        }
                        serve_opened(socket, state, &session_id, &who).await
                    }
                    Route::Relay(owner) => {
                        relay(socket, &state, leases, &session_id, &who, &owner).await
                    }
                },
                None => serve_opened(socket, state, &session_id, &who).await,
            }
            drop(slot);
        })
    })
}

/// Opens `session_id` for `who` in this process and serves `socket` on it
/// (a refusal for someone else's session or a failing database).
pub(crate) async fn serve_opened<S, E>(socket: S, state: AppState, session_id: &str, who: &Identity)
where
    S: futures_util::Stream<Item = Result<axum::extract::ws::Message, E>>
        + futures_util::Sink<axum::extract::ws::Message>
        + Send
        + Unpin
        + 'static,
    E: std::fmt::Display,
{
    match state.books.open(&state.store, session_id, who).await {
        Ok(session) => socket::serve(socket, state, session).await,
        Err(hub::OpenError::Forbidden) => {
            socket::refuse(
                socket,
                ErrorCode::SessionForbidden,
                "This session belongs to someone else",
            )
            .await
        }
        Err(hub::OpenError::Database(e)) => {
            tracing::error!(session = %session_id, error = %e, "could not open a session");
            socket::refuse(
                socket,
                ErrorCode::Internal,
                "The session could not be opened; try again",
            )
            .await
        }
    }
}

/// The session's saved plots, authors, worlds and characters; its owner
/// only (anyone else gets the same 404 as for an unknown id).
async fn artifacts(
    Path(session_id): Path<String>,
    State(state): State<AppState>,
    Caller { who, .. }: Caller,
) -> AppResult<Json<ArtifactList>> {
    check_session_id(&session_id)?;
    let owned = state
        .store
        .books_session(&session_id)
        .await?
        .is_some_and(|s| s.owner == who.owner_key());
    if !owned {
        return Err(AppError::client(
            ErrorCode::SessionNotFound,
            "no such BooksWriter session",
        ));
    }
    let artifacts = state.store.artifacts(&session_id).await?;
    Ok(Json(ArtifactList {
        session_id,
        artifacts,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_ids_are_short_and_plain() {
        assert!(super::valid_session_id("session-abc_123"));
        assert!(super::valid_session_id(&"a".repeat(64)));
        assert!(!super::valid_session_id(&"a".repeat(65)));
        assert!(!super::valid_session_id(""));
        assert!(!super::valid_session_id("a b"));
        assert!(!super::valid_session_id("a/b"));
        assert!(!super::valid_session_id("é"));
    }
}
