//! What operators use: `GET /api/ready`, request ids (on the response, on
//! every log line of the request, sent to the provider), JSON logs.

use crate::helpers::{json, read_sse, spawn_app, spawn_app_with};
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};
use shared::health::{Check, Readiness};
use std::sync::{Arc, Mutex};

fn check(name: &str, ok: bool, detail: &str) -> Check {
    Check {
        name: name.into(),
        ok,
        detail: detail.into(),
    }
}

#[tokio::test]
async fn ready_says_ready_until_a_migration_is_missing_or_the_database_goes() {
    let app = spawn_app().await;
    let res = app.get("/api/ready").await;
    assert_eq!(res.status(), 200);
    let ready: Readiness = json(res).await;
    assert_eq!(ready.status, "ready");
    let total = ready.checks[1].detail.split(' ').next().unwrap().to_owned();
    assert_eq!(
        ready.checks,
        [
            check("database", true, "sqlite"),
            check("migrations", true, &format!("{total} of {total} applied")),
        ]
    );

    let pool = &app.state.store.db().pool;
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(pool)
    .await
    .unwrap();
    let res = app.get("/api/ready").await;
    assert_eq!(res.status(), 503);
    let ready: Readiness = json(res).await;
    assert_eq!(ready.status, "not_ready");
    let behind = total.parse::<usize>().unwrap() - 1;
    assert_eq!(
        ready.checks[1],
        check("migrations", false, &format!("{behind} of {total} applied"))
    );

    app.state.store.db().close().await;
    let res = app.get("/api/ready").await;
    assert_eq!(res.status(), 503);
    let ready: Readiness = json(res).await;
    assert_eq!(ready.checks[0], check("database", false, "unreachable"));
    // Alive all the same.
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn every_response_has_a_request_id_and_a_sane_one_from_the_client_is_kept() {
    let app = spawn_app().await;
    let made = app.get("/api/health").await;
    let id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "a fresh uuid: {id}");
    let other = app.get("/api/health").await.headers()["x-request-id"].clone();
    assert_ne!(other.to_str().unwrap(), id);

    let kept = app
        .client
        .get(app.url("/api/nothing-here"))
        .header("x-request-id", "client-id.42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.status(), 404);
    assert_eq!(kept.headers()["x-request-id"], "client-id.42");

    let replaced = app
        .client
        .get(app.url("/api/health"))
        .header("x-request-id", "not a sane id")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "not a sane id");
}

/// A provider that answers every chat completion with "Hi" and records the
/// `X-Request-Id` of each request.
async fn provider() -> (std::net::SocketAddr, Arc<Mutex<Vec<Option<String>>>>) {
    type Seen = Arc<Mutex<Vec<Option<String>>>>;
    async fn completions(State(seen): State<Seen>, headers: HeaderMap) -> impl IntoResponse {
        let id = headers
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        seen.lock().unwrap().push(id);
        let chunk = json!({"id":"c","object":"chat.completion.chunk","created":1,"model":"m",
            "choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]});
        let body = format!("data: {chunk}\n\ndata: [DONE]\n\n");
        ([("content-type", "text/event-stream")], body)
    }
    let seen = Seen::default();
    let router = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, seen)
}

#[tokio::test]
async fn the_provider_is_sent_the_request_id_of_the_request_that_asked() {
    let (addr, seen) = provider().await;
    let app = spawn_app_with(|c| {
        c.llm = chorus_server::config::LlmKind::Openai;
        c.openai_base_url = format!("http://{addr}/v1");
    })
    .await;
    let res = app
        .client
        .post(app.url("/api/v1/messages/send"))
        .header("x-anon-id", "request-id-visitor")
        .header("x-request-id", "chat-send-7")
        .json(&json!({"model": "gpt-4o-mini", "content": "Hello", "temperature": 0.7}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let events = read_sse(res).await;
    let complete: Value = events
        .iter()
        .find(|(name, _, _)| name == "assistant_complete")
        .map(|(_, _, data)| serde_json::from_str(data).unwrap())
        .expect("assistant_complete");
    assert_eq!(complete["content"], "Hi");
    assert_eq!(*seen.lock().unwrap(), [Some("chat-send-7".to_owned())]);
}

/// The real `chorus` binary with JSON logs, on an in-memory database.
struct Binary {
    _child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    _data: tempfile::TempDir,
}

impl Binary {
    async fn start(args: &[&str]) -> Self {
        use tokio::io::AsyncBufReadExt;
        let data = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chorus"))
            .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
            .args(["--database-url", "sqlite::memory:", "--chunk-delay-ms", "0"])
            .arg("--dist")
            .arg(data.path())
            .arg("--data-dir")
            .arg(data.path())
            .args(args)
            .env("JWT_SECRET", "test-secret-of-sufficient-length-0123456789")
            .env("RUST_LOG", "info,tower_http=debug")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            _child: child,
            lines,
            _data: data,
        }
    }

    /// The next log line, as JSON.
    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), self.lines.next_line())
            .await
            .expect("a log line within a minute")
            .unwrap()
            .expect("the server is running");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: not JSON: {line}"))
    }

    /// Reads log lines until one's message starts with `prefix`; the rest
    /// of that message.
    async fn until(&mut self, prefix: &str) -> String {
        loop {
            let line = self.next().await;
            let message = line["fields"]["message"].as_str().unwrap_or("");
            if let Some(rest) = message.strip_prefix(prefix) {
                return rest.to_owned();
            }
        }
    }
}

