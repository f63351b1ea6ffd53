//! The hybrid chat protocol: management over a socket, replies over SSE.
//!
//! - [`ClientMessage`] / [`ServerMessage`]: the management channel, on the
//!   plain WebSocket `GET /api/v1/chats/ws` (JSON `{"type", ...}`) and on the
//!   socket.io namespace `/chats` (the `type` is the socket.io event name,
//!   the rest its data).
//! - [`ServerEvent`]: the SSE events of `POST /api/v1/messages/send`,
//!   `POST /api/v1/messages/{message_id}/regenerate`,
//!   `POST /api/v1/messages/{message_id}/edit` and
//!   `GET /api/v1/chats/{chat_id}/stream`; the `event:` name equals the JSON
//!   `type`.
//! - [`SendMessage`], [`Regenerate`], [`EditMessage`], [`Chat`], [`Message`]:
//!   bodies and records.

use crate::ErrorCode;
use crate::auth::Usage;
use crate::stream::{FinishStatus, TokenUsage};
use serde::{Deserialize, Serialize};

/// Most characters in one message.
pub const MAX_CONTENT_CHARS: usize = 10_000;
/// Most characters in a chat title.
pub const MAX_TITLE_CHARS: usize = 100;
/// Most chats or messages in one page.
pub const MAX_PAGE_LIMIT: u32 = 100;

/// Body of `POST /api/v1/messages/send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SendMessage {
    /// The chat to continue; none starts a new one titled from `content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// The model to ask; empty uses the server's default.
    #[serde(default)]
    pub model: String,
    pub content: String,
    /// 0 to 2.
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// Most output tokens of the reply, 1 to 4000 (the server's 1000 when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

fn default_temperature() -> f64 {
    0.7
}

/// Body of `POST /api/v1/messages/{message_id}/regenerate`; optional, every
/// field too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Regenerate {
    /// The model to ask; empty uses the server's default.
    #[serde(default)]
    pub model: String,
    /// 0 to 2; none (or `null`) is 0.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
}

/// Body of `POST /api/v1/messages/{message_id}/edit`: the user's message
/// with new text, answered again (a new version of both, like regenerate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EditMessage {
    /// The new text, 1 to [`MAX_CONTENT_CHARS`] characters.
    pub content: String,
    /// The model to ask; empty uses the server's default.
    #[serde(default)]
    pub model: String,
    /// 0 to 2; none (or `null`) is 0.7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Most output tokens of the reply, 1 to 4000 (the server's 1000 when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// A conversation, as the sidebar lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Chat {
    pub id: String,
    pub title: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: the last message or rename.
    pub updated_at: String,
}

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Message {
    pub id: String,
    pub chat_id: String,
    /// `user` or `assistant`.
    pub role: crate::Role,
    /// The current text (for a reply, its newest version).
    pub content: String,
    /// Every version of a reply, oldest first (regenerate adds one); for a
    /// user's message, its texts once it was edited (edit adds one), else
    /// empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// How a reply (its current version) ended: `stopped` or `failed` keep
    /// the text written until then. Absent means `completed`.
    #[serde(default = "completed", skip_serializing_if = "is_completed")]
    pub status: FinishStatus,
    /// The server writing the reply stopped before it ended (a crash): the
    /// text is what was saved until then, at most a second behind, and
    /// `status` is `failed` (so clients that do not know this field show
    /// a cut reply to retry). Absent means `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

fn completed() -> FinishStatus {
    FinishStatus::Completed
}

fn is_completed(s: &FinishStatus) -> bool {
    *s == FinishStatus::Completed
}

/// Browser → server on the management channel (`/api/v1/chats/ws`, or as
/// socket.io events on `/chats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The caller's chats, newest first; `page` counts from 0.
    ListChats {
        #[serde(default)]
        page: u32,
        #[serde(default = "default_limit")]
        limit: u32,
    },
    /// A chat's messages, oldest first within a page; page 0 holds the
    /// newest `limit` messages, page 1 the ones before them.
    ListMessages {
        chat_id: String,
        #[serde(default)]
        page: u32,
        #[serde(default = "default_limit")]
        limit: u32,
    },
    /// Renames a chat; answered by `chat_renamed`.
    RenameChat { chat_id: String, title: String },
    /// Deletes a chat and its messages; answered by `chat_deleted`.
    DeleteChat { chat_id: String },
    /// Asks for `usage_info` now (it also comes on connect and after every
    /// reply).
    GetUsage,
    /// Keeps the connection alive; answered by `pong`.
    Ping,
}

