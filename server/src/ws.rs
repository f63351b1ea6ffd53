//! `GET /ws`: the WebSocket that seeds 001 (persona chat) and 004 (support
//! sessions) share. This module holds the connection itself: the greeting,
//! `ping`/`pong`, `resume` and `stop` of streams, typed errors for bad
//! frames (the socket stays open), frame limits, the close at shutdown, and
//! the bounded outbox. Feature protocols plug their message types into
//! [`ClientMessage`] in their own modules.
//!
//! Stream events reach the socket through a bounded outbox of
//! [`OUTBOX_CAPACITY`] events (readers of a stream hold only a cursor into
//! its log, so nothing else grows). A client whose outbox stays full for
//! `--ws-stall-timeout-ms` has stopped reading: it is closed with 1008 and
//! can `resume` from its last `seq`.
//!
//! The loop is generic over `Sink`/`Stream` so tests can drive it with
//! channels; the route wraps it with the Origin guard (see `web`).

use crate::auth::identity::{Identity, MaybeIdentity, TokenExpiry};
use crate::clock::now_rfc3339;
use crate::error::AppError;
use crate::ratelimit::RateLimiter;
use crate::state::AppState;
use crate::streams::owned_stream;
use crate::streams::registry::Event;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::{Router, middleware, routing::get};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use shared::ErrorCode;
use shared::ws::{ClientMessage, ServerMessage};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Largest message acted on, in bytes; a larger one gets an in-band
/// `PAYLOAD_TOO_LARGE` error and the socket stays open.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Largest frame the socket reads at all; past it the connection is closed
/// (1009), so a client cannot make the server buffer more than this.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Stream events a connection may have waiting to be written.
pub const OUTBOX_CAPACITY: usize = 1024;

/// Most queued events written (fed to the socket) before one flush.
pub const WRITE_BATCH: usize = 256;

/// The socket's read buffer, allocated per connection (client messages
/// are a few hundred bytes; a larger one grows it while it is read).
const READ_BUFFER_BYTES: usize = 1024;

/// Bytes of queued frames past which the socket writes them out.
const WRITE_BUFFER_BYTES: usize = 32 * 1024;

/// Messages (other than `ping`) a connection may send at once …
pub const RATE_BURST: u32 = 30;
/// … and how many more it earns each second.
pub const RATE_PER_SEC: f64 = 1.0;

/// Close code sent when the server goes away (RFC 6455 1001).
const GOING_AWAY: u16 = 1001;
/// Close code for a client that fell too far behind (policy violation).
pub const TOO_SLOW: u16 = 1008;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ws", get(upgrade))
        .route_layer(middleware::from_fn_with_state(
            state,
            crate::web::ws_origin_guard,
        ))
}

/// Open connections per user; a [`ConnectionSlot`] gives its place back
/// when dropped.
#[derive(Clone, Debug, Default)]
pub struct ConnectionCounter {
    inner: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

/// One held connection.
#[derive(Debug)]
pub struct ConnectionSlot {
    counter: ConnectionCounter,
    user: String,
}

impl ConnectionCounter {
    /// A slot for `user`, or `None` when they hold `max` already.
    pub fn acquire(&self, user: &str, max: usize) -> Option<ConnectionSlot> {
        let mut map = self.inner.lock().expect("connections lock");
        let n = map.entry(user.to_owned()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot {
            counter: self.clone(),
            user: user.to_owned(),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut map = self.counter.inner.lock().expect("connections lock");
        if let Some(n) = map.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.user);
            }
        }
    }
}

/// A bad token is refused here, at the upgrade (401). With no identity at
/// all (the seeds' own clients send none) the connection counts as an
/// anonymous visitor keyed by its IP address.
async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    MaybeIdentity(who): MaybeIdentity,
    TokenExpiry(expires_at): TokenExpiry,
) -> Response {
    let who = caller(who, peer);
    let slot = match connection_slot(&state, &who) {
        Ok(slot) => slot,
        Err(e) => return e.into_response(),
    };
    tuned(ws).on_upgrade(move |socket: WebSocket| async move {
        session_with(socket, state, who, expires_at).await;
        drop(slot);
    })
}

