//! Which instances of the cluster are alive: each keeps a lease in Redis,
//! and the generations of an instance whose lease is gone are recovered by
//! the others.
//!
//! - The lease: `chorus:instance:{id}`, set with a [`LEASE_SECS`] expiry
//!   and renewed every [`RENEW_EVERY`] by [`spawn_lease`]; deleted at a
//!   graceful shutdown once the generations have saved and the stream
//!   mirror has written their last events ([`Cluster::leave`]), or
//!   [`LEAVE_WAIT`] after the shutdown began at the latest. Readers of a
//!   stream on other instances check it ([`alive`]) to end their reads
//!   with `STREAM_INTERRUPTED` when the stream's instance died.
//! - Recovery ([`spawn_recovery`]): at start and every [`SWEEP_EVERY`],
//!   any instance looks at the instances that still have generations
//!   running or holding quota in the database (migration `0017` records
//!   which instance runs each) and recovers those of an instance whose
//!   lease has been gone for [`DEAD_AFTER`] while its own lease was being
//!   renewed (so a Redis restart, which drops every lease for a moment,
//!   kills nobody). Recovery marks them `interrupted` and settles their
//!   reservations once, whichever instances run it.

use super::Cluster;
use crate::store::Store;
use redis::AsyncCommands;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Seconds a lease lasts unless renewed.
pub const LEASE_SECS: u64 = 3;

/// How often an instance renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);

/// How often the database is looked at for dead instances' generations.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// How long a lease must have been missing, while this instance could
/// renew its own, before its instance counts as dead for recovery.
pub const DEAD_AFTER: Duration = Duration::from_secs(LEASE_SECS);

/// Longest a shutting-down instance keeps its lease while it has not yet
/// left ([`Cluster::leave`]).
pub const LEAVE_WAIT: Duration = Duration::from_secs(15);

/// The lease key of `instance`.
pub fn lease_key(instance: &str) -> String {
    Cluster::key(&["instance", instance])
}

/// Whether `instance`'s lease is held.
pub async fn alive(cluster: &Cluster, instance: &str) -> redis::RedisResult<bool> {
    cluster.conn().exists(lease_key(instance)).await
}

/// Since when this instance's own lease has been renewed without a
/// failure (`None`: the last renewal failed).
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<Mutex<Option<Instant>>>);

impl Health {
    fn renewed(&self) {
        self.0
            .lock()
            .expect("health lock")
            .get_or_insert_with(Instant::now);
    }

    fn failed(&self) {
        *self.0.lock().expect("health lock") = None;
    }

    /// Whether renewals have succeeded for at least `d`.
    pub fn healthy_for(&self, d: Duration) -> bool {
        self.0
            .lock()
            .expect("health lock")
            .is_some_and(|t| t.elapsed() >= d)
    }
}

async fn renew(cluster: &Cluster) -> redis::RedisResult<()> {
    cluster
        .conn()
        .set_ex(lease_key(cluster.instance()), 1, LEASE_SECS)
        .await
}

/// Waits for `every`'s next tick (the first comes at once); `false` once
/// `shutdown` is cancelled.
async fn tick(every: &mut tokio::time::Interval, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = every.tick() => true,
    }
}

/// An interval that does not burst after a stall.
fn interval(period: Duration) -> tokio::time::Interval {
    let mut every = tokio::time::interval(period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every
}

/// Takes this instance's lease now and renews it until `shutdown`, then
/// lets it go. Failures are logged once per outage; the lease comes back
/// with Redis.
pub fn spawn_lease(cluster: &Cluster, health: Health, shutdown: CancellationToken) {
    let cluster = cluster.clone();
    tokio::spawn(async move {
        let mut every = interval(RENEW_EVERY);
        while tick(&mut every, &shutdown).await {
            match renew(&cluster).await {
                Ok(()) => {
                    if !health.healthy_for(Duration::ZERO) {
                        tracing::info!(
                            instance = cluster.instance(),
                            "holding this instance's lease in Redis"
                        );
                    }
                    health.renewed();
                }
                Err(e) => {
                    crate::metrics::get().cluster_redis_errors.inc();
                    if health.healthy_for(Duration::ZERO) {
                        tracing::warn!(error = %e, "could not renew this instance's lease in Redis; streams go on locally");
                    }
                    health.failed();
                }
            }
        }
        // Kept while the generations save and the mirror writes their
        // last events: readers elsewhere must not take the stream for
        // interrupted meanwhile.
        tokio::select! {
            _ = cluster.left().cancelled() => {}
            _ = tokio::time::sleep(LEAVE_WAIT) => release(&cluster).await,
        }
    });
}

/// Gives this instance's lease back.
pub(crate) async fn release(cluster: &Cluster) {
    let _: redis::RedisResult<()> = cluster.conn().del(lease_key(cluster.instance())).await;
}

/// Recovers the generations of dead instances, at start and every
/// [`SWEEP_EVERY`], until `shutdown`.
pub fn spawn_recovery(
    cluster: &Cluster,
    store: Store,
    health: Health,
    shutdown: CancellationToken,
) {
    let cluster = cluster.clone();
    tokio::spawn(async move {
        let mut missing: HashMap<String, Instant> = HashMap::new();
        let mut every = interval(SWEEP_EVERY);
        while tick(&mut every, &shutdown).await {
            if let Err(e) = sweep(&cluster, &store, &health, &mut missing).await {
                tracing::warn!(error = %e, "could not look for dead instances' generations");
            }
        }
    });
}

/// One look: leases missing for [`DEAD_AFTER`] (seen from a healthy
/// instance) have their generations recovered.
async fn sweep(
    cluster: &Cluster,
    store: &Store,
    health: &Health,
    missing: &mut HashMap<String, Instant>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let instances = store.instances_with_unsettled().await?;
    missing.retain(|i, _| instances.contains(i));
    for instance in instances {
        if instance == cluster.instance() {
            continue;
        }
        // A generation no instance recorded was not a cluster member's:
        // nobody renews a lease for it.
        let gone = instance.is_empty() || !alive(cluster, &instance).await?;
        if !gone {
            missing.remove(&instance);
            continue;
        }
        let since = *missing.entry(instance.clone()).or_insert_with(Instant::now);
        if since.elapsed() < DEAD_AFTER || !health.healthy_for(DEAD_AFTER) {
            continue;
        }
        let count = |text: &str| crate::engine::approx_tokens(text) as i64;
        let (interrupted, settled) = store.recover_instance(&instance, count).await?;
        missing.remove(&instance);
        crate::metrics::get()
            .cluster_takeovers
            .get_or_create(&[("kind", "instance")])
            .inc();
        if interrupted + settled > 0 {
            tracing::warn!(
                instance = %instance,
                interrupted,
                settled,
                "recovered the generations of an instance that went away"
            );
        }
    }
    Ok(())
}
