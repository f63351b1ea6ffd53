//! A token bucket: a burst of `capacity` actions, refilled at `per_sec`.
//! Plain and clock-free (the caller passes `now`), so it is tested directly.
//! [`Buckets`] keeps one per key (an address, a username) in bounded memory.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl RateLimiter {
    pub(crate) fn new(capacity: u32, per_sec: f64) -> Self {
        Self {
            capacity: f64::from(capacity),
            per_sec,
            tokens: f64::from(capacity),
            last: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(last) = self.last {
            let earned = now.saturating_duration_since(last).as_secs_f64() * self.per_sec;
            self.tokens = (self.tokens + earned).min(self.capacity);
        }
        self.last = Some(now);
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        self.take_or_retry_after(now).is_ok()
    }

    /// Takes one token, or says how long until there is one.
    pub(crate) fn take_or_retry_after(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            crate::metrics::get().rate_limited.inc();
            Err(self.until(1.0))
        }
    }

    /// Takes one token even when there is none, going into debt by at most
    /// `max_debt` tokens: `Ok(wait)`, how long the caller should wait for
    /// its turn (zero with a token in hand), or `Err(retry_after)` when the
    /// debt is at its bound. Many callers at once queue instead of failing,
    /// up to `max_debt` of them.
    pub(crate) fn reserve(&mut self, now: Instant, max_debt: u32) -> Result<Duration, Duration> {
        self.refill(now);
        if self.tokens - 1.0 < -f64::from(max_debt) {
            return Err(self.until(1.0 - f64::from(max_debt)));
        }
        self.tokens -= 1.0;
        Ok(self.until(0.0))
    }

    /// Gives a taken token back (the action turned out not to count).
    pub(crate) fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.capacity);
    }

    /// Whether the bucket is full at `now` (forgetting it changes nothing).
    fn is_full(&self, now: Instant) -> bool {
        let mut b = self.clone();
        b.refill(now);
        b.tokens >= b.capacity
    }

    /// How long until the bucket holds `level` tokens.
    fn until(&self, level: f64) -> Duration {
        let missing = (level - self.tokens).max(0.0);
        if self.per_sec <= 0.0 {
            return Duration::MAX;
        }
        Duration::from_secs_f64(missing / self.per_sec)
    }
}

/// Most keys [`Buckets`] keeps before it forgets the full ones.
const MAX_KEYS: usize = 50_000;

/// A bucket per key, all alike. Memory is bounded: past [`MAX_KEYS`] the
/// buckets that are full again (no debt to remember) are dropped, and if
/// every bucket is in use, the oldest half goes (a forgotten key starts
/// full: the bound costs some leniency, never a refusal).
#[derive(Debug)]
pub(crate) struct Buckets<K> {
    capacity: u32,
    per_sec: f64,
    map: HashMap<K, RateLimiter>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    pub(crate) fn new(capacity: u32, per_sec: f64) -> Self {
        Self {
            capacity,
            per_sec,
            map: HashMap::new(),
        }
    }

    /// The bucket of `key`, made full when new.
    pub(crate) fn get(&mut self, key: &K, now: Instant) -> &mut RateLimiter {
        if !self.map.contains_key(key) && self.map.len() >= MAX_KEYS {
            self.map.retain(|_, b| !b.is_full(now));
            if self.map.len() >= MAX_KEYS {
                let mut ages: Vec<Instant> = self.map.values().filter_map(|b| b.last).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                self.map.retain(|_, b| b.last.is_some_and(|l| l > cut));
            }
        }
        let (capacity, per_sec) = (self.capacity, self.per_sec);
        self.map
            .entry(key.clone())
            .or_insert_with(|| RateLimiter::new(capacity, per_sec))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(3, 1.0);
        assert!((0..3).all(|_| r.try_take(t0)));
        assert!(!r.try_take(t0));
        assert!(!r.try_take(t0 + Duration::from_millis(500)));
        assert!(r.try_take(t0 + Duration::from_millis(1000)));
        // Never more than the burst, however long it waited.
        let later = t0 + Duration::from_secs(3600);
        assert!((0..3).all(|_| r.try_take(later)));
        assert!(!r.try_take(later));
        assert_eq!(r.take_or_retry_after(later), Err(Duration::from_secs(1)));
    }

    #[test]
    fn reservations_queue_up_to_the_debt_then_refuse() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(2, 0.5);
        assert_eq!(r.reserve(t0, 2), Ok(Duration::ZERO));
        assert_eq!(r.reserve(t0, 2), Ok(Duration::ZERO));
        assert_eq!(r.reserve(t0, 2), Ok(Duration::from_secs(2)));
        assert_eq!(r.reserve(t0, 2), Ok(Duration::from_secs(4)));
        // Two waiting: the next is told when to come back, never locked out
        // for longer than the queue takes to drain.
        assert_eq!(r.reserve(t0, 2), Err(Duration::from_secs(2)));
        r.give_back();
        assert_eq!(r.reserve(t0, 2), Ok(Duration::from_secs(4)));
        assert!(r.reserve(t0 + Duration::from_secs(6), 2).is_ok());
    }

    #[test]
    fn buckets_stay_bounded_and_forget_what_is_full_first() {
        let t0 = Instant::now();
        let mut b: Buckets<u32> = Buckets::new(1, 0.001);
        assert!(b.get(&0, t0).try_take(t0));
        for k in 1..MAX_KEYS as u32 {
            b.get(&k, t0);
        }
        b.get(&u32::MAX, t0);
        // The full buckets went; the one in debt still has no token.
        assert_eq!(b.len(), 2);
        assert!(!b.get(&0, t0).try_take(t0));
        // All in debt: the oldest half goes to make room.
        for k in 1..MAX_KEYS as u32 {
            let at = t0 + Duration::from_millis(u64::from(k));
            assert!(b.get(&k, at).try_take(at));
        }
        b.get(&(u32::MAX - 1), t0 + Duration::from_secs(3600));
        assert!(b.len() <= MAX_KEYS / 2 + 2, "{}", b.len());
    }
}
