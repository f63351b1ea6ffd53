//! Token revocation: every user has a version of their tokens
//! (`users.token_version`); a token carries the version it was issued at
//! (its `ver` claim) and is refused, 401 `INVALID_TOKEN`, once the user's
//! version has moved past it. `POST /api/auth/logout` moves it on, so every
//! token the user holds stops working.
//!
//! Checking stays cheap: the versions are cached in process for [`TTL`]
//! (at most [`MAX_USERS`] of them). A logout on this server updates the
//! cache at once; another server on the same database notices within the
//! TTL.

use crate::auth::token::Claims;
use crate::error::AppError;
use crate::store::Store;
use shared::ErrorCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a user's version is believed without asking the database.
pub const TTL: Duration = Duration::from_secs(10);
/// Most users whose version is cached.
const MAX_USERS: usize = 50_000;

/// The versions of users' tokens, with a small cache: a cheap handle.
#[derive(Clone, Debug)]
pub struct TokenVersions {
    store: Store,
    /// User id → (their version, when it was read).
    cache: Arc<Mutex<HashMap<String, (i64, Instant)>>>,
}

impl TokenVersions {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            cache: Arc::default(),
        }
    }

    /// `Ok` unless the token's version is older than its user's: then 401
    /// `INVALID_TOKEN`.
    pub async fn check(&self, claims: &Claims) -> Result<(), AppError> {
        if claims.ver < self.current(&claims.sub).await? {
            return Err(AppError::client(
                ErrorCode::InvalidToken,
                "this session was signed out: sign in again",
            ));
        }
        Ok(())
    }

    /// Revokes every token `user_id` holds; the version new tokens carry.
    pub async fn revoke(&self, user_id: &str) -> Result<i64, AppError> {
        let version = self
            .store
            .revoke_tokens(user_id)
            .await?
            .ok_or_else(|| AppError::client(ErrorCode::InvalidToken, "no such account"))?;
        self.remember(user_id, version, Instant::now());
        Ok(version)
    }

    /// The user's version: cached, or read (a user that no longer exists
    /// has version 0; their tokens are refused where the account is read).
    async fn current(&self, user_id: &str) -> Result<i64, sqlx::Error> {
        let now = Instant::now();
        let cached = self.lock().get(user_id).copied();
        if let Some((version, at)) = cached
            && now.saturating_duration_since(at) < TTL
        {
            return Ok(version);
        }
        let version = self.store.token_version(user_id).await?.unwrap_or(0);
        Ok(self.remember(user_id, version, now))
    }

    /// Caches `version` for `user_id`, never lowering it (a read that began
    /// before a logout must not bring the old version back); what is cached.
    fn remember(&self, user_id: &str, version: i64, now: Instant) -> i64 {
        let mut cache = self.lock();
        if cache.len() >= MAX_USERS && !cache.contains_key(user_id) {
            cache.retain(|_, (_, at)| now.saturating_duration_since(*at) < TTL);
            if cache.len() >= MAX_USERS {
                cache.clear();
            }
        }
        let entry = cache.entry(user_id.to_owned()).or_insert((version, now));
        if version >= entry.0 {
            *entry = (version, now);
        }
        entry.0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Instant)>> {
        self.cache.lock().expect("token versions lock")
    }
}
