//! The seed's `validateMessage`, and the checks that follow it: every
//! failure is an in-band `error` with `VALIDATION_ERROR` (the socket stays
//! open), with the seed's own wording.

use serde_json::Value;
use shared::ErrorCode;
use shared::books::{ClientMessage, ErrorDetails, MAX_CONTENT_LEN};

/// Longest model name accepted.
const MAX_MODEL_LEN: usize = 100;

/// Most messages in one `batch`.
pub(crate) const MAX_BATCH: usize = 50;

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invalid {
    pub code: ErrorCode,
    pub message: String,
    pub details: ErrorDetails,
}

fn invalid(message: impl Into<String>, details: ErrorDetails) -> Invalid {
    Invalid {
        code: ErrorCode::ValidationError,
        message: message.into(),
        details,
    }
}

/// The frame as a JSON object.
pub(crate) fn json(text: &str) -> Result<Value, Invalid> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        invalid(
            "Message is not valid JSON",
            ErrorDetails {
                reason: Some(e.to_string()),
                ..ErrorDetails::default()
            },
        )
    })?;
    if !value.is_object() {
        return Err(invalid(
            "Message must be a JSON object",
            ErrorDetails::default(),
        ));
    }
    Ok(value)
}

/// The messages of a `batch`.
pub(crate) fn batch(value: &Value) -> Result<&Vec<Value>, Invalid> {
    let items = value
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            invalid(
                "Missing required field: messages",
                ErrorDetails::field("messages"),
            )
        })?;
    if items.len() > MAX_BATCH {
        return Err(invalid(
            format!("A batch holds at most {MAX_BATCH} messages"),
            ErrorDetails {
                max: Some(MAX_BATCH),
                count: Some(items.len()),
                ..ErrorDetails::default()
            },
        ));
    }
    Ok(items)
}

/// One message, checked as the seed checks it, then typed.
pub(crate) fn message(value: &Value, in_batch: bool) -> Result<ClientMessage, Invalid> {
    let Some(obj) = value.as_object() else {
        return Err(invalid(
            "Message must be a JSON object",
            ErrorDetails::default(),
        ));
    };
    let Some(kind) = obj.get("type") else {
        return Err(invalid(
            "Missing required field: type",
            ErrorDetails::field("type"),
        ));
    };
    let kind_str = kind.as_str().unwrap_or_default();
    if !ClientMessage::TYPES.contains(&kind_str) || (in_batch && kind_str == "batch") {
        return Err(invalid(
            format!("Invalid message type: {}", display(kind)),
            ErrorDetails {
                allowed: Some(
                    ClientMessage::TYPES
                        .iter()
                        .map(|t| (*t).to_owned())
                        .collect(),
                ),
                ..ErrorDetails::field("type")
            },
        ));
    }
    if kind_str == "message" {
        for field in ["content", "timestamp"] {
            if !obj.contains_key(field) {
                return Err(invalid(
                    format!("Missing required field: {field}"),
                    ErrorDetails::field(field),
                ));
            }
        }
    }
    if let Some(content) = obj.get("content") {
        let Some(text) = content.as_str() else {
            return Err(invalid(
                "content must be a string",
                ErrorDetails::field("content"),
            ));
        };
        let len = text.encode_utf16().count();
        if len > MAX_CONTENT_LEN {
            return Err(invalid(
                "Message content too long",
                ErrorDetails {
                    length: Some(len),
                    max_length: Some(MAX_CONTENT_LEN),
                    ..ErrorDetails::field("content")
                },
            ));
        }
    }
    if let Some(ts) = obj.get("timestamp")
        && !timestamp_ok(ts)
    {
        return Err(invalid(
            "Invalid timestamp format",
            ErrorDetails::field("timestamp"),
        ));
    }
    serde_json::from_value(value.clone()).map_err(|e| {
        invalid(
            format!("Invalid {kind_str} message: {e}"),
            ErrorDetails {
                kind: Some(kind_str.to_owned()),
                ..ErrorDetails::default()
            },
        )
    })
}

