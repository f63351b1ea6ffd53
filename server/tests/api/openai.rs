//! The OpenAI-compatible provider against a scripted local server that
//! replays OpenAI's exact streaming formats, its errors, a hang, and an
//! endless stream (to prove that dropping the consumer closes the upstream
//! connection); and what real providers do at the edges: a body cut
//! without its terminator, a 400 for an unknown model, 429 with and
//! without `Retry-After`, 1-character deltas without usage, a slow
//! trickle, a reasoning model that rejects `max_tokens`, bytes after
//! `[DONE]`.

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chorus_server::engine::openai::OpenAi;
use chorus_server::engine::{ApiStyle, EngineError, GenEvent, GenRequest};
use futures_util::StreamExt;
use serde_json::{Value, json};
use shared::stream::TokenUsage;
use std::net::SocketAddr;
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
    /// The client's address of each request, in order (a reused
    /// connection has the same one).
    pub(crate) peers: Arc<std::sync::Mutex<Vec<SocketAddr>>>,
}

/// A body of `lines` sent `gap` apart (then, for `trailer`, more bytes
/// after a pause), as a provider streams it.
fn paced(lines: Vec<String>, gap: Duration, trailer: Option<&'static str>) -> Response {
    let stream = futures_util::stream::unfold(
        (lines.into_iter(), trailer),
        move |(mut it, t)| async move {
            match it.next() {
                Some(line) => {
                    tokio::time::sleep(gap).await;
                    Some((
                        Ok::<_, std::io::Error>(format!("data: {line}\n\n")),
                        (it, t),
                    ))
                }
                None => {
                    let t = t?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((Ok(t.to_owned()), (it, None)))
                }
            }
        },
    );
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(stream),
    )
        .into_response()
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

async fn chat(
    State(s): State<Script>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    s.peers.lock().unwrap().push(peer);
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
        // A relation layer whose relationId the model made up.
        "relation-layer" => sse(&[
            chunk("{\"relationId\":\"made-up\",\"name\":\"Tom\",\"relationship\":\"grandson\","),
            chunk("\"howTheyTreatThem\":\"kindly\",\"sharedHistory\":\"bakery races\",\"tone\":\"warm\"}"),
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
        // A proxy closed the stream: no `[DONE]`, no finish_reason.
        "cut" => sse(&[chunk("Half a "), chunk("thought")]),
        // No `[DONE]`, but the choice says why it finished: complete.
        "finish-reason" => sse(&[
            chunk("All "),
            json!({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"said"},"finish_reason":"stop"}]})
                .to_string(),
        ]),
        "unknown-model" => (
            StatusCode::BAD_REQUEST,
            [("x-request-id", "req_123")],
            "{\"error\":{\"message\":\"The model `unknown-model` does not exist or you do not have access to it.\",\"type\":\"invalid_request_error\",\"code\":\"model_not_found\"}}",
        )
            .into_response(),
        "limited-no-header" => (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response(),
        // A local model without usage, one character at a time.
        "one-char" => {
            let mut lines: Vec<String> = "Hello world!".chars().map(|c| chunk(&c.to_string())).collect();
            lines.push("[DONE]".into());
            sse(&lines)
        }
        // A slow local model: a word every 300 ms.
        "trickle" => paced(
            vec![chunk("Slow"), chunk(" and"), chunk(" steady"), "[DONE]".into()],
            Duration::from_millis(300),
            None,
        ),
        // A long piece at once, then silence (a stop must keep all of it).
        "burst-then-hang" => paced(
            vec![chunk(&"abcdefghij".repeat(12))],
            Duration::ZERO,
            Some(": still thinking\n\n"),
        ),
        // More of the body after `[DONE]` (a keep-alive comment).
        "trailer" => paced(
            vec![chunk("Reused"), "[DONE]".into()],
            Duration::ZERO,
            Some(": bye\n\n"),
        ),
        // A reasoning model: refuses `max_tokens` and `temperature`.
        "reasoner" => {
            if v.get("max_tokens").is_some() || v.get("temperature").is_some() {
                (
                    StatusCode::BAD_REQUEST,
                    "{\"error\":{\"message\":\"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.\",\"type\":\"invalid_request_error\",\"param\":\"max_tokens\",\"code\":\"unsupported_parameter\"}}",
                )
                    .into_response()
            } else {
                sse(&[chunk("Thought "), chunk("through"), "[DONE]".into()])
            }
        }
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
    if v["model"] == "cut" {
        // Cut before `response.completed`.
        let body = [
            ev(json!({"type":"response.created","response":{"id":"resp_cut","status":"in_progress"}})),
            ev(json!({"type":"response.output_text.delta","item_id":"m1","output_index":0,"content_index":0,"delta":"Half a thought"})),
        ]
        .concat();
        return ([("content-type", "text/event-stream")], body).into_response();
    }
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
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    (format!("http://{addr}/v1"), script)
}

