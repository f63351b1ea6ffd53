//! The one JSON error body every HTTP error of the server carries:
//! `{"error": "human readable", "code": "MACHINE_READABLE"}`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Body of every non-2xx HTTP response, and of in-band protocol errors that
/// need a machine-readable code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ApiError {
    /// A sentence for people; safe to show in the UI.
    pub error: String,
    /// What went wrong, for programs: branch on this, not on `error`.
    pub code: ErrorCode,
    /// Facts that help the client act: `retry_after` seconds for
    /// `RATE_LIMITED`, the saved `text` of an expired stream …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            code,
            details: None,
        }
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.error, self.code.as_str())
    }
}

/// Machine-readable error codes. The JSON form is SCREAMING_SNAKE_CASE
/// (`"NOT_FOUND"`); codes named by the seeds keep the seeds' spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// 400: the request could not be understood (bad query, bad header, bad frame).
    BadRequest,
    /// 400: a body or socket message that is not JSON at all.
    InvalidJson,
    /// 400: a socket message whose `type` the endpoint does not know.
    UnknownType,
    /// 422: the request was understood but a field is invalid.
    ValidationError,
    /// 401: no credentials, or credentials that are not valid.
    Unauthorized,
    /// 403: the caller may not do this (includes cross-site WebSocket upgrades).
    Forbidden,
    /// 404: no such resource or API path.
    NotFound,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 413: the request body is over the limit.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 429: too many requests.
    RateLimited,
    /// 503: the feature is switched off or the server is shutting down.
    Unavailable,
    /// 500: something failed on the server; the cause is in its log.
    Internal,
    /// 409: registration with a username someone already has.
    UsernameTaken,
    /// 401: unknown username or wrong password (the same answer for both).
    InvalidCredentials,
    /// 401: a token that is malformed, signed with another key, or not HS256.
    InvalidToken,
    /// 401: a token past its `exp`.
    TokenExpired,
    /// 400: an `x-anon-id` that is not 8–64 of `[A-Za-z0-9_-]`.
    InvalidAnonId,
    /// 429: an anonymous visitor has used all their free replies (the hybrid chat protocol).
    AnonLimitReached,
    /// 402: a user's credit balance is used up (the hybrid chat protocol).
    InsufficientBalance,
    /// 410: the stream is unknown or no longer replayable; `details` holds
    /// its saved text when there is one.
    StreamExpired,
    /// 503: the instance of a cluster that ran the stream went away
    /// before it ended (in-band, the stream's last event, with the text
    /// saved so far).
    StreamInterrupted,
    /// 502: the model provider refused the server's API key.
    ProviderAuth,
    /// 503: the model provider failed, timed out or could not be reached.
    ProviderUnavailable,
    /// 502: the model provider refused the request itself (an unknown
    /// model, a prompt too long); trying again will not help.
    ProviderRejected,
    /// 502: the model provider's answer ended before it finished (the
    /// connection was cut); the partial text is saved as `failed`.
    ProviderIncomplete,
    /// 400: a model the operator does not allow (`--allowed-models`);
    /// `GET /api/models` lists the ones that are.
    ModelNotAllowed,
    /// 404: a persona id that is not in the catalog (the message names it).
    UnknownPersona,
    /// 404: no such support session for this user (also for someone
    /// else's: ids leak nothing).
    SessionNotFound,
    /// 429: the user already has the most WebSocket connections allowed.
    ConnectionLimit,
    /// 403: a BooksWriter session that belongs to someone else (the BooksWriter protocol).
    SessionForbidden,
    /// 504: an agent ran past `--agent-timeout`; its partial work is saved
    /// (the BooksWriter protocol).
    AgentTimeout,
}

impl ErrorCode {
    /// The JSON spelling, for logs and `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::InvalidJson => "INVALID_JSON",
            Self::UnknownType => "UNKNOWN_TYPE",
            Self::ValidationError => "VALIDATION_ERROR",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::RateLimited => "RATE_LIMITED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL",
            Self::UsernameTaken => "USERNAME_TAKEN",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::InvalidToken => "INVALID_TOKEN",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::InvalidAnonId => "INVALID_ANON_ID",
            Self::AnonLimitReached => "ANON_LIMIT_REACHED",
            Self::InsufficientBalance => "INSUFFICIENT_BALANCE",
            Self::StreamExpired => "STREAM_EXPIRED",
            Self::StreamInterrupted => "STREAM_INTERRUPTED",
            Self::ProviderAuth => "PROVIDER_AUTH",
            Self::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            Self::ProviderRejected => "PROVIDER_REJECTED",
            Self::ProviderIncomplete => "PROVIDER_INCOMPLETE",
            Self::ModelNotAllowed => "MODEL_NOT_ALLOWED",
            Self::UnknownPersona => "UNKNOWN_PERSONA",
            Self::SessionNotFound => "SESSION_NOT_FOUND",
            Self::ConnectionLimit => "CONNECTION_LIMIT",
            Self::SessionForbidden => "SESSION_FORBIDDEN",
            Self::AgentTimeout => "AGENT_TIMEOUT",
        }
    }

    /// The HTTP status this code is sent with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::BadRequest | Self::InvalidJson | Self::UnknownType | Self::InvalidAnonId => 400,
            Self::ValidationError => 422,
            Self::Unauthorized
            | Self::InvalidCredentials
            | Self::InvalidToken
            | Self::TokenExpired => 401,
            Self::InsufficientBalance => 402,
            Self::Forbidden => 403,
            Self::NotFound | Self::UnknownPersona | Self::SessionNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited | Self::AnonLimitReached | Self::ConnectionLimit => 429,
            Self::Unavailable => 503,
            Self::Internal => 500,
            Self::UsernameTaken => 409,
            Self::StreamExpired => 410,
            Self::StreamInterrupted => 503,
            Self::ProviderAuth => 502,
            Self::ProviderUnavailable => 503,
            Self::ProviderRejected | Self::ProviderIncomplete => 502,
            Self::ModelNotAllowed => 400,
            Self::SessionForbidden => 403,
            Self::AgentTimeout => 504,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_error_has_the_documented_shape() {
        let e = ApiError::new(ErrorCode::NotFound, "no such path");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"error": "no such path", "code": "NOT_FOUND"})
        );
        let back: ApiError =
            serde_json::from_value(json!({"error": "x", "code": "PAYLOAD_TOO_LARGE"})).unwrap();
        assert_eq!(back.code, ErrorCode::PayloadTooLarge);
    }

    #[test]
    fn every_code_spells_as_its_json_form() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::InvalidJson,
            ErrorCode::UnknownType,
            ErrorCode::ValidationError,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::RateLimited,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
            ErrorCode::UsernameTaken,
            ErrorCode::InvalidCredentials,
            ErrorCode::InvalidToken,
            ErrorCode::TokenExpired,
            ErrorCode::InvalidAnonId,
            ErrorCode::AnonLimitReached,
            ErrorCode::InsufficientBalance,
            ErrorCode::StreamExpired,
            ErrorCode::StreamInterrupted,
            ErrorCode::ProviderAuth,
            ErrorCode::ProviderUnavailable,
            ErrorCode::ProviderRejected,
            ErrorCode::ProviderIncomplete,
            ErrorCode::ModelNotAllowed,
            ErrorCode::UnknownPersona,
            ErrorCode::SessionNotFound,
            ErrorCode::ConnectionLimit,
            ErrorCode::SessionForbidden,
            ErrorCode::AgentTimeout,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
        }
    }
}
