//! The OpenAI-compatible provider against a scripted local server that
//! replays OpenAI's exact streaming formats, its errors, a hang, and an
//! endless stream (to prove that dropping the consumer closes the upstream
//! connection).

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chorus_server::engine::openai::OpenAi;
use chorus_server::engine::{ApiStyle, EngineError, GenEvent, GenRequest};
use futures_util::StreamExt;
use serde_json::{Value, json};
use shared::stream::TokenUsage;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// A request the scripted server saw: (model, body, Authorization header).
type Call = (String, Value, Option<String>);

#[derive(Clone, Default)]
pub(crate) struct Script {
    /// Requests seen, by model.
    pub(crate) calls: Arc<std::sync::Mutex<Vec<Call>>>,
    flaky: Arc<AtomicUsize>,
    /// Notified when an endless body is dropped (the client hung up).
    hung_up: Arc<Notify>,
}

fn sse(lines: &[String]) -> Response {
    let body: String = lines.iter().map(|l| format!("data: {l}\n\n")).collect();
    ([("content-type", "text/event-stream")], body).into_response()
}

fn chunk(content: &str) -> String {
    json!({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m",
           "choices":[{"index":0,"delta":{"content":content},"finish_reason":null}]})
    .to_string()
}

struct HangUpGuard(Arc<Notify>);
impl Drop for HangUpGuard {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

async fn chat(State(s): State<Script>, headers: HeaderMap, body: String) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap();
    let model = v["model"].as_str().unwrap_or("").to_owned();
    let auth = headers
        .get("authorization")
        .map(|h| h.to_str().unwrap().to_owned());
    s.calls
        .lock()
        .unwrap()
        .push((model.clone(), v.clone(), auth));
    let usage = json!({"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],
                       "usage":{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14}})
    .to_string();
    match model.as_str() {
        "with-usage" => sse(&[
            chunk("Hel"),
            chunk("lo "),
            chunk("world"),
            usage,
            "[DONE]".into(),
        ]),
        "no-usage" => sse(&[chunk("Hello "), chunk("there"), "[DONE]".into()]),
        "null-choices" => sse(&[
            json!({"id":"x","choices":null}).to_string(),
            chunk("Still "),
            chunk("fine"),
            json!({"id":"x","choices":null,"usage":{"prompt_tokens":5,"completion_tokens":2}})
                .to_string(),
            "[DONE]".into(),
        ]),
        // Role-card layers that never parse as JSON.
        "garbage" => sse(&[
            chunk("Sure! Here is "),
            chunk("no JSON at all."),
            "[DONE]".into(),
        ]),
        // A model that judges every message high risk.
        "risk-high" => sse(&[chunk("high"), "[DONE]".into()]),
        "outline" => sse(&[
            chunk("**Title:** Glass"),
            chunk("deep\nGenre: Mystery\n"),
            chunk("Setting: flooded caves"),
            "[DONE]".into(),
        ]),
        "unauthorized" => (
            StatusCode::UNAUTHORIZED,
            "{\"error\":{\"message\":\"bad key\"}}",
        )
            .into_response(),
        "limited" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "7")],
            "slow down",
        )
            .into_response(),
        "broken" => (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response(),
        "flaky" => {
            if s.flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                (StatusCode::BAD_GATEWAY, "try again").into_response()
            } else {
                sse(&[chunk("second "), chunk("time"), "[DONE]".into()])
            }
        }
        "hang" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        "endless" => {
            let guard = HangUpGuard(s.hung_up.clone());
            let stream = futures_util::stream::unfold((0u64, guard), |(n, g)| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Some((
                    Ok::<_, std::io::Error>(format!("data: {}\n\n", chunk(&format!("{n} ")))),
                    (n + 1, g),
                ))
            });
            (
                [("content-type", "text/event-stream")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        _ => (StatusCode::NOT_FOUND, "no such script").into_response(),
    }
}

