//! The one WebSocket connection loop every socket protocol runs on: the
//! persona protocol and support sessions on `/ws`, the BooksWriter protocol
//! on `/ws/{session_id}`, the chat management protocol on
//! `/api/v1/chats/ws`.
//!
//! [`serve`] owns the socket. It writes the protocol's events in batches with
//! one flush, answers each client frame with the protocol's replies, refuses
//! binary frames and oversized messages in-band (one code for each, on every
//! socket), and closes with one set of [`close`] codes: when the server shuts
//! down, when the protocol's idle time passes without a frame from the
//! client, and when a client stops reading. Every write, events and direct
//! replies alike, has the stall timeout (`--ws-stall-timeout-ms`): a client
//! that does not take a write within it is closed with 1008 and can resume.
//!
//! A protocol is a [`Protocol`]: where its events come from
//! ([`Protocol::events`]), what a client frame does ([`Protocol::handle`]),
//! and its error message. [`Followed`] holds the stream readers of a
//! protocol whose events come from the stream registry, polled by the loop
//! itself and written in one batch per wake-up. The loop is generic over `Sink`/`Stream`, so tests drive it
//! with channels. [`tuned`] gives an upgrade the limits every socket uses,
//! and [`ConnectionCounter`](crate::connections::ConnectionCounter) caps
//! how many sockets one user holds.

use crate::auth::revocation::SignOutWatch;
use crate::streams::log::{Event, next_order};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocketUpgrade};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Serialize;
use shared::ErrorCode;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Close codes (RFC 6455), the same on every socket.
pub mod close {
    /// A long time without traffic.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// Broken framing from the client.
    pub const PROTOCOL: u16 = 1002;
    /// Policy: a client too far behind, or refused (someone else's session).
    pub const POLICY: u16 = 1008;
    /// A frame past the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The server failed to open what was asked for.
    pub const SERVER_ERROR: u16 = 1011;
}

/// Largest frame a socket reads at all; past it the connection is closed
/// (1009), so a client cannot make the server buffer more than this.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// The socket's read buffer, allocated (and filled) per connection when it
/// opens: an idle connection's largest allocation. A client message longer
/// than this grows it to the frame's length while it is read (tungstenite
/// reserves what the frame header announces), so a small buffer costs a
/// second read for a long message, never a refused one.
const READ_BUFFER_BYTES: usize = 256;

/// Bytes of queued frames past which the socket writes them out.
const WRITE_BUFFER_BYTES: usize = 32 * 1024;

/// Most frames written (fed to the socket) before one flush.
pub const WRITE_BATCH: usize = 256;

/// How long the close frame may take to leave: a client that stopped
/// reading may never take it.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The answer to a binary frame, on every socket.
pub const BINARY_REFUSED: &str = "binary frames are not supported; send JSON text";

/// Why the loop ends with a close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: &'static str,
}

impl Close {
    /// The close for a frame the socket could not read (the error's text
    /// is all a generic socket gives).
    fn for_read_error(error: &str) -> Self {
        let e = error.to_ascii_lowercase();
        if e.contains("too long") || e.contains("too big") || e.contains("limit exceeded") {
            Self::TOO_BIG
        } else {
            Self::PROTOCOL
        }
    }

    pub const SHUTDOWN: Self = Self {
        code: close::GOING_AWAY,
        reason: "server shutting down",
    };
    pub const TOO_SLOW: Self = Self {
        code: close::POLICY,
        reason: "too far behind: resume from your last seq",
    };
    pub const JUNK: Self = Self {
        code: close::POLICY,
        reason: "too many messages: slow down",
    };
    pub const TOO_BIG: Self = Self {
        code: close::TOO_BIG,
        reason: "frame too large",
    };
    pub const PROTOCOL: Self = Self {
        code: close::PROTOCOL,
        reason: "protocol error",
    };
    /// The user signed out (a logout anywhere revokes every token they
    /// hold, and their sockets close).
    pub const SIGNED_OUT: Self = Self {
        code: close::POLICY,
        reason: "signed out: sign in again",
    };
    pub const IDLE: Self = Self {
        code: close::NORMAL,
        reason: "closed after a long time without traffic",
    };
}

