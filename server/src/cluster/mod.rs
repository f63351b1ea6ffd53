//! Several instances, one service: the live state instances share through
//! Redis when `--redis-url` is set (streams, stop, BooksWriter sessions,
//! chat news, limits). Without it, nothing here exists and every handle
//! keeps its state in process, exactly as a single instance does.
//!
//! [`Cluster`] is the handle: one multiplexed command connection that
//! reconnects by itself ([`redis::aio::ConnectionManager`]), the client to
//! open pub/sub connections from, and this instance's id. Keys are all
//! under `chorus:`; the features name their own below it.
//!
//! - [`instances`]: each instance's lease, and the recovery of a dead
//!   instance's generations by the others.
//! - [`streams`]: every stream's events mirrored into Redis, and the reader
//!   of a stream another instance runs.
//! - [`stop`]: a stop asked anywhere reaches the stream's instance.
//! - [`signouts`]: a logout anywhere closes the user's sockets everywhere.
//! - [`news`]: chat news for the plain WebSockets of every instance;
//!   [`socketio`]: socketioxide's Redis adapter, for the socket.io ones.

pub mod instances;
pub mod signouts;
pub mod stop;
pub mod streams;

pub mod books;
pub mod context;
pub mod limits;
pub mod news;
pub mod socketio;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Every key and channel Chorus uses starts with this.
pub const PREFIX: &str = "chorus:";

/// The shared Redis of a cluster. Cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    client: redis::Client,
    conn: ConnectionManager,
    instance: Arc<str>,
    /// The socket.io adapter's pub/sub connection (RESP3).
    socketio: socketio::ReconnectingDriver,
    /// The stream mirror, once started; flushed by [`Cluster::leave`].
    mirror: Arc<OnceLock<Arc<streams::Mirror>>>,
    /// Cancelled once this instance has left ([`Cluster::leave`]).
    left: CancellationToken,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

/// Why the cluster could not be joined at start-up.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error(
        "--redis-url needs an explicit --jwt-secret (JWT_SECRET): every instance of a cluster must sign and check login tokens with the same secret"
    )]
    NoSharedSecret,
    #[error("redis at {url}: {source}")]
    Redis {
        url: String,
        #[source]
        source: redis::RedisError,
    },
}

impl Cluster {
    /// Connects to the cluster's Redis. Fails when Redis cannot be reached
    /// now (a cluster that starts without its shared state would quietly
    /// split); once running, lost connections are retried in the
    /// background and the features degrade to local state meanwhile.
    pub async fn join(url: &str, jwt_secret: Option<&str>) -> Result<Self, JoinError> {
        if jwt_secret.is_none_or(|s| s.trim().is_empty()) {
            return Err(JoinError::NoSharedSecret);
        }
        let redacted = redact(url);
        let err = |source| JoinError::Redis {
            url: redacted.clone(),
            source,
        };
        let client = redis::Client::open(url).map_err(err)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(err)?;
        let socketio = socketio::ReconnectingDriver::connect(&client)
            .await
            .map_err(err)?;
        let instance: Arc<str> = format!("in_{}", uuid::Uuid::new_v4().simple()).into();
        tracing::info!(redis = %redacted, %instance, "joined the cluster");
        Ok(Self {
            client,
            conn,
            instance,
            socketio,
            mirror: Arc::default(),
            left: CancellationToken::new(),
        })
    }

    /// At a graceful shutdown, once the generations have pushed their last
    /// events: waits (at most `wait`) until the mirror has written every
    /// event queued so far, so readers on other instances get each stream
    /// whole and its end; then gives this instance's lease back. Whether
    /// everything was written.
    pub async fn leave(&self, wait: Duration) -> bool {
        let flushed = match self.mirror.get() {
            Some(mirror) => mirror.flush(wait).await,
            None => true,
        };
        instances::release(self).await;
        self.left.cancel();
        flushed
    }

