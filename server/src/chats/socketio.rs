//! The management channel as the seed writes it: the socket.io namespace
//! `/chats` (served by `socketioxide` at `/socket.io/`), for
//! `io('http://host/chats', {auth: {token}})` or `{auth: {anonId}}`.
//!
//! Each socket.io event is a management message whose `type` is the event
//! name (`list_chats`, `list_messages`, `rename_chat`, `delete_chat`,
//! `get_usage`); answers and news go out as events of their `type`
//! (`chats_list`, `messages_list`, `usage_info`, `assistant_error`, …),
//! answered by the same [`manage`] code as the plain WebSocket. The connect
//! middleware applies the Origin policy of `web` and `ENABLE_WEBSOCKET`, and
//! refuses bad credentials with a `connect_error` whose message starts with
//! the error code.
//!
//! News reaches a socket through its rooms: each socket joins its owner's
//! room and one of its own, and the hub broadcasts news made on this
//! instance to the owner's room without the causing socket's
//! ([`broadcast_news`]). Without `--redis-url` the namespace runs on the
//! in-memory adapter; in a cluster on socketioxide's Redis adapter
//! ([`crate::cluster::socketio`]), which carries each broadcast to the
//! room's sockets on every instance.

use super::hub::News;
use super::manage;
use crate::auth::identity::{Identity, bearer_token, client_ip, identify, socket_slot};
use crate::auth::token::{Claims, TokenKeys};
use crate::connections::ConnectionSlot;
use crate::state::AppState;
use serde_json::Value;
use shared::ErrorCode;
use shared::auth::is_valid_anon_id;
use shared::chat::ServerMessage;
use socketioxide::SocketIo;
use socketioxide::adapter::{Adapter, LocalAdapter};
use socketioxide::extract::{Event, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide_core::adapter::{DefinedAdapter, Spawnable};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The namespace the seed's client connects to.
pub(crate) const NAMESPACE: &str = "/chats";

/// The socket.io layer on the in-memory adapter, or (in a cluster) on the
/// Redis adapter.
pub(crate) type Layer = tower::util::Either<
    SocketIoLayer<LocalAdapter>,
    SocketIoLayer<crate::cluster::socketio::Adapter>,
>;

/// The socket.io layer, to wrap the app with. Its sockets end when the
/// server shuts down.
pub(crate) fn layer(state: &AppState) -> Layer {
    let builder = SocketIo::builder().with_state(state.clone());
    match &state.cluster {
        None => tower::util::Either::Left(serve(state, builder.build_layer())),
        Some(cluster) => {
            let builder = builder
                .with_adapter::<crate::cluster::socketio::Adapter>(cluster.socketio_adapter());
            tower::util::Either::Right(serve(state, builder.build_layer()))
        }
    }
}

/// Adds the namespace, hands the hub its broadcaster and closes the
/// sockets at shutdown.
fn serve<A: Adapter + DefinedAdapter>(
    state: &AppState,
    (layer, io): (SocketIoLayer<A>, SocketIo<A>),
) -> SocketIoLayer<A> {
    // Spawned: the Redis adapter subscribes to its channels (logged if
    // it cannot; it subscribes again when Redis is back).
    io.ns(NAMESPACE, on_connect::<A>.with(authenticate::<A>))
        .spawn();
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        let (tx, rx) = mpsc::unbounded_channel();
        state.chats.attach_socketio(tx);
        let shutdown = state.shutdown.clone();
        // Until shutdown: the namespace holds the state, whose hub holds
        // the sender; the task must not keep them alive.
        rt.spawn(
            shutdown
                .clone()
                .run_until_cancelled_owned(broadcast_news(io.clone(), rx)),
        );
        rt.spawn(async move {
            shutdown.cancelled().await;
            io.close().await;
        });
    }
    layer
}

/// The room of an owner's sockets (`Identity::owner_key`).
fn owner_room(owner: &str) -> String {
    format!("owner:{owner}")
}

/// The room of one socket, by the id the hub knows it by.
fn conn_room(conn: &str) -> String {
    format!("conn:{conn}")
}

/// Broadcasts each piece of news made on this instance to its owner's
/// room, but the socket that caused it, one after the other (so a rename
/// never overtakes the delete that follows it).
async fn broadcast_news<A: Adapter + DefinedAdapter>(
    io: SocketIo<A>,
    mut news: mpsc::UnboundedReceiver<Arc<News>>,
) {
    while let Some(n) = news.recv().await {
        let Some(ns) = io.of(NAMESPACE) else {
            continue;
        };
        let mut to = ns.to(owner_room(&n.owner));
        if let Some(from) = &n.from {
            to = to.except(conn_room(from));
        }
        let value = serde_json::to_value(&n.message).unwrap_or(Value::Null);
        if let Err(e) = to.emit(n.message.name(), &value).await {
            tracing::warn!(error = %e, "chat news not broadcast to socket.io sockets");
        }
    }
}

/// Who connects, as read: a user by a valid token (whose version is still
/// to check), or an anonymous visitor.
enum Connecting {
    Token(Claims),
    Other(Identity),
}

