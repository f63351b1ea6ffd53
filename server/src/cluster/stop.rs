//! Stop from any instance: a stop asked on an instance that does not run
//! the stream is published on the running instance's channel,
//! `chorus:stop:{instance}` (the message is the stream id); each instance
//! listens on its own ([`spawn_listener`]) and stops the stream as a local
//! stop does (the generation's call is dropped, closing the upstream
//! connection, and its partial text saved as `stopped`).

use super::Cluster;
use crate::streams::registry::Streams;
use tokio_util::sync::CancellationToken;

/// The stop channel of `instance`.
pub fn channel(instance: &str) -> String {
    Cluster::key(&["stop", instance])
}

/// Asks `instance` to stop stream `id`; `false` when no instance listens
/// there (it went away: the stream ends for its readers anyway).
pub async fn publish(cluster: &Cluster, instance: &str, id: &str) -> redis::RedisResult<bool> {
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg(channel(instance))
        .arg(id)
        .query_async(&mut cluster.conn())
        .await?;
    Ok(receivers > 0)
}

/// Listens on this instance's stop channel until `shutdown`, and cancels
/// the streams named there.
pub fn spawn_listener(cluster: &Cluster, streams: Streams, shutdown: CancellationToken) {
    let channel = channel(cluster.instance());
    cluster.listen(channel, "stops from other instances", shutdown, move |id| {
        if let Some(entry) = streams.get(&id) {
            tracing::info!(stream = %id, "stopped from another instance");
            entry.cancel.cancel();
        }
    });
}
