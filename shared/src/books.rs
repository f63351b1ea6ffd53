//! BooksWriter on `GET /ws/{session_id}`: a writer asks for plots,
//! authors, worlds and characters; agents stream their work, save it with
//! tools, and finish with a summary.
//!
//! - [`ClientMessage`]: browser → server (`message`, `ping`, `model_switch`,
//!   `session_restore`, `batch`, `stop`, `resume`).
//! - [`ServerMessage`]: server → browser. Every one carries `seq`: the
//!   session's event number (a reply to one connection carries the seq that
//!   connection has reached, so seq never goes backwards on a socket).
//! - [`Transcript`]: the conversation as the events build it. The server
//!   keeps one per session (for `session_restored`) and the app folds the
//!   same events with the same code, so a restored page equals a live one.
//! - [`Artifact`]: what the tools save (`GET /api/books/{id}/artifacts`).
//!
//! Additions to the seed (its clients ignore unknown types): `message`
//! may carry `client_id`, echoed in `message_received` (the user's message
//! as the session recorded it, so other tabs and a restore show it), and
//! `model_switch` is answered with `model_switched`.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest `message` content, in UTF-16 units as the seed's JavaScript
/// counts `content.length`.
pub const MAX_CONTENT_LEN: usize = 10_000;

/// What an `error` tells the client beyond its code, each field present
/// only for the errors that have it (an empty object otherwise).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorDetails {
    /// The field a validation error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The `type` of a message whose fields are invalid.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Why the message could not be read (the JSON parser's words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The `type`s a message may have (an unknown type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// A content's length, and the most allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// A batch's size, and the most allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<usize>,
    /// `RATE_LIMITED`: when to try again, and the window's terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<u64>,
    /// `RATE_LIMITED`: requests already waiting in the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<usize>,
    /// `AGENT_TIMEOUT`: which agent, after how long, and whether its
    /// partial work was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_duration: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial_saved: Option<bool>,
}

impl ErrorDetails {
    /// The details of an error about `field`.
    pub fn field(field: &str) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::default()
        }
    }
}

/// The agent that routes requests; every session starts with it.
pub const ORCHESTRATOR: &str = "OrchestratorAgent";

/// When the browser sent a message, as it sent it: what JavaScript's
/// `new Date(ts)` reads, epoch milliseconds or an ISO 8601 date(-time). The
/// server checks the format (`Invalid timestamp format`) and keeps it as is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum Timestamp {
    Millis(serde_json::Number),
    Text(String),
}

impl From<&str> for Timestamp {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

/// Browser → server on `/ws/{session_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// A request for the agents.
    Message {
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        timestamp: Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        options: Option<MessageOptions>,
        /// The app's id for a message it shows before the server has it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
    },
    /// Keep-alive → `pong`.
    Ping,
    /// Use another model for this session's next requests.
    ModelSwitch { model: String },
    /// → `session_restored`: the whole conversation so far.
    SessionRestore,
    /// Several messages in one frame, each handled (and rate-limited) as if
    /// sent alone. They stay JSON until then: each is checked on its own, so
    /// one bad message is refused with its own error and loses none of the
    /// others.
    Batch { messages: Vec<Value> },
    /// Stop the running request; its partial work is saved.
    Stop,
    /// Re-attach after a reconnect: the session's events after `after_seq`.
    Resume { after_seq: u64 },
}

impl ClientMessage {
    /// The seed's `validTypes`, plus `batch`, `stop` and `resume`.
    pub const TYPES: &'static [&'static str] = &[
        "message",
        "ping",
        "model_switch",
        "session_restore",
        "batch",
        "stop",
        "resume",
    ];
}

/// `options` of a `message`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MessageOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// `tool_execution.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Executing,
    Completed,
    Failed,
}

