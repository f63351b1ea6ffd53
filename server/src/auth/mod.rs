//! Accounts: register, log in, who am I.
//!
//! - Routes: `POST /api/auth/register`, `POST /api/auth/login`,
//!   `GET /api/auth/me`.
//! - [`identity`]: the `Identity` / `AuthUser` extractors every feature uses;
//!   [`admin`]: `AdminUser`, for what only admins read.
//! - [`token`]: JWT HS256 issue and verify. [`password`]: argon2id.
//! - [`adopt`]: register and login with an `x-anon-id` move that visitor's
//!   chats, books and persona answers into the account.

pub mod admin;
pub(crate) mod adopt;
pub mod identity;
pub(crate) mod password;
pub mod token;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use identity::AuthUser;
use shared::ErrorCode;
use shared::auth::{AuthResponse, Credentials, Me, User, password_problem, username_problem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/me", get(me))
}

async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(creds): Json<Credentials>,
) -> AppResult<(StatusCode, Json<AuthResponse>)> {
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
        token: state.tokens.issue(&user.id),
        user: User {
            id: user.id,
            username: user.username,
        },
    };
    Ok((StatusCode::CREATED, Json(body)))
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(creds): Json<Credentials>,
) -> AppResult<Json<AuthResponse>> {
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
    adopt::adopt_visitor(&state.store, &state.books, &headers, &user.id).await;
    Ok(Json(AuthResponse {
        token: state.tokens.issue(&user.id),
        user: User {
            id: user.id,
            username: user.username,
        },
    }))
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
