//! Connection-level messages of the `/ws` socket (the persona and support protocols).
//!
//! The feature protocols (persona chat, support sessions) add their variants
//! in their own issues; these are the ones every connection has: the
//! greeting, `ping`/`pong`, and the in-band `error`.

use crate::ErrorCode;
use crate::personas::{
    ChatData, ChatResponseData, MultiChatData, OpenaiChatData, OpenaiResponseData,
    PanelResponseData, PersonaStream,
};
use crate::support::{AssistantMessage, EmergencyResources, RiskLevel};
use serde::{Deserialize, Serialize};

/// Browser → server on `/ws`. The persona protocol wraps payloads in `data`; the support protocol
/// puts fields at the top level; both carry `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// `{"type":"ping"}` → `pong`.
    Ping,
    /// Re-attach to a stream: its events after `after_seq`, then the live
    /// tail, each exactly once.
    Resume { data: ResumeData },
    /// Stop a running stream (its generation is cancelled and its partial
    /// text saved).
    Stop { data: StopData },
    /// The persona protocol: a model reply (Responses API), 50-character chunks.
    OpenaiChat { data: OpenaiChatData },
    /// The persona protocol: one persona's reply, 30-character chunks.
    Chat { data: ChatData },
    /// The persona protocol: many personas answering the same message at once.
    MultiChat { data: MultiChatData },
    /// The support protocol: a message in a support session (fields at the top level,
    /// as the seed writes them). Needs a valid token.
    SessionMessage {
        session_id: String,
        message_text: String,
    },
}

/// `{"type":"resume","data":{"stream_id":"st_…","after_seq":12}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ResumeData {
    pub stream_id: String,
    #[serde(default)]
    pub after_seq: u64,
}

/// `{"type":"stop","data":{"stream_id":"st_…"}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StopData {
    pub stream_id: String,
}

impl ClientMessage {
    /// Every `type` this endpoint accepts, to tell an unknown type from a
    /// known one with bad fields.
    pub const TYPES: &'static [&'static str] = &[
        "ping",
        "resume",
        "stop",
        "openai_chat",
        "chat",
        "multi_chat",
        "session_message",
    ];
}

