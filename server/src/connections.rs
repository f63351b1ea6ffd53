//! Open WebSocket connections per user, for the per-user cap
//! (`--max-connections-per-user`). A leaf: it imports nothing from the
//! crate, so the state can hold it without a module cycle.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open connections per user; a [`ConnectionSlot`] gives its place back
/// when dropped.
#[derive(Clone, Debug)]
pub struct ConnectionCounter {
    inner: Arc<Mutex<HashMap<String, usize>>>,
    /// Most connections one user may hold; `None`: no cap (`--no-limits`).
    max: Option<usize>,
}

/// One held connection.
#[derive(Debug)]
pub struct ConnectionSlot {
    counter: ConnectionCounter,
    user: String,
}

/// The user holds the most connections allowed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtLimit(pub usize);

impl ConnectionCounter {
    /// A counter allowing `max` connections per user (`None`: any number).
    pub fn new(max: Option<usize>) -> Self {
        Self {
            inner: Arc::default(),
            max,
        }
    }

    /// A slot for `user`: `None` when no cap applies, [`AtLimit`] when they
    /// hold the most allowed already.
    pub fn acquire(&self, user: &str) -> Result<Option<ConnectionSlot>, AtLimit> {
        let Some(max) = self.max else {
            return Ok(None);
        };
        let mut map = self.inner.lock().expect("connections lock");
        let n = map.entry(user.to_owned()).or_insert(0);
        if *n >= max {
            return Err(AtLimit(max));
        }
        *n += 1;
        Ok(Some(ConnectionSlot {
            counter: self.clone(),
            user: user.to_owned(),
        }))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut map = self.counter.inner.lock().expect("connections lock");
        if let Some(n) = map.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_holds_at_most_max_and_a_dropped_slot_is_given_back() {
        let c = ConnectionCounter::new(Some(2));
        let a = c.acquire("u").unwrap();
        let _b = c.acquire("u").unwrap();
        assert_eq!(c.acquire("u").unwrap_err(), AtLimit(2));
        assert!(c.acquire("v").unwrap().is_some(), "per user");
        drop(a);
        assert!(c.acquire("u").is_ok());
        assert!(ConnectionCounter::new(None).acquire("u").unwrap().is_none());
    }
}
