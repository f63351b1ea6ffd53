//! `GET /api/usage` → `{"used","limit","remaining","kind"}` for the caller
//! (the same numbers travel as the hybrid chat's `usage_info`). The limits
//! themselves are [`crate::quota`].

use crate::auth::identity::Identity;
use crate::error::AppResult;
use crate::state::AppState;
use crate::streams::generation::Generator;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shared::auth::Usage;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/usage", get(usage))
}

async fn usage(State(generator): State<Generator>, who: Identity) -> AppResult<Json<Usage>> {
    Ok(Json(generator.quota.usage(&who).await?))
}
