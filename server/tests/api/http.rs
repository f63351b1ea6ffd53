//! The app's fallback, JSON errors, security headers, compression, limits.

use crate::helpers::{INLINE_SCRIPT, json, spawn_app, spawn_app_with};
use base64::Engine;
use sha2::{Digest, Sha256};
use shared::{ApiError, ErrorCode};

#[tokio::test]
async fn a_deep_link_gets_the_app_with_a_csp_naming_its_loader() {
    let app = spawn_app().await;
    for path in ["/", "/personas", "/books/some-session", "/no/such/page"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let body = res.text().await.unwrap();
        assert!(body.contains("<title>Chorus</title>"), "{path}: {body}");
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(INLINE_SCRIPT));
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
        assert!(csp.contains("'wasm-unsafe-eval'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
}

#[tokio::test]
async fn unknown_api_and_socket_paths_are_json_404s_not_the_app() {
    let app = spawn_app().await;
    for path in ["/api", "/api/nope", "/api/v1/nothing/here", "/ws/a/b/c"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        let err: ApiError = json(res).await;
        assert_eq!(err.code, ErrorCode::NotFound, "{path}");
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = spawn_app().await;
    let res = app
        .client
        .delete(app.url("/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let err: ApiError = json(res).await;
    assert_eq!(err.code, ErrorCode::MethodNotAllowed);
}

#[tokio::test]
async fn an_oversize_body_is_a_json_413() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/messages/test-sse?interval_ms=0"))
        .header("content-type", "application/json")
        .body(vec![b'x'; 65 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let err: ApiError = json(res).await;
    assert_eq!(err.code, ErrorCode::PayloadTooLarge);
}

#[tokio::test]
async fn every_response_has_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/api/health", "/api/nope"] {
        let res = app.get(path).await;
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
    }
}

#[tokio::test]
async fn static_files_are_compressed_and_hashed_ones_cached() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/app-0123456789abcdef.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
}

#[tokio::test]
async fn precompressed_siblings_are_sent_as_they_are_when_accepted() {
    let app = spawn_app().await;
    let dist = app.state.config.dist.clone();
    std::fs::write(dist.join("app-0123456789abcdef_bg.wasm"), b"\0asm plain").unwrap();
    std::fs::write(
        dist.join("app-0123456789abcdef_bg.wasm.br"),
        b"brotli bytes",
    )
    .unwrap();
    std::fs::write(dist.join("app-0123456789abcdef_bg.wasm.gz"), b"gzip bytes").unwrap();
    let get = |enc: &'static str| {
        app.client
            .get(app.url("/app-0123456789abcdef_bg.wasm"))
            .header("accept-encoding", enc)
            .send()
    };
    let res = get("gzip, deflate, br").await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "br");
    assert_eq!(res.headers()["content-type"], "application/wasm");
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"brotli bytes");
    let res = get("gzip").await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"gzip bytes");
    let res = get("identity").await.unwrap();
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"\0asm plain");
}

#[tokio::test]
async fn event_streams_are_never_compressed() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/v1/messages/test-sse?interval_ms=0"))
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert_eq!(res.headers()["x-accel-buffering"], "no");
}

#[tokio::test]
async fn cors_is_off_by_default_and_on_for_allowed_origins() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/api/health"))
        .header("origin", "http://localhost:8080")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let app = spawn_app_with(|c| c.allowed_origins = vec!["http://localhost:8080".into()]).await;
    let res = app
        .client
        .get(app.url("/api/health"))
        .header("origin", "http://localhost:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://localhost:8080"
    );
}

#[tokio::test]
async fn without_a_built_app_the_api_still_works_and_pages_explain() {
    let app = spawn_app_with(|c| c.dist = "/nonexistent/dist".into()).await;
    assert_eq!(app.get("/api/health").await.status(), 200);
    let res = app.get("/personas").await;
    assert_eq!(res.status(), 404);
    let err: ApiError = json(res).await;
    assert!(err.error.contains("not built"), "{}", err.error);
}

/// Sends `request` on a raw connection (writing while reading, as the
/// server may answer before it has read everything) and returns the
/// answer's status, content type and body.
async fn raw_exchange(app: &crate::helpers::TestApp, request: Vec<u8>) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        // The server may close before taking it all.
        let _ = write.write_all(&request).await;
        write
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match read.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(_) if !answer.is_empty() => break,
            Err(e) => panic!("no answer: {e}"),
        }
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            });
            if len.is_some_and(|len| body.len() >= len) {
                break;
            }
        }
    }
    drop(writer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
    let status = head[9..12].parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

#[tokio::test]
async fn requests_the_http_layer_cannot_read_get_the_json_error_body() {
    let app = spawn_app().await;
    let huge_uri = format!(
        "GET /api/health?x={} HTTP/1.1\r\nhost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let many_headers = format!(
        "GET /api/health HTTP/1.1\r\nhost: x\r\n{}\r\n",
        (0..150)
            .map(|i| format!("x-h{i}: 1\r\n"))
            .collect::<String>()
    );
    let huge_header = format!(
        "GET /api/health HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "b".repeat(600_000)
    );
    for (request, status) in [
        (
            b"GET / HTTP/1.1\r\nhost: x\r\nnot a header\r\n\r\n".to_vec(),
            400,
        ),
        (b"\x16\x03\x01 not http at all\r\n\r\n".to_vec(), 400),
        (huge_uri.into_bytes(), 414),
        (many_headers.into_bytes(), 431),
        (huge_header.into_bytes(), 431),
    ] {
        let (got, content_type, body) = raw_exchange(&app, request).await;
        assert_eq!(got, status);
        assert_eq!(content_type, "application/json", "{status}");
        let err: ApiError = serde_json::from_str(&body).expect(&body);
        assert_eq!(err.code, ErrorCode::BadRequest, "{status}");
        assert!(!err.error.is_empty());
    }
    // The server is fine, and answers as before.
    assert_eq!(app.get("/api/health").await.status(), 200);
}
