//! Any OpenAI-compatible API (OpenAI, Ollama, vLLM, llama.cpp server, LM
//! Studio): Chat Completions streaming, and the Responses API streaming
//! events for the persona protocol's `openai_chat`.
//!
//! - Chat Completions: `data: {chunk}` lines until `data: [DONE]`, with
//!   `stream_options.include_usage`; providers that omit usage, or send
//!   `choices: null`, are tolerated (usage then counted approximately).
//! - Responses: `response.output_text.delta` … `response.completed` (its
//!   `response.id` and `usage`), `response.failed` / `error`.
//! - An answer that ends without its terminator (`[DONE]` or a
//!   `finish_reason`; `response.completed`) is `Incomplete`, never a finish:
//!   proxies close idle streams exactly like that.
//! - Errors: 401/403 → `ProviderAuth`, 429 → `RateLimited` (with
//!   `Retry-After`), 400/404/422 → `Rejected` (the provider's body is
//!   logged with its request id, never sent), 5xx / timeouts / no
//!   connection → `Unavailable`, with one retry before the first delta only.
//! - Reasoning models (OpenAI's o-series and peers) reject `max_tokens` and
//!   a non-default `temperature`: models named by `--reasoning-models` get
//!   `max_completion_tokens` and no sampling fields, and a model that
//!   refuses `max_tokens` is asked again that way once (and remembered).
//! - Usage missing upstream is estimated once from the whole text.
//! - After the end the rest of the body is read in the background, so the
//!   HTTP connection goes back to the pool; dropping the stream before the
//!   end drops the body and closes the connection.

use super::{ApiStyle, EngineError, GenEvent, GenRequest, GenStream};
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use shared::stream::TokenUsage;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct OpenAi {
    client: reqwest::Client,
    /// e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`.
    base_url: String,
    api_key: Option<String>,
    default_model: String,
    /// Longest wait for the answer to start, and between two pieces.
    timeout: Duration,
    /// Model-name prefixes of reasoning models (`--reasoning-models`).
    reasoning_prefixes: Vec<String>,
    /// Models that refused `max_tokens` once: asked the reasoning way since.
    learned_reasoning: Arc<Mutex<HashSet<String>>>,
}

impl OpenAi {
    pub fn new(
        base_url: &str,
        api_key: Option<String>,
        default_model: &str,
        timeout: Duration,
    ) -> Self {
        Self {
            client: reqwest::Client::builder()
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                .build()
                .expect("an HTTP client"),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.filter(|k| !k.is_empty()),
            default_model: default_model.to_owned(),
            timeout,
            reasoning_prefixes: Vec::new(),
            learned_reasoning: Arc::default(),
        }
    }

    /// Treats models whose names start with one of `prefixes` as reasoning
    /// models (`max_completion_tokens`, no sampling fields).
    pub fn with_reasoning_models(mut self, prefixes: &[String]) -> Self {
        self.reasoning_prefixes = prefixes
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        self
    }

    fn is_reasoning(&self, model: &str) -> bool {
        self.reasoning_prefixes
            .iter()
            .any(|p| model.starts_with(p.as_str()))
            || self
                .learned_reasoning
                .lock()
                .expect("reasoning models lock")
                .contains(model)
    }

    pub fn generate(&self, req: GenRequest) -> GenStream {
        let this = self.clone();
        futures_util::stream::once(async move { this.open(req).await })
            .flat_map(|opened| match opened {
                Ok(s) => s,
                Err(e) => futures_util::stream::iter([Err(e)]).boxed(),
            })
            .boxed()
    }

    /// Sends the request (retrying once on a transient failure) and returns
    /// the parsed event stream.
    async fn open(&self, req: GenRequest) -> Result<GenStream, EngineError> {
        let mut last = None;
        for attempt in 0..2 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            let started = std::time::Instant::now();
            let sent = self.send(&req).await;
            crate::metrics::provider_answered(started, sent.as_ref().err().map(EngineError::code));
            match sent {
                Ok(res) => return Ok(self.parse(res, &req)),
                Err(e @ EngineError::Unavailable(_)) => last = Some(e),
                Err(EngineError::Rejected { detail, .. })
                    if attempt == 0 && refuses_sampling_fields(&detail) =>
                {
                    // A reasoning model we did not know: ask it their way.
                    let model = self.model_of(&req);
                    tracing::info!(%model, "the model refused max_tokens; asking it as a reasoning model");
                    self.learned_reasoning
                        .lock()
                        .expect("reasoning models lock")
                        .insert(model);
                    last = None;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| EngineError::Unavailable("no answer".into())))
    }

    fn model_of(&self, req: &GenRequest) -> String {
        req.model
            .clone()
            .unwrap_or_else(|| self.default_model.clone())
    }

