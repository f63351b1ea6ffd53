//! Calls to the server's JSON API, with the caller's identity attached and
//! every failure decoded into the server's `ApiError`.

use crate::json::{self, FromJson, JsonError, ToJson};
use shared::auth::ANON_ID_HEADER;
use shared::{ApiError, ErrorCode};

/// Who the request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A signed-in user's bearer token.
    Token(String),
    /// An anonymous visitor's id (`x-anon-id`).
    Anon(String),
    /// Nobody in particular (register, login).
    None,
}

fn with_auth(req: gloo_net::http::RequestBuilder, auth: &Auth) -> gloo_net::http::RequestBuilder {
    match auth {
        Auth::Token(t) => req.header("Authorization", &format!("Bearer {t}")),
        Auth::Anon(id) => req.header(ANON_ID_HEADER, id),
        Auth::None => req,
    }
}

/// `GET path` → `T`.
pub async fn get<T: FromJson>(path: &str, auth: &Auth) -> Result<T, ApiError> {
    let res = with_auth(gloo_net::http::Request::get(path), auth)
        .send()
        .await
        .map_err(|_| unreachable_server())?;
    decode(res).await
}

/// `POST path` with a JSON body → `T`.
pub async fn post<B: ToJson + ?Sized, T: FromJson>(
    path: &str,
    body: &B,
    auth: &Auth,
) -> Result<T, ApiError> {
    let req = with_auth(gloo_net::http::Request::post(path), auth)
        .header("Content-Type", "application/json")
        .body(json::encode(body))
        .map_err(|_| unreachable_server())?;
    let res = req.send().await.map_err(|_| unreachable_server())?;
    decode(res).await
}

/// `POST path` with no body, for an answer with none (204).
pub async fn post_empty(path: &str, auth: &Auth) -> Result<(), ApiError> {
    let res = with_auth(gloo_net::http::Request::post(path), auth)
        .send()
        .await
        .map_err(|_| unreachable_server())?;
    if res.ok() {
        return Ok(());
    }
    let text = res.text().await.unwrap_or_default();
    Err(parse_json::<ApiError>(&text).unwrap_or_else(|_| {
        ApiError::new(
            ErrorCode::Internal,
            format!("the server answered {}", res.status()),
        )
    }))
}

async fn decode<T: FromJson>(res: gloo_net::http::Response) -> Result<T, ApiError> {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        return parse_json::<T>(&text)
            .map_err(|e| ApiError::new(ErrorCode::Internal, format!("unexpected answer: {e}")));
    }
    Err(parse_json::<ApiError>(&text).unwrap_or_else(|_| {
        ApiError::new(ErrorCode::Internal, format!("the server answered {status}"))
    }))
}

/// JSON text → `T` (see [`json`]: every decode in the app is this one).
pub fn parse_json<T: FromJson>(text: &str) -> Result<T, JsonError> {
    json::decode(text)
}

/// `T` → JSON text.
pub fn to_json<T: ToJson + ?Sized>(value: &T) -> String {
    json::encode(value)
}

fn unreachable_server() -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "could not reach the server: check your connection",
    )
}

/// Whether an error means the stored token is no good any more.
pub fn is_session_error(e: &ApiError) -> bool {
    matches!(e.code, ErrorCode::InvalidToken | ErrorCode::TokenExpired)
}
