//! Role cards. A signed-in user writes memories about a person
//! and the people around them; Chorus streams the generation of a layered
//! role card over SSE and lets them export it.
//!
//! - REST (owner only): `GET/POST /api/memories`, `DELETE /api/memories/{id}`,
//!   `GET/POST /api/relations`, `DELETE /api/relations/{id}` (at most
//!   [`MAX_MEMORIES`] and [`MAX_RELATIONS`] per account),
//!   `GET /api/rolecard` (204 before the first), `GET /api/rolecard/export?format=ccv2|ccv3`.
//! - Streams, each `POST` (body `{"options":{…}}`) or `GET` (options as
//!   query parameters, token as `?token=` for `EventSource`):
//!   `/api/rolecard/generate/stream`, `/api/rolecard/layers/core/stream`,
//!   `/api/rolecard/layers/relation/{relationId}/stream`,
//!   `/api/rolecard/layers/batch/stream`. Events are `data: {json}` with the
//!   type inside and `id:` = seq; resume and stop come from `streams`.
//! - the offline card (`engine::offline::rolecard`), [`generate`] (the stream runner),
//!   [`export`] (Character Card V2/V3).

pub(crate) mod export;
pub(crate) mod generate;

use crate::auth::identity::AuthUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::Store;
use crate::store::rolecards::{Owner, Table};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use generate::Job;
use shared::ErrorCode;
use shared::rolecard::{
    GenerateOptions, MAX_MEMORY_CHARS, MAX_NAME_CHARS, MAX_NOTES_CHARS, Memory, NewMemory,
    NewRelation, Relation,
};

/// Most memories one account keeps: every card's prompt lists them all.
pub(crate) const MAX_MEMORIES: i64 = 500;
/// Most relations one account keeps: a card writes a layer for each, and
/// its stream must fit the per-stream byte bound.
pub(crate) const MAX_RELATIONS: i64 = 200;

/// 422 `VALIDATION_ERROR` (with `details.limit`) when the user already
/// keeps `limit` of `table`'s rows.
async fn within_cap(store: &Store, table: Table, user: &str, limit: i64) -> AppResult<()> {
    if store.count_owned(table, user).await? < limit {
        return Ok(());
    }
    let what = match table {
        Table::Memories => "memories",
        Table::Relations => "relations",
    };
    Err(AppError::client(
        ErrorCode::ValidationError,
        format!("an account keeps at most {limit} {what}: delete one first"),
    )
    .with_details(serde_json::json!({ "limit": limit })))
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/memories", get(list_memories).post(add_memory))
        .route("/memories/{id}", delete(delete_memory))
        .route("/relations", get(list_relations).post(add_relation))
        .route("/relations/{id}", delete(delete_relation))
        .route("/rolecard", get(get_card))
        .route("/rolecard/export", get(export::export))
        .route(
            "/rolecard/generate/stream",
            get(generate_get).post(generate_post),
        )
        .route(
            "/rolecard/layers/core/stream",
            get(core_stream).post(core_stream),
        )
        .route(
            "/rolecard/layers/relation/{relation_id}/stream",
            get(relation_stream).post(relation_stream),
        )
        .route(
            "/rolecard/layers/batch/stream",
            get(batch_stream).post(batch_stream),
        )
}

async fn list_memories(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<Vec<Memory>>> {
    Ok(Json(state.store.memories(&user).await?))
}

async fn add_memory(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<NewMemory>,
) -> AppResult<(StatusCode, Json<Memory>)> {
    let content = body.content.trim();
    let n = content.chars().count();
    if n == 0 || n > MAX_MEMORY_CHARS {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            format!("a memory has 1 to {MAX_MEMORY_CHARS} characters"),
        ));
    }
    within_cap(&state.store, Table::Memories, &user, MAX_MEMORIES).await?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.add_memory(&user, content).await?),
    ))
}

async fn delete_memory(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    delete_owned(&state.store, Table::Memories, &id, &user, "memory").await
}