impl ClientMessage {
    /// Every `type` the management channel understands.
    pub const TYPES: &'static [&'static str] = &[
        "list_chats",
        "list_messages",
        "rename_chat",
        "delete_chat",
        "get_usage",
        "ping",
    ];
}

fn default_limit() -> u32 {
    20
}

/// Server → browser on the management channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Answer to `list_chats`.
    ChatsList {
        chats: Vec<Chat>,
        page: u32,
        total: i64,
    },
    /// Answer to `list_messages`.
    MessagesList {
        chat_id: String,
        messages: Vec<Message>,
        page: u32,
        total: i64,
    },
    /// The caller's usage: on connect, after every reply, on `get_usage`.
    UsageInfo(Usage),
    /// A chat was renamed (the answer to `rename_chat`, and news for the
    /// owner's other tabs and devices).
    ChatRenamed { chat: Chat },
    /// A chat was deleted (answer and news, as `chat_renamed`).
    ChatDeleted { chat_id: String },
    /// A chat was created or got a new message (news for every tab).
    ChatUpdated { chat: Chat },
    /// A reply was refused or failed (`ANON_LIMIT_REACHED`,
    /// `INSUFFICIENT_BALANCE`, provider errors).
    AssistantError { error: String, code: ErrorCode },
    /// A management message was not understood or not allowed; the
    /// connection stays open.
    Error { error: String, code: ErrorCode },
    /// The answer to `ping`.
    Pong,
}

impl ServerMessage {
    /// The JSON `type`, also the socket.io event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ChatsList { .. } => "chats_list",
            Self::MessagesList { .. } => "messages_list",
            Self::UsageInfo(_) => "usage_info",
            Self::ChatRenamed { .. } => "chat_renamed",
            Self::ChatDeleted { .. } => "chat_deleted",
            Self::ChatUpdated { .. } => "chat_updated",
            Self::AssistantError { .. } => "assistant_error",
            Self::Error { .. } => "error",
            Self::Pong => "pong",
        }
    }
}

/// One SSE event of a reply stream. Each also carries `stream_id` and `seq`
/// (the `id:` line), which stop and resume use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// A reply has started (`chat_id` names a chat the send just created).
    AssistantTyping { chat_id: String, message_id: String },
    /// A regeneration of `message_id` has started (also the reply of a
    /// user's message that was edited).
    AssistantRegenerating { chat_id: String, message_id: String },
    /// A piece of the reply.
    AssistantDelta { delta: String },
    /// The reply, saved (`status` says if it was stopped early).
    AssistantComplete {
        message_id: String,
        chat_id: String,
        content: String,
        usage: TokenUsage,
        status: FinishStatus,
    },
    /// The new version of a regenerated reply, saved.
    AssistantRegenerated {
        message_id: String,
        chat_id: String,
        content: String,
        /// Its index in the message's `versions`.
        version: usize,
        status: FinishStatus,
    },
    /// The reply was refused or failed.
    AssistantError {
        error: String,
        code: ErrorCode,
        /// `RATE_LIMITED` by the model provider: seconds to wait, when it said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// The caller's usage after the reply (or the refusal).
    UsageInfo(Usage),
}

impl ServerEvent {
    /// The SSE `event:` name, equal to the JSON `type`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AssistantTyping { .. } => "assistant_typing",
            Self::AssistantRegenerating { .. } => "assistant_regenerating",
            Self::AssistantDelta { .. } => "assistant_delta",
            Self::AssistantComplete { .. } => "assistant_complete",
            Self::AssistantRegenerated { .. } => "assistant_regenerated",
            Self::AssistantError { .. } => "assistant_error",
            Self::UsageInfo(_) => "usage_info",
        }
    }
}

/// One chat found by `GET /api/v1/chats/search?q=…`: the chat, and the
/// words around the first message that matched (`None` when only the title
/// did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ChatHit {
    pub chat: Chat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// Longest search query, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;

