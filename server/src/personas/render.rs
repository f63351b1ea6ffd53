//! The persona protocol's events for a generation: `status`, `chunk`, and the final
//! `response` (chat, openai_chat) or `persona_response` (a panel member).

use crate::streams::generation::{Out, Outcome, Render};
use crate::streams::registry::{Payload, write_json_str};
use serde_json::Value;
use shared::personas::{ChatResponseData, OpenaiResponseData};
use shared::stream::FinishStatus;
use shared::ws::{ResponseData, ServerMessage, StreamStatus};
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

    fn status(&self, status: StreamStatus, message: String) -> Out {
        out(ServerMessage::Status {
            status,
            message,
            persona_id: self.persona_id.clone(),
            persona_streams: None,
            stream_id: None,
            seq: None,
        })
    }

    fn chunk_event(&self, chunk: &str, is_final: bool) -> Out {
        (
            None,
            chunk_fields(chunk, is_final, self.persona_id.as_deref()),
        )
    }
}

impl Render for SeedRender {
    fn start(&mut self, _stream_id: &str) -> Vec<Out> {
        match &self.kind {
            Kind::Openai { .. } => vec![
                self.status(StreamStatus::Starting, "Initializing...".into()),
                self.status(StreamStatus::Processing, "Sending request...".into()),
            ],
            _ => vec![
                self.status(
                    StreamStatus::Starting,
                    format!("Initializing {}...", self.persona_name),
                ),
                self.status(
                    StreamStatus::Processing,
                    format!("Asking {}...", self.persona_name),
                ),
            ],
        }
    }

    fn chunk(&mut self, text: &str) -> Vec<Out> {
        let mut events = Vec::with_capacity(2);
        if !self.streaming {
            self.streaming = true;
            let who = match self.kind {
                Kind::Openai { .. } => "The model".to_owned(),
                _ => self.persona_name.clone(),
            };
            events.push(self.status(StreamStatus::Streaming, format!("{who} is answering...")));
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
        events.push(self.status(StreamStatus::Completed, done_message.into()));
        let status = match o.status {
            FinishStatus::Completed => "completed",
            FinishStatus::Stopped => "stopped",
            FinishStatus::Failed => "failed",
        };
        match &mut self.kind {
            Kind::Openai { model, on_done } => {
                let on_done = std::mem::replace(on_done, Box::new(|_| {}));
                on_done(o);
                let data = OpenaiResponseData {
                    response_id: o.response_id.clone().unwrap_or_default(),
                    output_text: o.text.clone(),
                    model: model.clone(),
                    finish: o.status,
                    usage: o.usage,
                };
                events.push(response(status, ResponseData::Openai(data)));
            }
            Kind::Chat => {
                let data = ChatResponseData {
                    persona_id: self.persona_id.clone().unwrap_or_default(),
                    persona_name: self.persona_name.clone(),
                    response: o.text.clone(),
                    finish: o.status,
                    usage: o.usage,
                };
                events.push(response(status, ResponseData::Chat(data)));
            }
            Kind::Member { index, done } => {
                events.push(out(ServerMessage::PersonaResponse {
                    persona_id: self.persona_id.clone().unwrap_or_default(),
                    response: o.text.clone(),
                    index: *index,
                    stream_id: None,
                    seq: None,
                }));
                if let Some(tx) = done.take() {
                    let _ = tx.send(o.clone());
                }
            }
        }
        events
    }
}

fn response(status: &str, data: ResponseData) -> Out {
    out(ServerMessage::Response {
        status: status.into(),
        data,
        stream_id: None,
        seq: None,
    })
}

/// The persona protocol's events go by `type` inside the JSON; no SSE names.
pub fn out(m: ServerMessage) -> Out {
    (None, serde_json::to_value(&m).unwrap_or(Value::Null).into())
}

/// A `chunk` ([`ServerMessage::Chunk`]) written straight to JSON: the
/// bytes [`out`] gives, in its key order, without a map per chunk (the
/// most frequent event there is).
fn chunk_fields(chunk: &str, is_final: bool, persona_id: Option<&str>) -> Payload {
    let mut f = Vec::with_capacity(chunk.len() + 96);
    f.extend_from_slice(b"\"chunk\":");
    write_json_str(&mut f, chunk);
    f.extend_from_slice(if is_final {
        b",\"is_final\":true"
    } else {
        b",\"is_final\":false"
    });
    if let Some(id) = persona_id {
        f.extend_from_slice(b",\"persona_id\":");
        write_json_str(&mut f, id);
    }
    f.extend_from_slice(b",\"type\":\"chunk\"");
    Payload::Fields(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_written_straight_to_json_are_the_bytes_of_the_message() {
        use futures_util::StreamExt;
        let streams = crate::streams::registry::Streams::new(std::time::Duration::ZERO);
        let texts = [
            "",
            "plain",
            "a \"quoted\" \\ back",
            "tab\tnew\nline\u{1}\u{7f}",
            "héllo ✓ 😀 \u{2028}",
        ];
        for text in texts {
            for is_final in [false, true] {
                for persona in [None, Some("tech_enthusiast"), Some("odd \"id\"")] {
                    let message = out(ServerMessage::Chunk {
                        chunk: text.to_owned(),
                        is_final,
                        persona_id: persona.map(str::to_owned),
                        stream_id: None,
                        seq: None,
                    });
                    let (a, b) = (streams.create("u"), streams.create("u"));
                    a.push(None, message.1).unwrap();
                    b.push(None, chunk_fields(text, is_final, persona)).unwrap();
                    let mut written = Vec::new();
                    for e in [&a, &b] {
                        e.finish();
                        let events: Vec<_> = e.subscribe(0).collect().await;
                        written.push(events[0].json.replace(e.id.as_str(), "ID"));
                    }
                    assert_eq!(written[0], written[1], "{text:?} {is_final} {persona:?}");
                }
            }
        }
    }
}
