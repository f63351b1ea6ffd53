//! `GET /api/health`: the server answers and says its version (alive).
//! `GET /api/ready`: it can serve: the database answers and has every
//! migration this binary carries (ready).

use crate::db::Db;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router, routing::get};
use shared::health::{Check, Health, Readiness};
use std::time::Duration;

/// Longest wait for the database before it counts as unreachable.
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
    let readiness = readiness(state.store.db()).await;
    let status = if readiness.status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

pub(crate) async fn readiness(db: &Db) -> Readiness {
    let check = |name: &str, ok: bool, detail: String| Check {
        name: name.into(),
        ok,
        detail,
    };
    let checks = match tokio::time::timeout(READY_TIMEOUT, db.migrations_applied()).await {
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
    let ok = checks.iter().all(|c| c.ok);
    Readiness {
        status: if ok { "ready" } else { "not_ready" }.into(),
        checks,
    }
}
