//! Limits that hold across the cluster: how many sockets one user (or one
//! anonymous address) holds on every instance together, and counting
//! windows (BooksWriter's 60 requests a minute, the anonymous per-address
//! free replies).
//!
//! Parts:
//! - [`SharedSlots`]: open sockets per holder, a sorted set
//!   `chorus:conns:{holder}` of `{instance}:{n}` members scored by when
//!   they lapse (Redis' clock). The owning instance pushes the lapse time
//!   forward every [`SLOT_RENEW`] while the socket is open and removes the
//!   member when it closes; a crashed instance's members lapse after
//!   [`SLOT_TTL`] and stop counting, so nothing leaks.
//! - [`take_in_window`]: a sliding window of timestamps in a sorted set
//!   `chorus:window:{name}`, checked and filled in one script, lapsing
//!   with the window.
//! - [`bucket`]: a token bucket in a hash `chorus:bucket:{name}`
//!   (`tokens`, `at`), lapsing once it would be full again.
//!
//! When Redis cannot be reached, callers count locally (and the failure is
//! logged): a limit is never a reason to refuse everybody.

use super::Cluster;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How long a slot counts without being renewed.
pub const SLOT_TTL: Duration = Duration::from_secs(30);
/// How often an instance renews the slots it holds.
pub const SLOT_RENEW: Duration = Duration::from_secs(10);

/// Drops lapsed members, then adds `ARGV[1]` (lapsing `ARGV[3]` ms from
/// now) unless `ARGV[2]` members are there already. 1: taken, 0: full.
const TAKE_SLOT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1";

/// Pushes the lapse time of member `ARGV[1]` of each key forward.
const RENEW_SLOTS: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('PEXPIRE', key, ARGV[1])
end
return #KEYS";

/// Sliding window: drops entries older than `ARGV[1]` ms, then records one
/// more unless `ARGV[2]` are in the window. Returns 0 when taken, else the
/// ms until the oldest entry leaves the window.
const TAKE_IN_WINDOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0";

/// A token bucket of `ARGV[1]` tokens refilled at `ARGV[2]` a ms:
/// `ARGV[3]` = -1 takes one (1 when there was one, else 0), +1 gives one
/// back.
const BUCKET: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or cap
local at = tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - at) * per_ms)
local ok = 1
if tonumber(ARGV[3]) < 0 then
  if tokens >= 1 then tokens = tokens - 1 else ok = 0 end
else
  tokens = math.min(cap, tokens + 1)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((cap - tokens) / per_ms) + 1000)
return ok";

/// What to do with a [`bucket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketOp {
    Take,
    GiveBack,
}

/// Takes a token from (or gives one back to) the bucket `name` (under
/// `chorus:bucket:`) of `capacity` tokens refilled at `per_sec`: whether
/// one was taken, `Err` when Redis cannot say.
pub async fn bucket(
    cluster: &Cluster,
    name: &[&str],
    capacity: u32,
    per_sec: f64,
    op: BucketOp,
) -> redis::RedisResult<bool> {
    let mut parts = vec!["bucket"];
    parts.extend_from_slice(name);
    let taken: i64 = redis::Script::new(BUCKET)
        .key(Cluster::key(&parts))
        .arg(capacity)
        .arg(per_sec / 1000.0)
        .arg(if op == BucketOp::Take { -1 } else { 1 })
        .invoke_async(&mut cluster.conn())
        .await?;
    Ok(taken == 1)
}

/// The sockets this instance holds in Redis' counts. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SharedSlots {
    inner: Arc<Slots>,
}

#[derive(Debug)]
struct Slots {
    cluster: Cluster,
    ttl: Duration,
    next: AtomicU64,
    /// member → key, renewed by the renewal task while held.
    held: Mutex<HashMap<String, String>>,
}

/// One socket counted in Redis; removed from the count when dropped.
#[derive(Debug)]
pub struct SharedSlot {
    /// Weak: a slot outliving its counter (its instance gone) is renewed
    /// no more and lapses.
    slots: Weak<Slots>,
    conn: redis::aio::ConnectionManager,
    key: String,
    member: String,
}

impl SharedSlots {
    /// Counts in `cluster`'s Redis, each slot lapsing [`SLOT_TTL`] after
    /// its last renewal.
    pub fn new(cluster: Cluster) -> Self {
        Self::with_ttl(cluster, SLOT_TTL, SLOT_RENEW)
    }

