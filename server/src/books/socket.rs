//! One connection to a BooksWriter session.
//!
//! The loop reads client messages and writes the session's events. A new
//! connection is *detached* until its first message says where to start:
//! `resume {after_seq}` replays from there, `session_restore` answers with
//! the whole conversation and continues after it, anything else starts at
//! the live edge. Events are written in batches with one flush; a client
//! that does not take them within `--ws-stall-timeout-ms` is closed (1008)
//! and can resume. Replies to this connection alone (`pong`, validation
//! errors) carry the seq the connection has reached.

use super::hub::{Read, Request, Session};
use super::validate::{self, Invalid};
use crate::clock::now_rfc3339 as now;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::{Value, json};
use shared::ErrorCode;
use shared::books::{ClientMessage, ServerMessage};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events written before one flush.
const WRITE_BATCH: usize = 64;

/// Close codes.
const NORMAL: u16 = 1000;
const GOING_AWAY: u16 = 1001;
const POLICY: u16 = 1008;
const SERVER_ERROR: u16 = 1011;

struct Conn<'a> {
    state: &'a AppState,
    session: &'a Arc<Session>,
    /// The last seq written to this connection; `None` while detached.
    cursor: Option<u64>,
}

/// Refuses a connection before the session opens (someone else's session,
/// or the database failing): one `error`, then a close.
pub async fn refuse<S>(mut socket: S, code: ErrorCode, message: &str)
where
    S: Sink<Message> + Unpin,
{
    let e = error(code, message, json!({}), 0);
    let _ = socket.send(text(&e)).await;
    let close = if code == ErrorCode::Internal {
        SERVER_ERROR
    } else {
        POLICY
    };
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: close,
            reason: message.chars().take(100).collect::<String>().into(),
        })))
        .await;
}

/// Serves `socket` for `session` until either side closes.
pub async fn serve<S, E>(socket: S, state: AppState, session: Arc<Session>)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
{
    let _guard = session.connect();
    let (mut sink, mut incoming) = socket.split();
    let mut latest = session.subscribe();
    let mut conn = Conn {
        state: &state,
        session: &session,
        cursor: None,
    };
    let idle = state.config.books_idle_timeout;
    let stall = state.config.ws_stall_timeout();
    let mut last_heard = Instant::now();
    let close = loop {
        let idle_at = tokio::time::Instant::from_std(last_heard + idle);
        // Catch up on the session's events first.
        if let Some(cursor) = conn.cursor {
            match session.read_after(cursor, WRITE_BATCH) {
                Read::Frames(frames) if !frames.is_empty() => {
                    let last = frames.last().map(|f| f.seq).unwrap_or(cursor);
                    let write = async {
                        for f in &frames {
                            sink.feed(Message::Text(f.json.clone().into())).await?;
                        }
                        sink.flush().await
                    };
                    match tokio::time::timeout(stall, write).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break None,
                        Err(_) => {
                            break Some((POLICY, "too far behind: resume from your last seq"));
                        }
                    }
                    conn.cursor = Some(last);
                    continue;
                }
                Read::Frames(_) => {}
                Read::Gap => {
                    let restored = conn.restore().await;
                    if send(&mut sink, &restored, stall).await.is_err() {
                        break None;
                    }
                    continue;
                }
            }
        }
        tokio::select! {
            biased;
            _ = state.shutdown.cancelled() => break Some((GOING_AWAY, "server shutting down")),
            _ = tokio::time::sleep_until(idle_at) => break Some((NORMAL, "closed after a long time without traffic")),
            changed = latest.changed(), if conn.cursor.is_some() => {
                if changed.is_err() { break None; }
            }
            m = incoming.next() => {
                let text = match m {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        last_heard = Instant::now();
                        let e = conn.error(ErrorCode::ValidationError, "binary frames are not supported; send JSON text", json!({}));
                        if send(&mut sink, &e, stall).await.is_err() { break None; }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                        last_heard = Instant::now();
                        continue;
                    }
                };
                last_heard = Instant::now();
                let replies = conn.handle_text(text.as_str()).await;
                let mut failed = false;
                for r in &replies {
                    if send(&mut sink, r, stall).await.is_err() { failed = true; break; }
                }
                if failed { break None; }
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(frame)).await;
    }
}

impl Conn<'_> {
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
            && let Err(wait) = self.session.take_rate(Instant::now())
        {
            self.attach_at_live_edge();
            let ms = wait.as_millis() as u64;
            replies.push(self.error(
                ErrorCode::RateLimited,
                "Rate limit exceeded: at most 60 messages a minute per session",
                json!({"retry_after_ms": ms, "limit": super::hub::RATE_MAX, "window_ms": 60_000}),
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
                    replies.push(self.error(
                        ErrorCode::ValidationError,
                        "Message content is empty",
                        json!({"field": "content"}),
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
                if !self.session.submit(
                    self.state,
                    Request {
                        content,
                        model,
                        stream,
                    },
                ) {
                    replies.push(self.error(
                        ErrorCode::RateLimited,
                        "Too many requests are waiting in this session; wait for them to finish",
                        json!({"queued": super::hub::QUEUE_MAX}),
                    ));
                }
            }
            ClientMessage::ModelSwitch { model } => {
                self.attach_at_live_edge();
                if let Err(e) = validate::model(&model) {
                    replies.push(self.invalid(e));
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
                    replies.push(self.error(
                        ErrorCode::BadRequest,
                        "Nothing is running in this session",
                        json!({}),
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
        self.cursor = Some(snap.seq);
        let artifacts = match self.state.store.artifacts(&self.session.id).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(session = %self.session.id, error = %e, "could not read artifacts");
                Vec::new()
            }
        };
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
        self.error(invalid.code, &invalid.message, invalid.details)
    }

    fn error(&self, code: ErrorCode, message: &str, details: Value) -> ServerMessage {
        error(code, message, details, self.seq())
    }
}

fn error(code: ErrorCode, message: &str, details: Value, seq: u64) -> ServerMessage {
    ServerMessage::Error {
        error_code: code.as_str().into(),
        message: message.into(),
        details,
        timestamp: now(),
        seq,
    }
}

fn text(msg: &ServerMessage) -> Message {
    Message::Text(
        serde_json::to_string(msg)
            .expect("books messages serialise")
            .into(),
    )
}

async fn send<S>(sink: &mut S, msg: &ServerMessage, stall: Duration) -> Result<(), ()>
where
    S: Sink<Message> + Unpin,
{
    match tokio::time::timeout(stall, sink.send(text(msg))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