/// What the loop needs besides the protocol.
#[derive(Debug)]
pub struct Limits {
    /// A write (a batch of events, or a reply) the client does not take
    /// within this closes the connection with [`Close::TOO_SLOW`].
    pub stall: Duration,
    /// Closes the connection with [`Close::IDLE`] after this long without
    /// a frame from the client; `None`: never.
    pub idle: Option<Duration>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// A signed-in user's connection: closed with [`Close::SIGNED_OUT`]
    /// when they sign out.
    pub signed_out: Option<SignOutWatch>,
    /// Every frame the client sends, valid or not, takes from this budget
    /// ([`FRAME_BURST`], [`FRAMES_PER_SEC`]); past it the connection is
    /// closed with [`Close::JUNK`]. Protocols' own message rates answer
    /// in-band long before; this ends a flood (of junk, which no protocol
    /// limit counts). `false` under `--no-limits`.
    pub frame_budget: bool,
}

/// Frames a client may send at once before the connection is closed …
pub const FRAME_BURST: u32 = 200;
/// … and how many more it earns each second.
pub const FRAMES_PER_SEC: f64 = 20.0;

/// One socket protocol: its messages and how it answers them.
pub trait Protocol: Send {
    /// What the server sends on this protocol.
    type Message: Serialize + Send;

    /// Largest client message acted on, in bytes; a larger one gets an
    /// in-band `PAYLOAD_TOO_LARGE` and the socket stays open.
    const MAX_MESSAGE_BYTES: usize;

    /// The messages that open the connection (a greeting), if any.
    fn open(&mut self) -> impl Future<Output = Vec<Self::Message>> + Send {
        async { Vec::new() }
    }

    /// Waits for events to write and appends them to `batch` as JSON text
    /// (at most [`WRITE_BATCH`]); `Err` closes the connection. Dropped
    /// whenever a client frame comes first, so it must lose nothing when
    /// cancelled at an `.await`.
    fn events(
        &mut self,
        batch: &mut Vec<Utf8Bytes>,
    ) -> impl Future<Output = Result<(), Close>> + Send;

    /// One text frame from the client: the replies to send back.
    fn handle(&mut self, text: &str) -> impl Future<Output = Vec<Self::Message>> + Send;

