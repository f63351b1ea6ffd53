//! The server's one error type and how it becomes an HTTP response.
//!
//! Every HTTP error leaves as `shared::ApiError` JSON (`{"error","code"}`).
//! Client mistakes are logged at debug; 5xx causes are logged at error and
//! never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::{ApiError, ErrorCode};

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 4xx (or 503): the client's request cannot be served; the message is
    /// safe to show.
    #[error("{message}")]
    Client {
        code: ErrorCode,
        message: String,
        details: Option<serde_json::Value>,
    },
    /// 500: a database failure; logged, never sent.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// 500: anything else unexpected; logged, never sent.
    #[error("internal: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A client error with its code and a sentence for people.
    pub fn client(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Client {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// The same error with `details` for the client (see `ApiError`).
    pub fn with_details(self, value: serde_json::Value) -> Self {
        match self {
            Self::Client { code, message, .. } => Self::Client {
                code,
                message,
                details: Some(value),
            },
            other => other,
        }
    }

    /// 404 `NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::client(ErrorCode::NotFound, message)
    }

    /// The body and status this error is sent as.
    pub fn to_api_error(&self) -> (StatusCode, ApiError) {
        match self {
            Self::Client {
                code,
                message,
                details,
            } => {
                let mut body = ApiError::new(*code, message);
                body.details = details.clone();
                (status_of(*code), body)
            }
            Self::Database(_) | Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::new(
                    ErrorCode::Internal,
                    "something went wrong on the server; it has been logged",
                ),
            ),
        }
    }
}

impl From<crate::engine::models::NotAllowed> for AppError {
    fn from(e: crate::engine::models::NotAllowed) -> Self {
        Self::client(ErrorCode::ModelNotAllowed, e.to_string())
    }
}

/// The HTTP status of an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = self.to_api_error();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(code = body.code.as_str(), error = %self, "request refused");
        }
        (status, axum::Json(body)).into_response()
    }
}

/// Why the server could not start: a sentence for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl From<sqlx::Error> for StartError {
    fn from(e: sqlx::Error) -> Self {
        Self(format!("database: {e}"))
    }
}

impl From<std::io::Error> for StartError {
    fn from(e: std::io::Error) -> Self {
        Self(e.to_string())
    }
}
