//! The API's documents, for other programs: `GET /api/openapi.json` (every
//! HTTP route, OpenAPI 3.1) and `GET /api/asyncapi.json` (the socket and SSE
//! protocols, AsyncAPI 3). Both are written from the code: [`openapi`] and
//! [`asyncapi`] declare them over the `shared` types, whose JSON Schemas
//! schemars generates (shared's `schema` feature, which the app leaves
//! off). Each is built once, on first request.
//!
//! The `send` of SendMessage is the hybrid chat's POST body, not a socket
//! message, so it is in the OpenAPI document.

mod asyncapi;
mod openapi;

use crate::state::AppState;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use std::sync::LazyLock;

static OPENAPI: LazyLock<Value> = LazyLock::new(openapi::document);
static ASYNCAPI: LazyLock<Value> = LazyLock::new(asyncapi::document);

/// A schema generator whose definitions go to `components.schemas`, where
/// both documents keep them.
fn schemas(settings: schemars::generate::SchemaSettings) -> schemars::SchemaGenerator {
    settings
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator()
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { Json(&*OPENAPI) }))
        .route("/asyncapi.json", get(|| async { Json(&*ASYNCAPI) }))
}
