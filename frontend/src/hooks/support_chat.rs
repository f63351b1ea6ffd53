//! The support page's conversation, and how the support protocol's messages change it.
//! Plain logic, tested natively.

use shared::support::{RiskLevel, SupportMessage};
use shared::ws::ServerMessage;

/// One message on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `user` or `assistant`.
    pub role: String,
    pub text: String,
    pub streaming: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupportChat {
    /// The session on screen (`None`: a new one starts with the first message).
    pub session: Option<String>,
    pub lines: Vec<Line>,
    /// Crisis resources are shown: once raised, they stay for the session.
    pub escalated: bool,
    /// A message is being answered.
    pub busy: bool,
    pub error: Option<String>,
}

impl SupportChat {
    /// Shows session `id`: a different one starts empty (its history is
    /// then loaded); the same one is left as it is, so a session created by
    /// the first message keeps the reply streaming into it. `true` when the
    /// history should be loaded.
    pub fn open(&mut self, id: Option<String>) -> bool {
        if self.session == id {
            return false;
        }
        *self = Self {
            session: id,
            ..Self::default()
        };
        self.session.is_some()
    }

    /// The history of session `id` arrived: it replaces the screen unless
    /// another session is shown by now or the conversation already went on.
    pub fn restore(&mut self, id: &str, history: &[SupportMessage], max_risk: RiskLevel) {
        if self.session.as_deref() != Some(id) || self.busy || !self.lines.is_empty() {
            return;
        }
        let restored = Self::from_history(history, max_risk);
        self.lines = restored.lines;
        self.escalated |= restored.escalated;
    }

    /// A reopened session: its history, and the banner if it ever escalated.
    pub fn from_history(history: &[SupportMessage], max_risk: RiskLevel) -> Self {
        Self {
            session: None,
            lines: history
                .iter()
                .map(|m| Line {
                    role: m.role.as_str().to_owned(),
                    text: m.text.clone(),
                    streaming: false,
                })
                .collect(),
            escalated: max_risk == RiskLevel::High
                || history.iter().any(|m| m.risk_level == RiskLevel::High),
            busy: false,
            error: None,
        }
    }

    /// Applies a message from the server; `true` when a reply finished.
    pub fn apply(&mut self, msg: &ServerMessage) -> bool {
        match msg {
            ServerMessage::UserMessage { text, .. } => {
                self.lines.push(Line {
                    role: "user".into(),
                    text: text.clone(),
                    streaming: false,
                });
                false
            }
            ServerMessage::SafetyEscalation { .. } => {
                self.escalated = true;
                false
            }
            ServerMessage::AssistantMessageStart { .. } => {
                self.lines.push(Line {
                    role: "assistant".into(),
                    text: String::new(),
                    streaming: true,
                });
                false
            }
            ServerMessage::AssistantMessageChunk { chunk, .. } => {
                if let Some(l) = self.lines.last_mut().filter(|l| l.streaming) {
                    l.text.push_str(chunk);
                }
                false
            }
            ServerMessage::AssistantMessageComplete { message, .. } => {
                if let Some(l) = self.lines.last_mut().filter(|l| l.streaming) {
                    l.text = message.text.clone();
                    l.streaming = false;
                }
                if message.risk_level == RiskLevel::High {
                    self.escalated = true;
                }
                self.busy = false;
                true
            }
            ServerMessage::Error { message, .. } => {
                self.error = Some(message.clone());
                self.busy = false;
                false
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(v: serde_json::Value) -> ServerMessage {
        crate::json::wire::tests::same(&v)
    }

    #[test]
    fn an_escalation_raises_the_banner_and_it_stays() {
        let mut c = SupportChat::default();
        c.apply(&msg(
            json!({"type":"user_message","text":"help","timestamp":"t"}),
        ));
        c.apply(&msg(
            json!({"type":"safety_escalation","risk_level":"high","timestamp":"t",
            "emergency_resources":{"crisis_hotline":"988","crisis_text":"741741","message":"m"}}),
        ));
        assert!(c.escalated);
        c.apply(&msg(
            json!({"type":"assistant_message_start","timestamp":"t"}),
        ));
        c.apply(&msg(json!({"type":"assistant_message_chunk","chunk":"I'm here","is_complete":false,"timestamp":"t"})));
        assert_eq!(c.lines[1].text, "I'm here");
        let done = c.apply(&msg(
            json!({"type":"assistant_message_complete","timestamp":"t",
            "message":{"text":"I'm here with you.","intent":"escalate","risk_level":"high"}}),
        ));
        assert!(done && c.escalated && !c.lines[1].streaming);
        assert_eq!(c.lines[1].text, "I'm here with you.");
    }

    #[test]
    fn a_session_made_by_the_first_message_keeps_its_streaming_reply() {
        let mut c = SupportChat {
            busy: true,
            session: Some("s1".into()),
            ..SupportChat::default()
        };
        c.apply(&msg(
            json!({"type":"user_message","text":"hi","timestamp":"t"}),
        ));
        c.apply(&msg(
            json!({"type":"assistant_message_start","timestamp":"t"}),
        ));
        c.apply(&msg(json!({"type":"assistant_message_chunk","chunk":"Hello","is_complete":false,"timestamp":"t"})));
        // The page's address now names the session: nothing is reloaded.
        assert!(!c.open(Some("s1".into())));
        // A history read before the reply was saved changes nothing.
        c.restore("s1", &[], RiskLevel::None);
        assert_eq!(c.lines.len(), 2);
        assert_eq!(c.lines[1].text, "Hello");
        // Another session starts empty and loads its own history.
        assert!(c.open(Some("s2".into())));
        assert!(c.lines.is_empty() && !c.busy);
        let history = vec![SupportMessage {
            id: "1".into(),
            role: shared::Role::User,
            text: "x".into(),
            risk_level: RiskLevel::Low,
            intent: None,
            timestamp: "t".into(),
        }];
        c.restore("s1", &history, RiskLevel::None);
        assert!(c.lines.is_empty(), "not the session on screen");
        c.restore("s2", &history, RiskLevel::None);
        assert_eq!(c.lines.len(), 1);
    }

    #[test]
    fn a_reopened_session_shows_its_banner_again() {
        let history = vec![SupportMessage {
            id: "1".into(),
            role: shared::Role::User,
            text: "x".into(),
            risk_level: RiskLevel::High,
            intent: None,
            timestamp: "t".into(),
        }];
        assert!(SupportChat::from_history(&history, RiskLevel::None).escalated);
        assert!(!SupportChat::from_history(&[], RiskLevel::Low).escalated);
    }
}
