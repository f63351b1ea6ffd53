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
//!
//! Sockets outlive the token check made when they opened, so a logout also
//! closes them: every socket of a signed-in user holds a [`SignOutWatch`],
//! and [`TokenVersions::revoke`] (or [`TokenVersions::sign_out_here`], for a
//! logout on another instance of a cluster) fires it.

use crate::auth::token::Claims;
use crate::error::AppError;
use crate::store::Store;
use shared::ErrorCode;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

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
    /// The open sockets of signed-in users, closed at their logout.
    pub sign_outs: SignOuts,
}

/// User id → the token their open sockets wait on, and how many hold it.
type Watched = Arc<Mutex<HashMap<String, (CancellationToken, usize)>>>;

/// The open sockets of signed-in users, by user: a cheap handle.
#[derive(Clone, Debug, Default)]
pub struct SignOuts {
    sockets: Watched,
}

impl SignOuts {
    /// What an open socket of `user_id` holds, to close at their logout.
    pub fn watch(&self, user_id: &str) -> SignOutWatch {
        let mut sockets = self.sockets.lock().expect("sign-out lock");
        let (token, held) = sockets
            .entry(user_id.to_owned())
            .or_insert_with(|| (CancellationToken::new(), 0));
        *held += 1;
        SignOutWatch {
            user_id: user_id.to_owned(),
            token: token.clone(),
            sockets: self.sockets.clone(),
        }
    }

    /// Closes this process's open sockets of `user_id` (their tokens were
    /// revoked, here or on another instance of a cluster).
    pub fn sign_out_here(&self, user_id: &str) {
        let removed = self.sockets.lock().expect("sign-out lock").remove(user_id);
        if let Some((token, _)) = removed {
            token.cancel();
        }
    }

    /// Users with a socket open here.
    pub fn watched(&self) -> usize {
        self.sockets.lock().expect("sign-out lock").len()
    }
}

/// Held by one open socket of a signed-in user; [`SignOutWatch::signed_out`]
/// completes when the user signs out. Dropping it lets the registry forget
/// the user once none of their sockets is open.
#[derive(Debug)]
pub struct SignOutWatch {
    user_id: String,
    token: CancellationToken,
    sockets: Watched,
}

impl SignOutWatch {
    /// Completes when the user signs out (at once if they already did).
    pub fn signed_out(&self) -> WaitForCancellationFutureOwned {
        self.token.clone().cancelled_owned()
    }
}

impl Drop for SignOutWatch {
    fn drop(&mut self) {
        // A fired watch's entry is gone already; one made since belongs to
        // newer sockets.
        if self.token.is_cancelled() {
            return;
        }
        let mut sockets = self.sockets.lock().expect("sign-out lock");
        if let Some((_, held)) = sockets.get_mut(&self.user_id) {
            *held -= 1;
            if *held == 0 {
                sockets.remove(&self.user_id);
            }
        }
    }
}

impl TokenVersions {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            cache: Arc::default(),
            sign_outs: SignOuts::default(),
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
        self.sign_outs.sign_out_here(user_id);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    fn fired(w: &SignOutWatch) -> bool {
        let mut f = std::pin::pin!(w.signed_out());
        let mut cx = Context::from_waker(Waker::noop());
        Pin::as_mut(&mut f).poll(&mut cx) == Poll::Ready(())
    }

    #[test]
    fn a_sign_out_fires_that_users_sockets_only_and_is_forgotten() {
        let s = SignOuts::default();
        let (a1, a2, b) = (s.watch("a"), s.watch("a"), s.watch("b"));
        assert!(!fired(&a1) && !fired(&b));
        s.sign_out_here("a");
        assert!(fired(&a1) && fired(&a2), "both of a's sockets");
        assert!(!fired(&b), "b stays signed in");
        // Sockets opened after the sign-out (with a new token) are not
        // fired, nor forgotten, when the old ones close.
        let fresh = s.watch("a");
        drop((a1, a2));
        assert!(!fired(&fresh));
        assert_eq!(s.watched(), 2);
        drop((fresh, b));
        assert_eq!(s.watched(), 0, "nobody left to watch");
    }
}
