//! The built app (trunk's `dist/`), served with an SPA fallback.
//!
//! Files that exist are served as they are (hashed names cached for a year;
//! precompressed `.br`/`.gz` siblings when the browser accepts them);
//! any other non-API path gets `index.html`, so deep links like `/personas`
//! load the app. Paths under `/api` and `/ws` never fall back: they get a
//! JSON 404. The index carries a CSP naming the hashes of its inline scripts
//! (trunk's loader), so no `'unsafe-inline'` is needed.

use crate::error::AppError;
use crate::state::AppState;
use crate::web::csp_with_scripts;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use shared::ErrorCode;
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Paths that belong to the API and the sockets: never the app.
pub(crate) fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/ws" || path.starts_with("/ws/")
}

/// Fallback of the nested `/api` router: always a JSON 404. (Nested routers
/// see the path with `/api` stripped, so it is read from `OriginalUri`.)
pub(crate) async fn api_not_found(OriginalUri(uri): OriginalUri) -> AppError {
    AppError::not_found(format!("no API endpoint at {}", uri.path()))
}

/// The router's fallback: JSON 404 for API paths, else a file or the index.
pub(crate) async fn fallback(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    req: Request,
) -> Response {
    let path = uri.path().to_owned();
    if is_api_path(&path) {
        return AppError::not_found(format!("no API endpoint at {path}")).into_response();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return AppError::client(
            ErrorCode::MethodNotAllowed,
            format!("{} is not allowed on {path}", req.method()),
        )
        .into_response();
    }
    let dist = state.config.dist.clone();
    if path != "/" {
        // `scripts/build-app.sh` writes `.br` (quality 11) and `.gz` beside
        // each asset: served as they are when the browser accepts them (the
        // compression layer leaves encoded responses alone).
        let served = ServeDir::new(&dist)
            .precompressed_br()
            .precompressed_gzip()
            .append_index_html_on_directories(false)
            .oneshot(req)
            .await;
        let Ok(mut res) = served;
        if res.status() == StatusCode::OK || res.status() == StatusCode::NOT_MODIFIED {
            if is_hashed_asset(&path) {
                res.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
            }
            return res.map(axum::body::Body::new);
        }
    }
    index(&dist).await
}

/// `index.html` with its CSP; a JSON 404 when the app has not been built.
async fn index(dist: &std::path::Path) -> Response {
    let file = dist.join("index.html");
    let Ok(html) = tokio::fs::read_to_string(&file).await else {
        return AppError::not_found(format!(
            "the app is not built ({} is missing): run `make run`, or `trunk build --release`",
            file.display()
        ))
        .into_response();
    };
    let csp = csp_with_scripts(&inline_script_hashes(&html));
    let mut res = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// Trunk names built files `name-<16 hex>.ext`: safe to cache for good.
fn is_hashed_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    let stem = name.split('.').next().unwrap_or("");
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `'sha256-…'` for each inline `<script>` (one without `src`) in the page.
pub(crate) fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let body = &rest[tag_end + 1..];
        let Some(close) = body.find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
            out.push(format!("'sha256-{b64}'"));
        }
        rest = &body[close..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_and_socket_paths_never_fall_back() {
        for p in ["/api", "/api/", "/api/nope", "/ws", "/ws/abc/def"] {
            assert!(is_api_path(p), "{p}");
        }
        for p in ["/", "/personas", "/apis", "/wsx", "/books/123"] {
            assert!(!is_api_path(p), "{p}");
        }
    }

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_skipped() {
        let html =
            r#"<head><script src="/a.js"></script><script type="module">run()</script></head>"#;
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        // sha256("run()") in base64
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"run()"));
        assert_eq!(hashes[0], format!("'sha256-{expected}'"));
    }

    #[test]
    fn trunk_hashed_names_are_recognised() {
        assert!(is_hashed_asset("/frontend-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed_asset("/frontend-1a2b3c4d5e6f7a8b.js"));
        assert!(is_hashed_asset("/main-0123456789abcdef.css"));
        assert!(!is_hashed_asset("/favicon.svg"));
    }
}
