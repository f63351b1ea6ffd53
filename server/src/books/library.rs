//! `GET /api/books`: the caller's books (BooksWriter sessions), to reopen
//! one on `/ws/{session_id}`: each with its title (the first saved piece's,
//! else the first request's), how many pieces are saved and when the
//! writers last worked on it, most recent first.

use crate::auth::identity::Caller;
use crate::error::AppResult;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use shared::books::BookList;

/// Most books listed.
const MAX_BOOKS: u32 = 50;

pub(super) async fn list(
    State(state): State<AppState>,
    Caller { who, .. }: Caller,
) -> AppResult<Json<BookList>> {
    let books = state.store.books_of(&who.owner_key(), MAX_BOOKS).await?;
    Ok(Json(BookList { books }))
}