    /// The protocol's in-band error, for a frame the loop refuses.
    fn error(&mut self, code: ErrorCode, message: String) -> Self::Message;
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

/// Serves `socket` with `protocol` until either side closes.
pub async fn serve<S, E, P>(socket: S, mut protocol: P, limits: Limits)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send,
    E: std::fmt::Display,
    P: Protocol,
{
    let (mut sink, mut incoming) = socket.split();
    let stall = limits.stall;
    let greeting = protocol.open().await;
    if write_messages(&mut sink, &greeting, stall).await.is_err() {
        return;
    }
    let mut batch: Vec<Utf8Bytes> = Vec::new();
    // Made once and polled on every turn: a new one per turn locked the
    // token and registered a waiter, twice per event written.
    let shutdown = limits.shutdown.cancelled();
    tokio::pin!(shutdown);
    let signed_out = async {
        match &limits.signed_out {
            Some(watch) => watch.signed_out().await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(signed_out);
    let mut idle_at = limits.idle.map(|d| tokio::time::Instant::now() + d);
    let mut frames = limits
        .frame_budget
        .then(|| crate::ratelimit::RateLimiter::new(FRAME_BURST, FRAMES_PER_SEC));
    let ended: Result<(), Close> = loop {
        let idle = async {
            if let Some(at) = idle_at {
                tokio::time::sleep_until(at).await
            }
        };
        let text = tokio::select! {
            biased;
            _ = &mut shutdown => break Err(Close::SHUTDOWN),
            _ = &mut signed_out => break Err(Close::SIGNED_OUT),
            _ = idle, if idle_at.is_some() => break Err(Close::IDLE),
            r = protocol.events(&mut batch) => {
                if let Err(close) = r {
                    break Err(close);
                }
                let written = write_batch(&mut sink, &mut batch, stall);
                tokio::select! {
                    biased;
                    _ = &mut shutdown => break Err(Close::SHUTDOWN),
                    _ = &mut signed_out => break Err(Close::SIGNED_OUT),
                    r = written => match r {
                        Ok(()) => continue,
                        Err(Stalled::Closed) => break Ok(()),
                        Err(Stalled::Timeout) => break Err(Close::TOO_SLOW),
                    },
                }
            }
            m = incoming.next() => {
                if let Some(d) = limits.idle {
                    idle_at = Some(tokio::time::Instant::now() + d);
                }
                if matches!(m, Some(Ok(Message::Text(_) | Message::Binary(_))))
                    && let Some(frames) = frames.as_mut()
                    && !frames.try_take(std::time::Instant::now())
                {
                    break Err(Close::JUNK);
                }
                match m {
                    None | Some(Ok(Message::Close(_))) => break Ok(()),
                    // A frame past the size limit, or broken framing: said
                    // with a close frame and its code, not a dropped
                    // connection.
                    Some(Err(e)) => break Err(Close::for_read_error(&e.to_string())),
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Binary(_))) => {
                        let e = protocol.error(ErrorCode::BadRequest, BINARY_REFUSED.into());
                        match write_messages(&mut sink, std::slice::from_ref(&e), stall).await {
                            Ok(()) => continue,
                            Err(Stalled::Closed) => break Ok(()),
                            Err(Stalled::Timeout) => break Err(Close::TOO_SLOW),
                        }
                    }
                    // tungstenite answers pings itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                }
            }
        };
        let replies = if text.len() > P::MAX_MESSAGE_BYTES {
            vec![protocol.error(
                ErrorCode::PayloadTooLarge,
                format!(
                    "messages are limited to {} KiB",
                    P::MAX_MESSAGE_BYTES / 1024
                ),
            )]
        } else {
            // Boxed: the handlers' futures (database, quota) are large, and
            // inline they would sit in every idle connection's task.
            Box::pin(protocol.handle(text.as_str())).await
        };
        match write_messages(&mut sink, &replies, stall).await {
            Ok(()) => {}
            Err(Stalled::Closed) => break Ok(()),
            Err(Stalled::Timeout) => break Err(Close::TOO_SLOW),
        }
    };
    if let Err(close) = ended {
        if close.code == Close::TOO_SLOW.code {
            crate::metrics::get().slow_clients_closed.inc();
        }
        if close == Close::SHUTDOWN {
            flush_ready(&mut protocol, &mut sink, &mut batch, stall).await;
        }
        let frame = Message::Close(Some(CloseFrame {
            code: close.code,
            reason: close.reason.into(),
        }));
        let _ = Box::pin(tokio::time::timeout(CLOSE_WAIT, sink.send(frame))).await;
        // The closing handshake: read (and drop) what the client still
        // sends until its close, briefly. Dropping the socket with unread
        // data resets the TCP connection, and the client would lose the
        // close frame (and its code) to the reset.
        let drain = async {
            while let Some(Ok(m)) = incoming.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_WAIT, drain).await;
    }
}

/// Writes what the protocol has ready now (at shutdown, the streams' final
/// events are in by the time the sockets close), without waiting for more.
async fn flush_ready<S, P>(
    protocol: &mut P,
    sink: &mut S,
    batch: &mut Vec<Utf8Bytes>,
    stall: Duration,
) where
    S: Sink<Message> + Unpin,
    P: Protocol,
{
    // Bounded: a protocol always ready must not keep the socket open.
    for _ in 0..64 {
        let ready = futures_util::future::poll_immediate(protocol.events(batch)).await;
        if !matches!(ready, Some(Ok(()))) || batch.is_empty() {
            break;
        }
        if write_batch(sink, batch, stall).await.is_err() {
            break;
        }
    }
}

/// Sends one message of a protocol that refuses the connection, then closes
/// with `code` (`reason` at most 100 characters, as the frame allows).
pub async fn refuse<S, M>(mut socket: S, message: &M, code: u16, reason: &str)
where
    S: Sink<Message> + Unpin,
    M: Serialize,
{
    let _ = socket.send(Message::Text(json(message))).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.chars().take(100).collect::<String>().into(),
        })))
        .await;
}