/// The caller's place among their open sockets: `None` when no cap applies
/// (anonymous visitors; `--no-limits` for benchmarks), 429
/// `CONNECTION_LIMIT` when a user holds the most allowed already.
pub fn connection_slot(
    state: &AppState,
    who: &Identity,
) -> Result<Option<ConnectionSlot>, AppError> {
    match who {
        Identity::User(_) if state.config.no_limits => Ok(None),
        Identity::User(id) => state
            .connections
            .acquire(id, state.config.max_connections_per_user)
            .map(Some)
            .ok_or_else(|| {
                AppError::client(
                    ErrorCode::ConnectionLimit,
                    format!(
                        "you already have {} connections open; close one first",
                        state.config.max_connections_per_user
                    ),
                )
            }),
        Identity::Anonymous(_) => Ok(None),
    }
}

/// An upgrade with the limits and buffer sizes every Chorus socket uses.
pub fn tuned(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // tungstenite allocates its read buffer up front (128 KiB by
        // default): most of an idle connection's memory. Client messages
        // are small; a larger frame grows the buffer while it is read.
        .read_buffer_size(READ_BUFFER_BYTES)
        // Queued frames are written out once this many bytes are buffered
        // (or at the flush after a batch); the buffer keeps its capacity,
        // so this also bounds what a streaming connection holds.
        .write_buffer_size(WRITE_BUFFER_BYTES)
}

/// Who is asking: their identity, or, when they gave none (the seeds'
/// clients send none), an anonymous visitor keyed by their IP address.
pub fn caller(who: Option<Identity>, peer: SocketAddr) -> Identity {
    who.unwrap_or_else(|| Identity::Anonymous(ip_visitor(peer.ip())))
}

/// The anonymous id of a visitor that gave none: `ip-127-0-0-1`.
pub fn ip_visitor(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let id: String = ip
        .to_string()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("ip-{id}")
}

/// What a connection's handlers share.
struct Conn {
    state: AppState,
    who: Identity,
    /// When the connection's token expires (seed 004 refuses support
    /// messages after it).
    token_expires_at: Option<i64>,
    /// Messages a client may send in a burst, refilled over time; `None`
    /// under `--no-limits`.
    rate: Option<std::sync::Mutex<RateLimiter>>,
    outbox: mpsc::Sender<Arc<Event>>,
    /// Cancelled when the outbox overflowed.
    lagging: CancellationToken,
    /// Cancelled when the connection ends, to stop its forwarders.
    closed: CancellationToken,
}

/// One connection, from greeting to close.
pub async fn session<S, E>(socket: S, state: AppState, who: Identity)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
{
    session_with(socket, state, who, None).await
}

