//! Cross-cutting HTTP: what every response gets, and who may connect.
//!
//! - [`OriginPolicy`] and [`ws_origin_guard`]: WebSocket upgrades from other
//!   sites are refused (cross-site WebSocket hijacking); clients that send no
//!   `Origin` (programs, not browsers) are let through.
//! - [`json_errors`]: every HTTP error leaves as `{"error","code"}` JSON, even
//!   those made by layers and by axum itself (405, 413, 415 …).
//! - [`security_headers`], [`CSP_BASE`]: headers for every response.
//! - [`redacted_uri`]: request URIs for logs, with secrets in the query hidden.

use crate::config::Config;
use crate::error::{AppError, StartError};
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::ErrorCode;
use std::sync::Arc;

/// The Content-Security-Policy of every response. The app's wasm needs
/// `'wasm-unsafe-eval'`; nothing is loaded from other origins. The index page
/// adds the hashes of its inline loader script (see `spa`).
pub(crate) const CSP_BASE: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The CSP with extra `script-src` sources (hashes of inline scripts).
pub(crate) fn csp_with_scripts(extra: &[String]) -> String {
    if extra.is_empty() {
        return CSP_BASE.to_owned();
    }
    CSP_BASE.replacen(
        "script-src 'self' 'wasm-unsafe-eval'",
        &format!("script-src 'self' 'wasm-unsafe-eval' {}", extra.join(" ")),
        1,
    )
}

/// Adds the security headers to every response that does not set its own.
pub(crate) async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP_BASE));
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    res
}

/// Which browser origins may open sockets: the server's own and the
/// allowed ones.
///
/// The server's own origin is `--public-origin` when given. Without it, a
/// page whose origin names the `Host` it asked is the server's own only
/// when that host is an address or `localhost`: a DNS name can be rebound
/// (a page at `http://evil.example:3000` whose name an attacker points at
/// this server sends `Origin` and `Host` that agree), so a server reached
/// by name must say its name with `--public-origin`.
#[derive(Debug, Default)]
pub struct OriginPolicy {
    /// Normalised `scheme://host[:port]`, lower case, no trailing slash.
    allowed: Vec<String>,
    /// The server's own origins (`--public-origin`), normalised alike.
    public: Vec<String>,
}

impl OriginPolicy {
    /// Validates and normalises `--allowed-origin` values.
    pub fn new(origins: &[String]) -> Result<Self, StartError> {
        Ok(Self {
            allowed: normalised(origins, "--allowed-origin")?,
            public: Vec::new(),
        })
    }

    /// The same policy with the server's own origins (`--public-origin`).
    pub fn with_public(mut self, origins: &[String]) -> Result<Self, StartError> {
        self.public = normalised(origins, "--public-origin")?;
        Ok(self)
    }

    /// The extra origins, for the CORS layer.
    pub fn extra(&self) -> &[String] {
        &self.allowed
    }

    /// Whether a request with these headers may open a WebSocket: no
    /// `Origin` (a program), the server's own origin (compared with `Host`),
    /// or one of the allowed origins.
    pub fn permits(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if self.allowed.contains(&origin) {
            return true;
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_ascii_lowercase);
        let Some((scheme, authority)) = origin.split_once("://") else {
            return false;
        };
        // Exactly a scheme, and the host asked for (port included).
        if !matches!(scheme, "http" | "https") || host.as_deref() != Some(authority) {
            return false;
        }
        if !self.public.is_empty() {
            return self.public.contains(&origin);
        }
        is_address_or_localhost(authority)
    }
}

/// Validated, normalised origins for `flag`.
fn normalised(origins: &[String], flag: &str) -> Result<Vec<String>, StartError> {
    let mut allowed = Vec::new();
    for o in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        let norm = o.trim_end_matches('/').to_ascii_lowercase();
        let ok = (norm.starts_with("http://") || norm.starts_with("https://"))
            && !norm
                .split_once("://")
                .is_some_and(|(_, rest)| rest.is_empty() || rest.contains('/'));
        if !ok {
            return Err(StartError(format!(
                "{flag} {o:?} is not an origin like http://localhost:8080"
            )));
        }
        allowed.push(norm);
    }
    Ok(allowed)
}

/// `127.0.0.1:3000`, `[::1]:80`, `localhost:8080`: names no DNS answer can
/// move.
fn is_address_or_localhost(authority: &str) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok()
}