/// Server → browser on `/ws/{session_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// A piece of an agent's text.
    StreamChunk {
        content: String,
        agent: String,
        chunk_id: u64,
        total_chunks: Option<u64>,
        timestamp: String,
        #[serde(default)]
        seq: u64,
    },
    /// The work passes to another agent.
    AgentSwitch {
        from_agent: String,
        to_agent: String,
        reason: String,
        timestamp: String,
        #[serde(default)]
        seq: u64,
    },
    /// A tool runs: `executing` (progress 0.5), then `completed` (1.0) or
    /// `failed`.
    ToolExecution {
        tool_name: String,
        status: ToolStatus,
        message: String,
        progress: f64,
        timestamp: String,
        #[serde(default)]
        seq: u64,
    },
    /// Something went wrong: `error_code` is the shared [`ErrorCode`]
    /// (`VALIDATION_ERROR`, `RATE_LIMITED`, `AGENT_TIMEOUT` …), `details`
    /// what the client may act on.
    Error {
        error_code: ErrorCode,
        message: String,
        #[serde(default)]
        details: ErrorDetails,
        timestamp: String,
        #[serde(default)]
        seq: u64,
    },
    /// A request is done: what was made, and by whom.
    Completion {
        message: String,
        results: CompletionResults,
        timestamp: String,
        #[serde(default)]
        seq: u64,
    },
    Pong {
        timestamp: String,
        #[serde(default)]
        seq: u64,
    },
    /// The answer to `session_restore`: the conversation up to `seq`; live
    /// events continue after it.
    SessionRestored {
        messages: Vec<Entry>,
        current_agent: String,
        artifacts: Vec<Artifact>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        timestamp: String,
        #[serde(default)]
        seq: u64,
    },
    /// Addition: the user's message as the session recorded it.
    MessageReceived {
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        timestamp: String,
        #[serde(default)]
        seq: u64,
    },
    /// Addition: the answer to `model_switch`.
    ModelSwitched {
        model: String,
        timestamp: String,
        #[serde(default)]
        seq: u64,
    },
}

impl ServerMessage {
    pub fn seq(&self) -> u64 {
        match self {
            Self::StreamChunk { seq, .. }
            | Self::AgentSwitch { seq, .. }
            | Self::ToolExecution { seq, .. }
            | Self::Error { seq, .. }
            | Self::Completion { seq, .. }
            | Self::Pong { seq, .. }
            | Self::SessionRestored { seq, .. }
            | Self::MessageReceived { seq, .. }
            | Self::ModelSwitched { seq, .. } => *seq,
        }
    }

    pub fn set_seq(&mut self, value: u64) {
        match self {
            Self::StreamChunk { seq, .. }
            | Self::AgentSwitch { seq, .. }
            | Self::ToolExecution { seq, .. }
            | Self::Error { seq, .. }
            | Self::Completion { seq, .. }
            | Self::Pong { seq, .. }
            | Self::SessionRestored { seq, .. }
            | Self::MessageReceived { seq, .. }
            | Self::ModelSwitched { seq, .. } => *seq = value,
        }
    }
}

/// `completion.results`: the seed's `plot_id` and `title`, generalised.
/// Each artifact made adds `<kind>_id` (the last of its kind); `title` is
/// the main artifact's (the last one made).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CompletionResults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plot_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub character_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Every artifact this request saved, in order.
    #[serde(default)]
    pub artifacts: Vec<ArtifactRef>,
    pub agents_used: Vec<String>,
    /// Set when the request was stopped before the end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
}

/// What a tool saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    Plot,
    Author,
    World,
    Character,
}

impl ArtifactKind {
    pub const ALL: [ArtifactKind; 4] = [Self::Plot, Self::Author, Self::World, Self::Character];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plot => "plot",
            Self::Author => "author",
            Self::World => "world",
            Self::Character => "character",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The specialist that makes it.
    pub fn agent(self) -> &'static str {
        match self {
            Self::Plot => "PlotGeneratorAgent",
            Self::Author => "AuthorGeneratorAgent",
            Self::World => "WorldBuilderAgent",
            Self::Character => "CharacterCreatorAgent",
        }
    }

    /// The tool that saves it.
    pub fn tool(self) -> &'static str {
        match self {
            Self::Plot => "save_plot",
            Self::Author => "save_author",
            Self::World => "save_world",
            Self::Character => "save_character",
        }
    }
}

/// An artifact named in a completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ArtifactRef {
    pub id: String,
    pub kind: ArtifactKind,
    pub title: String,
}

/// A saved plot, author, world or character.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Artifact {
    pub id: String,
    pub kind: ArtifactKind,
    pub title: String,
    /// The structured fields (`genre`, `premise`, `act_1` … for a plot).
    pub fields: serde_json::Map<String, Value>,
    /// The agent's full text.
    pub content: String,
    /// `complete`, or `partial` when the agent timed out or was stopped.
    pub status: String,
    /// Artifacts of this session it builds on (a plot's world, …).
    #[serde(default)]
    pub builds_on: Vec<String>,
    pub created_at: String,
}

/// `GET /api/books/{session_id}/artifacts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ArtifactList {
    pub session_id: String,
    pub artifacts: Vec<Artifact>,
}

/// `GET /api/books`: the caller's books (BooksWriter sessions with at least
/// one request), most recently worked on first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BookList {
    pub books: Vec<BookSummary>,
}

