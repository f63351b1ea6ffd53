//! The persona protocol's events for a generation: `status`, `chunk`, and the final
//! `response` (chat, openai_chat) or `persona_response` (a panel member).

use crate::streams::generation::{Out, Outcome, Render};
use crate::streams::registry::Fields;
use serde_json::Value;
use shared::stream::{FinishStatus, TokenUsage};
use shared::ws::{ServerMessage, StreamStatus};
use tokio::sync::oneshot;

/// What kind of request the stream answers.
pub enum Kind {
    /// `openai_chat`: a model reply; `on_done` keeps the conversation.
    Openai {
        model: String,
        on_done: Box<dyn FnOnce(&Outcome) + Send>,
    },
    /// `chat`: one persona.
    Chat,
    /// One persona of a `multi_chat`; the panel waits for its outcome.
    Member {
        index: usize,
        done: Option<oneshot::Sender<Outcome>>,
    },
}

pub struct SeedRender {
    pub persona_id: Option<String>,
    pub persona_name: String,
    pub kind: Kind,
    streaming: bool,
}

impl SeedRender {
    pub fn new(persona_id: Option<String>, persona_name: String, kind: Kind) -> Self {
        Self {
            persona_id,
            persona_name,
            kind,
            streaming: false,
        }
    }

    /// A `status` ([`ServerMessage::Status`]) written straight to JSON.
    fn status(&self, status: StreamStatus, message: &str) -> Out {
        let fields = Fields::with_capacity(message.len() + 96)
            .field("message", &message)
            .some("persona_id", self.persona_id.as_ref())
            .field("status", &status)
            .field("type", &"status");
        (None, fields.into())
    }

    fn chunk_event(&self, chunk: &str, is_final: bool) -> Out {
        (
            None,
            chunk_fields(chunk, is_final, self.persona_id.as_deref()).into(),
        )
    }
}

impl Render for SeedRender {
    fn start(&mut self, _stream_id: &str) -> Vec<Out> {
        match &self.kind {
            Kind::Openai { .. } => vec![
                self.status(StreamStatus::Starting, "Initializing..."),
                self.status(StreamStatus::Processing, "Sending request..."),
            ],
            _ => vec![
                self.status(
                    StreamStatus::Starting,
                    &format!("Initializing {}...", self.persona_name),
                ),
                self.status(
                    StreamStatus::Processing,
                    &format!("Asking {}...", self.persona_name),
                ),
            ],
        }
    }

    fn chunk(&mut self, text: &str) -> Vec<Out> {
        let mut events = Vec::with_capacity(2);
        if !self.streaming {
            self.streaming = true;
            let who = match self.kind {
                Kind::Openai { .. } => "The model",
                _ => &self.persona_name,
            };
            events.push(self.status(StreamStatus::Streaming, &format!("{who} is answering...")));
        }
        events.push(self.chunk_event(text, false));
        events
    }

