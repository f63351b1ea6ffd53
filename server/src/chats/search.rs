//! `GET /api/v1/chats/search?q=…`: the caller's chats whose title or any
//! message contains `q` (any case), most recently active first, each with
//! the words around its first matching message ([`ChatHit`]).

use crate::auth::identity::Identity;
use crate::error::{AppError, AppResult};
use crate::store::Store;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use shared::ErrorCode;
use shared::chat::{ChatHit, MAX_SEARCH_CHARS};

/// Most chats one search returns.
const MAX_HITS: u32 = 20;

#[derive(Deserialize)]
pub(crate) struct SearchParams {
    q: String,
}

pub(crate) async fn search(
    State(store): State<Store>,
    who: Identity,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> AppResult<Json<Vec<ChatHit>>> {
    let Query(params) =
        params.map_err(|e| AppError::client(ErrorCode::BadRequest, e.body_text()))?;
    let q = params.q.trim();
    let n = q.chars().count();
    if n == 0 || n > MAX_SEARCH_CHARS {
        return Err(AppError::client(
            ErrorCode::ValidationError,
            format!("a search has 1 to {MAX_SEARCH_CHARS} characters"),
        ));
    }
    let hits = store.search_chats(&who.owner_key(), q, MAX_HITS).await?;
    Ok(Json(
        hits.into_iter()
            .map(|(chat, excerpt)| ChatHit { chat, excerpt })
            .collect(),
    ))
}
