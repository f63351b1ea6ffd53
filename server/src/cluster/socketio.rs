//! socket.io's rooms across instances: the `/chats` namespace runs on
//! socketioxide's Redis adapter (`socketioxide-redis`), so a broadcast to a
//! room made on one instance reaches that room's sockets on every instance.
//!
//! Chat news uses it this way ([`crate::chats::hub`]): each socket.io socket
//! joins its owner's room; the instance where a change happens broadcasts
//! it to that room through the adapter, once; the instances the news
//! reaches over `chorus:chats:news` hand it to their plain WebSocket
//! connections only. So each socket.io client gets each piece of news
//! exactly once, wherever it is connected.
//!
//! The adapter's channels are `chorus:socket.io-request#/chats#…` and
//! `chorus:socket.io-response#/chats#…` ([`CHANNEL_PREFIX`]). It talks to Redis
//! through [`ReconnectingDriver`], a [`Driver`] on a
//! [`ConnectionManager`] that reconnects by itself and subscribes again
//! to its channels (the crate's own driver keeps one connection, which a
//! Redis restart ends for good).

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, ProtocolVersion, PushInfo, PushKind, RedisResult};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// The adapter's channels start with this (`{prefix}-request#{ns}#`).
pub const CHANNEL_PREFIX: &str = "chorus:socket.io";

/// The `/chats` namespace's adapter in a cluster.
pub type Adapter = CustomRedisAdapter<socketioxide::adapter::Emitter, ReconnectingDriver>;

type Handlers = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

/// The adapter's pub/sub on one RESP3 connection that reconnects and
/// subscribes again by itself. Cheap to clone (clones share it).
#[derive(Clone)]
pub struct ReconnectingDriver {
    conn: ConnectionManager,
    /// Channel → the adapter's stream of its messages.
    handlers: Handlers,
}

impl std::fmt::Debug for ReconnectingDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconnectingDriver").finish_non_exhaustive()
    }
}

impl ReconnectingDriver {
    /// Connects to `client`'s Redis with RESP3 (pub/sub messages arrive as
    /// pushes on the same connection).
    pub async fn connect(client: &redis::Client) -> RedisResult<Self> {
        let info = client.get_connection_info().clone();
        let resp3 = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(resp3))?;
        let handlers: Handlers = Arc::default();
        let route = handlers.clone();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_max_delay(Duration::from_secs(2))
            .set_push_sender(move |push: PushInfo| {
                deliver(push, &route);
                Ok::<(), std::convert::Infallible>(())
            })
            .set_automatic_resubscription();
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self { conn, handlers })
    }

    /// The adapter's constructor state, for `SocketIo::builder().with_adapter`.
    pub fn adapter(&self) -> RedisAdapterCtr<Self> {
        RedisAdapterCtr::new_with_driver(
            self.clone(),
            RedisAdapterConfig::new().with_prefix(CHANNEL_PREFIX),
        )
    }
}

/// Hands a pub/sub message to its channel's stream.
fn deliver(push: PushInfo, handlers: &Handlers) {
    if !matches!(push.kind, PushKind::Message) || push.data.len() < 2 {
        return;
    }
    let mut data = push.data.into_iter();
    let (Some(chan), Some(payload)) = (data.next(), data.next()) else {
        return;
    };
    let (Ok(chan), Ok(payload)) = (
        redis::from_redis_value::<String>(chan),
        redis::from_redis_value::<Vec<u8>>(payload),
    ) else {
        return;
    };
    crate::metrics::get().cluster_socketio_received.inc();
    let handlers = handlers.read().expect("handlers lock");
    if let Some(tx) = handlers.get(&chan)
        && tx.try_send((chan, payload)).is_err()
    {
        crate::metrics::get().cluster_redis_errors.inc();
        tracing::warn!("socket.io adapter behind: a message from Redis was dropped");
    }
}

/// What failed in Redis, for the adapter.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DriverError(#[from] redis::RedisError);

fn failed(e: redis::RedisError) -> DriverError {
    crate::metrics::get().cluster_redis_errors.inc();
    DriverError(e)
}

impl Driver for ReconnectingDriver {
    type Error = DriverError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), Self::Error> {
        self.conn
            .clone()
            .publish::<_, _, redis::Value>(chan, val)
            .await
            .map_err(failed)?;
        crate::metrics::get().cluster_socketio_published.inc();
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, Self::Error> {
        let (tx, rx) = mpsc::channel(size);
        // Before SUBSCRIBE: a message may follow its confirmation at once.
        self.handlers
            .write()
            .expect("handlers lock")
            .insert(chan.clone(), tx);
        if let Err(e) = self.conn.clone().subscribe(&chan).await {
            self.handlers.write().expect("handlers lock").remove(&chan);
            return Err(failed(e));
        }
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), Self::Error> {
        self.handlers.write().expect("handlers lock").remove(&chan);
        self.conn.clone().unsubscribe(chan).await.map_err(failed)
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, Self::Error> {
        let (_, count): (String, u16) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(count)
    }
}