/// One book in [`BookList`]: enough to recognise it and reopen it on
/// `/ws/{session_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BookSummary {
    pub session_id: String,
    /// The first saved piece's title, else the first request (cut short).
    pub title: String,
    /// How many pieces (plots, worlds, characters, authors) are saved.
    pub artifacts: u32,
    /// RFC 3339: the last time the writers worked on it.
    pub updated_at: String,
}

/// One line of the conversation. `id` is the seq of the event that began it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    User {
        id: u64,
        content: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        timestamp: String,
    },
    Switch {
        id: u64,
        from_agent: String,
        to_agent: String,
        reason: String,
        timestamp: String,
    },
    Agent {
        id: u64,
        agent: String,
        content: String,
        /// Still receiving chunks.
        streaming: bool,
        timestamp: String,
    },
    Tool {
        id: u64,
        tool_name: String,
        status: ToolStatus,
        message: String,
        progress: f64,
        timestamp: String,
    },
    Completion {
        id: u64,
        message: String,
        results: CompletionResults,
        timestamp: String,
    },
    Error {
        id: u64,
        error_code: ErrorCode,
        message: String,
        timestamp: String,
    },
}

impl Entry {
    pub fn id(&self) -> u64 {
        match self {
            Self::User { id, .. }
            | Self::Switch { id, .. }
            | Self::Agent { id, .. }
            | Self::Tool { id, .. }
            | Self::Completion { id, .. }
            | Self::Error { id, .. } => *id,
        }
    }
}

/// The conversation as the session's events build it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub entries: Vec<Entry>,
    pub current_agent: String,
    /// The last session event folded in.
    pub last_seq: u64,
}

impl Default for Transcript {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            current_agent: ORCHESTRATOR.to_owned(),
            last_seq: 0,
        }
    }
}

impl Transcript {
    /// Folds one session event in. Events at or below `last_seq` are
    /// ignored (a replay after a reconnect may repeat some). Connection
    /// replies (`pong`, `model_switched`, validation errors sent to one
    /// socket) carry an old seq and are ignored too; `session_restored`
    /// replaces the transcript instead (see [`Transcript::restored`]).
    /// Returns whether it changed anything.
    pub fn apply(&mut self, msg: &ServerMessage) -> bool {
        let seq = msg.seq();
        if seq <= self.last_seq {
            return false;
        }
        match msg {
            ServerMessage::MessageReceived {
                content,
                client_id,
                timestamp,
                ..
            } => {
                // A request sent while an agent streams waits in the
                // session's queue: it is part of the conversation from now
                // on, and the agent's text goes on in its own entry.
                self.entries.push(Entry::User {
                    id: seq,
                    content: content.clone(),
                    client_id: client_id.clone(),
                    timestamp: timestamp.clone(),
                });
            }
            ServerMessage::AgentSwitch {
                from_agent,
                to_agent,
                reason,
                timestamp,
                ..
            } => {
                self.end_streaming();
                self.current_agent = to_agent.clone();
                self.entries.push(Entry::Switch {
                    id: seq,
                    from_agent: from_agent.clone(),
                    to_agent: to_agent.clone(),
                    reason: reason.clone(),
                    timestamp: timestamp.clone(),
                });
            }
            ServerMessage::StreamChunk {
                content,
                agent,
                timestamp,
                ..
            } => match self.streaming_agent() {
                Some(Entry::Agent {
                    agent: a,
                    content: text,
                    ..
                }) if a == agent => text.push_str(content),
                _ => {
                    self.end_streaming();
                    self.entries.push(Entry::Agent {
                        id: seq,
                        agent: agent.clone(),
                        content: content.clone(),
                        streaming: true,
                        timestamp: timestamp.clone(),
                    });
                }
            },
            ServerMessage::ToolExecution {
                tool_name,
                status,
                message,
                progress,
                timestamp,
                ..
            } => {
                self.end_streaming();
                let running = self.entries.iter_mut().rev().find_map(|e| match e {
                    Entry::Tool {
                        tool_name: t,
                        status: s @ ToolStatus::Executing,
                        message: m,
                        progress: p,
                        ..
                    } if t == tool_name => Some((s, m, p)),
                    _ => None,
                });
                match running {
                    Some((s, m, p)) => {
                        *s = *status;
                        *m = message.clone();
                        *p = *progress;
                    }
                    None => self.entries.push(Entry::Tool {
                        id: seq,
                        tool_name: tool_name.clone(),
                        status: *status,
                        message: message.clone(),
                        progress: *progress,
                        timestamp: timestamp.clone(),
                    }),
                }
            }
            ServerMessage::Completion {
                message,
                results,
                timestamp,
                ..
            } => {
                self.end_streaming();
                self.entries.push(Entry::Completion {
                    id: seq,
                    message: message.clone(),
                    results: results.clone(),
                    timestamp: timestamp.clone(),
                });
            }
            ServerMessage::Error {
                error_code,
                message,
                timestamp,
                ..
            } => {
                self.end_streaming();
                self.entries.push(Entry::Error {
                    id: seq,
                    error_code: *error_code,
                    message: message.clone(),
                    timestamp: timestamp.clone(),
                });
            }
            ServerMessage::Pong { .. }
            | ServerMessage::SessionRestored { .. }
            | ServerMessage::ModelSwitched { .. } => return false,
        }
        self.last_seq = seq;
        true
    }