/// The server, generating with the scripted provider's `model`.
pub(crate) async fn on_model(base: &str, model: &str) -> crate::helpers::TestApp {
    on_models(base, model, &[]).await
}

/// The server, generating with the scripted provider's `model` by default
/// and letting clients pick `others` too (`--allowed-models`).
pub(crate) async fn on_models(base: &str, model: &str, others: &[&str]) -> crate::helpers::TestApp {
    let (base, model) = (base.to_owned(), model.to_owned());
    let others: Vec<String> = others.iter().map(|m| (*m).to_owned()).collect();
    crate::helpers::spawn_app_with(move |c| {
        c.llm = chorus_server::config::LlmKind::Openai;
        c.openai_base_url = base;
        c.model = model;
        c.allowed_models = others;
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
    // Estimated once from the whole text, not rounded up per delta.
    assert_eq!(
        end.unwrap().0.completion_tokens,
        chorus_server::engine::approx_tokens("Hello there")
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
pub(crate) async fn core_layer_stream(
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

#[tokio::test]
async fn a_body_cut_without_its_terminator_is_incomplete_not_finished() {
    let (base, _) = scripted().await;
    let p = provider(&base);
    let (text, end) = run(&p, request("cut")).await;
    assert_eq!(text, "Half a thought", "the partial text still arrives");
    assert_eq!(end.unwrap_err(), EngineError::Incomplete);
    assert_eq!(
        EngineError::Incomplete.code(),
        shared::ErrorCode::ProviderIncomplete
    );
    // A finish_reason is an end even without `[DONE]`.
    let (text, end) = run(&p, request("finish-reason")).await;
    assert_eq!(text, "All said");
    assert!(end.is_ok(), "{end:?}");
    // The Responses API without `response.completed`.
    let mut r = request("cut");
    r.api = ApiStyle::Responses;
    let (text, end) = run(&p, r).await;
    assert_eq!(text, "Half a thought");
    assert_eq!(end.unwrap_err(), EngineError::Incomplete);
}

#[tokio::test]
async fn an_unknown_model_is_rejected_with_a_sentence_not_the_providers_body() {
    let (base, script) = scripted().await;
    let err = run(&provider(&base), request("unknown-model"))
        .await
        .1
        .unwrap_err();
    assert_eq!(err.code(), shared::ErrorCode::ProviderRejected);
    let said = err.to_string();
    assert_eq!(said, "the model provider refused the request (HTTP 400)");
    assert!(err.detail().contains("model_not_found"), "kept for the log");
    let tries = script.calls.lock().unwrap().len();
    assert_eq!(tries, 1, "a rejected request is not retried");
}

#[tokio::test]
async fn rate_limits_carry_retry_after_as_a_number_and_say_it_in_words() {
    let (base, _) = scripted().await;
    let p = provider(&base);
    let with = run(&p, request("limited")).await.1.unwrap_err();
    assert_eq!(with.retry_after(), Some(7));
    assert_eq!(
        with.to_string(),
        "the model provider is rate limiting; try again in 7 seconds"
    );
    let without = run(&p, request("limited-no-header")).await.1.unwrap_err();
    assert_eq!(without, EngineError::RateLimited { retry_after: None });
    assert_eq!(
        without.to_string(),
        "the model provider is rate limiting; try again shortly"
    );
    for e in [&with, &without] {
        let s = e.to_string();
        assert!(!s.contains("Some(") && !s.contains("None"), "{s}");
    }
}

#[tokio::test]
async fn one_character_deltas_without_usage_count_the_whole_text_once() {
    let (base, _) = scripted().await;
    let (text, end) = run(&provider(&base), request("one-char")).await;
    assert_eq!(text, "Hello world!");
    // 12 characters are 3 tokens; per delta it would be 12.
    assert_eq!(end.unwrap().0.completion_tokens, 3);
}

#[tokio::test]
async fn a_reasoning_model_gets_max_completion_tokens_and_no_temperature() {
    let (base, script) = scripted().await;
    // Named by `--reasoning-models`: asked their way at once.
    let p = provider(&base).with_reasoning_models(&["reason".into()]);
    let (text, end) = run(&p, request("reasoner")).await;
    assert_eq!(text, "Thought through");
    assert!(end.is_ok());
    {
        let calls = script.calls.lock().unwrap();
        assert_eq!(calls.len(), 1);
        let body = &calls[0].1;
        assert_eq!(body["max_completion_tokens"], 1000);
        assert!(body.get("max_tokens").is_none() && body.get("temperature").is_none());
    }
    // Not named: its refusal of `max_tokens` is understood, it is asked
    // again the right way, and remembered.
    let p = provider(&base);
    let (text, end) = run(&p, request("reasoner")).await;
    assert_eq!(text, "Thought through");
    assert!(end.is_ok(), "{end:?}");
    let (_, end) = run(&p, request("reasoner")).await;
    assert!(end.is_ok());
    let asked = script.calls.lock().unwrap().len();
    assert_eq!(asked, 1 + 2 + 1, "one refusal, then asked right");
    // Other models still get the usual fields.
    run(&p, request("with-usage")).await.1.unwrap();
    let calls = script.calls.lock().unwrap();
    let last = &calls.last().unwrap().1;
    assert_eq!(last["max_tokens"], 1000);
    assert!(last.get("temperature").is_some());
}

#[tokio::test]
async fn the_body_is_read_to_its_end_after_done_so_the_connection_is_reused() {
    let (base, script) = scripted().await;
    let p = provider(&base);
    let (text, end) = run(&p, request("trailer")).await;
    assert_eq!(text, "Reused");
    assert!(end.is_ok());
    // The rest of the body (a comment 100 ms after `[DONE]`) is read in the
    // background; then the connection is back in the pool.
    tokio::time::sleep(Duration::from_millis(400)).await;
    run(&p, request("with-usage")).await.1.unwrap();
    let peers = script.peers.lock().unwrap();
    assert_eq!(peers.len(), 2);
    assert_eq!(
        peers[0], peers[1],
        "the second request used the same connection"
    );
}

#[tokio::test]
async fn only_its_owner_may_continue_from_a_response_id_the_provider_keeps() {
    let (base, script) = scripted().await;
    let app = on_model(&base, "gpt-4o-mini").await;
    let chat = |prev: Option<&str>| json!({"type": "openai_chat", "data": {"input_text": "Go on", "previous_response_id": prev}});
    let mut ada = crate::helpers::WsClient::connect(&app, "/ws?anon_id=ada-visitor-1").await;
    ada.send_json(chat(None)).await;
    let first = ada.read_until(|v| v["type"] == "response").await;
    let id = first.last().unwrap()["data"]["response_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(id, "resp_42");

    // Someone else naming ada's response is refused before the provider
    // hears of it: it would continue ada's conversation for them.
    let mut eve = crate::helpers::WsClient::connect(&app, "/ws?anon_id=eve-visitor-1").await;
    eve.send_json(chat(Some(&id))).await;
    let err = eve.next_json().await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("error"), Some("NOT_FOUND"))
    );
    assert_eq!(script.calls.lock().unwrap().len(), 1);

    // Ada continues.
    ada.send_json(chat(Some(&id))).await;
    let next = ada.read_until(|v| v["type"] == "response").await;
    let text = next.last().unwrap()["data"]["output_text"]
        .as_str()
        .unwrap();
    assert_eq!(text, "after resp_42");
    let calls = script.calls.lock().unwrap();
    assert_eq!(calls[1].1["previous_response_id"], "resp_42");
}