    async fn send(&self, req: &GenRequest) -> Result<reqwest::Response, EngineError> {
        let model = self.model_of(req);
        let reasoning = self.is_reasoning(&model);
        let (path, body) = match req.api {
            ApiStyle::ChatCompletions => ("chat/completions", chat_body(req, &model, reasoning)),
            ApiStyle::Responses => ("responses", responses_body(req, &model, reasoning)),
        };
        let mut builder = self
            .client
            .post(format!("{}/{path}", self.base_url))
            .header("accept", "text/event-stream")
            .json(&body);
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        if let Some(id) = crate::request_id::current() {
            builder = builder.header(crate::request_id::HEADER, id);
        }
        let res = tokio::time::timeout(self.timeout, builder.send())
            .await
            .map_err(|_| EngineError::Unavailable("timed out waiting for the provider".into()))?
            .map_err(|e| EngineError::Unavailable(e.without_url().to_string()))?;
        let status = res.status().as_u16();
        if (200..=299).contains(&status) {
            return Ok(res);
        }
        let request_id = res
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        // Read (a bounded part of) the body for the log: operators need the
        // provider's words, people get a sentence and a code.
        let body = tokio::time::timeout(self.timeout, res.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let body: String = body.chars().take(2000).collect();
        tracing::warn!(status, %model, request_id, body, "the model provider refused a request");
        Err(match status {
            401 | 403 => EngineError::ProviderAuth,
            429 => EngineError::RateLimited { retry_after },
            400 | 404 | 409 | 413 | 422 => EngineError::Rejected {
                status,
                detail: body,
            },
            s if s >= 500 => EngineError::Unavailable(format!("the provider answered {s}")),
            s => EngineError::Protocol(format!("the provider answered {s}")),
        })
    }

    fn parse(&self, res: reqwest::Response, req: &GenRequest) -> GenStream {
        let api = req.api;
        let timeout = self.timeout;
        let prompt_estimate = req.prompt_tokens();
        let events = res.bytes_stream().eventsource();
        let state = ParseState {
            events: Box::pin(events),
            text_chars: 0,
            usage: None,
            response_id: None,
            finish_reason: false,
            done: false,
            api,
            prompt_estimate,
        };
        futures_util::stream::unfold(state, move |mut st| async move {
            if st.done {
                return None;
            }
            loop {
                let next = match tokio::time::timeout(timeout, st.events.next()).await {
                    Err(_) => {
                        st.done = true;
                        return Some((
                            Err(EngineError::Unavailable(
                                "the provider stopped sending".into(),
                            )),
                            st,
                        ));
                    }
                    Ok(n) => n,
                };
                let Some(ev) = next else {
                    st.done = true;
                    // A `finish_reason` is an end too (some servers send no
                    // `[DONE]`); a body that just stops was cut.
                    return Some((
                        if st.finish_reason {
                            Ok(st.finish())
                        } else {
                            Err(EngineError::Incomplete)
                        },
                        st,
                    ));
                };
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => {
                        st.done = true;
                        return Some((Err(EngineError::Unavailable(e.to_string())), st));
                    }
                };
                match st.step(&ev.data) {
                    Step::Delta(d) => return Some((Ok(GenEvent::Delta(d)), st)),
                    Step::Nothing => continue,
                    Step::Done => {
                        st.done = true;
                        st.drain_rest(timeout);
                        return Some((Ok(st.finish()), st));
                    }
                    Step::Fail(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
            }
        })
        .boxed()
    }
}

type EventStream = std::pin::Pin<
    Box<
        dyn Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

struct ParseState {
    events: EventStream,
    /// Characters of text so far (the token estimate is made once, from
    /// all of them).
    text_chars: u64,
    usage: Option<TokenUsage>,
    response_id: Option<String>,
    /// A choice said why it finished (an end even without `[DONE]`).
    finish_reason: bool,
    done: bool,
    api: ApiStyle,
    prompt_estimate: u64,
}

enum Step {
    Delta(String),
    Nothing,
    Done,
    Fail(EngineError),
}

impl ParseState {
    fn step(&mut self, data: &str) -> Step {
        if data.trim() == "[DONE]" {
            return Step::Done;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return Step::Fail(EngineError::Protocol(format!(
                "not JSON: {}",
                data.chars().take(300).collect::<String>()
            )));
        };
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Step::Fail(EngineError::Unavailable(err.to_string()));
        }
        match self.api {
            ApiStyle::ChatCompletions => self.chat_step(&v),
            ApiStyle::Responses => self.responses_step(&v),
        }
    }

    fn chat_step(&mut self, v: &Value) -> Step {
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            self.usage = Some(TokenUsage {
                prompt_tokens: u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
                completion_tokens: u
                    .get("completion_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            });
        }
        if self.response_id.is_none() {
            self.response_id = v.get("id").and_then(Value::as_str).map(str::to_owned);
        }
        // `choices` may be missing, null or empty (the usage chunk).
        let choice = v
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first());
        if choice
            .and_then(|c| c.get("finish_reason"))
            .is_some_and(|r| !r.is_null())
        {
            self.finish_reason = true;
        }
        let delta = choice
            .and_then(|c| c.get("delta"))
            .and_then(|d| d.get("content"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if delta.is_empty() {
            return Step::Nothing;
        }
        self.count(delta);
        Step::Delta(delta.to_owned())
    }

    fn responses_step(&mut self, v: &Value) -> Step {
        match v.get("type").and_then(Value::as_str).unwrap_or("") {
            "response.created" | "response.in_progress" => {
                if let Some(id) = v.pointer("/response/id").and_then(Value::as_str) {
                    self.response_id = Some(id.to_owned());
                }
                Step::Nothing
            }
            "response.output_text.delta" => {
                let d = v.get("delta").and_then(Value::as_str).unwrap_or("");
                if d.is_empty() {
                    return Step::Nothing;
                }
                self.count(d);
                Step::Delta(d.to_owned())
            }
            "response.completed" => {
                if let Some(id) = v.pointer("/response/id").and_then(Value::as_str) {
                    self.response_id = Some(id.to_owned());
                }
                if let Some(u) = v.pointer("/response/usage").filter(|u| !u.is_null()) {
                    self.usage = Some(TokenUsage {
                        prompt_tokens: u.get("input_tokens").and_then(Value::as_u64).unwrap_or(0),
                        completion_tokens: u
                            .get("output_tokens")
                            .and_then(Value::as_u64)
                            .unwrap_or(0),
                    });
                }
                Step::Done
            }
            "response.failed" | "response.incomplete" | "error" => {
                let msg = v
                    .pointer("/response/error")
                    .or_else(|| v.pointer("/response/incomplete_details"))
                    .or_else(|| v.get("message"))
                    .map(Value::to_string)
                    .unwrap_or_else(|| "the response failed".into());
                Step::Fail(EngineError::Unavailable(msg))
            }
            _ => Step::Nothing,
        }
    }

    fn count(&mut self, delta: &str) {
        self.text_chars += delta.chars().count() as u64;
    }

    /// Reads what is left of the body (after `[DONE]`, or after
    /// `response.completed`) in the background, so the connection is
    /// reused; a body that never ends is dropped after `timeout`.
    fn drain_rest(&mut self, timeout: Duration) {
        let mut events =
            std::mem::replace(&mut self.events, Box::pin(futures_util::stream::empty()));
        tokio::spawn(async move {
            let _ = tokio::time::timeout(timeout, async { while events.next().await.is_some() {} })
                .await;
        });
    }

    fn finish(&mut self) -> GenEvent {
        let usage = self.usage.unwrap_or(TokenUsage {
            prompt_tokens: self.prompt_estimate,
            // The whole text's estimate, once: per delta it rounds up each.
            completion_tokens: self.text_chars.div_ceil(4),
        });
        GenEvent::Finish {
            usage,
            response_id: self.response_id.take(),
        }
    }
}

/// Whether a 400's body says the model refuses `max_tokens` or a sampling
/// field (how OpenAI answers a reasoning model asked the old way).
fn refuses_sampling_fields(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    (d.contains("max_tokens") || d.contains("temperature"))
        && (d.contains("unsupported") || d.contains("not supported"))
}

fn chat_body(req: &GenRequest, model: &str, reasoning: bool) -> Value {
    let mut messages = Vec::new();
    if !req.system.is_empty() {
        messages.push(json!({"role": "system", "content": req.system}));
    }
    for m in &req.messages {
        messages.push(json!({"role": m.role, "content": m.content}));
    }
    let mut body = json!({
        "model": model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    if reasoning {
        body["max_completion_tokens"] = json!(req.max_tokens);
    } else {
        body["max_tokens"] = json!(req.max_tokens);
        body["temperature"] = json!(req.temperature);
    }
    body
}

fn responses_body(req: &GenRequest, model: &str, reasoning: bool) -> Value {
    let mut body = json!({
        "model": model,
        "input": req.last_user_message(),
        "max_output_tokens": req.max_tokens,
        "stream": true,
    });
    if !reasoning {
        body["temperature"] = json!(req.temperature);
    }
    if !req.system.is_empty() {
        body["instructions"] = json!(req.system);
    }
    if let Some(prev) = &req.previous_response_id {
        body["previous_response_id"] = json!(prev);
    }
    body
}
