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
//! - [`Found`]: a stream found by id: this instance's ([`Entry`]), or, in a
//!   cluster, another instance's ([`Remote`], read from Redis). Resume and
//!   stop work on both; the events are the same bytes.
//!
//! [`Remote`]: crate::cluster::streams::Remote

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
    let found = owned_stream(&state.generator, &who, &stream_id).await?;
    let after = last_event_id(&headers)?.or(params.after).unwrap_or(0);
    past_the_end(&found, after)?;
    Ok(sse_of_found(&state.shutdown, &found, after, "error"))
}

/// A cursor past the stream's last event names events that never were: a
/// finished stream is 410 `STREAM_EXPIRED`, a live one 400 `BAD_REQUEST`,
/// both with the stream's `last_seq`, never an empty 200.
fn past_the_end(entry: &Found, after: u64) -> AppResult<()> {
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
    let found = owned_stream(&state.generator, &who, &stream_id).await?;
    let status = if found.is_finished() {
        "finished"
    } else {
        found.stop().await?;
        "stopping"
    };
    Ok(Json(StopResponse {
        stream_id,
        status: status.into(),
    }))
}

/// A stream found by id, on this instance or another.
#[derive(Debug, Clone)]
pub enum Found {
    /// This instance runs (or ran) it: read from memory.
    Local(Arc<Entry>),
    /// Another instance of the cluster runs (or ran) it: read from Redis.
    Remote(Box<crate::cluster::streams::Remote>),
}

impl Found {
    pub fn id(&self) -> &str {
        match self {
            Found::Local(e) => &e.id,
            Found::Remote(r) => &r.id,
        }
    }

    pub fn owner(&self) -> &str {
        match self {
            Found::Local(e) => &e.owner,
            Found::Remote(r) => &r.meta.owner,
        }
    }

    /// Whether it has finished (for a remote one: when it was looked up).
    pub fn is_finished(&self) -> bool {
        match self {
            Found::Local(e) => e.is_finished(),
            Found::Remote(r) => r.meta.done,
        }
    }

    /// The seq of its last event so far.
    pub fn last_seq(&self) -> u64 {
        match self {
            Found::Local(e) => e.last_seq(),
            Found::Remote(r) => r.meta.last,
        }
    }

    /// The events after `after`, then the live tail, each once. A remote
    /// stream whose instance went away ends with a `STREAM_INTERRUPTED`
    /// error of type (and SSE name) `error_kind`.
    pub fn subscribe(
        &self,
        after: u64,
        error_kind: crate::cluster::streams::ErrorKind,
    ) -> futures_util::stream::BoxStream<'static, Arc<registry::Event>> {
        match self {
            Found::Local(e) => e.subscribe(after).boxed(),
            Found::Remote(r) => r.subscribe(after, error_kind).boxed(),
        }
    }

    /// Stops its generation, here or on the instance that runs it.
    pub async fn stop(&self) -> AppResult<()> {
        match self {
            Found::Local(e) => e.cancel.cancel(),
            Found::Remote(r) => {
                let heard = crate::cluster::stop::publish(r.cluster(), &r.meta.instance, &r.id)
                    .await
                    .map_err(|e| AppError::Internal(format!("publishing a stop: {e}")))?;
                if !heard {
                    tracing::info!(stream = %r.id, instance = %r.meta.instance, "a stop for an instance that is gone");
                }
            }
        }
        Ok(())
    }
}

/// The live stream if `who` owns it (on this instance, or in a cluster on
/// any); 403 for someone else's; 410 with the saved text (for its owner)
/// when it is gone.
pub async fn owned_stream(
    generator: &Generator,
    who: &Identity,
    stream_id: &str,
) -> AppResult<Found> {
    let owner = who.owner_key();
    let mut found = match generator.streams.get(stream_id) {
        Some(entry) => Some(Found::Local(entry)),
        None => remote_stream(generator, stream_id).await?,
    };
    if found.is_none() && generator.cluster.is_some() {
        found = running_elsewhere(generator, stream_id).await?;
    }
    if let Some(found) = found {
        if found.owner() != owner {
            return Err(AppError::client(
                ErrorCode::Forbidden,
                "this stream belongs to someone else",
            ));
        }
        return Ok(found);
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

/// How long a reader waits for a stream another instance has begun to
/// reach Redis: its first events are mirrored a moment after the reply's
/// headers went out, so a reload landing elsewhere at once may come first.
const MIRROR_LAG: std::time::Duration = std::time::Duration::from_secs(3);

/// In a cluster, a stream the database says is running but Redis does not
/// know yet: looked up again until it is there, for at most [`MIRROR_LAG`].
async fn running_elsewhere(generator: &Generator, stream_id: &str) -> AppResult<Option<Found>> {
    let running = |g: &Option<crate::store::generations::SavedGeneration>| {
        g.as_ref().is_some_and(|g| g.status == "running")
    };
    let deadline = tokio::time::Instant::now() + MIRROR_LAG;
    while running(&generator.store.generation(stream_id).await?)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if let Some(found) = remote_stream(generator, stream_id).await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// In a cluster, the stream another instance runs, if Redis knows it.
pub async fn remote_stream(generator: &Generator, stream_id: &str) -> AppResult<Option<Found>> {
    let Some(cluster) = &generator.cluster else {
        return Ok(None);
    };
    // Ids are `st_` and hex: anything else is no stream of ours.
    if !stream_id.starts_with("st_") || !stream_id[3..].bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    // Redis down: only this instance's streams and the saved ones are
    // found (the cluster degrades to single instances).
    let meta = match crate::cluster::streams::lookup(cluster, stream_id).await {
        Ok(meta) => meta,
        Err(e) => {
            tracing::warn!(stream = stream_id, error = %e, "could not look a stream up in Redis");
            None
        }
    };
    Ok(meta.map(|meta| {
        Found::Remote(Box::new(crate::cluster::streams::Remote::new(
            cluster,
            &generator.store,
            stream_id,
            meta,
        )))
    }))
}

/// The stream's events after `after` as SSE: `id:` = seq, `event:` when the
/// protocol names its events, JSON data.
pub fn sse_of(shutdown: &CancellationToken, entry: &Arc<Entry>, after: u64) -> Response {
    sse_events(shutdown, entry.subscribe(after))
}

/// [`sse_of`] for a stream on any instance; `error_kind` names the
/// protocol's error event, should its instance go away.
pub fn sse_of_found(
    shutdown: &CancellationToken,
    found: &Found,
    after: u64,
    error_kind: crate::cluster::streams::ErrorKind,
) -> Response {
    sse_events(shutdown, found.subscribe(after, error_kind))
}

fn sse_events(
    shutdown: &CancellationToken,
    events: impl futures_util::Stream<Item = Arc<registry::Event>> + Send + 'static,
) -> Response {
    let events = events.map(|ev| {
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
