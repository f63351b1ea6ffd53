//! Stop from any instance: a stop asked on an instance that does not run
//! the stream is published on the running instance's channel,
//! `chorus:stop:{instance}` (the message is the stream id); each instance
//! listens on its own ([`spawn_listener`]) and stops the stream as a local
//! stop does (the generation's call is dropped, closing the upstream
//! connection, and its partial text saved as `stopped`).

use super::Cluster;
use crate::streams::registry::Streams;
use futures_util::StreamExt;
use std::time::Duration;
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
/// the streams named there; subscribes again after Redis comes back.
pub fn spawn_listener(cluster: &Cluster, streams: Streams, shutdown: CancellationToken) {
    let cluster = cluster.clone();
    tokio::spawn(async move {
        let channel = channel(cluster.instance());
        let mut failed = false;
        while !shutdown.is_cancelled() {
            let subscribed = async {
                let mut pubsub = cluster.pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = match subscribed.await {
                Ok(p) => p,
                Err(e) => {
                    if !std::mem::replace(&mut failed, true) {
                        tracing::warn!(error = %e, "cannot listen for stops from other instances; retrying");
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            if std::mem::replace(&mut failed, false) {
                tracing::info!("listening for stops from other instances again");
            }
            let mut messages = pubsub.into_on_message();
            loop {
                let msg = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    m = messages.next() => m,
                };
                let Some(msg) = msg else { break };
                let Ok(id) = msg.get_payload::<String>() else {
                    continue;
                };
                if let Some(entry) = streams.get(&id) {
                    tracing::info!(stream = %id, "stopped from another instance");
                    entry.cancel.cancel();
                }
            }
            failed = true;
            tracing::warn!("lost the stop channel's connection to Redis; subscribing again");
        }
    });
}
