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