/// The title of a chat started with `content`: its first line, trimmed to
/// [`MAX_TITLE_CHARS`] at a word where possible.
pub fn title_from(content: &str) -> String {
    let line = content
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("New chat");
    const SHORT: usize = 50;
    if line.chars().count() <= SHORT {
        return line.to_owned();
    }
    let cut: String = line.chars().take(SHORT).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > SHORT / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::UsageKind;
    use serde_json::{Value, json};

    fn round_trip<T: Serialize + for<'de> Deserialize<'de>>(v: Value) -> T {
        let parsed: T = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), v);
        parsed
    }

    #[test]
    fn the_seeds_list_chats_parses_with_its_page_and_limit() {
        let m: ClientMessage = round_trip(json!({"type": "list_chats", "page": 0, "limit": 20}));
        assert_eq!(m, ClientMessage::ListChats { page: 0, limit: 20 });
        let m: ClientMessage = serde_json::from_value(json!({"type": "list_chats"})).unwrap();
        assert_eq!(m, ClientMessage::ListChats { page: 0, limit: 20 });
    }

    #[test]
    fn management_answers_carry_their_type() {
        let m: ServerMessage = round_trip(json!({
            "type": "chats_list", "page": 0, "total": 1,
            "chats": [{"id": "c1", "title": "Hi", "created_at": "2026-01-01T00:00:00Z",
                       "updated_at": "2026-01-01T00:00:00Z"}]
        }));
        assert_eq!(m.name(), "chats_list");
        let u: ServerMessage = round_trip(json!({
            "type": "usage_info", "used": 1, "limit": 10, "remaining": 9, "kind": "anonymous"
        }));
        assert_eq!(
            u,
            ServerMessage::UsageInfo(Usage {
                used: 1,
                limit: 10,
                remaining: 9,
                kind: UsageKind::Anonymous
            })
        );
        let e: ServerMessage = round_trip(json!({
            "type": "assistant_error", "error": "x", "code": "ANON_LIMIT_REACHED"
        }));
        assert_eq!(e.name(), "assistant_error");
    }

    #[test]
    fn sse_events_are_named_as_the_seed_lists_them() {
        let names: Vec<&str> = [
            json!({"type": "assistant_typing", "chat_id": "c", "message_id": "m"}),
            json!({"type": "assistant_delta", "delta": "Hel"}),
            json!({"type": "assistant_complete", "message_id": "m", "chat_id": "c",
                   "content": "Hello", "status": "completed",
                   "usage": {"prompt_tokens": 3, "completion_tokens": 2}}),
            json!({"type": "assistant_error", "error": "no", "code": "INSUFFICIENT_BALANCE"}),
            json!({"type": "assistant_regenerating", "chat_id": "c", "message_id": "m"}),
            json!({"type": "assistant_regenerated", "chat_id": "c", "message_id": "m",
                   "content": "Hi", "version": 1, "status": "completed"}),
            json!({"type": "usage_info", "used": 2, "limit": 10, "remaining": 8, "kind": "anonymous"}),
        ]
        .into_iter()
        .map(|v| round_trip::<ServerEvent>(v).name())
        .collect();
        assert_eq!(
            names,
            [
                "assistant_typing",
                "assistant_delta",
                "assistant_complete",
                "assistant_error",
                "assistant_regenerating",
                "assistant_regenerated",
                "usage_info"
            ]
        );
    }

    #[test]
    fn the_seeds_send_body_parses_with_and_without_a_chat() {
        let b: SendMessage = round_trip(json!({
            "chat_id": "c1", "model": "gpt-4o-mini", "content": "Hello", "temperature": 0.7
        }));
        assert_eq!(b.chat_id.as_deref(), Some("c1"));
        let b: SendMessage =
            serde_json::from_value(json!({"model": "m", "content": "Hi"})).unwrap();
        assert_eq!((b.chat_id, b.temperature), (None, 0.7));
    }

    #[test]
    fn titles_come_from_the_first_line_cut_at_a_word() {
        assert_eq!(title_from("\n  Hello there\nmore"), "Hello there");
        let long = "word ".repeat(30);
        let t = title_from(&long);
        assert!(t.ends_with('…') && t.chars().count() <= 51, "{t}");
        assert_eq!(title_from("   "), "New chat");
    }
}
