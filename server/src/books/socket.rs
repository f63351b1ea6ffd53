//! The BooksWriter protocol on one connection to a session, as a
//! [`Protocol`] on the connection loop of [`crate::socket`].
//!
//! A new connection is *detached* until its first message says where to
//! start: `resume {after_seq}` replays from there, `session_restore` answers
//! with the whole conversation and continues after it, anything else starts
//! at the live edge. Events are read from the session's log with the
//! connection's cursor (a cursor older than the log gets a
//! `session_restored`). Replies to this connection alone (`pong`,
//! validation errors) carry the seq the connection has reached.

use super::hub::{Request, Session, Submitted};
use super::validate::{self, Invalid};
use crate::clock::now_rfc3339 as now;
use crate::socket::{self, Close, Protocol, WRITE_BATCH};
use crate::state::AppState;
use crate::streams::log::Gap;
use axum::extract::ws::{Message, Utf8Bytes};
use futures_util::{Sink, Stream};
use serde_json::Value;
use shared::ErrorCode;
use shared::books::{ClientMessage, ErrorDetails, ServerMessage};
use std::sync::Arc;
use tokio::sync::watch;

struct Conn {
    state: AppState,
    session: Arc<Session>,
    /// Wakes the connection when the session has new events.
    latest: watch::Receiver<u64>,
    /// The last seq written to this connection; `None` while detached.
    cursor: Option<u64>,
}

/// Refuses a connection before the session opens (someone else's session,
/// or the database failing): one `error`, then a close.
pub async fn refuse<S>(socket: S, code: ErrorCode, message: &str)
where
    S: Sink<Message> + Unpin,
{
    let e = error(code, message, ErrorDetails::default(), 0);
    let close = if code == ErrorCode::Internal {
        socket::close::SERVER_ERROR
    } else {
        socket::close::POLICY
    };
    socket::refuse(socket, &e, close, message).await;
}

/// Serves `socket` for `session` until either side closes.
pub async fn serve<S, E>(socket: S, state: AppState, session: Arc<Session>)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
    E: std::fmt::Display,
{
    let _guard = session.connect();
    let limits = state.socket_limits(&session.who, Some(state.config.books_idle_timeout));
    let conn = Conn {
        latest: session.subscribe(),
        state,
        session,
        cursor: None,
    };
    socket::serve(socket, conn, limits).await
}

impl Protocol for Conn {
    type Message = ServerMessage;
    /// The frame limit only: the seed's validation bounds the content.
    const MAX_MESSAGE_BYTES: usize = socket::MAX_FRAME_BYTES;

    async fn events(&mut self, batch: &mut Vec<Utf8Bytes>) -> Result<(), Close> {
        loop {
            if let Some(cursor) = self.cursor {
                let mut events = Vec::new();
                match self.session.read_after(cursor, WRITE_BATCH, &mut events) {
                    Ok(()) if !events.is_empty() => {
                        batch.extend(events.iter().map(|e| Utf8Bytes::from(e.json.as_str())));
                        self.cursor = events.last().map(|e| e.seq);
                        return Ok(());
                    }
                    Ok(()) => {}
                    Err(Gap) => {
                        // The cursor moves only once the answer is made, so
                        // a restore cut short is made again.
                        let restored = self.restore().await;
                        batch.push(socket::json(&restored));
                        return Ok(());
                    }
                }
                if self.latest.changed().await.is_err() {
                    return std::future::pending().await;
                }
            } else {
                return std::future::pending().await;
            }
        }
    }

    async fn handle(&mut self, text: &str) -> Vec<ServerMessage> {
        self.handle_text(text).await
    }

    fn error(&mut self, code: ErrorCode, message: String) -> ServerMessage {
        self.fail(code, &message, ErrorDetails::default())
    }
}

impl Conn {
    /// One frame from the client: its replies to this connection.
    async fn handle_text(&mut self, text: &str) -> Vec<ServerMessage> {
        let value = match validate::json(text) {
            Ok(v) => v,
            Err(invalid) => return vec![self.invalid(invalid)],
        };
        let mut replies = Vec::new();
        if value.get("type").and_then(Value::as_str) == Some("batch") {
            match validate::batch(&value) {
                Ok(items) => {
                    for item in items {
                        self.handle_one(item, &mut replies, true).await;
                    }
                }
                Err(invalid) => replies.push(self.invalid(invalid)),
            }
        } else {
            self.handle_one(&value, &mut replies, false).await;
        }
        replies
    }

