//! `GET /ws`: the socket the persona protocol and support sessions share,
//! as a [`Protocol`] on the one connection loop of [`crate::socket`]. This
//! module holds what belongs to `/ws` itself: the greeting, `ping`/`pong`,
//! `resume` and `stop` of streams, the per-connection message rate, typed
//! errors for bad messages (the socket stays open), and the dispatch of the
//! features' messages ([`crate::personas`], [`crate::support`]), whose
//! streams the connection follows ([`Followed`]: the socket loop reads
//! their logs itself). A client that does not take a write for
//! `--ws-stall-timeout-ms` has stopped reading: it is closed with 1008 and
//! can `resume` from its last `seq`.

use crate::auth::identity::{Caller, Identity};
use crate::clock::now_rfc3339;
use crate::error::AppError;
use crate::ratelimit::RateLimiter;
use crate::socket::{self, Close, Followed, Protocol};
use crate::state::AppState;
use crate::streams::owned_stream;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use axum::{Router, middleware, routing::get};
use futures_util::{Sink, Stream};
use shared::ErrorCode;
use shared::ws::{ClientMessage, ServerMessage};
use std::net::IpAddr;
use std::sync::Mutex;

pub use crate::socket::MAX_FRAME_BYTES;

/// Largest message acted on, in bytes; a larger one gets an in-band
/// `PAYLOAD_TOO_LARGE` error and the socket stays open.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Messages (other than `ping`) a connection may send at once …
pub const RATE_BURST: u32 = 30;
/// … and how many more it earns each second.
pub const RATE_PER_SEC: f64 = 1.0;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ws", get(upgrade))
        .route_layer(middleware::from_fn_with_state(
            state,
            crate::web::ws_origin_guard,
        ))
}

/// A bad token is refused here, at the upgrade (401); a caller with no
/// identity at all is an anonymous visitor keyed by their IP address.
async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>, caller: Caller) -> Response {
    let slot = match caller.connection_slot(&state.connections).await {
        Ok(slot) => slot,
        Err(e) => return e.into_response(),
    };
    let context = crate::request_id::Context::current();
    // Boxed until the socket opens: what the upgrade's task holds beside
    // the session is a pointer, not a copy of the state (see `connection`).
    let opened = Box::new(Opened {
        state,
        caller,
        slot,
    });
    // The session boxed too: inline, axum's upgrade task held room for
    // the session's future twice (12,032 bytes for a 5,720-byte session).
    socket::tuned(ws)
        .on_upgrade(move |socket: WebSocket| context.run(Box::pin(connection(socket, opened))))
}

/// What a connection is opened with.
struct Opened {
    state: AppState,
    caller: Caller,
    slot: Option<crate::connections::ConnectionSlot>,
}

/// One upgraded connection. Every byte of this future (and of what it
/// awaits) is held by each idle connection for as long as it is open, so
/// it holds the state once (in the protocol): the upgrade's closure and
/// this function's arguments are a box, emptied and freed at the start.
async fn connection(socket: WebSocket, opened: Box<Opened>) {
    let _open = crate::metrics::Open::socket("persona_support");
    let Opened {
        state,
        caller,
        slot,
    } = unbox(opened);
    let address = matches!(caller.who, Identity::Anonymous(_)).then_some(caller.ip);
    session_with(socket, state, caller.who, caller.token_expires_at, address).await;
    drop(slot);
}

/// The box's contents; the box is freed here, not when the caller returns.
#[expect(
    clippy::boxed_local,
    reason = "boxed to keep the upgrade's task small; emptied here"
)]
fn unbox<T>(b: Box<T>) -> T {
    *b
}

/// One connection, from greeting to close.
pub fn session<S, E>(
    socket: S,
    state: AppState,
    who: Identity,
) -> impl std::future::Future<Output = ()>
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
    E: std::fmt::Display,
{
    session_with(socket, state, who, None, None)
}

/// [`session`], knowing when the connection's token expires, and for an
/// anonymous visitor their address (its message budget is shared by all
/// its connections, `message_rates`). Not an `async fn`: its future is the
/// socket loop's, without another copy of the state beside it.
pub fn session_with<S, E>(
    socket: S,
    state: AppState,
    who: Identity,
    token_expires_at: Option<i64>,
    address: Option<IpAddr>,
) -> impl std::future::Future<Output = ()>
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
    E: std::fmt::Display,
{
    let limits = state.socket_limits(&who, None);
    let protocol = Ws {
        rate: (!state.config.no_limits)
            .then(|| Mutex::new(RateLimiter::new(RATE_BURST, RATE_PER_SEC))),
        followed: Followed::default(),
        state,
        who,
        token_expires_at,
        address,
    };
    socket::serve(socket, protocol, limits)
}

