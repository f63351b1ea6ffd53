//! The hybrid chat protocol's `GET|POST /api/v1/messages/test-sse`: five `test_message`
//! events then `test_complete`, to check that SSE passes a proxy unbuffered.
//! `?interval_ms=` (0–5000, default 1000) sets the gap between events.

use crate::error::AppError;
use crate::sse;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::{Router, routing::get};
use futures_util::StreamExt;
use serde::Deserialize;
use shared::ErrorCode;
use shared::test_sse::{ServerEvent, TEST_MESSAGES};
use std::time::Duration;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/messages/test-sse", get(test_sse).post(test_sse))
}

#[derive(Debug, Deserialize)]
struct Params {
    interval_ms: Option<u64>,
}

async fn test_sse(
    State(state): State<AppState>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) =
        params.map_err(|e| AppError::client(ErrorCode::BadRequest, e.body_text()))?;
    let interval = params.interval_ms.unwrap_or(1000);
    if interval > 5000 {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            "interval_ms must be between 0 and 5000",
        ));
    }
    let events = futures_util::stream::iter(1..=TEST_MESSAGES + 1).then(move |n| async move {
        if n > 1 && interval > 0 {
            tokio::time::sleep(Duration::from_millis(interval)).await;
        }
        let ev = if n <= TEST_MESSAGES {
            ServerEvent::TestMessage {
                counter: n,
                message: format!("Test message {n}"),
            }
        } else {
            ServerEvent::TestComplete {
                message: "SSE test completed".into(),
            }
        };
        sse::event(ev.name(), u64::from(n), &ev)
    });
    Ok(sse::response(&state.shutdown, events))
}
