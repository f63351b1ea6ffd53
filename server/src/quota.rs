//! Limits and credits: who may generate, and what it costs.
//!
//! Every feature that generates calls [`Quota::begin`] (a panel of
//! generations [`Quota::begin_many`]) before it starts; the generation
//! runner (`streams::generation`) settles the ticket when the generation
//! ends ([`Quota::settle`]). Anonymous visitors spend one free reply per
//! generation; users spend their output tokens in credits, reserved up front
//! so parallel streams cannot overspend.
//!
//! Anonymous ids cost nothing to make, so their replies also come out of a
//! budget per address ([`AnonAddresses`], `--anon-ip-message-limit` a day):
//! a visitor who rotates ids gets no more than their address allows. In a
//! cluster (`--redis-url`) that budget is one bucket in Redis for every
//! instance ([`crate::cluster::limits::bucket`]); when Redis cannot be
//! asked, this instance's own bucket counts.

use crate::auth::identity::Identity;
use crate::cluster::Cluster;
use crate::cluster::limits::{self, BucketOp};
use crate::error::{AppError, AppResult};
use crate::store::Store;
use shared::ErrorCode;
use shared::auth::{Usage, UsageKind};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Which address each anonymous id was last seen at (noted by the identity
/// extractors), and each address's budget of free replies. Bounded: the
/// oldest ids are forgotten past [`MAX_IDS`].
#[derive(Clone, Debug, Default)]
pub struct AnonAddresses(Option<Arc<Mutex<Addresses>>>);

/// Anonymous ids whose address is remembered.
const MAX_IDS: usize = 100_000;

#[derive(Debug)]
struct Addresses {
    by_id: HashMap<String, IpAddr>,
    order: VecDeque<String>,
    budgets: crate::ratelimit::Buckets<IpAddr>,
    per_day: u32,
    /// The budgets of every instance, in a cluster.
    shared: Option<Cluster>,
}

impl AnonAddresses {
    /// `per_day` free replies per address (a burst of that many, refilled
    /// over a day); `None`: no budget per address (`--no-limits`, or 0).
    pub fn new(per_day: Option<u32>) -> Self {
        Self(per_day.filter(|n| *n > 0).map(|n| {
            Arc::new(Mutex::new(Addresses {
                by_id: HashMap::new(),
                order: VecDeque::new(),
                budgets: crate::ratelimit::Buckets::new(n, f64::from(n) / 86_400.0),
                per_day: n,
                shared: None,
            }))
        }))
    }

    /// The same budgets, shared by the cluster's instances.
    pub fn shared(self, cluster: Option<Cluster>) -> Self {
        if let Some(inner) = &self.0 {
            inner.lock().expect("anon addresses lock").shared = cluster;
        }
        self
    }

    /// `id`'s address and the cluster's budgets, if it was seen.
    fn address(&self, id: &str) -> Option<(IpAddr, Option<Cluster>, u32)> {
        let a = self.0.as_ref()?.lock().expect("anon addresses lock");
        let ip = a.by_id.get(id).copied()?;
        Some((ip, a.shared.clone(), a.per_day))
    }

    /// Takes (or gives back) one of `ip`'s replies in the cluster's
    /// bucket; `None` when Redis cannot say (logged).
    async fn shared_bucket(
        cluster: &Cluster,
        ip: IpAddr,
        per_day: u32,
        op: BucketOp,
    ) -> Option<bool> {
        let ip = ip.to_string();
        let per_sec = f64::from(per_day) / 86_400.0;
        match limits::bucket(cluster, &["anon", &ip], per_day, per_sec, op).await {
            Ok(taken) => Some(taken),
            Err(e) => {
                tracing::warn!(error = %e, "Redis cannot count an address's free replies; counting this instance's only");
                None
            }
        }
    }

    /// The visitor `id` is asking from `ip`.
    pub fn seen(&self, id: &str, ip: IpAddr) {
        let Some(inner) = &self.0 else { return };
        let mut a = inner.lock().expect("anon addresses lock");
        if a.by_id.insert(id.to_owned(), ip).is_none() {
            a.order.push_back(id.to_owned());
            while a.order.len() > MAX_IDS {
                if let Some(old) = a.order.pop_front() {
                    a.by_id.remove(&old);
                }
            }
        }
    }

    /// Takes one reply from the budget of `id`'s address: `false` when it
    /// is spent (an id never seen with an address passes).
    async fn take(&self, id: &str) -> bool {
        let Some((ip, shared, per_day)) = self.address(id) else {
            return true;
        };
        if let Some(cluster) = shared
            && let Some(taken) = Self::shared_bucket(&cluster, ip, per_day, BucketOp::Take).await
        {
            return taken;
        }
        let Some(inner) = &self.0 else { return true };
        let mut a = inner.lock().expect("anon addresses lock");
        let now = Instant::now();
        a.budgets.get(&ip, now).try_take(now)
    }

    /// Gives back a reply taken for `id` (it produced nothing).
    async fn give_back(&self, id: &str) {
        let Some((ip, shared, per_day)) = self.address(id) else {
            return;
        };
        if let Some(cluster) = shared
            && Self::shared_bucket(&cluster, ip, per_day, BucketOp::GiveBack)
                .await
                .is_some()
        {
            return;
        }
        let Some(inner) = &self.0 else { return };
        let mut a = inner.lock().expect("anon addresses lock");
        a.budgets.get(&ip, Instant::now()).give_back();
    }
}

/// The limits in force, over the store.
#[derive(Clone, Debug)]
pub struct Quota {
    pub store: Store,
    /// Free replies for an anonymous visitor.
    pub anon_limit: i64,
    /// `--no-limits` (benchmarks): every generation is admitted, nothing
    /// is counted or charged.
    pub unlimited: bool,
    /// Anonymous visitors' addresses and their budgets.
    pub addresses: AnonAddresses,
}

/// A generation that has been allowed to start.
#[derive(Debug)]
#[must_use = "finish or cancel the ticket, or the reservation is lost"]
pub struct Ticket {
    who: Identity,
    /// Credits held for a user (0 for anonymous visitors).
    reserved: i64,
    /// Admitted under `--no-limits`: nothing to settle, no cap.
    unmetered: bool,
    /// Credits per output token (`--model-price` of the model asked).
    price: f64,
    /// The stream whose generation record holds this ticket's reservation
    /// ([`Ticket::bind`]), so a crash can settle it at start-up.
    stream: Option<String>,
}

impl Ticket {
    /// What the ticket holds from the quota, as recorded with its
    /// generation: credits for a user, one free reply for an anonymous
    /// visitor, nothing under `--no-limits`.
    pub fn held(&self) -> i64 {
        match (&self.who, self.unmetered) {
            (_, true) => 0,
            (Identity::User(_), false) => self.reserved,
            (Identity::Anonymous(_), false) => 1,
        }
    }

    /// Ties the ticket to the stream whose generation record holds it: the
    /// settlement lets go of the record in the same transaction.
    pub fn bind(&mut self, stream_id: &str) {
        self.stream = Some(stream_id.to_owned());
    }

    /// The most output tokens the generation may produce: what was reserved
    /// for a user; `None` (no cap from credits) for an anonymous visitor.
    pub fn max_tokens(&self) -> Option<i64> {
        if self.unmetered {
            return None;
        }
        match self.who {
            Identity::User(_) => Some((self.reserved as f64 / self.price).floor() as i64),
            Identity::Anonymous(_) => None,
        }
    }

    /// The same ticket for a model that costs `price` credits per output
    /// token: the reservation covers fewer (or more) tokens.
    pub fn priced(mut self, price: f64) -> Self {
        if price.is_finite() && price > 0.0 {
            self.price = price;
        }
        self
    }

    /// An anonymous visitor's free reply (not credits).
    pub fn is_anonymous(&self) -> bool {
        matches!(self.who, Identity::Anonymous(_))
    }

    /// Credits for `output_tokens` at this ticket's price.
    fn cost(&self, output_tokens: i64) -> i64 {
        (output_tokens.max(0) as f64 * self.price).ceil() as i64
    }
}

impl Quota {
    /// Admits a generation of up to `max_tokens` output tokens, or refuses
    /// with `ANON_LIMIT_REACHED` / `INSUFFICIENT_BALANCE`.
    pub async fn begin(&self, who: &Identity, max_tokens: i64) -> AppResult<Ticket> {
        if self.unlimited {
            return Ok(Ticket {
                who: who.clone(),
                reserved: 0,
                unmetered: true,
                price: 1.0,
                stream: None,
            });
        }
        match who {
            Identity::Anonymous(id) => {
                if !self.addresses.take(id).await {
                    return Err(AppError::client(
                        ErrorCode::AnonLimitReached,
                        "this network has used its free replies for today: sign up to keep chatting",
                    ));
                }
                if self
                    .store
                    .take_anon_reply(id, self.anon_limit)
                    .await?
                    .is_none()
                {
                    self.addresses.give_back(id).await;
                    return Err(AppError::client(
                        ErrorCode::AnonLimitReached,
                        format!(
                            "you have used your {} free replies: sign up to keep chatting",
                            self.anon_limit
                        ),
                    ));
                }
                Ok(Ticket {
                    who: who.clone(),
                    reserved: 0,
                    unmetered: false,
                    price: 1.0,
                    stream: None,
                })
            }
            Identity::User(id) => {
                let Some(reserved) = self.store.reserve(id, max_tokens.max(1)).await? else {
                    return Err(AppError::client(
                        ErrorCode::InsufficientBalance,
                        "your credit balance is used up",
                    ));
                };
                Ok(Ticket {
                    who: who.clone(),
                    reserved,
                    unmetered: false,
                    price: 1.0,
                    stream: None,
                })
            }
        }
    }

    /// Admits `n` generations that run at once for one request (a panel's
    /// personas), each of up to `max_tokens`. A user's credits are reserved
    /// once for all of them, at most their balance, and shared evenly, so
    /// every member runs (each capped at its share) rather than the first
    /// ones holding everything; a member whose share would be nothing is
    /// refused. Anonymous visitors spend one free reply per generation.
    pub async fn begin_many(
        &self,
        who: &Identity,
        max_tokens: i64,
        n: usize,
    ) -> Vec<AppResult<Ticket>> {
        let Identity::User(id) = who else {
            let mut tickets = Vec::with_capacity(n);
            for _ in 0..n {
                tickets.push(self.begin(who, max_tokens).await);
            }
            return tickets;
        };
        if self.unlimited || n == 0 {
            let mut tickets = Vec::with_capacity(n);
            for _ in 0..n {
                tickets.push(self.begin(who, max_tokens).await);
            }
            return tickets;
        }
        let want = max_tokens.max(1).saturating_mul(n as i64);
        let reserved = match self.store.reserve(id, want).await {
            Ok(Some(reserved)) => reserved,
            Ok(None) => 0,
            Err(e) => {
                let e = AppError::from(e);
                return (0..n)
                    .map(|_| Err(AppError::Internal(e.to_string())))
                    .collect();
            }
        };
        split(reserved, n)
            .into_iter()
            .map(|share| {
                if share == 0 {
                    Err(AppError::client(
                        ErrorCode::InsufficientBalance,
                        "your credit balance is used up",
                    ))
                } else {
                    Ok(Ticket {
                        who: who.clone(),
                        reserved: share,
                        unmetered: false,
                        price: 1.0,
                        stream: None,
                    })
                }
            })
            .collect()
    }

    /// Ends a generation that produced `output_tokens`: a user pays them
    /// at the ticket's price (at most what was reserved) and gets the rest
    /// back.
    pub async fn finish(&self, ticket: Ticket, output_tokens: i64, reason: &str) -> AppResult<()> {
        if ticket.unmetered {
            return Ok(());
        }
        if let (Identity::Anonymous(_), Some(stream)) = (&ticket.who, &ticket.stream) {
            self.store.release_generation(stream).await?;
        }
        if let Identity::User(id) = &ticket.who {
            self.store
                .settle(
                    id,
                    ticket.reserved,
                    ticket.cost(output_tokens),
                    reason,
                    ticket.stream.as_deref(),
                )
                .await?;
        }
        Ok(())
    }

    /// Settles a generation the way every feature does: `Some(tokens)` pays
    /// the output tokens ([`Quota::finish`]); `None`, a generation that
    /// failed before producing anything, gives everything back
    /// ([`Quota::cancel`], an anonymous visitor's free reply too). Errors
    /// are logged: the generation has ended either way.
    pub async fn settle(&self, ticket: Ticket, output_tokens: Option<i64>, reason: &str) {
        if let (Some(tokens), Identity::User(_), false) =
            (output_tokens, &ticket.who, ticket.unmetered)
        {
            crate::metrics::get()
                .credits_charged
                .inc_by(tokens.max(0) as u64);
        }
        let settled = match output_tokens {
            Some(tokens) => self.finish(ticket, tokens, reason).await,
            None => self.cancel(ticket).await,
        };
        if let Err(e) = settled {
            tracing::error!(reason, error = %e, "could not settle usage");
        }
    }

    /// Calls off a generation that produced nothing: all is given back.
    pub async fn cancel(&self, ticket: Ticket) -> AppResult<()> {
        if ticket.unmetered {
            return Ok(());
        }
        match &ticket.who {
            Identity::User(id) => {
                self.store
                    .settle(
                        id,
                        ticket.reserved,
                        0,
                        "cancelled",
                        ticket.stream.as_deref(),
                    )
                    .await?
            }
            Identity::Anonymous(id) => {
                self.addresses.give_back(id).await;
                self.store
                    .return_anon_reply(id, ticket.stream.as_deref())
                    .await?
            }
        }
        Ok(())
    }

    /// The caller's usage figures.
    pub async fn usage(&self, who: &Identity) -> AppResult<Usage> {
        Ok(match who {
            Identity::Anonymous(id) => {
                let used = self.store.touch_anon(id).await?.min(self.anon_limit);
                Usage {
                    used,
                    limit: self.anon_limit,
                    remaining: self.anon_limit - used,
                    kind: UsageKind::Anonymous,
                }
            }
            Identity::User(id) => {
                let c = self.store.credit_summary(id).await?;
                Usage {
                    used: c.spent,
                    limit: c.granted,
                    remaining: c.balance,
                    kind: UsageKind::User,
                }
            }
        })
    }
}

/// `total` in `n` shares as even as can be, the larger ones first.
fn split(total: i64, n: usize) -> Vec<i64> {
    let n = n.max(1) as i64;
    let (base, extra) = (total / n, total % n);
    (0..n).map(|i| base + i64::from(i < extra)).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn shares_are_even_and_add_up() {
        assert_eq!(super::split(2000, 3), [667, 667, 666]);
        assert_eq!(super::split(2, 3), [1, 1, 0]);
        assert_eq!(super::split(0, 2), [0, 0]);
    }
}
