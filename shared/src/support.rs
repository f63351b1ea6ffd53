//! The support protocol: supportive sessions with safety escalation, on `/ws?token=`,
//! and their REST side: `POST/GET /api/support/sessions`,
//! `GET /api/support/sessions/{id}/messages`,
//! `GET /api/support/escalations/summary`.
//!
//! The socket messages are variants of [`crate::ws::ClientMessage`]
//! (`session_message`) and [`crate::ws::ServerMessage`] (`user_message`,
//! `safety_escalation`, `assistant_message_start`, `assistant_message_chunk`,
//! `assistant_message_complete`); these are their parts.

use serde::{Deserialize, Serialize};

/// How much risk a message shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    None,
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            _ => None,
        }
    }
}

/// What the assistant's reply sets out to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Validate,
    Explore,
    Inform,
    Encourage,
    Escalate,
}

/// The support protocol's crisis resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EmergencyResources {
    pub crisis_hotline: String,
    pub crisis_text: String,
    pub message: String,
}

impl EmergencyResources {
    /// The US resources the seed names.
    pub fn us() -> Self {
        Self {
            crisis_hotline: "988".into(),
            crisis_text: "741741".into(),
            message: "If you are in immediate danger, call your local emergency number. \
                      You can call or text 988, or text HOME to 741741, any time."
                .into(),
        }
    }
}

/// `assistant_message_complete.message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AssistantMessage {
    pub text: String,
    pub intent: Intent,
    pub risk_level: RiskLevel,
}

/// A support session (`POST`/`GET /api/support/sessions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SupportSession {
    pub id: String,
    pub title: String,
    pub created_at: String,
    /// The highest risk seen in it: the app shows the banner again when the
    /// session is reopened.
    pub max_risk: RiskLevel,
}

/// One message of a session's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SupportMessage {
    pub id: String,
    /// `user` or `assistant`.
    pub role: crate::Role,
    pub text: String,
    pub risk_level: RiskLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    pub timestamp: String,
}

/// `GET /api/support/escalations/summary`: counts per day and level, no text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EscalationCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub risk_level: RiskLevel,
    pub count: i64,
}