/// The `/ws` protocol of one connection.
struct Ws {
    state: AppState,
    who: Identity,
    /// When the connection's token expires (support sessions refuse
    /// messages after it).
    token_expires_at: Option<i64>,
    /// Messages a client may send in a burst, refilled over time; `None`
    /// under `--no-limits`.
    rate: Option<Mutex<RateLimiter>>,
    /// An anonymous visitor's address, whose message budget all its
    /// connections share.
    address: Option<IpAddr>,
    /// The streams whose events this connection writes.
    followed: Followed,
}

impl Protocol for Ws {
    type Message = ServerMessage;
    const MAX_MESSAGE_BYTES: usize = MAX_MESSAGE_BYTES;

    async fn open(&mut self) -> Vec<ServerMessage> {
        vec![ServerMessage::Connection {
            status: "connected".into(),
            timestamp: now_rfc3339(),
        }]
    }

    async fn events(&mut self, batch: &mut Vec<Utf8Bytes>) -> Result<(), Close> {
        self.followed.drain(batch).await;
        Ok(())
    }

    async fn handle(&mut self, text: &str) -> Vec<ServerMessage> {
        let reply = match parse(text) {
            Ok(msg) => self.message(msg).await,
            Err(e) => Some(e),
        };
        reply.into_iter().collect()
    }

    fn error(&mut self, code: ErrorCode, message: String) -> ServerMessage {
        error(code, message)
    }
}

impl Ws {
    /// Acts on one message; the reply to send back, if any.
    async fn message(&mut self, msg: ClientMessage) -> Option<ServerMessage> {
        if !matches!(msg, ClientMessage::Ping)
            && let Some(rate) = &self.rate
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
            if let Some(ip) = self.address
                && let Err(wait) = self.state.message_rates.take(ip)
            {
                return Some(crate::message_rates::refusal(wait));
            }
        }
        let (state, who) = (&self.state, &self.who);
        let started = match msg {
            ClientMessage::Ping => {
                return Some(ServerMessage::Pong {
                    timestamp: now_rfc3339(),
                });
            }
            ClientMessage::Resume { data } => {
                let found = match owned_stream(&state.generator, who, &data.stream_id).await {
                    Ok(e) => e,
                    Err(e) => return Some(from_app_error(e)),
                };
                self.followed
                    .follow(found.subscribe(data.after_seq, "error"));
                return None;
            }
            ClientMessage::Stop { data } => {
                let stopped = match owned_stream(&state.generator, who, &data.stream_id).await {
                    Ok(found) => found.stop().await,
                    Err(e) => Err(e),
                };
                return stopped.err().map(from_app_error);
            }
            ClientMessage::OpenaiChat { data } => {
                crate::personas::openai_chat(state, who, data).await
            }
            ClientMessage::Chat { data } => {
                crate::personas::chat(&state.generator, who, data).await
            }
            ClientMessage::MultiChat { data } => {
                crate::personas::multi_chat(&state.generator, who, data).await
            }
            ClientMessage::SessionMessage {
                session_id,
                message_text,
            } => {
                crate::support::session_message(
                    &state.generator,
                    who,
                    self.token_expires_at,
                    &session_id,
                    &message_text,
                )
                .await
            }
        };
        match started {
            Ok(streams) => {
                for entry in streams {
                    self.followed.follow(entry.subscribe(0));
                }
                None
            }
            Err(e) => Some(from_app_error(e)),
        }
    }
}

/// A client message, or the in-band error that explains why not.
pub fn parse(text: &str) -> Result<ClientMessage, ServerMessage> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| error(ErrorCode::InvalidJson, format!("message is not JSON: {e}")))?;
    socket::decode_typed(value, ClientMessage::TYPES)
        .map_err(|(code, message)| error(code, message))
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::error(code, message, now_rfc3339())
}

/// A feature's refusal as the protocol's in-band `error` (5xx causes are
/// logged, not sent).
fn from_app_error(e: AppError) -> ServerMessage {
    let (status, body) = e.to_api_error();
    if status.is_server_error() {
        tracing::error!(error = %e, "a /ws request failed");
    }
    error(body.code, body.error)
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