/// Why a write did not finish.
enum Stalled {
    /// The socket is gone.
    Closed,
    /// The client did not take it within the stall timeout.
    Timeout,
}

/// `fut` within `stall`. The timer is only set up when the write does not
/// finish at once (the usual case: the socket takes it), so the common
/// write costs no timer.
async fn within<F>(stall: Duration, fut: F) -> Result<(), Stalled>
where
    F: Future<Output = Result<(), ()>>,
{
    let mut fut = std::pin::pin!(fut);
    let r = match futures_util::future::poll_immediate(&mut fut).await {
        Some(r) => r,
        None => tokio::time::timeout(stall, fut)
            .await
            .map_err(|_| Stalled::Timeout)?,
    };
    r.map_err(|()| Stalled::Closed)
}

/// Writes the batch (one frame each), then flushes once: one write to the
/// socket for many frames when the client is busy. Leaves `batch` empty.
async fn write_batch<S>(
    sink: &mut S,
    batch: &mut Vec<Utf8Bytes>,
    stall: Duration,
) -> Result<(), Stalled>
where
    S: Sink<Message> + Unpin,
{
    within(stall, async {
        for text in batch.drain(..) {
            sink.feed(Message::Text(text)).await.map_err(|_| ())?;
        }
        sink.flush().await.map_err(|_| ())
    })
    .await
}

/// Writes a protocol's messages (replies, a greeting), each within the
/// stall timeout.
async fn write_messages<S, M>(sink: &mut S, messages: &[M], stall: Duration) -> Result<(), Stalled>
where
    S: Sink<Message> + Unpin,
    M: Serialize,
{
    if messages.is_empty() {
        return Ok(());
    }
    within(stall, async {
        for m in messages {
            sink.feed(Message::Text(json(m))).await.map_err(|_| ())?;
        }
        sink.flush().await.map_err(|_| ())
    })
    .await
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

/// A message as JSON text.
pub fn json<M: Serialize>(m: &M) -> Utf8Bytes {
    serde_json::to_string(m).unwrap_or_default().into()
}

/// The event streams one connection follows (each a reader with a cursor
/// into a stream's replay log), polled by the socket loop itself: no task
/// and no queue between a log and the socket, so an event is written from
/// the log it was pushed to. A client that stops reading stops the polling
/// (its events wait in the logs, where they are anyway), and the write's
/// stall timeout closes it with [`Close::TOO_SLOW`].
///
/// Events of different streams go out in the order they were pushed
/// ([`Event::order`]), among those ready at once (up to a batch), and
/// what a stream held when it was followed counts as pushed then: a
/// panel's first status (followed first) comes before its members' first
/// events, and its final answer, pushed after its members' ends, after
/// them.
#[derive(Default)]
pub struct Followed {
    streams: Vec<FollowedStream>,
    /// Events read but not written yet, oldest first.
    ready: VecDeque<Ready>,
    /// How many streams were followed so far (each one's number).
    followed: u64,
}

struct FollowedStream {
    events: Pin<Box<dyn Stream<Item = Arc<Event>> + Send>>,
    /// [`next_order`] when it was followed.
    since: u64,
    number: u64,
}

/// An event read, with where it goes in the write order.
struct Ready {
    at: (u64, u64),
    event: Arc<Event>,
}

impl std::fmt::Debug for Followed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Followed")
            .field("streams", &self.streams.len())
            .field("ready", &self.ready.len())
            .finish()
    }
}

impl Followed {
    /// Follows `events` until they end or the connection closes.
    pub fn follow(&mut self, events: impl Stream<Item = Arc<Event>> + Send + 'static) {
        self.followed += 1;
        self.streams.push(FollowedStream {
            events: Box::pin(events),
            since: next_order(),
            number: self.followed,
        });
    }

