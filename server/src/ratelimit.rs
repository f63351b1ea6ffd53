//! A token bucket: a burst of `capacity` actions, refilled at `per_sec`.
//! Plain and clock-free (the caller passes `now`), so it is tested directly.

use std::time::Instant;

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

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let earned = now.saturating_duration_since(last).as_secs_f64() * self.per_sec;
            self.tokens = (self.tokens + earned).min(self.capacity);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            crate::metrics::get().rate_limited.inc();
            false
        }
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
    }
}