    /// The transcript a `session_restored` describes.
    pub fn restored(messages: Vec<Entry>, current_agent: String, seq: u64) -> Self {
        Self {
            entries: messages,
            current_agent,
            last_seq: seq,
        }
    }

    /// The agent text still streaming, if any, is done.
    pub fn end_streaming(&mut self) {
        for e in self.entries.iter_mut().rev() {
            if let Entry::Agent { streaming, .. } = e
                && *streaming
            {
                *streaming = false;
                break;
            }
        }
    }

    /// The agent text still streaming: the last entry, or the last before
    /// the requests sent meanwhile.
    fn streaming_agent(&mut self) -> Option<&mut Entry> {
        self.entries
            .iter_mut()
            .rev()
            .find(|e| !matches!(e, Entry::User { .. }))
            .filter(|e| {
                matches!(
                    e,
                    Entry::Agent {
                        streaming: true,
                        ..
                    }
                )
            })
    }

    /// Whether an agent is still streaming (a request is under way).
    pub fn is_streaming(&self) -> bool {
        self.entries.iter().rev().any(|e| {
            matches!(
                e,
                Entry::Agent {
                    streaming: true,
                    ..
                }
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip<T: Serialize + for<'a> Deserialize<'a>>(v: Value) -> T {
        let parsed: T = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), v);
        parsed
    }

    #[test]
    fn the_seeds_client_messages_parse() {
        let m: ClientMessage = round_trip(json!({
            "type": "message",
            "content": "Create a fantasy novel with dragons and magic",
            "user_id": "user123",
            "timestamp": "2025-01-28T10:30:00Z",
            "options": {"stream": true, "model": "gemini-2.0-flash-exp"}
        }));
        assert!(matches!(m, ClientMessage::Message { .. }));
        let _: ClientMessage = round_trip(json!({"type": "ping"}));
        let _: ClientMessage = round_trip(json!({"type": "session_restore"}));
        let _: ClientMessage = round_trip(json!({"type": "model_switch", "model": "m"}));
        let _: ClientMessage = round_trip(json!({"type": "resume", "after_seq": 4}));
        let _: ClientMessage = round_trip(json!({"type": "batch", "messages": [{"type": "ping"}]}));
    }

    #[test]
    fn a_timestamp_comes_back_as_it_was_sent() {
        for (ts, want) in [
            (
                json!(1738060200000u64),
                Timestamp::Millis(1738060200000u64.into()),
            ),
            (
                json!(1738060200000.5),
                Timestamp::Millis(serde_json::Number::from_f64(1738060200000.5).unwrap()),
            ),
            (
                json!("2025-01-28T10:30:00Z"),
                Timestamp::from("2025-01-28T10:30:00Z"),
            ),
        ] {
            let m: ClientMessage =
                round_trip(json!({"type": "message", "content": "x", "timestamp": ts}));
            let ClientMessage::Message { timestamp, .. } = m else {
                panic!()
            };
            assert_eq!(timestamp, want);
        }
    }

    #[test]
    fn the_seeds_server_messages_parse_with_seq_added() {
        let _: ServerMessage = round_trip(json!({
            "type": "stream_chunk",
            "content": "I'll help you create a fantasy novel...",
            "agent": "OrchestratorAgent",
            "chunk_id": 1,
            "total_chunks": null,
            "timestamp": "2025-01-28T10:30:01Z",
            "seq": 1
        }));
        let _: ServerMessage = round_trip(json!({
            "type": "agent_switch",
            "from_agent": "OrchestratorAgent",
            "to_agent": "PlotGeneratorAgent",
            "reason": "Routing request to plot generation specialist",
            "timestamp": "2025-01-28T10:30:02Z",
            "seq": 2
        }));
        let _: ServerMessage = round_trip(json!({
            "type": "tool_execution",
            "tool_name": "save_plot",
            "status": "executing",
            "message": "Saving plot to database...",
            "progress": 0.5,
            "timestamp": "2025-01-28T10:30:05Z",
            "seq": 3
        }));
        let _: ServerMessage = round_trip(json!({
            "type": "error",
            "error_code": "AGENT_TIMEOUT",
            "message": "Agent processing timed out after 30 seconds",
            "details": {"agent": "PlotGeneratorAgent", "timeout_duration": 30000},
            "timestamp": "2025-01-28T10:30:30Z",
            "seq": 4
        }));
        let c: ServerMessage = round_trip(json!({
            "type": "completion",
            "message": "Plot generation completed successfully",
            "results": {
                "plot_id": "plot-uuid-123",
                "title": "The Dragon's Last Stand",
                "artifacts": [],
                "agents_used": ["OrchestratorAgent", "PlotGeneratorAgent"]
            },
            "timestamp": "2025-01-28T10:30:15Z",
            "seq": 5
        }));
        assert_eq!(c.seq(), 5);
    }

    fn chunk(seq: u64, agent: &str, text: &str) -> ServerMessage {
        ServerMessage::StreamChunk {
            content: text.into(),
            agent: agent.into(),
            chunk_id: seq,
            total_chunks: None,
            timestamp: "t".into(),
            seq,
        }
    }

    fn tool(seq: u64, status: ToolStatus) -> ServerMessage {
        ServerMessage::ToolExecution {
            tool_name: "save_plot".into(),
            status,
            message: format!("{status:?}"),
            progress: 0.5,
            timestamp: "t".into(),
            seq,
        }
    }

    #[test]
    fn the_transcript_folds_a_request_into_lines() {
        let mut t = Transcript::default();
        let events = [
            ServerMessage::MessageReceived {
                content: "a plot".into(),
                client_id: Some("c1".into()),
                timestamp: "t".into(),
                seq: 1,
            },
            ServerMessage::AgentSwitch {
                from_agent: ORCHESTRATOR.into(),
                to_agent: "PlotGeneratorAgent".into(),
                reason: "r".into(),
                timestamp: "t".into(),
                seq: 2,
            },
            chunk(3, "PlotGeneratorAgent", "Title: "),
            chunk(4, "PlotGeneratorAgent", "Dragons"),
            tool(5, ToolStatus::Executing),
            tool(6, ToolStatus::Completed),
        ];
        for e in &events {
            assert!(t.apply(e));
        }
        assert_eq!(t.current_agent, "PlotGeneratorAgent");
        assert_eq!(t.entries.len(), 4, "{:#?}", t.entries);
        assert!(
            matches!(&t.entries[2], Entry::Agent { content, streaming: false, id: 3, .. } if content == "Title: Dragons")
        );
        assert!(matches!(
            &t.entries[3],
            Entry::Tool {
                status: ToolStatus::Completed,
                ..
            }
        ));
        assert_eq!(t.last_seq, 6);
    }

    #[test]
    fn a_request_sent_while_an_agent_streams_does_not_cut_its_text() {
        let mut t = Transcript::default();
        let user = |seq: u64, text: &str| ServerMessage::MessageReceived {
            content: text.into(),
            client_id: None,
            timestamp: "t".into(),
            seq,
        };
        for e in [
            user(1, "a world"),
            chunk(2, "WorldBuilderAgent", "Ice "),
            user(3, "a villain"),
            chunk(4, "WorldBuilderAgent", "and snow"),
            tool(5, ToolStatus::Completed),
            chunk(6, "CharacterCreatorAgent", "Vex"),
        ] {
            assert!(t.apply(&e));
        }
        let lines: Vec<_> = t
            .entries
            .iter()
            .map(|e| match e {
                Entry::User { content, .. } => format!("user: {content}"),
                Entry::Agent { agent, content, .. } => format!("{agent}: {content}"),
                other => format!("{other:?}").chars().take(4).collect(),
            })
            .collect();
        assert_eq!(
            lines,
            [
                "user: a world",
                "WorldBuilderAgent: Ice and snow",
                "user: a villain",
                "Tool",
                "CharacterCreatorAgent: Vex"
            ]
        );
    }

    #[test]
    fn replayed_and_connection_only_events_change_nothing() {
        let mut t = Transcript::default();
        t.apply(&chunk(1, "A", "x"));
        let before = t.clone();
        assert!(!t.apply(&chunk(1, "A", "x")), "a replayed seq");
        assert!(!t.apply(&ServerMessage::Pong {
            timestamp: "t".into(),
            seq: 9
        }));
        assert_eq!(t, before);
        assert!(t.is_streaming());
        t.apply(&chunk(2, "B", "y"));
        assert_eq!(t.entries.len(), 2, "another agent starts a new line");
    }
}
