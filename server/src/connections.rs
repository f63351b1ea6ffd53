//! Open socket connections, for the caps: per signed-in user
//! (`--max-connections-per-user`), per address for anonymous visitors
//! (`--max-connections-per-ip`), and in total (`--max-sockets`, so
//! descriptors stay in reserve for the HTTP API). Every socket endpoint and
//! transport (`/ws`, `/ws/{id}`, `/api/v1/chats/ws`, socket.io) takes its
//! slot here, so they are counted together. A leaf: it imports nothing from
//! the crate but the cluster's handle, so the state can hold it without a
//! module cycle.
//!
//! In a cluster (`--redis-url`) the per-user and per-address caps count
//! every instance's sockets ([`SharedSlots`]); the total stays this
//! process's own (it guards this process's descriptors). When Redis cannot
//! be asked, the caps count this instance's sockets only.

use crate::cluster::limits::{SharedSlot, SharedSlots};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open connections per key; a [`ConnectionSlot`] gives its place back
/// when dropped.
#[derive(Clone, Debug)]
pub struct ConnectionCounter {
    inner: Arc<Mutex<Counts>>,
    /// The caps; `None`: no caps at all (`--no-limits`).
    caps: Option<Caps>,
    /// The counts of every instance, in a cluster.
    shared: Option<SharedSlots>,
}

/// How many connections each may hold.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    /// One signed-in user.
    pub per_user: usize,
    /// One address, for anonymous visitors (all their ids together).
    pub per_ip: usize,
    /// Every socket together.
    pub total: usize,
}

#[derive(Debug, Default)]
struct Counts {
    by_key: HashMap<String, usize>,
    total: usize,
}

/// Who a connection counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A signed-in user, by id.
    User(String),
    /// An anonymous visitor, by their address (`ip:…`).
    Address(String),
}

/// One held connection.
#[derive(Debug)]
pub struct ConnectionSlot {
    counter: ConnectionCounter,
    key: String,
    /// Its place in the cluster's count (given back when dropped).
    _shared: Option<SharedSlot>,
}

/// Refused: which cap was reached, and at how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtLimit {
    /// The user (or address) holds the most allowed already.
    Holder(usize),
    /// The server holds the most sockets it keeps open.
    Server(usize),
}

impl ConnectionCounter {
    /// A counter with `caps` (`None`: any number).
    pub fn new(caps: Option<Caps>) -> Self {
        Self {
            inner: Arc::default(),
            caps,
            shared: None,
        }
    }

    /// The same caps, counted across the cluster's instances.
    pub fn shared(mut self, slots: Option<SharedSlots>) -> Self {
        self.shared = slots;
        self
    }

    /// A slot for `holder`: `None` when no cap applies, [`AtLimit`] when a
    /// cap is reached.
    pub async fn acquire(&self, holder: &Holder) -> Result<Option<ConnectionSlot>, AtLimit> {
        let Some(caps) = self.caps else {
            return Ok(None);
        };
        let (key, max) = match holder {
            Holder::User(id) => (format!("user:{id}"), caps.per_user),
            Holder::Address(ip) => (format!("ip:{ip}"), caps.per_ip),
        };
        self.take_local(&key, max, caps.total)?;
        let mut slot = ConnectionSlot {
            counter: self.clone(),
            key,
            _shared: None,
        };
        if let Some(shared) = &self.shared {
            match shared.acquire(&slot.key, max).await {
                Ok(Some(held)) => slot._shared = Some(held),
                // Dropping `slot` gives the local place back.
                Ok(None) => return Err(AtLimit::Holder(max)),
                Err(e) => {
                    tracing::warn!(error = %e, "Redis cannot count sockets across the cluster; counting this instance's only");
                }
            }
        }
        Ok(Some(slot))
    }
}

impl ConnectionCounter {
    /// Counts one more for `key` in this process, unless at a cap.
    fn take_local(&self, key: &str, max: usize, total: usize) -> Result<(), AtLimit> {
        let mut counts = self.inner.lock().expect("connections lock");
        if counts.total >= total {
            return Err(AtLimit::Server(total));
        }
        let n = counts.by_key.entry(key.to_owned()).or_insert(0);
        if *n >= max {
            return Err(AtLimit::Holder(max));
        }
        *n += 1;
        counts.total += 1;
        Ok(())
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.counter.inner.lock().expect("connections lock");
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.by_key.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.by_key.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(per_user: usize, per_ip: usize, total: usize) -> Option<Caps> {
        Some(Caps {
            per_user,
            per_ip,
            total,
        })
    }

    #[tokio::test]
    async fn a_holder_holds_at_most_its_cap_and_a_dropped_slot_is_given_back() {
        let c = ConnectionCounter::new(caps(2, 1, 100));
        let u = Holder::User("u".into());
        let a = c.acquire(&u).await.unwrap();
        let _b = c.acquire(&u).await.unwrap();
        assert_eq!(c.acquire(&u).await.unwrap_err(), AtLimit::Holder(2));
        assert!(
            c.acquire(&Holder::User("v".into()))
                .await
                .unwrap()
                .is_some()
        );
        let ip = Holder::Address("1.2.3.4".into());
        let _i = c.acquire(&ip).await.unwrap();
        assert_eq!(c.acquire(&ip).await.unwrap_err(), AtLimit::Holder(1));
        drop(a);
        assert!(c.acquire(&u).await.is_ok());
        assert!(
            ConnectionCounter::new(None)
                .acquire(&u)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn the_total_is_capped_across_holders() {
        let c = ConnectionCounter::new(caps(5, 5, 2));
        let _a = c.acquire(&Holder::User("a".into())).await.unwrap();
        let b = c.acquire(&Holder::Address("x".into())).await.unwrap();
        assert_eq!(
            c.acquire(&Holder::User("c".into())).await.unwrap_err(),
            AtLimit::Server(2)
        );
        drop(b);
        assert!(c.acquire(&Holder::User("c".into())).await.is_ok());
    }
}
