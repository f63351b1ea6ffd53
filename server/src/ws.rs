//! `GET /ws`: the WebSocket that seeds 001 (persona chat) and 004 (support
//! sessions) share. This module holds the connection itself: the greeting,
//! `ping`/`pong`, typed errors for bad frames (the socket stays open), frame
//! limits, and the close at shutdown. Feature protocols plug their message
//! types into [`ClientMessage`] in their own modules.
//!
//! The loop is generic over `Sink`/`Stream` so tests can drive it with
//! channels; the route wraps it with the Origin guard (see `web`).

use crate::clock::now_rfc3339;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::{Router, middleware, routing::get};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use shared::ErrorCode;
use shared::ws::{ClientMessage, ServerMessage};

/// Largest message acted on, in bytes; a larger one gets an in-band
/// `PAYLOAD_TOO_LARGE` error and the socket stays open.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Largest frame the socket reads at all; past it the connection is closed
/// (1009), so a client cannot make the server buffer more than this.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// Close code sent when the server goes away (RFC 6455 1001).
const GOING_AWAY: u16 = 1001;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/ws", get(upgrade))
        .route_layer(middleware::from_fn_with_state(
            state,
            crate::web::ws_origin_guard,
        ))
}

async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket: WebSocket| session(socket, state))
}

/// One connection, from greeting to close.
pub async fn session<S, E>(mut socket: S, state: AppState)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Unpin,
{
    let greeting = ServerMessage::Connection {
        status: "connected".into(),
        timestamp: now_rfc3339(),
    };
    if send(&mut socket, &greeting).await.is_err() {
        return;
    }
    loop {
        let incoming = tokio::select! {
            _ = state.shutdown.cancelled() => {
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: GOING_AWAY,
                        reason: "server shutting down".into(),
                    })))
                    .await;
                break;
            }
            m = socket.next() => m,
        };
        let reply = match incoming {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
            Some(Ok(Message::Text(text))) if text.len() > MAX_MESSAGE_BYTES => Some(error(
                ErrorCode::PayloadTooLarge,
                format!("messages are limited to {} KiB", MAX_MESSAGE_BYTES / 1024),
            )),
            Some(Ok(Message::Text(text))) => handle_text(text.as_str()),
            Some(Ok(Message::Binary(_))) => Some(error(
                ErrorCode::BadRequest,
                "binary frames are not supported; send JSON text",
            )),
            // tungstenite answers pings itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
        };
        if let Some(reply) = reply
            && send(&mut socket, &reply).await.is_err()
        {
            break;
        }
    }
}

/// Parses one text frame and answers it.
fn handle_text(text: &str) -> Option<ServerMessage> {
    match parse(text) {
        Ok(ClientMessage::Ping) => Some(ServerMessage::Pong {
            timestamp: now_rfc3339(),
        }),
        Err(e) => Some(e),
    }
}

/// A client message, or the in-band error that explains why not.
pub fn parse(text: &str) -> Result<ClientMessage, ServerMessage> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| error(ErrorCode::InvalidJson, format!("message is not JSON: {e}")))?;
    let Some(kind) = value.get("type").and_then(|t| t.as_str()) else {
        return Err(error(
            ErrorCode::BadRequest,
            "message needs a string \"type\" field",
        ));
    };
    if !ClientMessage::TYPES.contains(&kind) {
        return Err(error(
            ErrorCode::UnknownType,
            format!(
                "unknown message type {kind:?}; expected one of: {}",
                ClientMessage::TYPES.join(", ")
            ),
        ));
    }
    let kind = kind.to_owned();
    serde_json::from_value(value).map_err(|e| {
        error(
            ErrorCode::ValidationError,
            format!("invalid {kind} message: {e}"),
        )
    })
}

fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::error(code, message, now_rfc3339())
}

async fn send<S>(socket: &mut S, msg: &ServerMessage) -> Result<(), S::Error>
where
    S: Sink<Message> + Unpin,
{
    let json = serde_json::to_string(msg).unwrap_or_default();
    socket.send(Message::Text(json.into())).await
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
        assert_eq!(parse("{\"type\":\"ping\"}").unwrap(), ClientMessage::Ping);
    }
}