async fn list_relations(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<Vec<Relation>>> {
    Ok(Json(state.store.relations(&user).await?))
}

async fn add_relation(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<NewRelation>,
) -> AppResult<(StatusCode, Json<Relation>)> {
    let name = body.name.trim();
    let relationship = body.relationship.trim();
    let within = |s: &str, max: usize| (1..=max).contains(&s.chars().count());
    if !within(name, MAX_NAME_CHARS) || !within(relationship, MAX_NAME_CHARS) {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            format!("name and relationship have 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if body.notes.chars().count() > MAX_NOTES_CHARS {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            format!("notes have at most {MAX_NOTES_CHARS} characters"),
        ));
    }
    within_cap(&state.store, Table::Relations, &user, MAX_RELATIONS).await?;
    let r = state
        .store
        .add_relation(&user, name, relationship, body.notes.trim())
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

async fn delete_relation(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    delete_owned(&state.store, Table::Relations, &id, &user, "relation").await
}

async fn delete_owned(
    store: &Store,
    table: Table,
    id: &str,
    user: &str,
    what: &str,
) -> AppResult<StatusCode> {
    match store.owner_of(table, id, user).await? {
        Owner::Missing => Err(AppError::not_found(format!("no such {what}"))),
        Owner::Other => Err(AppError::client(
            ErrorCode::Forbidden,
            format!("this {what} belongs to someone else"),
        )),
        Owner::Caller => {
            store.delete_owned(table, id, user).await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

/// The latest card, or 204 when none has been generated yet.
async fn get_card(State(state): State<AppState>, AuthUser(user): AuthUser) -> AppResult<Response> {
    Ok(match state.store.rolecard(&user).await? {
        Some(card) => Json(card).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The stream as SSE, with its id in `X-Stream-Id` for resume and stop.
fn stream_response(state: &AppState, user: &str, job: Job) -> Response {
    let entry = generate::start(&state.generator, user, job);
    let mut res = crate::streams::sse_of(&state.shutdown, &entry, 0);
    if let Ok(v) = HeaderValue::from_str(&entry.id) {
        res.headers_mut().insert("x-stream-id", v);
    }
    res
}

/// Options from a `POST` body: `{"options":{…}}`, the options themselves,
/// or nothing.
pub(crate) fn options_from_body(body: &Bytes) -> AppResult<GenerateOptions> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(GenerateOptions::default());
    }
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        AppError::client(ErrorCode::InvalidJson, format!("the body is not JSON: {e}"))
    })?;
    let opts = v.get("options").cloned().unwrap_or(v);
    serde_json::from_value(opts)
        .map_err(|e| AppError::client(ErrorCode::ValidationError, format!("bad options: {e}")))
}

async fn generate_post(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    body: Bytes,
) -> AppResult<Response> {
    let opts = options_from_body(&body)?;
    Ok(stream_response(&state, &user, Job::Full(opts)))
}

async fn generate_get(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    opts: Result<Query<GenerateOptions>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Response> {
    let Query(opts) = opts.map_err(|e| AppError::client(ErrorCode::BadRequest, e.body_text()))?;
    Ok(stream_response(&state, &user, Job::Full(opts)))
}

async fn core_stream(State(state): State<AppState>, AuthUser(user): AuthUser) -> Response {
    stream_response(&state, &user, Job::Core)
}

async fn relation_stream(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(relation_id): Path<String>,
) -> AppResult<Response> {
    match state
        .store
        .owner_of(Table::Relations, &relation_id, &user)
        .await?
    {
        Owner::Missing => Err(AppError::not_found("no such relation")),
        Owner::Other => Err(AppError::client(
            ErrorCode::Forbidden,
            "this relation belongs to someone else",
        )),
        Owner::Caller => {
            let relation = state
                .store
                .relations(&user)
                .await?
                .into_iter()
                .find(|r| r.id == relation_id)
                .ok_or_else(|| AppError::not_found("no such relation"))?;
            Ok(stream_response(&state, &user, Job::Relation(relation)))
        }
    }
}

async fn batch_stream(State(state): State<AppState>, AuthUser(user): AuthUser) -> Response {
    stream_response(&state, &user, Job::Batch)
}