    /// How many streams are followed.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Waits for events, then appends every event ready now (at most
    /// [`WRITE_BATCH`]) to `batch` as frames: one write for all of them.
    /// Cancel-safe.
    pub async fn drain(&mut self, batch: &mut Vec<Utf8Bytes>) {
        std::future::poll_fn(|cx| self.poll_batch(cx, batch)).await
    }

    fn poll_batch(
        &mut self,
        cx: &mut std::task::Context<'_>,
        batch: &mut Vec<Utf8Bytes>,
    ) -> Poll<()> {
        if self.ready.len() < WRITE_BATCH {
            self.read_ready(cx);
        }
        if self.ready.is_empty() {
            // Every stream waits (and will wake this task), or none is
            // followed: a new one comes with a client message, and this
            // future is made again after it.
            return Poll::Pending;
        }
        let n = self.ready.len().min(WRITE_BATCH);
        // The log's bytes themselves: no copy per frame.
        batch.extend(self.ready.drain(..n).map(|r| r.event.json.clone()));
        Poll::Ready(())
    }

    /// Reads what the streams have ready into `ready`, in push order: pass
    /// after pass until one finds nothing more (so an event pushed while
    /// the streams were being read, after an event read from another, is
    /// not left behind it), or a batch's worth is held.
    fn read_ready(&mut self, cx: &mut std::task::Context<'_>) {
        let held = self.ready.len();
        let mut sources = 0;
        loop {
            let mut found = false;
            let mut at = 0;
            while at < self.streams.len() && self.ready.len() < WRITE_BATCH {
                let stream = &mut self.streams[at];
                let mut from_this = false;
                loop {
                    match stream.events.as_mut().poll_next(cx) {
                        Poll::Ready(Some(event)) => {
                            let at = (event.order.max(stream.since), stream.number);
                            self.ready.push_back(Ready { at, event });
                            from_this = true;
                            if self.ready.len() >= WRITE_BATCH {
                                break;
                            }
                        }
                        Poll::Ready(None) => {
                            drop(self.streams.swap_remove(at));
                            break;
                        }
                        Poll::Pending => {
                            at += 1;
                            break;
                        }
                    }
                }
                if from_this {
                    found = true;
                    sources += 1;
                }
            }
            if !found || self.ready.len() >= WRITE_BATCH {
                break;
            }
        }
        if sources > 1 || (sources == 1 && held > 0) {
            // Each stream's events are in order already: a stable sort.
            self.ready.make_contiguous().sort_by_key(|r| r.at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::registry::Streams;
    use serde_json::json;

    #[tokio::test]
    async fn followed_streams_are_written_in_the_order_their_events_were_pushed() {
        let streams = Streams::new(Duration::from_secs(60));
        let (a, b) = (streams.create("user:1"), streams.create("user:1"));
        // What they held before they were followed counts as pushed then,
        // in the order they were followed.
        a.push(None, json!({"n": 0})).unwrap();
        b.push(None, json!({"n": -1})).unwrap();
        let mut followed = Followed::default();
        followed.follow(b.subscribe(0));
        followed.follow(a.subscribe(0));
        // After that, the order is the pushes', not the following's.
        for (entry, n) in [(&a, 1), (&b, 2), (&a, 3), (&a, 4), (&b, 5)] {
            entry.push(None, json!({"n": n})).unwrap();
        }
        a.finish();
        b.finish();
        let mut batch = Vec::new();
        followed.drain(&mut batch).await;
        let order: Vec<i64> = batch
            .iter()
            .map(|t| {
                serde_json::from_str::<serde_json::Value>(t).unwrap()["n"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(order, [-1, 0, 1, 2, 3, 4, 5]);
        // Both ended: nothing more, and no stream is kept.
        let more = futures_util::future::poll_immediate(followed.drain(&mut batch)).await;
        assert!(more.is_none());
        assert!(followed.is_empty());
    }
}