async fn responses(State(s): State<Script>, body: String) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap();
    s.calls
        .lock()
        .unwrap()
        .push(("responses".into(), v.clone(), None));
    let prev = v["previous_response_id"]
        .as_str()
        .unwrap_or("none")
        .to_owned();
    let ev = |e: Value| format!("event: {}\ndata: {}\n\n", e["type"].as_str().unwrap(), e);
    let body = [
        ev(json!({"type":"response.created","response":{"id":"resp_42","status":"in_progress"}})),
        ev(json!({"type":"response.output_text.delta","item_id":"m1","output_index":0,"content_index":0,"delta":"after "})),
        ev(json!({"type":"response.output_text.delta","item_id":"m1","output_index":0,"content_index":0,"delta":prev})),
        ev(json!({"type":"response.output_text.done","text":"…"})),
        ev(json!({"type":"response.completed","response":{"id":"resp_42","status":"completed",
            "usage":{"input_tokens":9,"output_tokens":4,"total_tokens":13}}})),
    ]
    .concat();
    ([("content-type", "text/event-stream")], body).into_response()
}

pub(crate) async fn scripted() -> (String, Script) {
    let script = Script::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/responses", post(responses))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), script)
}

/// The server, generating with the scripted provider's `model`.
pub(crate) async fn on_model(base: &str, model: &str) -> crate::helpers::TestApp {
    let (base, model) = (base.to_owned(), model.to_owned());
    crate::helpers::spawn_app_with(move |c| {
        c.llm = chorus_server::config::LlmKind::Openai;
        c.openai_base_url = base;
        c.model = model;
    })
    .await
}

fn provider(base: &str) -> OpenAi {
    OpenAi::new(
        base,
        Some("sk-test".into()),
        "with-usage",
        Duration::from_secs(2),
    )
}

fn request(model: &str) -> GenRequest {
    let mut r = GenRequest::new("Say hello");
    r.system = "You are terse.".into();
    r.model = Some(model.into());
    r
}

async fn run(
    p: &OpenAi,
    r: GenRequest,
) -> (String, Result<(TokenUsage, Option<String>), EngineError>) {
    let mut text = String::new();
    let mut events = p.generate(r);
    while let Some(e) = events.next().await {
        match e {
            Ok(GenEvent::Delta(d)) => text.push_str(&d),
            Ok(GenEvent::Finish { usage, response_id }) => return (text, Ok((usage, response_id))),
            Err(e) => return (text, Err(e)),
        }
    }
    panic!("the stream ended without a finish or an error")
}

#[tokio::test]
async fn chat_completions_stream_text_and_the_providers_usage() {
    let (base, script) = scripted().await;
    let (text, end) = run(&provider(&base), request("with-usage")).await;
    assert_eq!(text, "Hello world");
    let (usage, id) = end.unwrap();
    assert_eq!(
        usage,
        TokenUsage {
            prompt_tokens: 11,
            completion_tokens: 3
        }
    );
    assert_eq!(id.as_deref(), Some("chatcmpl-1"));
    let calls = script.calls.lock().unwrap();
    let (_, body, auth) = &calls[0];
    assert_eq!(auth.as_deref(), Some("Bearer sk-test"));
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(
        body["messages"][0],
        json!({"role":"system","content":"You are terse."})
    );
    assert_eq!(
        body["messages"][1],
        json!({"role":"user","content":"Say hello"})
    );
}

#[tokio::test]
async fn missing_usage_is_counted_and_null_choices_are_tolerated() {
    let (base, _) = scripted().await;
    let (text, end) = run(&provider(&base), request("no-usage")).await;
    assert_eq!(text, "Hello there");
    assert_eq!(
        end.unwrap().0.completion_tokens,
        chorus_server::engine::approx_tokens("Hello ")
            + chorus_server::engine::approx_tokens("there")
    );
    let (text, end) = run(&provider(&base), request("null-choices")).await;
    assert_eq!(text, "Still fine");
    assert_eq!(
        end.unwrap().0,
        TokenUsage {
            prompt_tokens: 5,
            completion_tokens: 2
        }
    );
}

