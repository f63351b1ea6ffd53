//! How often one can try to sign in or sign up: per address, and per
//! account. A leaf handle of the state (it imports only the plain
//! [`crate::ratelimit`]).
//!
//! - Per address: [`LOGIN_PER_IP`] logins and [`REGISTER_PER_IP`] sign-ups,
//!   refused past them with `RATE_LIMITED` and `retry_after`.
//! - Per account: every login attempt for a username reserves a token of
//!   that account's bucket ([`FAILURES_PER_ACCOUNT`]); a successful login
//!   gives it back, so only failures use it up. Past the burst an attempt
//!   is not refused but waits its turn (a guesser gets one try per
//!   refill, from however many addresses), and only when
//!   [`WAITING_PER_ACCOUNT`] attempts already wait is it refused with
//!   `retry_after`. There is no lockout: the owner's right password gets in
//!   after at most the queue's wait, and failures are forgotten as the
//!   bucket refills.

use crate::ratelimit::Buckets;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A burst, then one more every `every`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub(crate) burst: u32,
    pub(crate) every: Duration,
}

impl Budget {
    fn buckets<K: std::hash::Hash + Eq + Clone>(self) -> Buckets<K> {
        Buckets::new(self.burst, 1.0 / self.every.as_secs_f64())
    }
}

/// Logins from one address: 20 at once, then one every 3 s (20 a minute).
pub(crate) const LOGIN_PER_IP: Budget = Budget {
    burst: 20,
    every: Duration::from_secs(3),
};
/// Sign-ups from one address: 20 at once, then one every 30 s.
pub(crate) const REGISTER_PER_IP: Budget = Budget {
    burst: 20,
    every: Duration::from_secs(30),
};
/// Failed logins of one account: 5 at once, then one every 20 s.
pub(crate) const FAILURES_PER_ACCOUNT: Budget = Budget {
    burst: 5,
    every: Duration::from_secs(20),
};
/// Attempts on one account that may wait their turn at once.
pub(crate) const WAITING_PER_ACCOUNT: u32 = 3;

/// The buckets; cheap to clone. `None` inside: no limits (`--no-limits`).
#[derive(Clone, Debug)]
pub struct AuthLimits(Option<Arc<Inner>>);

#[derive(Debug)]
struct Inner {
    login: Mutex<Buckets<IpAddr>>,
    register: Mutex<Buckets<IpAddr>>,
    accounts: Mutex<Buckets<String>>,
}

/// Refused: try again after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds, at least 1 (what `retry_after` carries).
    pub fn secs(self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// A login attempt admitted for an account: [`AccountTurn::wait`] for its
/// turn, then [`AuthLimits::succeeded`] if the password was right.
#[derive(Debug)]
#[must_use]
pub struct AccountTurn {
    key: Option<String>,
    wait: Duration,
}

impl AccountTurn {
    /// Sleeps until this attempt's turn (no time when the account has had
    /// no recent failures).
    pub async fn wait(&self) {
        if !self.wait.is_zero() {
            tokio::time::sleep(self.wait).await;
        }
    }
}

impl AuthLimits {
    /// The limits above; `enabled = false` lifts them all.
    pub fn new(enabled: bool) -> Self {
        Self(enabled.then(|| {
            Arc::new(Inner {
                login: Mutex::new(LOGIN_PER_IP.buckets()),
                register: Mutex::new(REGISTER_PER_IP.buckets()),
                accounts: Mutex::new(FAILURES_PER_ACCOUNT.buckets()),
            })
        }))
    }

    /// One login from `ip`.
    pub fn login_from(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        self.take(|i| &i.login, ip)
    }

    /// One sign-up from `ip`.
    pub fn register_from(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        self.take(|i| &i.register, ip)
    }

    fn take(
        &self,
        buckets: impl Fn(&Inner) -> &Mutex<Buckets<IpAddr>>,
        ip: IpAddr,
    ) -> Result<(), RetryAfter> {
        let Some(inner) = &self.0 else {
            return Ok(());
        };
        let now = Instant::now();
        let mut b = buckets(inner).lock().expect("auth limits lock");
        b.get(&ip, now).take_or_retry_after(now).map_err(RetryAfter)
    }

    /// A login attempt on the account `username` (any case).
    pub fn account_turn(&self, username: &str) -> Result<AccountTurn, RetryAfter> {
        let Some(inner) = &self.0 else {
            return Ok(AccountTurn {
                key: None,
                wait: Duration::ZERO,
            });
        };
        let key = username.to_lowercase();
        let now = Instant::now();
        let mut b = inner.accounts.lock().expect("auth limits lock");
        let wait = b
            .get(&key, now)
            .reserve(now, WAITING_PER_ACCOUNT)
            .map_err(RetryAfter)?;
        Ok(AccountTurn {
            key: Some(key),
            wait,
        })
    }

    /// The attempt was the right password: it does not count.
    pub fn succeeded(&self, turn: AccountTurn) {
        let (Some(inner), Some(key)) = (&self.0, turn.key) else {
            return;
        };
        let now = Instant::now();
        let mut b = inner.accounts.lock().expect("auth limits lock");
        b.get(&key, now).give_back();
    }
}
