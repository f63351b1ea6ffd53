//! Logout across instances: a logout revokes the user's tokens in the
//! database (every instance refuses them within the versions' cache time)
//! and closes the user's open sockets on its own instance at once; the
//! user id published on `chorus:signout` closes them on the others.

use super::Cluster;
use tokio_util::sync::CancellationToken;

fn channel() -> String {
    Cluster::key(&["signout"])
}

/// Tells every instance that `user_id` signed out.
pub async fn publish(cluster: &Cluster, user_id: &str) -> redis::RedisResult<()> {
    redis::cmd("PUBLISH")
        .arg(channel())
        .arg(user_id)
        .query_async(&mut cluster.conn())
        .await
}

/// Calls `signed_out` with each user another instance signed out, until
/// `shutdown` (the state closes that user's sockets here).
pub fn spawn_listener(
    cluster: &Cluster,
    shutdown: CancellationToken,
    signed_out: impl Fn(&str) + Send + 'static,
) {
    cluster.listen(
        channel(),
        "logouts on other instances",
        shutdown,
        move |user| {
            signed_out(&user);
        },
    );
}