#[tokio::test]
async fn the_responses_api_streams_and_continues_a_conversation() {
    let (base, script) = scripted().await;
    let mut r = request("gpt-4o-mini");
    r.api = ApiStyle::Responses;
    r.previous_response_id = Some("resp_41".into());
    let (text, end) = run(&provider(&base), r).await;
    assert_eq!(text, "after resp_41");
    let (usage, id) = end.unwrap();
    assert_eq!(
        usage,
        TokenUsage {
            prompt_tokens: 9,
            completion_tokens: 4
        }
    );
    assert_eq!(id.as_deref(), Some("resp_42"));
    let calls = script.calls.lock().unwrap();
    let body = &calls[0].1;
    assert_eq!(body["previous_response_id"], "resp_41");
    assert_eq!(body["input"], "Say hello");
    assert_eq!(body["instructions"], "You are terse.");
    assert_eq!(body["stream"], true);
}

#[tokio::test]
async fn upstream_errors_map_to_typed_errors() {
    let (base, script) = scripted().await;
    let p = provider(&base);
    assert_eq!(
        run(&p, request("unauthorized")).await.1.unwrap_err(),
        EngineError::ProviderAuth
    );
    assert_eq!(
        run(&p, request("limited")).await.1.unwrap_err(),
        EngineError::RateLimited {
            retry_after: Some(7)
        }
    );
    let err = run(&p, request("broken")).await.1.unwrap_err();
    assert_eq!(err.code(), shared::ErrorCode::ProviderUnavailable);
    let tries = |m: &str| {
        script
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.0 == m)
            .count()
    };
    assert_eq!(tries("broken"), 2, "one bounded retry on 5xx");
    assert_eq!(tries("unauthorized"), 1, "no retry on 401");
    assert_eq!(tries("limited"), 1, "no retry on 429");
}

