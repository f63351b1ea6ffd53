//! BooksWriter sessions across instances: one live session per id in the
//! whole cluster, on the instance holding its lease, and sockets on every
//! other instance relayed to it.
//!
//! - The lease: `chorus:books:lease:{session_id}` → the owning instance's
//!   id, taken with `SET NX` when a socket opens the session and no live
//!   instance holds it, renewed every [`LEASE_RENEW`] while the session
//!   is live on its owner (a socket open, a request running, or idle less
//!   than the hub's keep time), released after, and lapsing [`LEASE_TTL`]
//!   after its owner stopped renewing it (died). The next socket then
//!   takes the session over, loading it from the database as after a
//!   restart.
//! - The relay: a socket that lands on another instance is served by the
//!   owner's own connection loop ([`crate::books::socket::serve`]), over
//!   Redis pub/sub: its frames go to the owner's inbox
//!   (`chorus:books:in:{instance}`), the owner's frames come back on the
//!   connection's channel (`chorus:books:out:{conn}`). The client sees
//!   exactly what a socket on the owner sees (every event once, `resume`
//!   and `session_restore` answered from the session's one log and
//!   transcript). When the owner's lease ends under a relayed socket, it
//!   is closed with 1012 so the client reconnects (and takes over).
//!
//! Parts: [`BooksLeases`] (the leases this instance holds), [`route`]
//! (where a socket is served), [`relay`] (the far side of a relayed
//! socket), [`serve_inbox`] (the owner side).

use super::Cluster;
use crate::auth::identity::Identity;
use crate::books::hub::Session;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

/// How long a lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(15);
/// How often the owner renews its leases.
pub const LEASE_RENEW: Duration = Duration::from_secs(5);
/// How often a relaying instance checks that the owner still holds it.
const LEASE_CHECK: Duration = Duration::from_secs(2);
/// Frames queued towards one relayed connection on the owner.
const RELAY_QUEUE: usize = 1024;
/// The close code telling a relayed client to reconnect: its session's
/// instance is gone (1012, "service restart").
pub const MOVED: u16 = 1012;

/// Renews the lease `KEYS[1]` while it is `ARGV[1]`'s: 1 renewed, 0 lost.
const RENEW: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end return 0";
/// Deletes the lease `KEYS[1]` while it is `ARGV[1]`'s.
const RELEASE: &str =
    r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

fn lease_key(session_id: &str) -> String {
    Cluster::key(&["books", "lease", session_id])
}

fn inbox(instance: &str) -> String {
    Cluster::key(&["books", "in", instance])
}

fn outbox(conn: &str) -> String {
    Cluster::key(&["books", "out", conn])
}

/// From a relaying instance to the owner.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Inbound {
    Open {
        conn: String,
        session: String,
        user: Option<String>,
        anon: Option<String>,
    },
    Text {
        conn: String,
        text: String,
    },
    /// A binary frame (the owner answers it as it answers any).
    Binary {
        conn: String,
    },
    Close {
        conn: String,
    },
}

/// From the owner back to a relayed connection.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Outbound {
    Text { text: String },
    Close { code: u16, reason: String },
}

/// The sessions whose lease this instance holds. Cheap to clone.
#[derive(Clone, Debug)]
pub struct BooksLeases {
    cluster: Cluster,
    /// session id → the session live here (renewed while it upgrades).
    held: Arc<Mutex<HashMap<String, Weak<Session>>>>,
}

/// Where a socket for a session is served.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Here: this instance holds the lease (`true`: it just took it, so
    /// what memory holds of the session may be stale).
    Here(bool),
    /// On the instance holding the lease.
    Relay(String),
}

impl BooksLeases {
    /// Starts renewing the leases this instance takes.
    pub fn new(cluster: Cluster) -> Self {
        let leases = Self {
            cluster,
            held: Arc::default(),
        };
        tokio::spawn(renew(leases.cluster.clone(), Arc::downgrade(&leases.held)));
        leases
    }

