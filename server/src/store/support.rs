//! Support sessions, their messages and escalations (the support protocol).

use super::{Store, new_id, now_secs, rfc3339};
use shared::Role;
use shared::support::{EscalationCount, Intent, RiskLevel, SupportMessage, SupportSession};
use sqlx::Row;

fn intent_str(i: Intent) -> &'static str {
    match i {
        Intent::Validate => "validate",
        Intent::Explore => "explore",
        Intent::Inform => "inform",
        Intent::Encourage => "encourage",
        Intent::Escalate => "escalate",
    }
}

fn parse_intent(s: &str) -> Option<Intent> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

impl Store {
    /// A new session for `user_id`.
    pub async fn create_support_session(
        &self,
        user_id: &str,
        title: &str,
    ) -> Result<SupportSession, sqlx::Error> {
        let id = uuid::Uuid::new_v4().to_string();
        let now = now_secs();
        sqlx::query(
            "INSERT INTO support_sessions (id, user_id, title, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(title)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(SupportSession {
            id,
            title: title.to_owned(),
            created_at: rfc3339(now),
            max_risk: RiskLevel::None,
        })
    }

    /// The user's sessions, newest first, with the highest risk seen in each.
    pub async fn support_sessions(
        &self,
        user_id: &str,
    ) -> Result<Vec<SupportSession>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT s.id, s.title, s.created_at, \
               (SELECT e.risk_level FROM escalations e WHERE e.session_id = s.id LIMIT 1) AS escalated \
             FROM support_sessions s WHERE s.user_id = $1 ORDER BY s.created_at DESC, s.id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                let escalated: Option<String> = r.try_get("escalated")?;
                Ok(SupportSession {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    created_at: rfc3339(r.try_get("created_at")?),
                    max_risk: escalated
                        .as_deref()
                        .and_then(RiskLevel::parse)
                        .unwrap_or(RiskLevel::None),
                })
            })
            .collect()
    }

    /// Whether `session_id` exists and belongs to `user_id` (one answer for
    /// "no such session" and "someone else's").
    pub async fn owns_support_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let row =
            sqlx::query("SELECT 1 AS one FROM support_sessions WHERE id = $1 AND user_id = $2")
                .bind(session_id)
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    /// Appends a message; returns its id.
    pub async fn add_support_message(
        &self,
        session_id: &str,
        role: Role,
        text: &str,
        risk: RiskLevel,
        intent: Option<Intent>,
    ) -> Result<String, sqlx::Error> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO support_messages (id, session_id, role, text, risk_level, intent, created_at, position) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, \
               (SELECT COUNT(*) FROM support_messages WHERE session_id = $2))",
        )
        .bind(&id)
        .bind(session_id)
        .bind(role.as_str())
        .bind(text)
        .bind(risk.as_str())
        .bind(intent.map(intent_str))
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// A session's messages in order: each reply right after the message
    /// it answers (see [`in_turns`]).
    pub async fn support_messages(
        &self,
        session_id: &str,
    ) -> Result<Vec<SupportMessage>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, role, text, risk_level, intent, created_at FROM support_messages \
             WHERE session_id = $1 ORDER BY position",
        )
        .bind(session_id)
        .fetch_all(self.pool())
        .await?;
        let saved = rows
            .into_iter()
            .map(|r| {
                let risk: String = r.try_get("risk_level")?;
                let intent: Option<String> = r.try_get("intent")?;
                Ok(SupportMessage {
                    id: r.try_get("id")?,
                    role: super::role_of(&r)?,
                    text: r.try_get("text")?,
                    risk_level: RiskLevel::parse(&risk).unwrap_or(RiskLevel::None),
                    intent: intent.as_deref().and_then(parse_intent),
                    timestamp: rfc3339(r.try_get("created_at")?),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(in_turns(saved))
    }

    /// Records an escalation and the classifier's cues behind it (no
    /// message text: the id points to it).
    pub async fn add_escalation(
        &self,
        user_id: &str,
        session_id: &str,
        message_id: &str,
        risk: RiskLevel,
        cues: &str,
    ) -> Result<(), sqlx::Error> {
        let now = now_secs();
        let day = rfc3339(now).get(..10).unwrap_or_default().to_owned();
        sqlx::query(
            "INSERT INTO escalations (id, user_id, session_id, message_id, risk_level, day, created_at, cues) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(new_id())
        .bind(user_id)
        .bind(session_id)
        .bind(message_id)
        .bind(risk.as_str())
        .bind(day)
        .bind(now)
        .bind(cues)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The cues stored with a message's escalation, if it escalated.
    pub async fn escalation_cues(&self, message_id: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query("SELECT cues FROM escalations WHERE message_id = $1")
            .bind(message_id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| r.try_get("cues"))
            .transpose()
    }

    /// Escalations per day and level, for everyone (no text, no users).
    pub async fn escalation_summary(&self) -> Result<Vec<EscalationCount>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT day, risk_level, CAST(COUNT(*) AS BIGINT) AS n FROM escalations \
             GROUP BY day, risk_level ORDER BY day, risk_level",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                let risk: String = r.try_get("risk_level")?;
                Ok(EscalationCount {
                    day: r.try_get("day")?,
                    risk_level: RiskLevel::parse(&risk).unwrap_or(RiskLevel::None),
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }
}

/// Messages as they were saved → in conversation order. A reply is saved
/// when it is finished, so a message sent while the previous reply was
/// still streaming is saved before that reply; every user message gets
/// exactly one reply, so the n-th reply goes right after the n-th message.
fn in_turns(saved: Vec<SupportMessage>) -> Vec<SupportMessage> {
    let (users, mut replies): (Vec<_>, Vec<_>) =
        saved.into_iter().partition(|m| m.role == Role::User);
    let mut replies_left = replies.drain(..);
    let mut ordered = Vec::with_capacity(users.len() * 2);
    for user in users {
        ordered.push(user);
        ordered.extend(replies_left.next());
    }
    ordered.extend(replies_left);
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: &str, text: &str) -> SupportMessage {
        SupportMessage {
            id: text.into(),
            role: Role::parse(role).expect("a role"),
            text: text.into(),
            risk_level: RiskLevel::None,
            intent: None,
            timestamp: "t".into(),
        }
    }

    fn texts(messages: &[SupportMessage]) -> Vec<&str> {
        messages.iter().map(|m| m.text.as_str()).collect()
    }

    #[test]
    fn each_reply_follows_the_message_it_answers() {
        let saved = vec![
            message("user", "u1"),
            message("user", "u2"),
            message("assistant", "a1"),
            message("assistant", "a2"),
            message("user", "u3"),
        ];
        assert_eq!(texts(&in_turns(saved)), ["u1", "a1", "u2", "a2", "u3"]);
    }

    #[test]
    fn a_conversation_in_order_stays_as_it_is() {
        let saved = vec![
            message("user", "u1"),
            message("assistant", "a1"),
            message("user", "u2"),
            message("assistant", "a2"),
        ];
        assert_eq!(texts(&in_turns(saved)), ["u1", "a1", "u2", "a2"]);
    }
}