/// Who connects: `auth.token`, else `auth.anonId` (or `anon_id`), else the
/// query (`?token=`, `?anon_id=`) as on the plain socket.
fn who_from(
    tokens: &TokenKeys,
    auth: Option<Value>,
    parts: &axum::http::request::Parts,
) -> Result<Connecting, (ErrorCode, String)> {
    let field = |k: &str| {
        auth.as_ref()
            .and_then(|a| a.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    if let Some(token) = field("token") {
        return tokens
            .verify(&token)
            .map(Connecting::Token)
            .map_err(|code| (code, "the token is not valid: sign in again".to_owned()));
    }
    if let Some(anon) = field("anonId").or_else(|| field("anon_id")) {
        return if is_valid_anon_id(&anon) {
            Ok(Connecting::Other(Identity::Anonymous(anon)))
        } else {
            Err((
                ErrorCode::InvalidAnonId,
                "anonId must be 8 to 64 characters of A-Z, a-z, 0-9, '_' and '-'".to_owned(),
            ))
        };
    }
    if let Ok(Some(token)) = bearer_token(parts)
        && let Ok(claims) = tokens.verify(&token)
    {
        return Ok(Connecting::Token(claims));
    }
    match identify(parts, tokens) {
        Ok(Some(who)) => Ok(Connecting::Other(who)),
        Ok(None) => Err((
            ErrorCode::Unauthorized,
            "sign in (auth: {token}) or identify this browser (auth: {anonId})".to_owned(),
        )),
        Err(e) => {
            let (_, body) = e.to_api_error();
            Err((body.code, body.error))
        }
    }
}

async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    TryData(auth): TryData<Value>,
    State(state): State<AppState>,
) -> Result<(), String> {
    let refuse = |code: ErrorCode, msg: &str| Err(format!("{}: {msg}", code.as_str()));
    if !state.config.enable_websocket {
        return refuse(
            ErrorCode::Unavailable,
            "WebSockets are turned off on this server (ENABLE_WEBSOCKET=false)",
        );
    }
    if !state.origins.permits(&s.req_parts().headers) {
        return refuse(
            ErrorCode::Forbidden,
            "connections from this origin are not allowed",
        );
    }
    let who = match who_from(&state.tokens, auth.ok(), s.req_parts()) {
        Ok(Connecting::Token(claims)) => match state.token_versions.check(&claims).await {
            Ok(()) => Ok(Identity::User(claims.sub)),
            Err(e) => {
                let (_, body) = e.to_api_error();
                Err((body.code, body.error))
            }
        },
        Ok(Connecting::Other(who)) => Ok(who),
        Err(e) => Err(e),
    };
    match who {
        Ok(who) => {
            // Counted with every other socket of this caller.
            let ip = client_ip(s.req_parts(), &state.proxies);
            let slot = match socket_slot(&state.connections, &who, ip).await {
                Ok(slot) => slot,
                Err(e) => {
                    let (_, body) = e.to_api_error();
                    return refuse(body.code, &body.error);
                }
            };
            s.extensions.insert(Held(Arc::new(Mutex::new(slot))));
            s.extensions.insert(who);
            Ok(())
        }
        Err((code, msg)) => refuse(code, &msg),
    }
}

/// The connection's place among the open sockets, given back at disconnect.
#[derive(Clone)]
struct Held(Arc<Mutex<Option<ConnectionSlot>>>);

async fn on_connect<A: Adapter>(
    s: SocketRef<A>,
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
) {
    // Handlers first: a client may emit the moment it is connected.
    let ip = client_ip(s.req_parts(), &state.proxies);
    s.extensions
        .insert(manage::Gate::new(&state.config).for_caller(&state.message_rates, &who, ip));
    s.on_fallback(on_event::<A>);
    let closed = CancellationToken::new();
    s.extensions.insert(closed.clone());
    s.on_disconnect(async |s: SocketRef<A>| {
        if let Some(closed) = s.extensions.get::<CancellationToken>() {
            closed.cancel();
        }
        if let Some(Held(slot)) = s.extensions.get::<Held>() {
            slot.lock().expect("slot lock").take();
        }
    });
    emit(&s, &manage::welcome(&state.generator.quota, &who).await);
    // News comes through the rooms (see `broadcast_news`).
    s.join([owner_room(&who.owner_key()), conn_room(&s.id.to_string())]);
    let open = crate::metrics::Open::socket("chat_socketio");
    // A signed-in user's socket ends at their logout, like every socket.
    let signed_out = match &who {
        Identity::User(id) => Some(state.token_versions.sign_outs.watch(id)),
        Identity::Anonymous(_) => None,
    };
    tokio::spawn(async move {
        let _open = open;
        let Some(watch) = signed_out else {
            return closed.cancelled().await;
        };
        tokio::select! {
            _ = closed.cancelled() => {}
            _ = watch.signed_out() => {
                emit(&s, &manage::error(ErrorCode::InvalidToken, "signed out: sign in again"));
                let _ = s.disconnect();
            }
        }
    });
}

async fn on_event<A: Adapter>(
    s: SocketRef<A>,
    Event(name): Event,
    TryData(data): TryData<Value>,
    State(state): State<AppState>,
    Extension(who): Extension<Identity>,
    Extension(gate): Extension<manage::Gate>,
) {
    let reply = match manage::parse_event(&name, data.ok()) {
        Ok(msg) => manage::handle(&state, &who, &s.id.to_string(), &gate, msg).await,
        Err(e) => e,
    };
    emit(&s, &reply);
}

/// Sends `msg` as the event of its `type`; false once the socket is gone.
fn emit<A: Adapter>(s: &SocketRef<A>, msg: &ServerMessage) -> bool {
    let value = serde_json::to_value(msg).unwrap_or(Value::Null);
    s.emit(msg.name(), &value).is_ok()
}
