//! `GET /api/health`: the server answers and says its version.

use crate::state::AppState;
use axum::{Json, Router, routing::get};
use shared::health::Health;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