/// Middleware for WebSocket routes: 503 when `ENABLE_WEBSOCKET=false`,
/// 403 for a browser on another site.
pub(crate) async fn ws_origin_guard(
    State(config): State<Arc<Config>>,
    State(origins): State<Arc<OriginPolicy>>,
    req: Request,
    next: Next,
) -> Response {
    if !config.enable_websocket {
        return AppError::client(
            ErrorCode::Unavailable,
            "WebSockets are turned off on this server (ENABLE_WEBSOCKET=false)",
        )
        .into_response();
    }
    if origins.permits(req.headers()) {
        return next.run(req).await;
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or("?")
        .to_owned();
    AppError::client(
        ErrorCode::Forbidden,
        format!("WebSocket connections from origin {origin} are not allowed"),
    )
    .into_response()
}

/// Turns any error response that is not already JSON into the one error
/// body, keeping its status. Handlers already answer JSON; this catches what
/// axum and the layers make (405, 413, 415, 400 from extractors …).
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return res;
    }
    let code = match status.as_u16() {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::ValidationError,
        429 => ErrorCode::RateLimited,
        503 => ErrorCode::Unavailable,
        s if s >= 500 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    let (parts, body) = res.into_parts();
    // Layers and extractors explain themselves in short plain text; keep it
    // for 4xx. 5xx causes stay in the log.
    let text = if status.is_client_error() {
        to_bytes(body, 4096)
            .await
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .filter(|t| !t.is_empty())
    } else {
        None
    };
    let message = text.unwrap_or_else(|| match code {
        ErrorCode::MethodNotAllowed => "this path does not accept that method".to_owned(),
        ErrorCode::PayloadTooLarge => "the request body is too large".to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_owned(),
    });
    let mut out = AppError::client(code, message).into_response();
    *out.status_mut() = status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

/// The query keys whose values never reach a log: credentials, and
/// anonymous ids (knowing one is being that visitor).
const SECRET_KEYS: &[&str] = &[
    "token",
    "access_token",
    "password",
    "auth",
    "anon_id",
    "anonid",
];

/// Most characters of a path, and of a query, that a log line shows.
const LOGGED_CHARS: usize = 200;

/// The URI as logs may show it: `?token=…` and `?anon_id=…` values are
/// replaced, and a long path or query is cut (with `…`).
pub(crate) fn redacted_uri(uri: &Uri) -> String {
    let path = truncated(uri.path());
    let Some(query) = uri.query() else {
        return path;
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| {
            let key = pair.split('=').next().unwrap_or("");
            if SECRET_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k)) {
                format!("{key}=REDACTED")
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", truncated(&redacted.join("&")))
}

fn truncated(s: &str) -> String {
    match s.char_indices().nth(LOGGED_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn origin_policy_allows_programs_same_origin_and_the_list() {
        let p = OriginPolicy::new(&["http://localhost:8080/".into()]).unwrap();
        assert!(p.permits(&headers(&[("host", "127.0.0.1:3000")])));
        assert!(p.permits(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(p.permits(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://LOCALHOST:8080")
        ])));
        assert!(!p.permits(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://evil.example")
        ])));
        assert!(!p.permits(&headers(&[("host", "127.0.0.1:3000"), ("origin", "null")])));
    }

    #[test]
    fn a_rebound_name_is_not_the_servers_own_origin() {
        let p = OriginPolicy::new(&[]).unwrap();
        let rebound = headers(&[
            ("host", "evil.example:3000"),
            ("origin", "http://evil.example:3000"),
        ]);
        assert!(!p.permits(&rebound));
        assert!(p.permits(&headers(&[
            ("host", "[::1]:3000"),
            ("origin", "http://[::1]:3000")
        ])));
        assert!(p.permits(&headers(&[
            ("host", "localhost:3000"),
            ("origin", "http://localhost:3000")
        ])));
        assert!(!p.permits(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "ftp://127.0.0.1:3000")
        ])));
        let named = OriginPolicy::new(&[])
            .unwrap()
            .with_public(&["https://chorus.example".into()])
            .unwrap();
        assert!(named.permits(&headers(&[
            ("host", "chorus.example"),
            ("origin", "https://chorus.example")
        ])));
        assert!(!named.permits(&rebound));
        // The name, but over another scheme, or another Host.
        assert!(!named.permits(&headers(&[
            ("host", "chorus.example"),
            ("origin", "http://chorus.example")
        ])));
        assert!(!named.permits(&headers(&[
            ("host", "other.example"),
            ("origin", "https://chorus.example")
        ])));
    }

    #[test]
    fn origin_policy_rejects_values_that_are_not_origins() {
        assert!(OriginPolicy::new(&["localhost:8080".into()]).is_err());
        assert!(OriginPolicy::new(&["http://a.example/path".into()]).is_err());
    }

    #[test]
    fn redaction_hides_tokens_and_keeps_the_rest() {
        let uri: Uri = "/ws?anon_id=abc&token=eyJsecret&x=1".parse().unwrap();
        assert_eq!(
            redacted_uri(&uri),
            "/ws?anon_id=REDACTED&token=REDACTED&x=1"
        );
        let long: Uri = format!("/{}?x={}", "a".repeat(5000), "b".repeat(5000))
            .parse()
            .unwrap();
        let logged = redacted_uri(&long);
        assert!(logged.chars().count() < 2 * LOGGED_CHARS + 8, "{logged}");
        let uri: Uri = "/api/health".parse().unwrap();
        assert_eq!(redacted_uri(&uri), "/api/health");
    }

    #[test]
    fn csp_adds_script_hashes_to_script_src_only() {
        let csp = csp_with_scripts(&["'sha256-abc'".into()]);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc';"));
        assert!(csp.contains("default-src 'self';"));
    }
}
