//! `GET /api/models`: the models clients may pick and their prices (see
//! [`crate::engine::models`]); the app's model pickers read it.

use crate::state::AppState;
use crate::streams::generation::Generator;
use axum::extract::State;
use axum::{Json, Router, routing::get};
use shared::models::ModelList;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/models", get(models))
}

async fn models(State(generator): State<Generator>) -> Json<ModelList> {
    Json(generator.models.list())
}