    async fn finish(&mut self, o: &Outcome) -> Vec<Out> {
        let mut events = vec![self.chunk_event("", true)];
        if let Some((code, message)) = &o.error {
            events.push(out(ServerMessage::Error {
                status: "error".into(),
                message: message.clone(),
                code: *code,
                timestamp: crate::clock::now_rfc3339(),
                persona_id: self.persona_id.clone(),
                retry_after: o.retry_after,
                stream_id: None,
                seq: None,
            }));
        }
        let done_message = match o.status {
            FinishStatus::Completed => "Completed",
            FinishStatus::Stopped => "Stopped",
            FinishStatus::Failed => "Failed",
        };
        events.push(self.status(StreamStatus::Completed, done_message));
        let status = match o.status {
            FinishStatus::Completed => "completed",
            FinishStatus::Stopped => "stopped",
            FinishStatus::Failed => "failed",
        };
        match &mut self.kind {
            Kind::Openai { model, on_done } => {
                let on_done = std::mem::replace(on_done, Box::new(|_| {}));
                on_done(o);
                // `OpenaiResponseData`'s fields.
                let data = Fields::with_capacity(o.text.len() + 192)
                    .field("finish", &o.status)
                    .field("model", model)
                    .field("output_text", &o.text)
                    .field("response_id", &o.response_id.as_deref().unwrap_or_default())
                    .object("usage", usage(o.usage));
                events.push(response(status, data));
            }
            Kind::Chat => {
                // `ChatResponseData`'s fields.
                let data = Fields::with_capacity(o.text.len() + 192)
                    .field("finish", &o.status)
                    .field(
                        "persona_id",
                        &self.persona_id.as_deref().unwrap_or_default(),
                    )
                    .field("persona_name", &self.persona_name)
                    .field("response", &o.text)
                    .object("usage", usage(o.usage));
                events.push(response(status, data));
            }
            Kind::Member { index, done } => {
                // `ServerMessage::PersonaResponse`.
                let fields = Fields::with_capacity(o.text.len() + 96)
                    .field("index", index)
                    .field(
                        "persona_id",
                        &self.persona_id.as_deref().unwrap_or_default(),
                    )
                    .field("response", &o.text)
                    .field("type", &"persona_response");
                events.push((None, fields.into()));
                if let Some(tx) = done.take() {
                    let _ = tx.send(o.clone());
                }
            }
        }
        events
    }
}

/// A final `response` ([`ServerMessage::Response`]) of `data`'s fields,
/// written straight to JSON.
fn response(status: &str, data: Fields) -> Out {
    let fields = Fields::default()
        .object("data", data)
        .field("status", &status)
        .field("type", &"response");
    (None, fields.into())
}

/// [`TokenUsage`]'s fields.
fn usage(u: TokenUsage) -> Fields {
    Fields::default()
        .field("completion_tokens", &u.completion_tokens)
        .field("prompt_tokens", &u.prompt_tokens)
}

/// The persona protocol's events go by `type` inside the JSON; no SSE names.
pub fn out(m: ServerMessage) -> Out {
    (None, serde_json::to_value(&m).unwrap_or(Value::Null).into())
}

