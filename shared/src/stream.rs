//! What every stream shares (the generation engine's layer under every SSE
//! and WebSocket protocol).
//!
//! Each server → client event of a stream carries `stream_id` and `seq`
//! (1, 2, 3 … per stream; for SSE also the `id:` line). `GET
//! /api/streams/{stream_id}` re-attaches with `Last-Event-ID` or `?after=N`;
//! `POST /api/streams/{stream_id}/stop` stops it.
//!
//! [`ServerEvent`] is the engine's own event set, for streams that have no
//! seed-defined shape; seed protocols render the same moments in their own
//! words.

use serde::{Deserialize, Serialize};

/// Token counts of a finished generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The last event of a stream of any protocol (socket or SSE, `event:
/// stopped`) when the server shuts down while it runs, after the protocol's
/// own final events. Clients that do not know it ignore it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Ending {
    /// The stream was stopped, and why.
    Stopped {
        reason: StopReason,
        stream_id: String,
    },
}

/// The last event a reader gets of a stream whose instance (in a cluster)
/// went away before it ended: code `STREAM_INTERRUPTED`, with the text
/// saved so far. One shape that each protocol's error readers take: `type`
/// is the protocol's error type (`error`; the hybrid chat protocol's
/// `assistant_error`), also the SSE `event:` name; `message` (the persona
/// and support protocols) and `error` (the SSE protocols) say the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Interrupted {
    #[serde(rename = "type")]
    pub kind: String,
    /// Always `"error"`.
    pub status: String,
    pub code: crate::ErrorCode,
    pub error: String,
    pub message: String,
    /// The stream's text as saved when its instance went away.
    pub text: String,
    pub stream_id: String,
    /// One past the last event the stream had.
    pub seq: u64,
    pub timestamp: String,
}

impl Interrupted {
    /// The event for a stream that reached `last_seq` and saved `text`.
    pub fn new(
        kind: &str,
        stream_id: &str,
        last_seq: u64,
        text: String,
        timestamp: String,
    ) -> Self {
        let error = "the server running this stream went away before it ended; \
                     this is the text saved so far"
            .to_owned();
        Self {
            kind: kind.to_owned(),
            status: "error".into(),
            code: crate::ErrorCode::StreamInterrupted,
            message: error.clone(),
            error,
            text,
            stream_id: stream_id.to_owned(),
            seq: last_seq + 1,
            timestamp,
        }
    }
}

/// Why a stream was stopped by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The server is shutting down (SIGTERM).
    Shutdown,
}

/// How a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FinishStatus {
    /// The model finished.
    Completed,
    /// Someone stopped it; the text is what was made until then.
    Stopped,
    /// It failed; the text is what was made until then.
    Failed,
}

impl FinishStatus {
    /// The wire (and database) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    /// The status a spelling names (`completed` for anything unknown).
    pub fn parse(s: &str) -> Self {
        match s {
            "stopped" => Self::Stopped,
            "failed" => Self::Failed,
            _ => Self::Completed,
        }
    }
}

/// The engine's generic events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// A piece of the text.
    Delta { text: String },
    /// The end: the whole text, how it ended, and the token counts.
    Done {
        text: String,
        status: FinishStatus,
        usage: TokenUsage,
    },
    /// The generation failed.
    Error {
        error: String,
        code: crate::ErrorCode,
        /// `RATE_LIMITED` by the model provider: seconds to wait, when it said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
}

impl ServerEvent {
    /// The JSON `type`, also the SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Delta { .. } => "delta",
            Self::Done { .. } => "done",
            Self::Error { .. } => "error",
        }
    }
}

/// Answer of `POST /api/streams/{stream_id}/stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StopResponse {
    pub stream_id: String,
    /// `"stopping"` when it was running, `"finished"` when it had ended.
    pub status: String,
}