/// A model name: 1–100 printable characters.
pub(crate) fn model(name: &str) -> Result<(), Invalid> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_MODEL_LEN || name.chars().any(char::is_control)
    {
        return Err(invalid(
            format!("A model name is 1–{MAX_MODEL_LEN} printable characters"),
            ErrorDetails::field("model"),
        ));
    }
    Ok(())
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.chars().take(40).collect(),
        other => other.to_string().chars().take(40).collect(),
    }
}

/// What JavaScript's `new Date(ts)` reads: epoch milliseconds, or an ISO
/// 8601 / RFC 3339 date or date-time.
fn timestamp_ok(ts: &Value) -> bool {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    match ts {
        Value::Number(n) => n
            .as_f64()
            .is_some_and(|ms| ms.is_finite() && ms.abs() <= 8.64e15),
        Value::String(s) => {
            let s = s.trim();
            time::OffsetDateTime::parse(s, &Rfc3339).is_ok()
                || time::OffsetDateTime::parse(s, &Iso8601::DEFAULT).is_ok()
                || time::PrimitiveDateTime::parse(s, &Iso8601::DEFAULT).is_ok()
                || time::Date::parse(s, &Iso8601::DEFAULT).is_ok()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<ClientMessage, String> {
        message(&v, false).map_err(|e| e.message)
    }

    #[test]
    fn the_seeds_rules_in_its_words() {
        let ts = "2025-01-28T10:30:00Z";
        assert!(check(json!({"type": "message", "content": "hi", "timestamp": ts})).is_ok());
        assert_eq!(
            check(json!({"content": "hi"})).unwrap_err(),
            "Missing required field: type"
        );
        assert_eq!(
            check(json!({"type": "message", "timestamp": ts})).unwrap_err(),
            "Missing required field: content"
        );
        assert_eq!(
            check(json!({"type": "message", "content": "x"})).unwrap_err(),
            "Missing required field: timestamp"
        );
        assert_eq!(
            check(json!({"type": "shout", "content": "x", "timestamp": ts})).unwrap_err(),
            "Invalid message type: shout"
        );
        let long = "é".repeat(MAX_CONTENT_LEN + 1);
        assert_eq!(
            check(json!({"type": "message", "content": long, "timestamp": ts})).unwrap_err(),
            "Message content too long"
        );
        let exact = "a".repeat(MAX_CONTENT_LEN);
        assert!(check(json!({"type": "message", "content": exact, "timestamp": ts})).is_ok());
        assert_eq!(
            check(json!({"type": "message", "content": "x", "timestamp": "yesterday"}))
                .unwrap_err(),
            "Invalid timestamp format"
        );
    }

    #[test]
    fn timestamps_javascript_reads_are_accepted() {
        for ts in [
            json!("2025-01-28T10:30:00Z"),
            json!("2025-01-28T10:30:00.123+02:00"),
            json!("2025-01-28T10:30:00"),
            json!("2025-01-28"),
            json!(1738060200000u64),
        ] {
            assert!(timestamp_ok(&ts), "{ts}");
        }
        for ts in [json!("28/01/2025"), json!(""), json!(null), json!(true)] {
            assert!(!timestamp_ok(&ts), "{ts}");
        }
    }

    #[test]
    fn other_types_need_only_their_own_fields() {
        assert_eq!(check(json!({"type": "ping"})), Ok(ClientMessage::Ping));
        assert!(
            check(json!({"type": "resume"}))
                .unwrap_err()
                .starts_with("Invalid resume message")
        );
        assert!(
            message(&json!({"type": "batch", "messages": []}), true).is_err(),
            "no nesting"
        );
        assert!(model("gpt-4o").is_ok() && model(" ").is_err() && model(&"m".repeat(101)).is_err());
    }
}