/// [`session`], knowing when the connection's token expires.
pub async fn session_with<S, E>(
    socket: S,
    state: AppState,
    who: Identity,
    token_expires_at: Option<i64>,
) where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
{
    let (mut sink, mut incoming) = socket.split();
    let (outbox, mut queued) = mpsc::channel::<Arc<Event>>(OUTBOX_CAPACITY);
    let conn = Conn {
        state: state.clone(),
        who,
        token_expires_at,
        rate: (!state.config.no_limits)
            .then(|| std::sync::Mutex::new(RateLimiter::new(RATE_BURST, RATE_PER_SEC))),
        outbox,
        lagging: CancellationToken::new(),
        closed: CancellationToken::new(),
    };
    let _stop_forwarders = conn.closed.clone().drop_guard();
    let greeting = ServerMessage::Connection {
        status: "connected".into(),
        timestamp: now_rfc3339(),
    };
    if send(&mut sink, &greeting).await.is_err() {
        return;
    }
    // Made once and polled again on every turn: a new one per turn locked
    // the token and registered a waiter, twice per event written.
    let shutdown = state.shutdown.cancelled();
    let lagging = conn.lagging.cancelled();
    tokio::pin!(shutdown, lagging);
    let close = loop {
        let text = tokio::select! {
            biased;
            _ = &mut shutdown => break Some((GOING_AWAY, "server shutting down")),
            _ = &mut lagging => break Some((TOO_SLOW, "too far behind: resume from your last seq")),
            Some(ev) = queued.recv() => {
                // A client that does not read blocks this write; the outbox
                // then overflows and `lagging` ends the wait.
                tokio::select! {
                    r = Box::pin(write_batch(&mut sink, ev, &mut queued)) => if r.is_err() { break None; },
                    _ = &mut lagging => break Some((TOO_SLOW, "too far behind: resume from your last seq")),
                    _ = &mut shutdown => break Some((GOING_AWAY, "server shutting down")),
                }
                continue;
            }
            m = incoming.next() => match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Binary(_))) => {
                    let e = error(ErrorCode::BadRequest, "binary frames are not supported; send JSON text");
                    if send(&mut sink, &e).await.is_err() { break None; }
                    continue;
                }
                // tungstenite answers pings itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            },
        };
        let reply = if text.len() > MAX_MESSAGE_BYTES {
            Some(error(
                ErrorCode::PayloadTooLarge,
                format!("messages are limited to {} KiB", MAX_MESSAGE_BYTES / 1024),
            ))
        } else {
            match parse(text.as_str()) {
                // Boxed: the handlers' futures (database, quota) are large,
                // and inline they would sit in every idle connection's task.
                Ok(msg) => Box::pin(handle(&conn, msg)).await,
                Err(e) => Some(e),
            }
        };
        if let Some(reply) = reply
            && send(&mut sink, &reply).await.is_err()
        {
            break None;
        }
    };
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        // A client that stopped reading may never take the frame.
        let _ = Box::pin(tokio::time::timeout(
            Duration::from_secs(1),
            sink.send(frame),
        ))
        .await;
    }
}

/// Acts on one message; the reply to send back, if any.
async fn handle(conn: &Conn, msg: ClientMessage) -> Option<ServerMessage> {
    if !matches!(msg, ClientMessage::Ping)
        && let Some(rate) = &conn.rate
    {
        let allowed = rate
            .lock()
            .expect("rate lock")
            .try_take(std::time::Instant::now());
        if !allowed {
            return Some(error(
                ErrorCode::RateLimited,
                "too many messages on this connection: slow down",
            ));
        }
    }
    let started = match msg {
        ClientMessage::OpenaiChat { data } => {
            crate::personas::openai_chat(&conn.state, &conn.who, data).await
        }
        ClientMessage::Chat { data } => crate::personas::chat(&conn.state, &conn.who, data).await,
        ClientMessage::MultiChat { data } => {
            crate::personas::multi_chat(&conn.state, &conn.who, data).await
        }
        ClientMessage::SessionMessage {
            session_id,
            message_text,
        } => {
            crate::support::session_message(
                &conn.state,
                &conn.who,
                conn.token_expires_at,
                &session_id,
                &message_text,
            )
            .await
        }
        other => return handle_connection_message(conn, other).await,
    };
    match started {
        Ok(streams) => {
            for entry in streams {
                forward(conn, entry.subscribe(0));
            }
            None
        }
        Err(refusal) => Some(refusal),
    }
}

/// `ping`, `resume`, `stop`.
async fn handle_connection_message(conn: &Conn, msg: ClientMessage) -> Option<ServerMessage> {
    match msg {
        ClientMessage::Ping => Some(ServerMessage::Pong {
            timestamp: now_rfc3339(),
        }),
        ClientMessage::Resume { data } => {
            let entry = match stream_for(conn, &data.stream_id).await {
                Ok(e) => e,
                Err(reply) => return Some(reply),
            };
            forward(conn, entry.subscribe(data.after_seq));
            None
        }
        ClientMessage::Stop { data } => match stream_for(conn, &data.stream_id).await {
            Ok(entry) => {
                entry.cancel.cancel();
                None
            }
            Err(reply) => Some(reply),
        },
        ClientMessage::OpenaiChat { .. }
        | ClientMessage::Chat { .. }
        | ClientMessage::MultiChat { .. }
        | ClientMessage::SessionMessage { .. } => None,
    }
}

/// The caller's stream, or the in-band error saying why not.
async fn stream_for(
    conn: &Conn,
    stream_id: &str,
) -> Result<Arc<crate::streams::registry::Entry>, ServerMessage> {
    owned_stream(&conn.state, &conn.who, stream_id)
        .await
        .map_err(|e: AppError| {
            let (_, body) = e.to_api_error();
            error(body.code, body.error)
        })
}

