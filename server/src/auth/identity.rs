//! Who is asking: a registered user (JWT) or an anonymous visitor
//! (`x-anon-id`). One extractor for every handler and socket.
//!
//! Sources, in order: `Authorization: Bearer`, `?token=` (EventSource and
//! WebSocket cannot set headers), then `x-anon-id` or `?anon_id=`. A bad
//! token is a 401, never silently anonymous.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use shared::ErrorCode;
use shared::auth::{ANON_ID_HEADER, is_valid_anon_id};

/// The caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A registered user, by id.
    User(String),
    /// An anonymous visitor, by their `x-anon-id`.
    Anonymous(String),
}

impl Identity {
    /// A stable key for ownership checks ("user:…" or "anon:…").
    pub fn owner_key(&self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Anonymous(id) => format!("anon:{id}"),
        }
    }
}

/// A registered user: 401 for anyone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser(pub String);

/// The caller if they said who they are; `None` if they sent nothing at all.
/// Bad credentials are still an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeIdentity(pub Option<Identity>);

/// The bearer token of a request (`Authorization: Bearer` or `?token=`),
/// unchecked. `Err` for an Authorization header of another scheme.
pub fn bearer_token(parts: &Parts) -> Result<Option<String>, AppError> {
    let query = parts.uri.query().unwrap_or("");
    Ok(match parts.headers.get(AUTHORIZATION) {
        Some(value) => {
            let value = value.to_str().unwrap_or("");
            match value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
            {
                Some(t) => Some(t.trim().to_owned()),
                None => {
                    return Err(AppError::client(
                        ErrorCode::InvalidToken,
                        "Authorization must be \"Bearer <token>\"",
                    ));
                }
            }
        }
        None => query_value(query, "token"),
    })
}

/// Reads the identity from the request, if any is given.
pub fn identify(parts: &Parts, state: &AppState) -> Result<Option<Identity>, AppError> {
    let query = parts.uri.query().unwrap_or("");
    if let Some(token) = bearer_token(parts)? {
        let claims = state.tokens.verify(&token).map_err(|code| {
            let msg = if code == ErrorCode::TokenExpired {
                "your session has expired: sign in again"
            } else {
                "the token is not valid: sign in again"
            };
            AppError::client(code, msg)
        })?;
        return Ok(Some(Identity::User(claims.sub)));
    }
    let anon = match parts.headers.get(ANON_ID_HEADER) {
        Some(v) => Some(v.to_str().unwrap_or("").to_owned()),
        None => query_value(query, "anon_id"),
    };
    match anon {
        Some(id) if is_valid_anon_id(&id) => Ok(Some(Identity::Anonymous(id))),
        Some(_) => Err(AppError::client(
            ErrorCode::InvalidAnonId,
            "x-anon-id must be 8 to 64 characters of A-Z, a-z, 0-9, '_' and '-'",
        )),
        None => Ok(None),
    }
}

/// The value of `key` in a query string (percent-decoding not needed: JWTs
/// and anon ids are URL-safe).
fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

/// When the request's token expires (Unix seconds), if it has a valid one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenExpiry(pub Option<i64>);

impl FromRequestParts<AppState> for TokenExpiry {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer_token(parts)?;
        Ok(Self(
            token
                .and_then(|t| state.tokens.verify(&t).ok())
                .map(|c| c.exp),
        ))
    }
}

impl FromRequestParts<AppState> for MaybeIdentity {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        identify(parts, state).map(Self)
    }
}

impl FromRequestParts<AppState> for Identity {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        identify(parts, state)?.ok_or_else(|| {
            AppError::client(
                ErrorCode::Unauthorized,
                "sign in, or identify this browser with an x-anon-id header",
            )
        })
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        match identify(parts, state)? {
            Some(Identity::User(id)) => Ok(Self(id)),
            _ => Err(AppError::client(ErrorCode::Unauthorized, "sign in first")),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_found_by_exact_key() {
        assert_eq!(
            super::query_value("a=1&token=xyz", "token").as_deref(),
            Some("xyz")
        );
        assert_eq!(super::query_value("tokenx=1", "token"), None);
    }
}