    /// Where `session_id`'s sockets are served: here when the lease is
    /// (or becomes) this instance's, else relayed to its holder. Here also
    /// when Redis cannot be asked (logged): a session keeps working alone.
    pub async fn route(&self, session_id: &str) -> Route {
        let me = self.cluster.instance();
        let mut conn = self.cluster.conn();
        let key = lease_key(session_id);
        let taken: redis::RedisResult<Option<String>> = redis::cmd("SET")
            .arg(&key)
            .arg(me)
            .arg("NX")
            .arg("PX")
            .arg(LEASE_TTL.as_millis() as u64)
            .arg("GET")
            .query_async(&mut conn)
            .await;
        match taken {
            Ok(None) => {
                crate::metrics::get()
                    .cluster_takeovers
                    .get_or_create(&[("kind", "books_session")])
                    .inc();
                Route::Here(true)
            }
            Ok(Some(holder)) if holder == me => Route::Here(false),
            Ok(Some(holder)) => Route::Relay(holder),
            Err(e) => {
                crate::metrics::get().cluster_redis_errors.inc();
                tracing::warn!(error = %e, session = %session_id, "Redis cannot say who holds a BooksWriter session; serving it here");
                Route::Here(false)
            }
        }
    }

    /// Keeps the lease of `session` while it lives in this process.
    pub fn hold(&self, session: &Arc<Session>) {
        self.held
            .lock()
            .expect("leases lock")
            .insert(session.id.clone(), Arc::downgrade(session));
    }

    /// Whether `instance` still holds `session_id`'s lease (true when
    /// Redis cannot say).
    async fn held_by(&self, session_id: &str, instance: &str) -> bool {
        match self
            .cluster
            .conn()
            .get::<_, Option<String>>(lease_key(session_id))
            .await
        {
            Ok(holder) => holder.as_deref() == Some(instance),
            Err(_) => true,
        }
    }
}

/// Renews the held leases every [`LEASE_RENEW`]; releases those whose
/// session left memory or sits unused (memory may let it go).
async fn renew(cluster: Cluster, held: Weak<Mutex<HashMap<String, Weak<Session>>>>) {
    let mut tick = tokio::time::interval(LEASE_RENEW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(held) = held.upgrade() else { return };
        let (live, gone): (Vec<String>, Vec<String>) = {
            let mut map = held.lock().expect("leases lock");
            let gone: Vec<String> = map
                .iter()
                .filter(|(_, s)| s.upgrade().is_none_or(|s| s.forgettable()))
                .map(|(id, _)| id.clone())
                .collect();
            for id in &gone {
                map.remove(id);
            }
            (map.keys().cloned().collect(), gone)
        };
        drop(held);
        let mut conn = cluster.conn();
        for id in live {
            let renewed: redis::RedisResult<i64> = redis::Script::new(RENEW)
                .key(lease_key(&id))
                .arg(cluster.instance())
                .arg(LEASE_TTL.as_millis() as u64)
                .invoke_async(&mut conn)
                .await;
            match renewed {
                Ok(1) => {}
                Ok(_) => {
                    tracing::warn!(session = %id, "lost the lease of a BooksWriter session live here (another instance took it)");
                }
                Err(e) => {
                    tracing::warn!(error = %e, session = %id, "BooksWriter lease not renewed")
                }
            }
        }
        for id in gone {
            let _: redis::RedisResult<i64> = redis::Script::new(RELEASE)
                .key(lease_key(&id))
                .arg(cluster.instance())
                .invoke_async(&mut conn)
                .await;
        }
    }
}