    /// One message (alone or from a batch).
    async fn handle_one(
        &mut self,
        value: &Value,
        replies: &mut Vec<ServerMessage>,
        in_batch: bool,
    ) {
        let msg = match validate::message(value, in_batch) {
            Ok(m) => m,
            Err(invalid) => {
                replies.push(self.invalid(invalid));
                return;
            }
        };
        // `--no-limits` (benchmarks) lifts the seed's 60-a-minute window.
        if !self.state.config.no_limits
            && let Err(wait) = self.session.take_rate_in(self.state.cluster.as_ref()).await
        {
            self.attach_at_live_edge();
            let ms = wait.as_millis() as u64;
            replies.push(self.fail(
                ErrorCode::RateLimited,
                "Rate limit exceeded: at most 60 messages a minute per session",
                ErrorDetails {
                    retry_after_ms: Some(ms),
                    limit: Some(super::hub::RATE_MAX),
                    window_ms: Some(60_000),
                    ..ErrorDetails::default()
                },
            ));
            return;
        }
        match msg {
            ClientMessage::Resume { after_seq } => {
                self.cursor = Some(match self.cursor {
                    Some(c) => c.max(after_seq),
                    None => after_seq,
                });
            }
            ClientMessage::SessionRestore => {
                let restored = self.restore().await;
                replies.push(restored);
            }
            ClientMessage::Ping => {
                self.attach_at_live_edge();
                replies.push(ServerMessage::Pong {
                    timestamp: now(),
                    seq: self.seq(),
                });
            }
            ClientMessage::Message { content, .. } if content.trim() == "ping" => {
                // The seed's ConnectionManager heartbeats with
                // `sendMessage('ping')`: a keep-alive, not a request.
                self.attach_at_live_edge();
                replies.push(ServerMessage::Pong {
                    timestamp: now(),
                    seq: self.seq(),
                });
            }
            ClientMessage::Message {
                content,
                options,
                client_id,
                ..
            } => {
                self.attach_at_live_edge();
                if content.trim().is_empty() {
                    replies.push(self.fail(
                        ErrorCode::ValidationError,
                        "Message content is empty",
                        ErrorDetails::field("content"),
                    ));
                    return;
                }
                let stream = options.as_ref().and_then(|o| o.stream).unwrap_or(true);
                let model = options
                    .and_then(|o| o.model)
                    .filter(|m| !m.trim().is_empty());
                if let Some(m) = &model
                    && let Err(e) = validate::model(m)
                {
                    replies.push(self.invalid(e));
                    return;
                }
                if let Err(e) = self.state.generator.models.check(model.as_deref()) {
                    replies.push(self.fail(
                        ErrorCode::ModelNotAllowed,
                        &e.to_string(),
                        ErrorDetails::field("options.model"),
                    ));
                    return;
                }
                let seq = self.session.push(ServerMessage::MessageReceived {
                    content: content.clone(),
                    client_id,
                    timestamp: now(),
                    seq: 0,
                });
                let line = self.session.entries_after(seq - 1);
                if let Err(e) = self
                    .state
                    .store
                    .save_books_entries(&self.session.id, &line)
                    .await
                {
                    tracing::error!(session = %self.session.id, error = %e, "could not save a message");
                }
                let request = Request {
                    content,
                    model,
                    stream,
                };
                match self.session.submit(request) {
                    Submitted::Queued => {}
                    Submitted::StartWorker => {
                        tokio::spawn(crate::request_id::carry(super::agents::work(
                            self.state.clone(),
                            self.session.clone(),
                        )));
                    }
                    Submitted::Full => replies.push(self.fail(
                        ErrorCode::RateLimited,
                        "Too many requests are waiting in this session; wait for them to finish",
                        ErrorDetails {
                            queued: Some(super::hub::QUEUE_MAX),
                            ..ErrorDetails::default()
                        },
                    )),
                }
            }
            ClientMessage::ModelSwitch { model } => {
                self.attach_at_live_edge();
                if let Err(e) = validate::model(&model) {
                    replies.push(self.invalid(e));
                    return;
                }
                if let Err(e) = self.state.generator.models.check(Some(&model)) {
                    replies.push(self.fail(
                        ErrorCode::ModelNotAllowed,
                        &e.to_string(),
                        ErrorDetails::field("model"),
                    ));
                    return;
                }
                self.session.set_model(model.clone());
                if let Err(e) = self
                    .state
                    .store
                    .update_books_session(
                        &self.session.id,
                        Some(&model),
                        &self.session.current_agent(),
                        self.session.last_seq(),
                    )
                    .await
                {
                    tracing::error!(session = %self.session.id, error = %e, "could not save the model");
                }
                replies.push(ServerMessage::ModelSwitched {
                    model,
                    timestamp: now(),
                    seq: self.seq(),
                });
            }
            ClientMessage::Stop => {
                self.attach_at_live_edge();
                if !self.session.stop() {
                    replies.push(self.fail(
                        ErrorCode::BadRequest,
                        "Nothing is running in this session",
                        ErrorDetails::default(),
                    ));
                }
            }
            ClientMessage::Batch { .. } => {
                // `validate::message` refuses nested batches.
            }
        }
    }

    fn attach_at_live_edge(&mut self) {
        if self.cursor.is_none() {
            self.cursor = Some(self.session.last_seq());
        }
    }

    fn seq(&self) -> u64 {
        self.cursor.unwrap_or(0)
    }

    /// `session_restored`, and the connection continues after it.
    async fn restore(&mut self) -> ServerMessage {
        let snap = self.session.snapshot();
        let artifacts = match self.state.store.artifacts(&self.session.id).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(session = %self.session.id, error = %e, "could not read artifacts");
                Vec::new()
            }
        };
        self.cursor = Some(snap.seq);
        ServerMessage::SessionRestored {
            messages: snap.entries,
            current_agent: snap.current_agent,
            artifacts,
            model: snap.model,
            timestamp: now(),
            seq: snap.seq,
        }
    }

    fn invalid(&mut self, invalid: Invalid) -> ServerMessage {
        self.attach_at_live_edge();
        self.fail(invalid.code, &invalid.message, invalid.details)
    }

    fn fail(&self, code: ErrorCode, message: &str, details: ErrorDetails) -> ServerMessage {
        error(code, message, details, self.seq())
    }
}

fn error(code: ErrorCode, message: &str, details: ErrorDetails, seq: u64) -> ServerMessage {
    ServerMessage::Error {
        error_code: code,
        message: message.into(),
        details,
        timestamp: now(),
        seq,
    }
}
