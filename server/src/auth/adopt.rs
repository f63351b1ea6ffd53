//! On sign-up and sign-in: the visitor's things from the same browser (its
//! `x-anon-id`) move into the account — chats, BooksWriter books and
//! persona answers (`Store::adopt_visitor`). A request without the header,
//! or with an id that is not one, moves nothing; a failure to move is
//! logged and does not fail the sign-in.

use super::identity::Identity;
use crate::books::hub::Books;
use crate::store::Store;
use axum::http::HeaderMap;
use shared::auth::{ANON_ID_HEADER, is_valid_anon_id};

/// Moves the visitor's things (if the request names a visitor) to `user_id`;
/// `books` lets go of the visitor's live sessions so they reopen as the
/// account's.
pub(crate) async fn adopt_visitor(
    store: &Store,
    books: &Books,
    headers: &HeaderMap,
    user_id: &str,
) {
    let Some(anon) = headers
        .get(ANON_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| is_valid_anon_id(id))
    else {
        return;
    };
    let from = Identity::Anonymous(anon.to_owned()).owner_key();
    let to = Identity::User(user_id.to_owned()).owner_key();
    match store.adopt_visitor(&from, &to).await {
        Ok(moved) => {
            books.forget_owner(&from);
            tracing::info!(user = %user_id, ?moved, "a visitor's things moved in");
        }
        Err(e) => tracing::warn!(user = %user_id, error = %e, "could not move a visitor's things"),
    }
}
