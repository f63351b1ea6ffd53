//! Messages anonymous visitors from one address may send over the sockets,
//! all their connections and ids together. The per-connection rates
//! (`ws::RATE_BURST`, …) reset with every new connection, and an anonymous
//! id costs nothing to make up; an address does not. Users are limited per
//! connection, and by their own connection cap.

use crate::ratelimit::Buckets;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Messages one address's anonymous visitors may send at once …
pub const ADDRESS_BURST: u32 = 120;
/// … and how many more they earn each second.
pub const ADDRESS_PER_SEC: f64 = 4.0;

/// The budget of each address (bounded memory: see [`Buckets`]); `None`
/// under `--no-limits`. A cheap handle.
#[derive(Clone, Debug)]
pub struct AddressRates(Option<Arc<Mutex<Buckets<IpAddr>>>>);

impl AddressRates {
    pub fn new(enabled: bool) -> Self {
        Self(enabled.then(|| Arc::new(Mutex::new(Buckets::new(ADDRESS_BURST, ADDRESS_PER_SEC)))))
    }

    /// Takes one message from `ip`'s budget, or says how long until there
    /// is one.
    pub fn take(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(buckets) = &self.0 else {
            return Ok(());
        };
        let now = Instant::now();
        buckets
            .lock()
            .expect("address rates lock")
            .get(&ip, now)
            .take_or_retry_after(now)
    }
}

/// Whole seconds to wait, at least one (what `retry_after` says).
pub fn retry_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

/// The persona protocol's in-band `RATE_LIMITED`, with `retry_after`.
pub(crate) fn refusal(wait: Duration) -> shared::ws::ServerMessage {
    let secs = retry_secs(wait);
    let mut msg = shared::ws::ServerMessage::error(
        shared::ErrorCode::RateLimited,
        format!("too many messages from this address: try again in {secs} s"),
        crate::clock::now_rfc3339(),
    );
    if let shared::ws::ServerMessage::Error { retry_after, .. } = &mut msg {
        *retry_after = Some(secs);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_share_one_budget_and_others_keep_theirs() {
        let rates = AddressRates::new(true);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..ADDRESS_BURST {
            assert!(rates.take(a).is_ok());
        }
        let wait = rates.take(a).unwrap_err();
        assert_eq!(retry_secs(wait), 1);
        assert!(rates.take(b).is_ok());
        let off = AddressRates::new(false);
        assert!((0..1000).all(|_| off.take(a).is_ok()));
        assert_eq!(retry_secs(Duration::from_millis(2500)), 3);
        assert_eq!(retry_secs(Duration::from_secs(2)), 2);
    }
}
