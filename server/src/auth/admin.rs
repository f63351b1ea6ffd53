//! [`AdminUser`]: a signed-in user with the `admin` role (set from the
//! shell: `chorus users promote NAME`). 401 for no one, 403 `FORBIDDEN` for
//! other users.

use crate::auth::identity::AuthUser;
use crate::auth::token::TokenKeys;
use crate::error::AppError;
use crate::store::Store;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use shared::ErrorCode;

/// An admin, by user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser(pub String);

impl<S> FromRequestParts<S> for AdminUser
where
    S: Send + Sync,
    TokenKeys: FromRef<S>,
    crate::auth::revocation::TokenVersions: FromRef<S>,
    crate::client_ip::TrustedProxies: FromRef<S>,
    crate::quota::AnonAddresses: FromRef<S>,
    Store: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let AuthUser(id) = AuthUser::from_request_parts(parts, state).await?;
        if Store::from_ref(state).is_admin(&id).await? {
            Ok(Self(id))
        } else {
            Err(AppError::client(ErrorCode::Forbidden, "admins only"))
        }
    }
}
