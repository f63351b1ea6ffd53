//! Connection-level messages of the `/ws` socket (seeds 001 and 004).
//!
//! The feature protocols (persona chat, support sessions) add their variants
//! in their own issues; these are the ones every connection has: the
//! greeting, `ping`/`pong`, and the in-band `error`.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};

/// Browser → server on `/ws`. Seed 001 wraps payloads in `data`; seed 004
/// puts fields at the top level; both carry `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// `{"type":"resume","data":{"stream_id":"st_…","after_seq":12}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeData {
    pub stream_id: String,
    #[serde(default)]
    pub after_seq: u64,
}

/// `{"type":"stop","data":{"stream_id":"st_…"}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopData {
    pub stream_id: String,
}

impl ClientMessage {
    /// Every `type` this endpoint accepts, to tell an unknown type from a
    /// known one with bad fields.
    pub const TYPES: &'static [&'static str] = &["ping", "resume", "stop"];
}

/// Server → browser on `/ws`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Sent once on connect: `{"type":"connection","status":"connected","timestamp":"…"}`.
    Connection { status: String, timestamp: String },
    /// Answer to `ping`.
    Pong { timestamp: String },
    /// A message the server could not act on; the socket stays open.
    /// `status` is always `"error"` (seed 001), `timestamp` as seed 004.
    Error {
        status: String,
        message: String,
        code: ErrorCode,
        timestamp: String,
    },
}

impl ServerMessage {
    /// The in-band error for `code`, with seed 001's `status:"error"`.
    pub fn error(code: ErrorCode, message: impl Into<String>, timestamp: String) -> Self {
        Self::Error {
            status: "error".into(),
            message: message.into(),
            code,
            timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_004_connection_and_pong_round_trip() {
        for v in [
            json!({"type":"connection","status":"connected","timestamp":"2024-11-12T10:00:00Z"}),
            json!({"type":"pong","timestamp":"2024-11-12T10:00:00Z"}),
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
