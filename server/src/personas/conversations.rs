//! Who may continue from an `openai_chat` response (`previous_response_id`),
//! and the context to continue with when the provider keeps none itself
//! (the offline generator): each response id maps to its owner and the
//! conversation up to and including that reply (nothing more when the
//! provider keeps it). Bounded by count and by bytes (long conversations
//! each keep their whole history): the oldest are forgotten first, and then
//! continuing from them is `NOT_FOUND`.
//!
//! In a cluster (`--redis-url`) each conversation is also shared through
//! Redis ([`crate::cluster::context`]), so it continues on any instance.

use crate::cluster::Cluster;
use crate::cluster::context::{self, Turn};
use crate::engine::ChatMessage;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many response ids are remembered.
pub(crate) const MAX_CONVERSATIONS: usize = 10_000;
/// Most bytes of message text remembered, all conversations together.
pub(crate) const MAX_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone, Debug, Default)]
pub(crate) struct Conversations {
    inner: Arc<Mutex<Inner>>,
    /// The other instances, in a cluster.
    cluster: Option<Cluster>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, (String, Vec<ChatMessage>)>,
    order: VecDeque<String>,
    /// The bytes of every remembered conversation ([`size`]).
    bytes: usize,
}

/// What a conversation costs to keep: its text and ids, and a little for
/// each message.
fn size(id: &str, owner: &str, messages: &[ChatMessage]) -> usize {
    id.len() + owner.len() + messages.iter().map(|m| m.content.len() + 32).sum::<usize>()
}

impl Conversations {
    /// Conversations shared with the cluster's other instances, or kept
    /// here only without a cluster.
    pub(crate) fn new(cluster: Option<Cluster>) -> Self {
        Self {
            inner: Arc::default(),
            cluster,
        }
    }

    /// Remembers `messages` as the conversation ending in `response_id`.
    pub(crate) fn insert(&self, response_id: String, owner: &str, messages: Vec<ChatMessage>) {
        if let Some(cluster) = &self.cluster {
            let turns = messages
                .iter()
                .map(|m| Turn {
                    role: m.role,
                    content: m.content.clone(),
                })
                .collect();
            context::share(cluster, &response_id, owner, turns);
        }
        let mut inner = self.inner.lock().expect("conversations lock");
        inner.bytes += size(&response_id, owner, &messages);
        match inner
            .by_id
            .insert(response_id.clone(), (owner.to_owned(), messages))
        {
            None => inner.order.push_back(response_id),
            Some((o, m)) => inner.bytes -= size(&response_id, &o, &m),
        }
        while inner.order.len() > MAX_CONVERSATIONS || inner.bytes > MAX_BYTES {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some((o, m)) = inner.by_id.remove(&old) {
                inner.bytes -= size(&old, &o, &m);
            }
        }
    }

    /// The conversation ending in `response_id`, if `owner` has it (here,
    /// or in a cluster on another instance).
    pub(crate) async fn get(&self, response_id: &str, owner: &str) -> Option<Vec<ChatMessage>> {
        let here = {
            let inner = self.inner.lock().expect("conversations lock");
            inner
                .by_id
                .get(response_id)
                .filter(|(o, _)| o == owner)
                .map(|(_, m)| m.clone())
        };
        if here.is_some() {
            return here;
        }
        let turns = context::fetch(self.cluster.as_ref()?, response_id, owner).await?;
        Some(
            turns
                .into_iter()
                .map(|t| ChatMessage {
                    role: t.role,
                    content: t.content,
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conversations_belong_to_their_owner_and_are_bounded() {
        let c = Conversations::default();
        c.insert("r1".into(), "anon:a", vec![ChatMessage::user("hi")]);
        assert_eq!(c.get("r1", "anon:a").await.unwrap().len(), 1);
        assert!(c.get("r1", "anon:b").await.is_none());
        for i in 0..MAX_CONVERSATIONS {
            c.insert(format!("x{i}"), "anon:a", vec![]);
        }
        assert!(
            c.get("r1", "anon:a").await.is_none(),
            "the oldest is forgotten"
        );
        assert!(
            c.get(&format!("x{}", MAX_CONVERSATIONS - 1), "anon:a")
                .await
                .is_some()
        );
    }

    #[tokio::test]
    async fn conversations_are_bounded_by_bytes_too() {
        let c = Conversations::default();
        let long = "x".repeat(1024 * 1024);
        for i in 0..200 {
            c.insert(
                format!("r{i}"),
                "anon:a",
                vec![ChatMessage::user(long.clone())],
            );
        }
        let bytes = c.inner.lock().unwrap().bytes;
        assert!(bytes <= MAX_BYTES, "{bytes}");
        assert!(
            c.get("r0", "anon:a").await.is_none(),
            "the oldest is forgotten"
        );
        assert!(c.get("r199", "anon:a").await.is_some());
        // Replacing one counts it once.
        c.insert("r199".into(), "anon:a", vec![]);
        let after = c.inner.lock().unwrap().bytes;
        assert!(after < bytes, "{after} >= {bytes}");
    }
}
