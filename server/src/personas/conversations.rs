//! Server-side context for `openai_chat`'s `previous_response_id` when the
//! provider keeps none itself (the offline generator): each response id maps
//! to the conversation up to and including that reply. Bounded: the oldest
//! conversations are forgotten first.

use crate::engine::ChatMessage;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// How many response ids are remembered.
pub(crate) const MAX_CONVERSATIONS: usize = 10_000;

#[derive(Clone, Debug, Default)]
pub(crate) struct Conversations {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, (String, Vec<ChatMessage>)>,
    order: VecDeque<String>,
}

impl Conversations {
    /// Remembers `messages` as the conversation ending in `response_id`.
    pub(crate) fn insert(&self, response_id: String, owner: &str, messages: Vec<ChatMessage>) {
        let mut inner = self.inner.lock().expect("conversations lock");
        if inner
            .by_id
            .insert(response_id.clone(), (owner.to_owned(), messages))
            .is_none()
        {
            inner.order.push_back(response_id);
        }
        while inner.order.len() > MAX_CONVERSATIONS {
            if let Some(old) = inner.order.pop_front() {
                inner.by_id.remove(&old);
            }
        }
    }

    /// The conversation ending in `response_id`, if `owner` has it.
    pub(crate) fn get(&self, response_id: &str, owner: &str) -> Option<Vec<ChatMessage>> {
        let inner = self.inner.lock().expect("conversations lock");
        inner
            .by_id
            .get(response_id)
            .filter(|(o, _)| o == owner)
            .map(|(_, m)| m.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversations_belong_to_their_owner_and_are_bounded() {
        let c = Conversations::default();
        c.insert("r1".into(), "anon:a", vec![ChatMessage::user("hi")]);
        assert_eq!(c.get("r1", "anon:a").unwrap().len(), 1);
        assert!(c.get("r1", "anon:b").is_none());
        for i in 0..MAX_CONVERSATIONS {
            c.insert(format!("x{i}"), "anon:a", vec![]);
        }
        assert!(c.get("r1", "anon:a").is_none(), "the oldest is forgotten");
        assert!(
            c.get(&format!("x{}", MAX_CONVERSATIONS - 1), "anon:a")
                .is_some()
        );
    }
}