/// Server → browser on `/ws`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Sent once on connect: `{"type":"connection","status":"connected","timestamp":"…"}`.
    Connection { status: String, timestamp: String },
    /// Answer to `ping`.
    Pong { timestamp: String },
    /// A message the server could not act on, or a stream that failed; the
    /// socket stays open. `status` is always `"error"` (the persona protocol),
    /// `timestamp` as the support protocol.
    Error {
        status: String,
        message: String,
        code: ErrorCode,
        timestamp: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        persona_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// The persona protocol: where a stream stands.
    Status {
        status: StreamStatus,
        message: String,
        /// In a `multi_chat`: whose stream this is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        persona_id: Option<String>,
        /// In a `multi_chat`'s first status: each persona's own stream.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        persona_streams: Option<Vec<PersonaStream>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// The persona protocol: a piece of the reply; the last one has `is_final: true`.
    Chunk {
        chunk: String,
        is_final: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        persona_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// The persona protocol: the final answer (`status` "completed", or "stopped").
    Response {
        status: String,
        data: ResponseData,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// The support protocol: the user's message, as received.
    UserMessage { text: String, timestamp: String },
    /// The support protocol: crisis resources, sent before anything else when a message
    /// is high risk.
    SafetyEscalation {
        risk_level: RiskLevel,
        emergency_resources: EmergencyResources,
        timestamp: String,
    },
    /// The support protocol: the reply begins.
    AssistantMessageStart { timestamp: String },
    /// The support protocol: a piece of the reply.
    AssistantMessageChunk {
        chunk: String,
        is_complete: bool,
        timestamp: String,
    },
    /// The support protocol: the whole reply, its intent and the message's risk.
    AssistantMessageComplete {
        message: AssistantMessage,
        timestamp: String,
    },
    /// The persona protocol: one persona's whole reply in a `multi_chat`.
    PersonaResponse {
        persona_id: String,
        response: String,
        index: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
}

impl ServerMessage {
    /// The support protocol's `safety_escalation` for `risk_level`.
    pub fn escalation(risk_level: RiskLevel, timestamp: String) -> Self {
        Self::SafetyEscalation {
            risk_level,
            emergency_resources: EmergencyResources::us(),
            timestamp,
        }
    }
}

/// What a `response` carries: a panel's combined replies, an `openai_chat`
/// reply, or one persona's (told apart by their fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ResponseData {
    Panel(PanelResponseData),
    Openai(OpenaiResponseData),
    Chat(ChatResponseData),
}

/// The persona protocol's stream states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StreamStatus {
    Starting,
    Processing,
    Streaming,
    Completed,
}

impl ServerMessage {
    /// The in-band error for `code`, with the persona protocol's `status:"error"`.
    pub fn error(code: ErrorCode, message: impl Into<String>, timestamp: String) -> Self {
        Self::Error {
            status: "error".into(),
            message: message.into(),
            code,
            timestamp,
            persona_id: None,
            stream_id: None,
            seq: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn support_connection_and_pong_round_trip() {
        for v in [
            json!({"type":"connection","status":"connected","timestamp":"2024-11-12T10:00:00Z"}),
            json!({"type":"pong","timestamp":"2024-11-12T10:00:00Z"}),
        ] {
            let m: ServerMessage = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&m).unwrap(), v);
        }
    }

    #[test]
    fn persona_requests_parse_exactly_as_written() {
        let openai = json!({"type": "openai_chat", "data": {
            "input_text": "Your message here", "model": "gpt-4o-mini",
            "previous_response_id": "optional_response_id",
            "tools": [{"type": "web_search"}], "include_reasoning": false}});
        let chat = json!({"type": "chat", "data": {
            "message": "What's your favorite programming language?",
            "persona_id": "tech_enthusiast", "api": "openai", "model": "gpt-4o-mini",
            "temperature": 0.7, "max_tokens": 1000}});
        let multi = json!({"type": "multi_chat", "data": {
            "message": "What do you think about AI?",
            "persona_ids": ["tech_enthusiast", "creative_writer", "data_scientist"],
            "api": "openai", "model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 1000}});
        let minimal = json!({"type": "openai_chat", "data": {"input_text": "Hello, world!", "model": "gpt-4o-mini"}});
        for v in [openai, chat, multi, minimal] {
            let m: ClientMessage = serde_json::from_value(v.clone()).unwrap();
            let back = serde_json::to_value(&m).unwrap();
            for (k, val) in v["data"].as_object().unwrap() {
                assert_eq!(&back["data"][k], val, "{k}");
            }
        }
    }

    #[test]
    fn persona_responses_keep_their_shape() {
        for v in [
            json!({"type": "status", "status": "starting", "message": "Initializing..."}),
            json!({"type": "status", "status": "processing", "message": "Sending request..."}),
            json!({"type": "chunk", "chunk": "partial text", "is_final": false}),
            json!({"type": "response", "status": "completed", "data": {
                "persona_id": "tech_enthusiast", "persona_name": "Tech Enthusiast",
                "response": "Rust, for now.", "finish": "completed",
                "usage": {"prompt_tokens": 12, "completion_tokens": 4}}}),
            json!({"type": "response", "status": "completed", "data": {
                "response_id": "resp_1", "output_text": "Hello!", "model": "gpt-4o-mini",
                "finish": "completed", "usage": {"prompt_tokens": 3, "completion_tokens": 2}}}),
            json!({"type": "response", "status": "completed", "data": {
                "message": "What do you think about AI?", "responses": [{
                    "persona_id": "chef", "persona_name": "Chef", "index": 0,
                    "response": "Taste first.", "finish": "stopped"}]}}),
            json!({"type": "persona_response", "persona_id": "p", "response": "r", "index": 0}),
            json!({"type": "error", "status": "error", "message": "Error description",
                   "code": "VALIDATION_ERROR", "timestamp": "2024-11-12T10:00:00Z"}),
        ] {
            let m: ServerMessage = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&m).unwrap(), v);
        }
    }

    #[test]
    fn support_messages_round_trip_exactly() {
        let client = json!({"type": "session_message", "session_id": "uuid", "message_text": "I feel anxious today"});
        let m: ClientMessage = serde_json::from_value(client.clone()).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), client);
        for v in [
            json!({"type":"user_message","text":"I feel anxious today","timestamp":"2024-11-12T10:00:00Z"}),
            json!({"type":"assistant_message_start","timestamp":"2024-11-12T10:00:00Z"}),
            json!({"type":"assistant_message_chunk","chunk":"I understand ","is_complete":false,"timestamp":"2024-11-12T10:00:00Z"}),
            json!({"type":"assistant_message_complete","message":{"text":"I understand that you're feeling anxious...",
                   "intent":"validate","risk_level":"none"},"timestamp":"2024-11-12T10:00:00Z"}),
            json!({"type":"safety_escalation","risk_level":"high","emergency_resources":{"crisis_hotline":"988",
                   "crisis_text":"741741","message":"If you are in immediate danger..."},"timestamp":"2024-11-12T10:00:00Z"}),
        ] {
            let m: ServerMessage = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&m).unwrap(), v);
        }
    }

    #[test]
    fn seed_ping_parses() {
        let m: ClientMessage = serde_json::from_value(json!({"type":"ping"})).unwrap();
        assert_eq!(m, ClientMessage::Ping);
    }
}
