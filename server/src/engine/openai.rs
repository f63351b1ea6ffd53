//! Any OpenAI-compatible API (OpenAI, Ollama, vLLM, llama.cpp server, LM
//! Studio): Chat Completions streaming, and the Responses API streaming
//! events for the persona protocol's `openai_chat`.
//!
//! - Chat Completions: `data: {chunk}` lines until `data: [DONE]`, with
//!   `stream_options.include_usage`; providers that omit usage, or send
//!   `choices: null`, are tolerated (usage then counted approximately).
//! - Responses: `response.output_text.delta` … `response.completed` (its
//!   `response.id` and `usage`), `response.failed` / `error`.
//! - Errors: 401/403 → `ProviderAuth`, 429 → `RateLimited` (with
//!   `Retry-After`), 5xx / timeouts / no connection → `Unavailable`, with one
//!   retry before the first delta only.
//! - Dropping the stream drops the response body: the connection closes.

use super::{ApiStyle, EngineError, GenEvent, GenRequest, GenStream, approx_tokens};
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use shared::stream::TokenUsage;
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
        }
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
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| EngineError::Unavailable("no answer".into())))
    }

    async fn send(&self, req: &GenRequest) -> Result<reqwest::Response, EngineError> {
        let model = req
            .model
            .clone()
            .unwrap_or_else(|| self.default_model.clone());
        let (path, body) = match req.api {
            ApiStyle::ChatCompletions => ("chat/completions", chat_body(req, &model)),
            ApiStyle::Responses => ("responses", responses_body(req, &model)),
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
        match status {
            200..=299 => Ok(res),
            401 | 403 => Err(EngineError::ProviderAuth),
            429 => Err(EngineError::RateLimited {
                retry_after: res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse().ok()),
            }),
            s if s >= 500 => Err(EngineError::Unavailable(format!(
                "the provider answered {s}"
            ))),
            s => {
                let text = res.text().await.unwrap_or_default();
                Err(EngineError::Protocol(format!(
                    "{s}: {}",
                    text.chars().take(300).collect::<String>()
                )))
            }
        }
    }

    fn parse(&self, res: reqwest::Response, req: &GenRequest) -> GenStream {
        let api = req.api;
        let timeout = self.timeout;
        let prompt_estimate = req.prompt_tokens();
        let events = res.bytes_stream().eventsource();
        let state = ParseState {
            events: Box::pin(events),
            text_len: 0,
            text_tokens: 0,
            usage: None,
            response_id: None,
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
                    // The body ended: finish with what we know.
                    st.done = true;
                    return Some((Ok(st.finish()), st));
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
    text_len: usize,
    text_tokens: u64,
    usage: Option<TokenUsage>,
    response_id: Option<String>,
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
                data.chars().take(100).collect::<String>()
            )));
        };
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            let msg = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("provider error");
            return Step::Fail(EngineError::Unavailable(msg.to_owned()));
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
        let delta = v
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
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
                    .pointer("/response/error/message")
                    .or_else(|| v.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("the response failed");
                Step::Fail(EngineError::Unavailable(msg.to_owned()))
            }
            _ => Step::Nothing,
        }
    }

    fn count(&mut self, delta: &str) {
        self.text_len += delta.len();
        self.text_tokens += approx_tokens(delta);
    }

    fn finish(&mut self) -> GenEvent {
        let usage = self.usage.unwrap_or(TokenUsage {
            prompt_tokens: self.prompt_estimate,
            completion_tokens: self.text_tokens,
        });
        GenEvent::Finish {
            usage,
            response_id: self.response_id.take(),
        }
    }
}

fn chat_body(req: &GenRequest, model: &str) -> Value {
    let mut messages = Vec::new();
    if !req.system.is_empty() {
        messages.push(json!({"role": "system", "content": req.system}));
    }
    for m in &req.messages {
        messages.push(json!({"role": m.role, "content": m.content}));
    }
    json!({
        "model": model,
        "messages": messages,
        "temperature": req.temperature,
        "max_tokens": req.max_tokens,
        "stream": true,
        "stream_options": {"include_usage": true},
    })
}

fn responses_body(req: &GenRequest, model: &str) -> Value {
    let mut body = json!({
        "model": model,
        "input": req.last_user_message(),
        "temperature": req.temperature,
        "max_output_tokens": req.max_tokens,
        "stream": true,
    });
    if !req.system.is_empty() {
        body["instructions"] = json!(req.system);
    }
    if let Some(prev) = &req.previous_response_id {
        body["previous_response_id"] = json!(prev);
    }
    body
}
