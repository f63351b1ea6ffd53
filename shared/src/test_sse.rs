//! The hybrid chat protocol's `GET|POST /api/v1/messages/test-sse`: five `test_message`
//! events then `test_complete`, with SSE `event:` names as the seed's
//! `addEventListener` clients expect, and the type inside the JSON as well.

use serde::{Deserialize, Serialize};

/// One event of the test-sse stream (carried by `/api/v1/messages/test-sse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// `{"type":"test_message","counter":1,"message":"Test message 1"}`
    TestMessage { counter: u32, message: String },
    /// `{"type":"test_complete","message":"..."}`
    TestComplete { message: String },
}

impl ServerEvent {
    /// The SSE `event:` name, equal to the JSON `type`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::TestMessage { .. } => "test_message",
            Self::TestComplete { .. } => "test_complete",
        }
    }
}

/// How many `test_message` events the stream sends before `test_complete`.
pub const TEST_MESSAGES: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn test_message_round_trips_with_its_type_inside() {
        let v = json!({"type": "test_message", "counter": 2, "message": "Test message 2"});
        let e: ServerEvent = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(e.name(), "test_message");
        assert_eq!(serde_json::to_value(&e).unwrap(), v);
    }
}