    /// As [`SharedSlots::new`] with other times (tests).
    pub fn with_ttl(cluster: Cluster, ttl: Duration, renew: Duration) -> Self {
        let slots = Self {
            inner: Arc::new(Slots {
                cluster,
                ttl,
                next: AtomicU64::new(0),
                held: Mutex::default(),
            }),
        };
        let weak = Arc::downgrade(&slots.inner);
        tokio::spawn(renew_while_alive(weak, renew));
        slots
    }

    /// A slot for `holder` (`user:…`, `ip:…`) if fewer than `max` are held
    /// on every instance together: `Ok(None)` at the cap, `Err` when Redis
    /// cannot say (the caller counts locally).
    pub async fn acquire(
        &self,
        holder: &str,
        max: usize,
    ) -> redis::RedisResult<Option<SharedSlot>> {
        let key = Cluster::key(&["conns", holder]);
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let member = format!("{}:{n}", self.inner.cluster.instance());
        let taken: i64 = redis::Script::new(TAKE_SLOT)
            .key(&key)
            .arg(&member)
            .arg(max)
            .arg(self.inner.ttl.as_millis() as u64)
            .invoke_async(&mut self.inner.cluster.conn())
            .await?;
        if taken == 0 {
            return Ok(None);
        }
        self.inner
            .held
            .lock()
            .expect("slots lock")
            .insert(member.clone(), key.clone());
        crate::metrics::get().cluster_slots_held.inc();
        Ok(Some(SharedSlot {
            slots: Arc::downgrade(&self.inner),
            conn: self.inner.cluster.conn(),
            key,
            member,
        }))
    }
}

/// Renews every held slot each `every` while the counter lives.
async fn renew_while_alive(slots: Weak<Slots>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(slots) = slots.upgrade() else { return };
        let held: Vec<(String, String)> = slots
            .held
            .lock()
            .expect("slots lock")
            .iter()
            .map(|(m, k)| (m.clone(), k.clone()))
            .collect();
        if held.is_empty() {
            continue;
        }
        let renew = redis::Script::new(RENEW_SLOTS);
        let mut script = renew.prepare_invoke();
        script.arg(slots.ttl.as_millis() as u64);
        for (member, key) in &held {
            script.key(key).arg(member);
        }
        let mut conn = slots.cluster.conn();
        drop(slots);
        if let Err(e) = script.invoke_async::<i64>(&mut conn).await {
            crate::metrics::get().cluster_redis_errors.inc();
            tracing::warn!(error = %e, "socket counts not renewed in Redis (they lapse; local caps still hold)");
        }
    }
}

impl Drop for SharedSlot {
    fn drop(&mut self) {
        crate::metrics::get().cluster_slots_held.dec();
        if let Some(slots) = self.slots.upgrade() {
            slots.held.lock().expect("slots lock").remove(&self.member);
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut conn = self.conn.clone();
        let (key, member) = (self.key.clone(), std::mem::take(&mut self.member));
        rt.spawn(async move {
            let removed: redis::RedisResult<i64> = redis::cmd("ZREM")
                .arg(&key)
                .arg(&member)
                .query_async(&mut conn)
                .await;
            if let Err(e) = removed {
                crate::metrics::get().cluster_redis_errors.inc();
                tracing::warn!(error = %e, "a closed socket's count stays in Redis until it lapses");
            }
        });
    }
}

/// Records one event in the window `name` (under `chorus:window:`) unless
/// `max` happened in the last `window`: `Ok(None)` when recorded,
/// `Ok(Some(wait))` until the window has room, `Err` when Redis cannot say.
pub async fn take_in_window(
    cluster: &Cluster,
    name: &[&str],
    max: usize,
    window: Duration,
) -> redis::RedisResult<Option<Duration>> {
    let mut parts = vec!["window"];
    parts.extend_from_slice(name);
    let key = Cluster::key(&parts);
    let entry = format!("{}:{}", cluster.instance(), uuid::Uuid::new_v4().simple());
    let wait_ms: u64 = redis::Script::new(TAKE_IN_WINDOW)
        .key(key)
        .arg(window.as_millis() as u64)
        .arg(max)
        .arg(entry)
        .invoke_async(&mut cluster.conn())
        .await?;
    Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
}
