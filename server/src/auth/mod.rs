//! Accounts: register, log in, who am I.
//!
//! - Routes: `POST /api/auth/register`, `POST /api/auth/login`,
//!   `POST /api/auth/logout` (revokes every token of the user),
//!   `GET /api/auth/me`.
//! - [`identity`]: the `Identity` / `AuthUser` extractors every feature uses;
//!   [`admin`]: `AdminUser`, for what only admins read.
//! - [`token`]: JWT HS256 issue and verify; [`revocation`]: the version
//!   of each user's tokens, which logout moves on. [`password`]: argon2id, a
//!   bounded number at a time. [`limits`]: attempts per address and per
//!   account.
//! - [`adopt`]: register and login with an `x-anon-id` move that visitor's
//!   chats, books and persona answers into the account.

pub mod admin;
pub(crate) mod adopt;
pub mod identity;
pub mod limits;
pub(crate) mod password;
pub mod revocation;
pub mod token;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use identity::{AuthUser, ClientIp};
use limits::RetryAfter;
use shared::ErrorCode;
use shared::auth::{AuthResponse, Credentials, Me, User, password_problem, username_problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/me", get(me))
}

/// 429 `RATE_LIMITED` with `retry_after` (whole seconds) in the details.
fn rate_limited(retry: RetryAfter, what: &str) -> AppError {
    let secs = retry.secs();
    let unit = if secs == 1 { "second" } else { "seconds" };
    AppError::client(
        ErrorCode::RateLimited,
        format!("too many {what}: try again in {secs} {unit}"),
    )
    .with_details(serde_json::json!({ "retry_after": secs }))
}

async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(creds): Json<Credentials>,
) -> AppResult<(StatusCode, Json<AuthResponse>)> {
    state
        .auth_limits
        .register_from(ip)
        .map_err(|r| rate_limited(r, "sign-ups from this address"))?;
    if let Some(problem) = username_problem(&creds.username).or(password_problem(&creds.password)) {
        return Err(AppError::client(ErrorCode::ValidationError, problem));
    }
    let hash = password::hash(creds.password)
        .await
        .map_err(AppError::Internal)?;
    let user = state
        .store
        .create_user(&creds.username, &hash, state.config.initial_credits)
        .await?
        .ok_or_else(|| {
            AppError::client(ErrorCode::UsernameTaken, "that username is already taken")
        })?;
    tracing::info!(user = %user.id, "registered");
    adopt::adopt_visitor(&state.store, &state.books, &headers, &user.id).await;
    let body = AuthResponse {
        token: state.tokens.issue(&user.id, user.token_version),
        user: User {
            id: user.id,
            username: user.username,
        },
    };
    Ok((StatusCode::CREATED, Json(body)))
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(creds): Json<Credentials>,
) -> AppResult<Json<AuthResponse>> {
    let limits = &state.auth_limits;
    limits
        .login_from(ip)
        .map_err(|r| rate_limited(r, "sign-in attempts from this address"))?;
    let turn = limits
        .account_turn(&creds.username)
        .map_err(|r| rate_limited(r, "sign-in attempts for this account"))?;
    turn.wait().await;
    // Unknown user and wrong password get the same answer, after the same
    // amount of hashing work.
    let user = if username_problem(&creds.username).is_none() {
        state.store.user_by_name(&creds.username).await?
    } else {
        None
    };
    let ok = password::verify(
        creds.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    let Some(user) = user.filter(|_| ok) else {
        return Err(AppError::client(
            ErrorCode::InvalidCredentials,
            "wrong username or password",
        ));
    };
    limits.succeeded(turn);
    adopt::adopt_visitor(&state.store, &state.books, &headers, &user.id).await;
    Ok(Json(AuthResponse {
        token: state.tokens.issue(&user.id, user.token_version),
        user: User {
            id: user.id,
            username: user.username,
        },
    }))
}

/// Revokes every token the user holds (this one too) and closes their open
/// sockets, on every instance of a cluster: 204.
async fn logout(State(state): State<AppState>, AuthUser(id): AuthUser) -> AppResult<StatusCode> {
    state.token_versions.revoke(&id).await?;
    if let Some(cluster) = &state.cluster
        && let Err(e) = crate::cluster::signouts::publish(cluster, &id).await
    {
        // Their tokens are refused everywhere within the versions' cache
        // time; sockets open on other instances stay open until closed.
        tracing::warn!(user = %id, error = %e, "could not tell the other instances of a logout");
    }
    tracing::info!(user = %id, "signed out");
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(state): State<AppState>, AuthUser(id): AuthUser) -> AppResult<Json<Me>> {
    let user = state.store.user_by_id(&id).await?.ok_or_else(|| {
        AppError::client(ErrorCode::InvalidToken, "this account no longer exists")
    })?;
    Ok(Json(Me {
        id: user.id,
        username: user.username,
        credits: user.credits,
    }))
}