/// Serves a client socket for `session_id` owned by `owner` through the
/// owner's connection loop, until either side closes.
pub async fn relay<S, E>(
    socket: S,
    state: &AppState,
    leases: &BooksLeases,
    session_id: &str,
    who: &Identity,
    owner: &str,
) where
    S: Stream<Item = Result<Message, E>> + Sink<Message> + Send + Unpin + 'static,
{
    let cluster = &leases.cluster;
    let conn_id = format!("rc_{}", uuid::Uuid::new_v4().simple());
    let subscribed = match cluster.pubsub().await {
        Ok(mut p) => p.subscribe(outbox(&conn_id)).await.map(|()| p),
        Err(e) => Err(e),
    };
    let mut pubsub = match subscribed {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "cannot relay a BooksWriter socket");
            return close(
                socket,
                MOVED,
                "the session's instance cannot be reached; reconnect",
            )
            .await;
        }
    };
    let mut redis = cluster.conn();
    let target = inbox(owner);
    let (user, anon) = match who {
        Identity::User(id) => (Some(id.clone()), None),
        Identity::Anonymous(id) => (None, Some(id.clone())),
    };
    let send = |msg: Inbound| serde_json::to_string(&msg).unwrap_or_default();
    let open = send(Inbound::Open {
        conn: conn_id.clone(),
        session: session_id.to_owned(),
        user,
        anon,
    });
    if redis.publish::<_, _, i64>(&target, open).await.unwrap_or(0) == 0 {
        return close(socket, MOVED, "the session's instance is gone; reconnect").await;
    }
    let (mut sink, mut stream) = socket.split();
    let mut from_owner = pubsub.on_message();
    let mut check = tokio::time::interval(LEASE_CHECK);
    check.tick().await;
    let shutdown = state.shutdown.clone();
    let ended = loop {
        tokio::select! {
            frame = stream.next() => {
                let msg = match frame {
                    Some(Ok(Message::Text(t))) => Inbound::Text { conn: conn_id.clone(), text: t.as_str().to_owned() },
                    Some(Ok(Message::Binary(_))) => Inbound::Binary { conn: conn_id.clone() },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break None,
                };
                let _: redis::RedisResult<i64> = redis.publish(&target, send(msg)).await;
                relayed("to_owner");
            }
            msg = from_owner.next() => {
                let Some(msg) = msg else { break Some((MOVED, "the session's instance cannot be reached; reconnect".to_owned())) };
                let Ok(payload) = msg.get_payload::<String>() else { continue };
                match serde_json::from_str::<Outbound>(&payload) {
                    Ok(Outbound::Text { text }) => {
                        relayed("to_socket");
                        if sink.send(Message::Text(Utf8Bytes::from(text))).await.is_err() {
                            break None;
                        }
                    }
                    Ok(Outbound::Close { code, reason }) => break Some((code, reason)),
                    Err(e) => tracing::warn!(error = %e, "unreadable relayed BooksWriter frame"),
                }
            }
            _ = check.tick() => {
                if !leases.held_by(session_id, owner).await {
                    break Some((MOVED, "the session's instance is gone; reconnect".to_owned()));
                }
            }
            _ = shutdown.cancelled() => break Some((crate::socket::close::GOING_AWAY, "server shutting down".to_owned())),
        }
    };
    let _: redis::RedisResult<i64> = redis
        .publish(&target, send(Inbound::Close { conn: conn_id }))
        .await;
    if let Some((code, reason)) = ended {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from(reason),
            })))
            .await;
    }
}

/// One BooksWriter message relayed, by direction.
fn relayed(direction: &'static str) {
    crate::metrics::get()
        .cluster_books_relayed
        .get_or_create(&[("direction", direction)])
        .inc();
}

async fn close<S>(mut socket: S, code: u16, reason: &'static str)
where
    S: Sink<Message> + Unpin,
{
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })))
        .await;
}