/// Copies a stream's events into the outbox until the stream ends, the
/// connection closes, or the outbox stays full past the stall timeout (the
/// client stopped reading).
fn forward<St>(conn: &Conn, events: St)
where
    St: Stream<Item = Arc<Event>> + Send + 'static,
{
    let outbox = conn.outbox.clone();
    let lagging = conn.lagging.clone();
    let closed = conn.closed.clone();
    let stall = conn.state.config.ws_stall_timeout();
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        let mut closed = std::pin::pin!(closed.cancelled());
        loop {
            let ev = tokio::select! {
                _ = &mut closed => return,
                ev = events.next() => ev,
            };
            let Some(ev) = ev else { return };
            // Room in the outbox (the usual case): no timer to set up.
            let ev = match outbox.try_send(ev) {
                Ok(()) => continue,
                Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(ev)) => ev,
            };
            match tokio::time::timeout(stall, outbox.send(ev)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    lagging.cancel();
                    return;
                }
            }
        }
    });
}

/// Writes `first` and every event already queued behind it (up to
/// [`WRITE_BATCH`]), then flushes once: one frame per event, but one
/// write to the socket for many frames when the client is busy.
async fn write_batch<S>(
    sink: &mut S,
    first: Arc<Event>,
    queued: &mut mpsc::Receiver<Arc<Event>>,
) -> Result<(), S::Error>
where
    S: Sink<Message> + Unpin,
{
    sink.feed(frame(&first)).await?;
    drop(first);
    for _ in 1..WRITE_BATCH {
        match queued.try_recv() {
            Ok(ev) => sink.feed(frame(&ev)).await?,
            Err(_) => break,
        }
    }
    sink.flush().await
}

/// A stream event as a text frame.
fn frame(ev: &Event) -> Message {
    Message::Text(ev.json.as_str().into())
}

/// A client message, or the in-band error that explains why not.
pub fn parse(text: &str) -> Result<ClientMessage, ServerMessage> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| error(ErrorCode::InvalidJson, format!("message is not JSON: {e}")))?;
    decode_typed(value, ClientMessage::TYPES).map_err(|(code, message)| error(code, message))
}

/// A `{"type": …}` message of a socket protocol: its `type` checked against
/// `types` (so an unknown type and a known one with bad fields get different
/// codes), then decoded. The error's code and words otherwise.
pub fn decode_typed<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    types: &[&str],
) -> Result<T, (ErrorCode, String)> {
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err((
            ErrorCode::BadRequest,
            "message needs a string \"type\" field".into(),
        ));
    };
    if !types.contains(&kind) {
        return Err((
            ErrorCode::UnknownType,
            format!(
                "unknown message type {kind:?}; expected one of: {}",
                types.join(", ")
            ),
        ));
    }
    let kind = kind.to_owned();
    serde_json::from_value(value).map_err(|e| {
        (
            ErrorCode::ValidationError,
            format!("invalid {kind} message: {e}"),
        )
    })
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::error(code, message, now_rfc3339())
}

async fn send<S>(sink: &mut S, msg: &ServerMessage) -> Result<(), S::Error>
where
    S: Sink<Message> + Unpin,
{
    let json = serde_json::to_string(msg).unwrap_or_default();
    sink.send(Message::Text(json.into())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(r: Result<ClientMessage, ServerMessage>) -> ErrorCode {
        match r {
            Err(ServerMessage::Error { code, .. }) => code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn bad_messages_get_typed_errors() {
        assert_eq!(code_of(parse("not json")), ErrorCode::InvalidJson);
        assert_eq!(code_of(parse("{\"x\":1}")), ErrorCode::BadRequest);
        assert_eq!(
            code_of(parse("{\"type\":\"dance\"}")),
            ErrorCode::UnknownType
        );
        assert_eq!(
            code_of(parse("{\"type\":\"resume\"}")),
            ErrorCode::ValidationError
        );
        assert_eq!(parse("{\"type\":\"ping\"}").unwrap(), ClientMessage::Ping);
    }
}