    /// Cancelled once this instance has left the cluster.
    pub(crate) fn left(&self) -> &CancellationToken {
        &self.left
    }

    /// The socket.io adapter's constructor state (one driver per instance,
    /// shared by its namespaces).
    pub fn socketio_adapter(
        &self,
    ) -> socketioxide_redis::RedisAdapterCtr<socketio::ReconnectingDriver> {
        self.socketio.adapter()
    }

    /// A command connection (a clone of the one multiplexed connection).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A new pub/sub connection (each subscriber owns one).
    pub async fn pubsub(&self) -> redis::RedisResult<PubSub> {
        self.client.get_async_pubsub().await
    }

    /// Runs `handle` on every message published on `channel` until
    /// `shutdown`, subscribing again whenever the connection to Redis is
    /// lost (`what` names the channel in the logs).
    pub fn listen(
        &self,
        channel: String,
        what: &'static str,
        shutdown: CancellationToken,
        handle: impl Fn(String) + Send + 'static,
    ) {
        let cluster = self.clone();
        tokio::spawn(async move {
            let mut failed = false;
            while !shutdown.is_cancelled() {
                let subscribed = async {
                    let mut pubsub = cluster.pubsub().await?;
                    pubsub.subscribe(&channel).await?;
                    Ok::<_, redis::RedisError>(pubsub)
                };
                let pubsub = match subscribed.await {
                    Ok(p) => p,
                    Err(e) => {
                        if !std::mem::replace(&mut failed, true) {
                            tracing::warn!(error = %e, "cannot listen for {what}; retrying");
                        }
                        tokio::select! {
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                        }
                    }
                };
                if std::mem::replace(&mut failed, false) {
                    tracing::info!("listening for {what} again");
                }
                let mut messages = pubsub.into_on_message();
                loop {
                    let msg = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        m = messages.next() => m,
                    };
                    let Some(msg) = msg else { break };
                    if let Ok(payload) = msg.get_payload::<String>() {
                        handle(payload);
                    }
                }
                failed = true;
                tracing::warn!("lost the connection listening for {what}; subscribing again");
            }
        });
    }

    /// The client, for libraries that open their own connections.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// This instance's id, unique per process start.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// A key or channel under [`PREFIX`].
    pub fn key(parts: &[&str]) -> String {
        let mut key = String::from(PREFIX);
        key.push_str(&parts.join(":"));
        key
    }
}

/// Starts this instance's part of the cluster: its lease, the recovery of
/// dead instances' generations, the mirror of `streams` into Redis and the
/// listener for stops from other instances. Returns the registry, tapped.
pub fn start(
    cluster: &Cluster,
    store: &crate::store::Store,
    streams: crate::streams::registry::Streams,
    ttl: Duration,
    shutdown: &tokio_util::sync::CancellationToken,
) -> crate::streams::registry::Streams {
    let health = instances::Health::default();
    instances::spawn_lease(cluster, health.clone(), shutdown.clone());
    instances::spawn_recovery(cluster, store.clone(), health, shutdown.clone());
    let mirror = streams::Mirror::start(cluster, ttl);
    let _ = cluster.mirror.set(mirror.clone());
    let streams = streams.with_tap(mirror.clone());
    mirror.attach(&streams);
    stop::spawn_listener(cluster, streams.clone(), shutdown.clone());
    streams
}

/// The URL without its password, for logs and errors.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            let path = &rest[authority.len()..];
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cluster_needs_an_explicit_shared_secret() {
        let err = Cluster::join("redis://127.0.0.1:1", None)
            .await
            .unwrap_err();
        assert!(matches!(err, JoinError::NoSharedSecret), "{err}");
        assert!(err.to_string().contains("JWT_SECRET"));
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            redact("redis://:hunter2@10.0.0.5:6379/0"),
            "redis://:***@10.0.0.5:6379/0"
        );
        assert_eq!(redact("redis://127.0.0.1"), "redis://127.0.0.1");
    }
}
