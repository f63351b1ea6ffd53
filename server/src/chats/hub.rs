//! News between a chat owner's connections, and the replies running per chat.
//!
//! Every plain WebSocket management connection subscribes to the hub and
//! forwards the news addressed to its owner, except what it caused itself
//! (it already got the direct answer). socket.io connections sit in their
//! owner's room instead: the hub broadcasts each piece of news made here to
//! that room once (without the socket that caused it), through the
//! namespace's adapter ([`ChatHub::attach_socketio`]). The running map lets
//! a refreshed page find the reply still being written in a chat.
//!
//! In a cluster (`--redis-url`) the hub also shares both through Redis:
//! news made here goes to every instance's plain WebSockets over
//! [`crate::cluster::news`], and to every instance's socket.io sockets
//! through socketioxide's Redis adapter ([`crate::cluster::socketio`]);
//! news made elsewhere arrives here for the plain WebSockets only (its
//! socket.io sockets got it from the adapter), so each connection gets each
//! piece of news exactly once.

use crate::cluster::Cluster;
use crate::cluster::news::NewsBus;
use shared::chat::ServerMessage;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{broadcast, mpsc};

/// News a connection falls this far behind on is dropped for it (it can list
/// again); chat news is small and rare.
const NEWS_CAPACITY: usize = 256;

/// One piece of news.
#[derive(Debug, Clone)]
pub(crate) struct News {
    /// `Identity::owner_key` of whose chats changed.
    pub owner: String,
    /// The connection that caused it, which skips it; `None` for changes
    /// made over HTTP (sending a message), which every connection gets.
    pub from: Option<String>,
    pub message: ServerMessage,
}

/// The hub: a cheap handle.
#[derive(Clone, Debug)]
pub(crate) struct ChatHub {
    news: broadcast::Sender<Arc<News>>,
    /// chat id → stream id of the reply being written in it.
    running: Arc<Mutex<HashMap<String, String>>>,
    /// The other instances, in a cluster.
    bus: Option<NewsBus>,
    /// The socket.io broadcaster (set once the namespace exists): news made
    /// here, for the owner's socket.io room on every instance.
    socketio: Arc<OnceLock<mpsc::UnboundedSender<Arc<News>>>>,
}

impl Default for ChatHub {
    fn default() -> Self {
        let (news, _) = broadcast::channel(NEWS_CAPACITY);
        Self {
            news,
            running: Arc::default(),
            bus: None,
            socketio: Arc::default(),
        }
    }
}

impl ChatHub {
    /// A hub that shares its news and running replies with the cluster's
    /// other instances, or a local one without a cluster.
    pub(crate) fn new(cluster: Option<&Cluster>) -> Self {
        let mut hub = Self::default();
        if let Some(cluster) = cluster {
            let local = hub.news.clone();
            // News from elsewhere: for the plain WebSockets here (the
            // socket.io sockets got it through the adapter).
            hub.bus = Some(NewsBus::start(cluster.clone(), move |n| {
                let _ = local.send(Arc::new(News {
                    owner: n.owner,
                    from: n.from,
                    message: n.message,
                }));
            }));
        }
        hub
    }

    /// Tells `owner`'s connections (but `from`) about `message`: the plain
    /// WebSockets here and (in a cluster) elsewhere, and the socket.io
    /// sockets wherever they are, each once.
    pub(crate) fn notify(&self, owner: &str, from: Option<&str>, message: ServerMessage) {
        if let Some(bus) = &self.bus {
            bus.publish(owner, from, &message);
        }
        let news = Arc::new(News {
            owner: owner.to_owned(),
            from: from.map(str::to_owned),
            message,
        });
        if let Some(socketio) = self.socketio.get() {
            let _ = socketio.send(news.clone());
        }
        // No receivers is fine: nobody is listening.
        let _ = self.news.send(news);
    }

    /// From now on, news made here also goes to `broadcast`, which hands it
    /// to the owner's socket.io room (on every instance, in a cluster), in
    /// the order it was made. Set once; later calls are ignored.
    pub(crate) fn attach_socketio(&self, broadcast: mpsc::UnboundedSender<Arc<News>>) {
        let _ = self.socketio.set(broadcast);
    }

    /// All news from now on; connections filter by owner.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<News>> {
        self.news.subscribe()
    }

    /// Records the reply now being written in `chat_id`.
    pub(crate) fn set_running(&self, chat_id: &str, stream_id: &str) {
        self.running
            .lock()
            .expect("running lock")
            .insert(chat_id.to_owned(), stream_id.to_owned());
        if let Some(bus) = &self.bus {
            bus.set_running(chat_id, stream_id);
        }
    }

    /// Forgets `stream_id` as `chat_id`'s running reply (if it still is).
    pub(crate) fn clear_running(&self, chat_id: &str, stream_id: &str) {
        let mut running = self.running.lock().expect("running lock");
        if running.get(chat_id).is_some_and(|s| s == stream_id) {
            running.remove(chat_id);
        }
        drop(running);
        if let Some(bus) = &self.bus {
            bus.clear_running(chat_id, stream_id);
        }
    }

    /// The stream of the reply being written in `chat_id`, if any, here or
    /// (in a cluster) on another instance.
    pub(crate) async fn running(&self, chat_id: &str) -> Option<String> {
        let here = self
            .running
            .lock()
            .expect("running lock")
            .get(chat_id)
            .cloned();
        match (here, &self.bus) {
            (Some(stream), _) => Some(stream),
            (None, Some(bus)) => bus.running(chat_id).await,
            (None, None) => None,
        }
    }
}

impl News {
    /// Whether a connection of `owner` with id `conn` should get it.
    pub(crate) fn is_for(&self, owner: &str, conn: &str) -> bool {
        self.owner == owner && self.from.as_deref() != Some(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn news_reaches_the_owners_other_connections_only() {
        let hub = ChatHub::default();
        let mut rx = hub.subscribe();
        hub.notify(
            "anon:a",
            Some("c1"),
            ServerMessage::ChatDeleted {
                chat_id: "x".into(),
            },
        );
        let n = rx.recv().await.unwrap();
        assert!(n.is_for("anon:a", "c2"));
        assert!(
            !n.is_for("anon:a", "c1"),
            "the sender already has the answer"
        );
        assert!(!n.is_for("anon:b", "c2"), "another owner's news");
    }

    #[tokio::test]
    async fn a_finished_reply_clears_only_itself() {
        let hub = ChatHub::default();
        hub.set_running("chat", "st_1");
        hub.set_running("chat", "st_2");
        hub.clear_running("chat", "st_1");
        assert_eq!(hub.running("chat").await.as_deref(), Some("st_2"));
        hub.clear_running("chat", "st_2");
        assert_eq!(hub.running("chat").await, None);
    }
}
