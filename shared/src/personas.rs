//! The persona protocol: persona chat and the multi-persona panel on `/ws`, and the
//! persona catalog at `GET /api/personas`.
//!
//! Client messages wrap their fields in `data` (the seed's format); they are
//! variants of [`crate::ws::ClientMessage`]. The server's answers are
//! [`crate::ws::ServerMessage`] `status`, `chunk`, `response`,
//! `persona_response` and `error`, each with `stream_id` and `seq`.

use crate::stream::{FinishStatus, TokenUsage};
use serde::{Deserialize, Serialize};

/// One persona of `GET /api/personas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Persona {
    pub id: String,
    pub name: String,
    /// An emoji.
    pub avatar: String,
    pub description: String,
    /// How they talk.
    pub style: String,
    /// `builtin`, or `rolecard` for the caller's generated role cards.
    pub kind: String,
}

/// `{"type":"openai_chat","data":{…}}`: a model reply through the Responses
/// API; `previous_response_id` continues a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OpenaiChatData {
    pub input_text: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub previous_response_id: Option<String>,
    /// Accepted for compatibility; the built-in tools are not offered.
    #[serde(default)]
    pub tools: Option<serde_json::Value>,
    #[serde(default)]
    pub include_reasoning: Option<bool>,
}

/// `{"type":"chat","data":{…}}`: one persona's reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatData {
    pub message: String,
    pub persona_id: String,
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Earlier turns of this conversation, oldest first (the app's single
    /// persona mode sends them; the seed's clients need not).
    #[serde(default)]
    pub history: Vec<HistoryTurn>,
}

/// `{"type":"multi_chat","data":{…}}`: the same message to many personas,
/// answered at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MultiChatData {
    pub message: String,
    pub persona_ids: Vec<String>,
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
}

/// One earlier turn: `role` is `user` or `assistant`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HistoryTurn {
    pub role: crate::Role,
    pub content: String,
}

fn default_temperature() -> f64 {
    0.7
}

fn default_max_tokens() -> u32 {
    1000
}

/// Limits of the protocol.
pub const MAX_MESSAGE_CHARS: usize = 10_000;
pub const MAX_PERSONAS: usize = 8;
pub const MAX_TOKENS_LIMIT: u32 = 4000;

/// Which persona's stream is which, in a `multi_chat`'s first `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PersonaStream {
    pub persona_id: String,
    pub stream_id: String,
    pub index: usize,
}

/// `data` of a `chat`'s final `response`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatResponseData {
    pub persona_id: String,
    pub persona_name: String,
    pub response: String,
    pub finish: FinishStatus,
    pub usage: TokenUsage,
}

/// `data` of an `openai_chat`'s final `response`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OpenaiResponseData {
    pub response_id: String,
    pub output_text: String,
    pub model: String,
    pub finish: FinishStatus,
    pub usage: TokenUsage,
}

/// `data` of a `multi_chat`'s final combined `response`: every persona's
/// reply in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PanelResponseData {
    pub message: String,
    pub responses: Vec<PanelReply>,
}

/// One persona's part of the panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PanelReply {
    pub persona_id: String,
    pub persona_name: String,
    pub index: usize,
    pub response: String,
    pub finish: FinishStatus,
}
