//! Chat news across instances: what one instance's [`ChatHub`] tells its
//! own connections also goes to Redis (channel `chorus:chats:news`), and
//! every other instance hands it to its own plain WebSocket connections
//! (socket.io sockets get it through socketioxide's Redis adapter,
//! [`super::socketio`], from the instance where it was made). The replies running per chat are kept in Redis too
//! (`chorus:chats:running:{chat_id}` → stream id), so a page refreshed on
//! another instance finds the reply still being written.
//!
//! Parts: [`NewsBus`] (publish in order, subscribe and re-deliver), the
//! running keys ([`NewsBus::set_running`], [`NewsBus::clear_running`],
//! [`NewsBus::running`]).
//!
//! [`ChatHub`]: crate::chats::hub::ChatHub

use super::Cluster;
use futures_util::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use shared::chat::ServerMessage;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a chat's running reply is remembered without being cleared:
/// longer than any reply runs; a crashed instance's entries go by then.
pub const RUNNING_TTL: Duration = Duration::from_secs(30 * 60);

/// Wait before subscribing again after the pub/sub connection dropped.
const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);

/// One piece of news on the wire between instances.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireNews {
    /// The instance that published it (which already delivered it).
    pub instance: String,
    pub owner: String,
    pub from: Option<String>,
    pub message: ServerMessage,
}

/// The channel every instance publishes its chat news on.
fn channel() -> String {
    Cluster::key(&["chats", "news"])
}

fn running_key(chat_id: &str) -> String {
    Cluster::key(&["chats", "running", chat_id])
}

/// Deletes the key only while it still names this stream (a newer reply
/// may have replaced it).
const CLEAR_IF: &str =
    r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/// The Redis side of a chat hub. Cheap to clone.
#[derive(Clone, Debug)]
pub struct NewsBus {
    cluster: Cluster,
    /// To the one publisher task, so news leaves in the order it was made.
    outbox: mpsc::UnboundedSender<WireNews>,
}

impl NewsBus {
    /// Starts the publisher and the subscriber; news from other instances
    /// goes to `deliver`.
    pub fn start(cluster: Cluster, deliver: impl Fn(WireNews) + Send + Sync + 'static) -> Self {
        let (outbox, mut rx) = mpsc::unbounded_channel::<WireNews>();
        let mut conn = cluster.conn();
        tokio::spawn(async move {
            while let Some(news) = rx.recv().await {
                let Ok(payload) = serde_json::to_string(&news) else {
                    continue;
                };
                let published = conn.publish::<_, _, ()>(channel(), payload).await;
                if published.is_ok() {
                    crate::metrics::get().cluster_news_published.inc();
                }
                if let Err(e) = published {
                    crate::metrics::get().cluster_redis_errors.inc();
                    tracing::warn!(error = %e, "chat news not shared with the other instances (Redis)");
                }
            }
        });
        let sub = cluster.clone();
        tokio::spawn(async move {
            loop {
                match sub.pubsub().await {
                    Ok(mut pubsub) => match pubsub.subscribe(channel()).await {
                        Ok(()) => {
                            let mut messages = pubsub.on_message();
                            while let Some(msg) = messages.next().await {
                                let Ok(payload) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                match serde_json::from_str::<WireNews>(&payload) {
                                    Ok(n) if n.instance != sub.instance() => {
                                        crate::metrics::get().cluster_news_received.inc();
                                        deliver(n);
                                    }
                                    Ok(_) => {}
                                    Err(e) => {
                                        tracing::warn!(error = %e, "unreadable chat news from Redis");
                                    }
                                }
                            }
                            tracing::warn!("chat news subscription lost; subscribing again");
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot subscribe to chat news"),
                    },
                    Err(e) => tracing::warn!(error = %e, "cannot subscribe to chat news"),
                }
                tokio::time::sleep(RESUBSCRIBE_DELAY).await;
            }
        });
        Self { cluster, outbox }
    }

    /// Shares news this instance already delivered to its own connections.
    pub fn publish(&self, owner: &str, from: Option<&str>, message: &ServerMessage) {
        let _ = self.outbox.send(WireNews {
            instance: self.cluster.instance().to_owned(),
            owner: owner.to_owned(),
            from: from.map(str::to_owned),
            message: message.clone(),
        });
    }

    /// Records `chat_id`'s running reply for every instance.
    pub fn set_running(&self, chat_id: &str, stream_id: &str) {
        let mut conn = self.cluster.conn();
        let (key, stream) = (running_key(chat_id), stream_id.to_owned());
        tokio::spawn(async move {
            let set: redis::RedisResult<()> = conn.set_ex(key, stream, RUNNING_TTL.as_secs()).await;
            if let Err(e) = set {
                tracing::warn!(error = %e, "running reply not shared with the other instances (Redis)");
            }
        });
    }

    /// Forgets `stream_id` as `chat_id`'s running reply, if it still is.
    pub fn clear_running(&self, chat_id: &str, stream_id: &str) {
        let mut conn = self.cluster.conn();
        let (key, stream) = (running_key(chat_id), stream_id.to_owned());
        tokio::spawn(async move {
            let cleared: redis::RedisResult<i64> = redis::Script::new(CLEAR_IF)
                .key(key)
                .arg(stream)
                .invoke_async(&mut conn)
                .await;
            if let Err(e) = cleared {
                tracing::warn!(error = %e, "running reply not cleared in Redis (it expires)");
            }
        });
    }

    /// The running reply of `chat_id` on any instance; `None` also when
    /// Redis cannot be asked (logged).
    pub async fn running(&self, chat_id: &str) -> Option<String> {
        let mut conn = self.cluster.conn();
        match conn.get::<_, Option<String>>(running_key(chat_id)).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "cannot ask Redis for a chat's running reply");
                None
            }
        }
    }
}