/// The owner's side: opens each relayed connection's session here and
/// serves it on this instance's connection loop, frames coming from and
/// going to Redis. Runs until the server shuts down.
pub fn serve_inbox(state: AppState) {
    let Some(cluster) = state.cluster.clone() else {
        return;
    };
    tokio::spawn(async move {
        let mut conns: HashMap<String, mpsc::Sender<Message>> = HashMap::new();
        loop {
            let mut pubsub = match cluster.pubsub().await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take relayed BooksWriter sockets");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = pubsub.subscribe(inbox(cluster.instance())).await {
                tracing::warn!(error = %e, "cannot take relayed BooksWriter sockets");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let mut messages = pubsub.on_message();
            loop {
                let msg = tokio::select! {
                    m = messages.next() => m,
                    _ = state.shutdown.cancelled() => return,
                };
                let Some(msg) = msg else { break };
                let Ok(payload) = msg.get_payload::<String>() else {
                    continue;
                };
                let inbound = match serde_json::from_str::<Inbound>(&payload) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "unreadable relayed BooksWriter frame");
                        continue;
                    }
                };
                conns.retain(|_, tx| !tx.is_closed());
                match inbound {
                    Inbound::Open {
                        conn,
                        session,
                        user,
                        anon,
                    } => {
                        let who = match (user, anon) {
                            (Some(u), _) => Identity::User(u),
                            (None, Some(a)) => Identity::Anonymous(a),
                            (None, None) => continue,
                        };
                        let (tx, rx) = mpsc::channel(RELAY_QUEUE);
                        conns.insert(conn.clone(), tx);
                        tokio::spawn(serve_relayed(
                            state.clone(),
                            cluster.clone(),
                            conn,
                            session,
                            who,
                            rx,
                        ));
                    }
                    Inbound::Text { conn, text } => {
                        if let Some(tx) = conns.get(&conn) {
                            let _ = tx.try_send(Message::Text(Utf8Bytes::from(text)));
                        }
                    }
                    Inbound::Binary { conn } => {
                        if let Some(tx) = conns.get(&conn) {
                            let _ = tx.try_send(Message::Binary(Default::default()));
                        }
                    }
                    Inbound::Close { conn } => {
                        conns.remove(&conn);
                    }
                }
            }
            tracing::warn!("relayed BooksWriter sockets' subscription lost; subscribing again");
            conns.clear();
        }
    });
}

/// One relayed connection on the owner: the session opened here, served
/// by the BooksWriter connection loop over channels.
async fn serve_relayed(
    state: AppState,
    cluster: Cluster,
    conn: String,
    session_id: String,
    who: Identity,
    incoming: mpsc::Receiver<Message>,
) {
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(RELAY_QUEUE);
    let channel = outbox(&conn);
    let mut redis = cluster.conn();
    let forward = tokio::spawn(async move {
        while let Some(msg) = out_rx.recv().await {
            let out = match msg {
                Message::Text(t) => Outbound::Text {
                    text: t.as_str().to_owned(),
                },
                Message::Close(frame) => {
                    let (code, reason) = frame
                        .map(|f| (f.code, f.reason.as_str().to_owned()))
                        .unwrap_or((crate::socket::close::NORMAL, String::new()));
                    Outbound::Close { code, reason }
                }
                _ => continue,
            };
            let payload = serde_json::to_string(&out).unwrap_or_default();
            let _: redis::RedisResult<i64> = redis.publish(&channel, payload).await;
        }
    });
    let socket = ChannelSocket {
        incoming,
        outgoing: PollSender::new(out_tx),
    };
    crate::books::serve_opened(socket, state, &session_id, &who).await;
    let _ = forward.await;
}

/// A socket made of channels: what the relaying instance forwards comes
/// in; what the loop writes goes back out through Redis.
struct ChannelSocket {
    incoming: mpsc::Receiver<Message>,
    outgoing: PollSender<Message>,
}

impl Stream for ChannelSocket {
    type Item = Result<Message, std::io::Error>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().incoming.poll_recv(cx).map(|m| m.map(Ok))
    }
}

impl Sink<Message> for ChannelSocket {
    type Error = tokio_util::sync::PollSendError<Message>;
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().outgoing).poll_ready(cx)
    }
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        Pin::new(&mut self.get_mut().outgoing).start_send(item)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().outgoing).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.get_mut().outgoing).poll_close(cx)
    }
}