#[tokio::test]
async fn a_transient_failure_before_the_first_delta_is_retried_once() {
    let (base, script) = scripted().await;
    let (text, end) = run(&provider(&base), request("flaky")).await;
    assert_eq!(text, "second time");
    assert!(end.is_ok());
    assert_eq!(script.flaky.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_provider_that_hangs_is_unavailable() {
    let (base, _) = scripted().await;
    let p = OpenAi::new(&base, None, "hang", Duration::from_millis(300));
    let err = run(&p, request("hang")).await.1.unwrap_err();
    assert!(matches!(err, EngineError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable() {
    let p = OpenAi::new(
        "http://127.0.0.1:9/v1",
        None,
        "m",
        Duration::from_millis(500),
    );
    let err = run(&p, request("m")).await.1.unwrap_err();
    assert!(matches!(err, EngineError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn dropping_the_consumer_closes_the_upstream_connection() {
    let (base, script) = scripted().await;
    let hung_up = script.hung_up.notified();
    let mut events = provider(&base).generate(request("endless"));
    for _ in 0..3 {
        assert!(matches!(events.next().await, Some(Ok(GenEvent::Delta(_)))));
    }
    drop(events);
    // The scripted server's body is dropped only when the connection closes.
    tokio::time::timeout(Duration::from_secs(30), hung_up)
        .await
        .expect("the upstream connection was closed");
}

#[tokio::test]
async fn the_server_runs_on_an_openai_compatible_provider_by_configuration() {
    let (base, _) = scripted().await;
    let app = on_model(&base, "with-usage").await;
    let who = chorus_server::auth::identity::Identity::Anonymous("openai-user-1".into());
    let entry = chorus_server::streams::generation::start(
        &app.state.generator,
        &who,
        chorus_server::streams::generation::Generation {
            request: GenRequest::new("hi"),
            chunk_chars: 4,
            render: chorus_server::streams::generation::EngineEvents,
            ticket: None,
        },
    );
    let res = app
        .client
        .get(app.url(&format!("/api/streams/{}", entry.id)))
        .header("x-anon-id", "openai-user-1")
        .send()
        .await
        .unwrap();
    let events = crate::helpers::read_sse(res).await;
    let texts: Vec<String> = events
        .iter()
        .filter(|e| e.0 == "delta")
        .map(|e| {
            serde_json::from_str::<Value>(&e.2).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(texts, ["Hell", "o wo", "rld"], "re-chunked to 4 characters");
}

/// A new user with one memory asks for their core layer: their token and
/// the stream's response.
async fn core_layer_stream(
    app: &crate::helpers::TestApp,
    user: &str,
    memory: &str,
) -> (String, reqwest::Response) {
    let token = app.register(user).await;
    app.client
        .post(app.url("/api/memories"))
        .bearer_auth(&token)
        .json(&json!({"content": memory}))
        .send()
        .await
        .unwrap();
    let res = app
        .client
        .post(app.url("/api/rolecard/layers/core/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    (token, res)
}

#[tokio::test]
async fn a_role_card_layer_that_does_not_parse_is_retried_once_then_an_error() {
    let (base, script) = scripted().await;
    let app = on_model(&base, "garbage").await;
    let (_, res) = core_layer_stream(&app, "model_rc", "She baked bread every Sunday.").await;
    let events = crate::helpers::read_sse(res).await;
    let last: Value = serde_json::from_str(&events.last().unwrap().2).unwrap();
    assert_eq!(last["type"], "error");
    assert!(
        last["error"]
            .as_str()
            .unwrap()
            .contains("not a valid layer"),
        "{last}"
    );
    let tries = script
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.0 == "garbage")
        .count();
    assert_eq!(tries, 2, "one retry");
    // The model's text was streamed as data while it came.
    assert!(events.iter().any(|e| e.2.contains("no JSON at all")));
}

#[tokio::test]
async fn the_models_judgement_can_raise_a_support_messages_risk() {
    let (base, _) = scripted().await;
    let app = on_model(&base, "risk-high").await;
    let token = app.register("model_risk").await;
    let res = app
        .client
        .post(app.url("/api/support/sessions"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let session: Value = res.json().await.unwrap();
    let mut ws = crate::helpers::WsClient::connect(&app, &format!("/ws?token={token}")).await;
    // The rules see nothing here; the model says high.
    ws.send_json(json!({"type": "session_message", "session_id": session["id"], "message_text": "I had a normal day"}))
        .await;
    let events = ws
        .read_until(|v| v["type"] == "assistant_message_complete")
        .await;
    assert_eq!(events[1]["type"], "safety_escalation");
    assert_eq!(events.last().unwrap()["message"]["risk_level"], "high");
}

#[tokio::test]
async fn the_model_cannot_lower_a_high_risk_message() {
    let (base, _) = scripted().await;
    // This model answers "Hello world": no level at all.
    let app = on_model(&base, "with-usage").await;
    let token = app.register("model_low").await;
    let session: Value = app
        .client
        .post(app.url("/api/support/sessions"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ws = crate::helpers::WsClient::connect(&app, &format!("/ws?token={token}")).await;
    ws.send_json(json!({"type": "session_message", "session_id": session["id"], "message_text": "I want to kill myself"}))
        .await;
    let events = ws
        .read_until(|v| v["type"] == "assistant_message_complete")
        .await;
    assert_eq!(events[1]["type"], "safety_escalation");
}

#[tokio::test]
async fn a_role_card_stop_is_noticed_while_waiting_on_the_provider() {
    let (base, _) = scripted().await;
    // The provider never answers (and its timeout is a minute away).
    let app = on_model(&base, "hang").await;
    let (token, res) = core_layer_stream(
        &app,
        "model_rc_stop",
        "He fixed bicycles for the whole street.",
    )
    .await;
    use eventsource_stream::Eventsource;
    let mut events = res.bytes_stream().eventsource();
    let first = events.next().await.unwrap().unwrap();
    let first: Value = serde_json::from_str(&first.data).unwrap();
    let stream_id = first["stream_id"].as_str().unwrap().to_owned();
    let stopped = app
        .client
        .post(app.url(&format!("/api/streams/{stream_id}/stop")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 200);
    // The guard is well under the provider's own timeout: only a stop
    // noticed while waiting ends the stream in time.
    let rest = tokio::time::timeout(Duration::from_secs(30), async {
        let mut rest = Vec::new();
        while let Some(ev) = events.next().await {
            rest.push(serde_json::from_str::<Value>(&ev.unwrap().data).unwrap());
        }
        rest
    })
    .await
    .expect("the stop ends the stream while the provider is silent");
    let last = rest.last().unwrap();
    assert_eq!(last["type"], "error", "{last}");
    assert_eq!(last["error"], "Generation stopped");
    let saved = app
        .state
        .store
        .generation(&stream_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.status, "stopped");
}
