//! `previous_response_id` context across instances: the conversation that
//! ends in a response id (kept for the offline generator, which keeps no
//! state itself) is also stored in Redis as
//! `chorus:context:{response_id}` → `{"owner","messages":[{"role","content"}]}`
//! for [`CONTEXT_TTL`], so the next `openai_chat` finds it whatever instance
//! it lands on. Each entry is bounded to [`MAX_ENTRY_BYTES`]: the oldest
//! turns are left out of the shared copy past it. The owner is checked on
//! read, as in process.

use super::Cluster;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use shared::Role;
use std::time::Duration;

/// How long a conversation can be continued from another instance.
pub const CONTEXT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Largest shared entry, bytes of JSON.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// One turn of a shared conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    owner: String,
    messages: Vec<Turn>,
}

fn key(response_id: &str) -> String {
    Cluster::key(&["context", response_id])
}

/// The JSON kept for `messages`, leaving out the oldest turns until it
/// fits [`MAX_ENTRY_BYTES`] (`None` when not even the last turn fits).
pub fn encode(owner: &str, mut messages: Vec<Turn>) -> Option<String> {
    loop {
        let json = serde_json::to_string(&Entry {
            owner: owner.to_owned(),
            messages,
        })
        .ok()?;
        if json.len() <= MAX_ENTRY_BYTES {
            return Some(json);
        }
        let mut entry: Entry = serde_json::from_str(&json).ok()?;
        if entry.messages.len() <= 1 {
            return None;
        }
        entry.messages.remove(0);
        messages = entry.messages;
    }
}

/// Stores the conversation ending in `response_id` for the other
/// instances (in the background; a failure is logged).
pub fn share(cluster: &Cluster, response_id: &str, owner: &str, messages: Vec<Turn>) {
    let Some(json) = encode(owner, messages) else {
        tracing::warn!("a conversation too long to share with the other instances");
        return;
    };
    let mut conn = cluster.conn();
    let key = key(response_id);
    tokio::spawn(async move {
        let set: redis::RedisResult<()> = conn.set_ex(key, json, CONTEXT_TTL.as_secs()).await;
        if let Err(e) = set {
            tracing::warn!(error = %e, "conversation context not shared with the other instances (Redis)");
        }
    });
}

/// The conversation ending in `response_id` if `owner` has it, from Redis
/// (`None` also when Redis cannot be asked, logged).
pub async fn fetch(cluster: &Cluster, response_id: &str, owner: &str) -> Option<Vec<Turn>> {
    let json: Option<String> = match cluster.conn().get(key(response_id)).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "cannot ask Redis for a conversation's context");
            return None;
        }
    };
    let entry: Entry = serde_json::from_str(&json?).ok()?;
    (entry.owner == owner).then_some(entry.messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_entry_keeps_its_latest_turns_within_the_bound() {
        let turn = |c: &str| Turn {
            role: Role::User,
            content: c.to_owned(),
        };
        let big = "x".repeat(MAX_ENTRY_BYTES / 3);
        let json = encode(
            "anon:a",
            vec![
                turn("first"),
                turn(&big),
                turn(&big),
                turn(&big),
                turn("last"),
            ],
        )
        .unwrap();
        assert!(json.len() <= MAX_ENTRY_BYTES);
        let entry: Entry = serde_json::from_str(&json).unwrap();
        assert_eq!(entry.messages.last().unwrap().content, "last");
        assert_ne!(entry.messages[0].content, "first", "the oldest went first");
        assert!(encode("anon:a", vec![turn(&"y".repeat(MAX_ENTRY_BYTES))]).is_none());
    }
}