/// The real binary with `--log-format json`: every line it writes for a
/// request names that request's id.
#[tokio::test]
async fn json_logs_carry_the_request_id_on_every_line_of_a_request() {
    let mut server = Binary::start(&[]).await;
    let base = server.until("Chorus is listening on ").await;
    let res = reqwest::Client::new()
        .post(format!("{base}/api/auth/register"))
        .header("x-request-id", "register-alice-1")
        .json(&json!({"username": "alice", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // The request's lines: tower-http's start and end, and the handler's own.
    let mut messages = Vec::new();
    while messages.last().map(String::as_str) != Some("finished processing request") {
        let line = server.next().await;
        let message = line["fields"]["message"].as_str().unwrap_or("").to_owned();
        assert_eq!(
            line["span"]["request_id"], "register-alice-1",
            "a line of the request without its id: {line}"
        );
        messages.push(message);
    }
    assert_eq!(
        messages,
        [
            "started processing request",
            "registered",
            "finished processing request"
        ]
    );
}

/// `name{labels} value` lines → (series, value).
fn scrape_text(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(series, value)| (series.to_owned(), value.parse().unwrap()))
        .collect()
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_only_and_the_figures_move() {
    let mut server = Binary::start(&["--metrics-bind", "127.0.0.1:0"]).await;
    let base = server.until("Chorus is listening on ").await;
    let metrics_url = server.until("metrics on ").await;
    let client = reqwest::Client::new();
    let scrape = async || {
        let res = client.get(&metrics_url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        scrape_text(&res.text().await.unwrap())
    };
    // Never on the public listener.
    let public = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert!(
        !public
            .text()
            .await
            .unwrap()
            .contains("chorus_streams_started")
    );

    let before = scrape().await;
    assert_eq!(before["chorus_streams_started_total"], 0.0);

    // A socket held open, and a chat reply streamed over SSE.
    let ws_base = base.replacen("http", "ws", 1);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{ws_base}/ws?anon_id=metrics-visitor"))
            .await
            .unwrap();
    // Its greeting: the session (and its gauge) has begun.
    futures_util::StreamExt::next(&mut socket)
        .await
        .unwrap()
        .unwrap();
    let res = client
        .post(format!("{base}/api/v1/messages/send"))
        .header("x-anon-id", "metrics-visitor")
        .json(
            &json!({"model": "gpt-4o-mini", "content": "Tell me about tides", "temperature": 0.7}),
        )
        .send()
        .await
        .unwrap();
    let events = read_sse(res).await;
    assert!(
        events
            .iter()
            .any(|(name, _, _)| name == "assistant_complete")
    );
    let after = scrape().await;
    drop(socket);

    let moved = |series: &str| after[series] - before.get(series).copied().unwrap_or(0.0);
    assert_eq!(moved("chorus_streams_started_total"), 1.0);
    assert_eq!(
        moved("chorus_streams_finished_total{outcome=\"completed\"}"),
        1.0
    );
    assert!(moved("chorus_chunks_sent_total") >= 1.0);
    assert!(moved("chorus_tokens_total") >= 1.0);
    assert_eq!(moved("chorus_first_chunk_seconds_count"), 1.0);
    assert_eq!(moved("chorus_reply_seconds_count"), 1.0);
    assert!(moved("chorus_db_query_seconds_count") >= 1.0);
    assert_eq!(
        after["chorus_sockets_open{protocol=\"persona_support\"}"],
        1.0
    );
    assert_eq!(after["chorus_streams_running"], 0.0);
}
