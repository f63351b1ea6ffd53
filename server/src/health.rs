//! `GET /api/health`: the server answers and says its version (alive).
//! `GET /api/ready`: it can serve: the database answers and has every
//! migration this binary carries, and, in a cluster (`--redis-url`), the
//! shared Redis answers (ready). A load balancer sends no traffic to an
//! instance that cannot reach Redis: its streams, stops and news would
//! stay its own.

use crate::cluster::Cluster;
use crate::db::Db;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router, routing::get};
use shared::health::{Check, Health, Readiness};
use std::time::Duration;

/// Longest wait for the database (or Redis) before it counts as unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let readiness = readiness(state.store.db(), state.cluster.as_ref()).await;
    let status = if readiness.status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

pub(crate) async fn readiness(db: &Db, cluster: Option<&Cluster>) -> Readiness {
    let check = |name: &str, ok: bool, detail: String| Check {
        name: name.into(),
        ok,
        detail,
    };
    let mut checks = match tokio::time::timeout(READY_TIMEOUT, db.migrations_applied()).await {
        Ok(Ok((done, total))) => vec![
            check("database", true, db.kind_name().into()),
            check(
                "migrations",
                done == total,
                format!("{done} of {total} applied"),
            ),
        ],
        failed => {
            match failed {
                Ok(Err(e)) => tracing::warn!(error = %e, "readiness: the database failed"),
                _ => tracing::warn!("readiness: the database did not answer in time"),
            }
            vec![
                check("database", false, "unreachable".into()),
                check("migrations", false, "unknown".into()),
            ]
        }
    };
    if let Some(cluster) = cluster {
        let ok = redis_answers(cluster).await;
        checks.push(check(
            "redis",
            ok,
            if ok { "answers" } else { "unreachable" }.into(),
        ));
    }
    let ok = checks.iter().all(|c| c.ok);
    Readiness {
        status: if ok { "ready" } else { "not_ready" }.into(),
        checks,
    }
}

/// Whether the cluster's Redis answers a `PING` in time.
async fn redis_answers(cluster: &Cluster) -> bool {
    let mut conn = cluster.conn();
    let cmd = redis::cmd("PING");
    let ping = cmd.query_async::<String>(&mut conn);
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            crate::metrics::get().cluster_redis_errors.inc();
            tracing::warn!(error = %e, "readiness: Redis failed");
            false
        }
        Err(_) => {
            tracing::warn!("readiness: Redis did not answer in time");
            false
        }
    }
}
