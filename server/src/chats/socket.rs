//! `GET /api/v1/chats/ws`: the chat management protocol as a plain
//! WebSocket of JSON `{"type", ...}` messages (`?token=` or `?anon_id=`; the
//! Origin guard of `web` applies), a [`Protocol`] on the connection loop of
//! [`crate::socket`]. `usage_info` first, then one answer per message and
//! the owner's news from other tabs. A bad message gets an in-band `error`
//! and the socket stays open.

use super::hub::News;
use super::manage;
use crate::auth::identity::{ClientIp, Identity, socket_slot};
use crate::socket::{self, Close, Protocol};
use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, Stream};
use shared::ErrorCode;
use shared::chat::ServerMessage;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};

/// Largest management message acted on (they are small).
const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// `GET /api/v1/chats/ws`: who is asking (401 for nobody), then the socket.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    who: Identity,
    ClientIp(ip): ClientIp,
) -> Response {
    let slot = match socket_slot(&state.connections, &who, ip).await {
        Ok(slot) => slot,
        Err(e) => return e.into_response(),
    };
    let context = crate::request_id::Context::current();
    socket::tuned(ws).on_upgrade(move |socket| {
        context.run(async move {
            let _open = crate::metrics::Open::socket("chat_manage");
            session_from(socket, state, who, Some(ip)).await;
            drop(slot);
        })
    })
}

/// One connection, from `usage_info` to close.
pub async fn session<S, E>(socket: S, state: AppState, who: Identity)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
    E: std::fmt::Display,
{
    session_from(socket, state, who, None).await
}

/// [`session`] from the address `ip` (an anonymous visitor's messages take
/// from its budget too).
pub async fn session_from<S, E>(socket: S, state: AppState, who: Identity, ip: Option<IpAddr>)
where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + 'static,
    E: std::fmt::Display,
{
    let mut gate = manage::Gate::new(&state.config);
    if let Some(ip) = ip {
        gate = gate.for_caller(&state.message_rates, &who, ip);
    }
    let limits = state.socket_limits(&who, None);
    let protocol = Manage {
        conn: format!("ws_{}", uuid::Uuid::new_v4().simple()),
        owner: who.owner_key(),
        gate,
        news: state.chats.subscribe(),
        state,
        who,
    };
    socket::serve(socket, protocol, limits).await
}

/// The chat management protocol of one connection.
struct Manage {
    state: AppState,
    who: Identity,
    owner: String,
    /// This connection's id, so news it caused is not echoed back.
    conn: String,
    gate: manage::Gate,
    news: broadcast::Receiver<Arc<News>>,
}

impl Protocol for Manage {
    type Message = ServerMessage;
    const MAX_MESSAGE_BYTES: usize = MAX_MESSAGE_BYTES;

    async fn open(&mut self) -> Vec<ServerMessage> {
        vec![manage::welcome(&self.state.generator.quota, &self.who).await]
    }

    async fn events(&mut self, batch: &mut Vec<Utf8Bytes>) -> Result<(), Close> {
        loop {
            match self.news.recv().await {
                Ok(n) if n.is_for(&self.owner, &self.conn) => {
                    batch.push(socket::json(&n.message));
                    return Ok(());
                }
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return std::future::pending().await,
            }
        }
    }

    async fn handle(&mut self, text: &str) -> Vec<ServerMessage> {
        vec![match manage::parse(text) {
            Ok(msg) => manage::handle(&self.state, &self.who, &self.conn, &self.gate, msg).await,
            Err(e) => e,
        }]
    }

    fn error(&mut self, code: ErrorCode, message: String) -> ServerMessage {
        manage::error(code, message)
    }
}
