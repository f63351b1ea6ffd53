//! The stream layer under every SSE and WebSocket protocol: sequence
//! numbers, resume after a dropped connection, stop that really stops.
//!
//! - Routes: `GET /api/streams/{stream_id}` re-attaches (SSE, the same event
//!   format as the stream) after `Last-Event-ID` or `?after=N`: exactly the
//!   events after it, then the live tail, nothing twice.
//!   `POST /api/streams/{stream_id}/stop` stops it. Owner only; an unknown
//!   or expired stream is 410 `STREAM_EXPIRED` with its saved text.
//! - [`registry`]: the streams and their replay logs.
//! - [`generation`]: runs a generation into a stream.

pub mod generation;
pub mod log;
pub mod registry;

use crate::auth::identity::Identity;
use crate::error::{AppError, AppResult};
use crate::sse;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use generation::Generator;
use registry::Entry;
use serde::Deserialize;
use serde_json::json;
use shared::ErrorCode;
use shared::stream::StopResponse;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/streams/{stream_id}", get(resume))
        .route("/streams/{stream_id}/stop", post(stop))
}

#[derive(Debug, Deserialize)]
struct ResumeParams {
    after: Option<u64>,
}

async fn resume(
    State(state): State<AppState>,
    who: Identity,
    Path(stream_id): Path<String>,
    headers: HeaderMap,
    params: Result<Query<ResumeParams>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Response> {
    let Query(params) =
        params.map_err(|e| AppError::client(ErrorCode::BadRequest, e.body_text()))?;
    let entry = owned_stream(&state.generator, &who, &stream_id).await?;
    let after = last_event_id(&headers)?.or(params.after).unwrap_or(0);
    past_the_end(&entry, after)?;
    Ok(sse_of(&state.shutdown, &entry, after))
}

/// A cursor past the stream's last event names events that never were: a
/// finished stream is 410 `STREAM_EXPIRED`, a live one 400 `BAD_REQUEST`,
/// both with the stream's `last_seq`, never an empty 200.
fn past_the_end(entry: &Entry, after: u64) -> AppResult<()> {
    let last = entry.last_seq();
    if after <= last {
        return Ok(());
    }
    let details = json!({ "last_seq": last });
    Err(if entry.is_finished() {
        AppError::client(
            ErrorCode::StreamExpired,
            format!("this stream ended at event {last}; there is nothing after {after}"),
        )
    } else {
        AppError::client(
            ErrorCode::BadRequest,
            format!("this stream is at event {last}; {after} has not happened yet"),
        )
    }
    .with_details(details))
}

/// The `Last-Event-ID` a reconnecting client sent (a seq), if any.
pub fn last_event_id(headers: &HeaderMap) -> AppResult<Option<u64>> {
    headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    AppError::client(ErrorCode::BadRequest, "Last-Event-ID must be a seq number")
                })
        })
        .transpose()
}

async fn stop(
    State(state): State<AppState>,
    who: Identity,
    Path(stream_id): Path<String>,
) -> AppResult<Json<StopResponse>> {
    let entry = owned_stream(&state.generator, &who, &stream_id).await?;
    let status = if entry.is_finished() {
        "finished"
    } else {
        entry.cancel.cancel();
        "stopping"
    };
    Ok(Json(StopResponse {
        stream_id,
        status: status.into(),
    }))
}

/// The live stream if `who` owns it; 403 for someone else's; 410 with the
/// saved text (for its owner) when it is gone.
pub async fn owned_stream(
    generator: &Generator,
    who: &Identity,
    stream_id: &str,
) -> AppResult<Arc<Entry>> {
    let owner = who.owner_key();
    if let Some(entry) = generator.streams.get(stream_id) {
        if entry.owner != owner {
            return Err(AppError::client(
                ErrorCode::Forbidden,
                "this stream belongs to someone else",
            ));
        }
        return Ok(entry);
    }
    let saved = generator
        .store
        .generation(stream_id)
        .await?
        .filter(|g| g.owner == owner);
    let err = AppError::client(
        ErrorCode::StreamExpired,
        "this stream has ended and can no longer be replayed",
    );
    Err(match saved {
        Some(g) => err.with_details(json!({"text": g.text, "status": g.status})),
        None => err,
    })
}

/// The stream's events after `after` as SSE: `id:` = seq, `event:` when the
/// protocol names its events, JSON data.
pub fn sse_of(shutdown: &CancellationToken, entry: &Arc<Entry>, after: u64) -> Response {
    let events = entry.subscribe(after).map(|ev| {
        // `event:` before `data:`: line readers (the hybrid chat protocol's client) take the
        // name from the line above the data.
        let mut out = axum::response::sse::Event::default();
        if let Some(name) = ev.name {
            out = out.event(name);
        }
        out.id(ev.seq.to_string()).data(ev.json.as_str())
    });
    sse::response(shutdown, events)
}
