//! `GET /api/v1/chats/ws`: the management channel as a plain WebSocket of
//! JSON `{"type", ...}` messages (`?token=` or `?anon_id=`; the Origin guard
//! of `web` applies). `usage_info` first, then one answer per message and
//! the owner's news from other tabs. A bad message gets an in-band `error`
//! and the socket stays open. The loop is generic over `Sink`/`Stream`.

use super::manage;
use crate::auth::identity::Identity;
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::response::Response;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use shared::ErrorCode;
use shared::chat::ServerMessage;
use tokio::sync::broadcast::error::RecvError;

/// Largest management message accepted (they are small).
const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Close code when the server goes away (RFC 6455 1001).
const GOING_AWAY: u16 = 1001;

/// `GET /api/v1/chats/ws`: who is asking (401 for nobody), then the socket.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    who: Identity,
) -> Response {
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| session(socket, state, who))
}

/// One connection, from `usage_info` to close.
pub async fn session<S, E>(socket: S, state: AppState, who: Identity)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
{
    let conn = format!("ws_{}", uuid::Uuid::new_v4().simple());
    let owner = who.owner_key();
    let gate = manage::Gate::new(&state);
    let mut news = state.chats.subscribe();
    let (mut sink, mut incoming) = socket.split();
    if send(&mut sink, &manage::welcome(&state, &who).await)
        .await
        .is_err()
    {
        return;
    }
    loop {
        let reply = tokio::select! {
            _ = state.shutdown.cancelled() => {
                let _ = sink.send(Message::Close(Some(CloseFrame {
                    code: GOING_AWAY,
                    reason: "server shutting down".into(),
                }))).await;
                break;
            }
            n = news.recv() => match n {
                Ok(n) if n.is_for(&owner, &conn) => n.message.clone(),
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            },
            m = incoming.next() => match m {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(Message::Text(t))) => match manage::parse(t.as_str()) {
                    Ok(msg) => manage::handle(&state, &who, &conn, &gate, msg).await,
                    Err(e) => e,
                },
                Some(Ok(Message::Binary(_))) => manage::error(
                    ErrorCode::BadRequest,
                    "binary frames are not supported; send JSON text",
                ),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            },
        };
        if send(&mut sink, &reply).await.is_err() {
            break;
        }
    }
}

async fn send<S>(sink: &mut S, msg: &ServerMessage) -> Result<(), S::Error>
where
    S: Sink<Message> + Unpin,
{
    let json = serde_json::to_string(msg).unwrap_or_default();
    sink.send(Message::Text(json.into())).await
}