/// A `chunk` ([`ServerMessage::Chunk`]) written straight to JSON: the
/// bytes [`out`] gives, in its key order, without a map per chunk (the
/// most frequent event there is).
fn chunk_fields(chunk: &str, is_final: bool, persona_id: Option<&str>) -> Fields {
    Fields::with_capacity(chunk.len() + 96)
        .field("chunk", &chunk)
        .field("is_final", &is_final)
        .some("persona_id", persona_id.as_ref())
        .field("type", &"chunk")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::registry::{Payload, Streams};
    use futures_util::StreamExt;
    use shared::personas::{ChatResponseData, OpenaiResponseData};
    use shared::ws::ResponseData;

    const TEXTS: [&str; 5] = [
        "",
        "plain",
        "a \"quoted\" \\ back",
        "tab\tnew\nline\u{1}\u{7f}",
        "héllo ✓ 😀 \u{2028}",
    ];
    const PERSONAS: [Option<&str>; 3] = [None, Some("tech_enthusiast"), Some("odd \"id\"")];

    /// The bytes a stream holds for each event, its id written `ID`.
    async fn written(events: Vec<Payload>) -> Vec<String> {
        let e = Streams::new(std::time::Duration::ZERO).create("u");
        for payload in events {
            e.push(None, payload).unwrap();
        }
        e.finish();
        e.subscribe(0)
            .map(|ev| ev.json.replace(e.id.as_str(), "ID"))
            .collect()
            .await
    }

    /// Events written straight to JSON are the bytes of the messages
    /// rendered through a `serde_json::Value`.
    async fn assert_same(direct: Vec<Out>, messages: Vec<ServerMessage>, case: &str) {
        let direct = direct.into_iter().map(|(_, p)| p).collect();
        let through_value = messages.into_iter().map(|m| out(m).1).collect();
        assert_eq!(
            written(direct).await,
            written(through_value).await,
            "{case}"
        );
    }

    #[tokio::test]
    async fn chunks_and_statuses_written_straight_to_json_are_the_bytes_of_the_message() {
        for text in TEXTS {
            for persona in PERSONAS {
                let render = SeedRender::new(persona.map(str::to_owned), "P".into(), Kind::Chat);
                let mut direct = Vec::new();
                let mut messages = Vec::new();
                for is_final in [false, true] {
                    direct.push(render.chunk_event(text, is_final));
                    messages.push(ServerMessage::Chunk {
                        chunk: text.to_owned(),
                        is_final,
                        persona_id: persona.map(str::to_owned),
                        stream_id: None,
                        seq: None,
                    });
                }
                for status in [
                    StreamStatus::Starting,
                    StreamStatus::Processing,
                    StreamStatus::Streaming,
                    StreamStatus::Completed,
                ] {
                    direct.push(render.status(status, text));
                    messages.push(ServerMessage::Status {
                        status,
                        message: text.to_owned(),
                        persona_id: persona.map(str::to_owned),
                        persona_streams: None,
                        stream_id: None,
                        seq: None,
                    });
                }
                assert_same(direct, messages, &format!("{text:?} {persona:?}")).await;
            }
        }
    }

    /// `render`'s final events for `outcome` are the bytes of the final
    /// chunk, the `completed` status and `last`.
    async fn assert_finish(mut render: SeedRender, outcome: &Outcome, last: ServerMessage) {
        let persona_id = render.persona_id.clone();
        let message = match outcome.status {
            FinishStatus::Completed => "Completed",
            _ => "Stopped",
        };
        let expected = vec![
            ServerMessage::Chunk {
                chunk: String::new(),
                is_final: true,
                persona_id: persona_id.clone(),
                stream_id: None,
                seq: None,
            },
            ServerMessage::Status {
                status: StreamStatus::Completed,
                message: message.into(),
                persona_id,
                persona_streams: None,
                stream_id: None,
                seq: None,
            },
            last,
        ];
        let case = format!("{:?} {:?}", render.persona_id, outcome.text);
        assert_same(render.finish(outcome).await, expected, &case).await;
    }

    #[tokio::test]
    async fn final_responses_written_straight_to_json_are_the_bytes_of_the_message() {
        let usage = TokenUsage {
            prompt_tokens: 12,
            completion_tokens: 345,
        };
        for text in TEXTS {
            for (finish, status) in [
                (FinishStatus::Completed, "completed"),
                (FinishStatus::Stopped, "stopped"),
            ] {
                let outcome = Outcome {
                    text: text.to_owned(),
                    status: finish,
                    usage,
                    response_id: Some(format!("resp_{text}")),
                    error: None,
                    retry_after: None,
                };
                let response = |data| ServerMessage::Response {
                    status: status.into(),
                    data,
                    stream_id: None,
                    seq: None,
                };
                for persona in PERSONAS {
                    let name = format!("Name {text}");
                    let chat =
                        SeedRender::new(persona.map(str::to_owned), name.clone(), Kind::Chat);
                    let data = ChatResponseData {
                        persona_id: persona.unwrap_or_default().to_owned(),
                        persona_name: name.clone(),
                        response: text.to_owned(),
                        finish,
                        usage,
                    };
                    assert_finish(chat, &outcome, response(ResponseData::Chat(data))).await;

                    let kind = Kind::Member {
                        index: 7,
                        done: None,
                    };
                    let member = SeedRender::new(persona.map(str::to_owned), name, kind);
                    let last = ServerMessage::PersonaResponse {
                        persona_id: persona.unwrap_or_default().to_owned(),
                        response: text.to_owned(),
                        index: 7,
                        stream_id: None,
                        seq: None,
                    };
                    assert_finish(member, &outcome, last).await;
                }
                let kind = Kind::Openai {
                    model: format!("model {text}"),
                    on_done: Box::new(|_| {}),
                };
                let openai = SeedRender::new(None, "The model".into(), kind);
                let data = OpenaiResponseData {
                    response_id: format!("resp_{text}"),
                    output_text: text.to_owned(),
                    model: format!("model {text}"),
                    finish,
                    usage,
                };
                assert_finish(openai, &outcome, response(ResponseData::Openai(data))).await;
            }
        }
    }
}
