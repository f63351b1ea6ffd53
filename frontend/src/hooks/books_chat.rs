//! The BooksWriter page's state, and how the BooksWriter protocol's messages change it.
//! Plain logic, tested natively.
//!
//! The conversation itself is a [`Transcript`], folded with the same code
//! the server uses for `session_restored`, so a restored page and a live one
//! are the same. Messages typed while offline wait in `pending` (shown as
//! queued) until the server echoes them with `message_received`.

use shared::books::{Artifact, ClientMessage, Entry, ServerMessage, Transcript};

/// A message the server has not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub client_id: String,
    pub content: String,
}

/// What the page should do after a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    Nothing,
    /// Artifacts changed: fetch the list again.
    ReloadArtifacts,
    /// The session belongs to someone else: start a new one.
    NewSession,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BooksChat {
    pub transcript: Transcript,
    pub pending: Vec<Pending>,
    pub artifacts: Vec<Artifact>,
    /// The last error about this connection (validation, rate limit).
    pub notice: Option<String>,
    /// The model chosen for the session, when not the server's.
    pub model: Option<String>,
    /// The conversation has been loaded (restored) at least once.
    pub loaded: bool,
}

impl BooksChat {
    /// What to send when a connection opens: the events missed since the
    /// last one seen, or the whole conversation on a fresh page.
    pub fn on_open(&self) -> ClientMessage {
        if self.loaded {
            ClientMessage::Resume {
                after_seq: self.transcript.last_seq,
            }
        } else {
            ClientMessage::SessionRestore
        }
    }

    /// A message typed by the user: shown at once, sent (or queued).
    pub fn send(&mut self, client_id: String, content: String, timestamp: String) -> ClientMessage {
        self.notice = None;
        let msg = ClientMessage::Message {
            content: content.clone(),
            user_id: Some("anonymous".into()),
            timestamp: shared::books::Timestamp::Text(timestamp),
            options: None,
            client_id: Some(client_id.clone()),
        };
        self.pending.push(Pending { client_id, content });
        msg
    }

    /// Applies a message from the server.
    pub fn apply(&mut self, msg: ServerMessage) -> Follow {
        match msg {
            ServerMessage::SessionRestored {
                messages,
                current_agent,
                artifacts,
                model,
                seq,
                ..
            } => {
                let seen: Vec<String> = messages
                    .iter()
                    .filter_map(|e| match e {
                        Entry::User {
                            client_id: Some(c), ..
                        } => Some(c.clone()),
                        _ => None,
                    })
                    .collect();
                self.pending.retain(|p| !seen.contains(&p.client_id));
                self.transcript = Transcript::restored(messages, current_agent, seq);
                self.artifacts = artifacts;
                self.model = model;
                self.loaded = true;
                Follow::Nothing
            }
            ServerMessage::ModelSwitched { model, .. } => {
                self.model = Some(model);
                Follow::Nothing
            }
            ServerMessage::Pong { .. } => Follow::Nothing,
            ServerMessage::Error {
                ref error_code,
                ref message,
                ..
            } if !self.is_new(&msg) => {
                // A reply to this connection alone.
                if *error_code == shared::ErrorCode::SessionForbidden {
                    return Follow::NewSession;
                }
                self.notice = Some(message.clone());
                Follow::Nothing
            }
            other => {
                if let ServerMessage::MessageReceived {
                    client_id: Some(c), ..
                } = &other
                {
                    self.pending.retain(|p| &p.client_id != c);
                }
                let reload = matches!(other, ServerMessage::Completion { .. })
                    || matches!(
                        other,
                        ServerMessage::ToolExecution {
                            status: shared::books::ToolStatus::Completed,
                            ..
                        }
                    );
                self.loaded = true;
                if self.transcript.apply(&other) && reload {
                    Follow::ReloadArtifacts
                } else {
                    Follow::Nothing
                }
            }
        }
    }

    fn is_new(&self, msg: &ServerMessage) -> bool {
        msg.seq() > self.transcript.last_seq
    }

    /// A request is under way (or waiting): the stop button shows.
    pub fn working(&self) -> bool {
        let entries = &self.transcript.entries;
        let Some(last_user) = entries
            .iter()
            .rposition(|e| matches!(e, Entry::User { .. }))
        else {
            return false;
        };
        !entries[last_user..]
            .iter()
            .any(|e| matches!(e, Entry::Completion { .. } | Entry::Error { .. }))
    }

    /// A new, empty session.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::books::{CompletionResults, ORCHESTRATOR};

    fn received(seq: u64, client_id: &str) -> ServerMessage {
        ServerMessage::MessageReceived {
            content: "a plot".into(),
            client_id: Some(client_id.into()),
            timestamp: "t".into(),
            seq,
        }
    }

    fn chunk(seq: u64, text: &str) -> ServerMessage {
        ServerMessage::StreamChunk {
            content: text.into(),
            agent: "PlotGeneratorAgent".into(),
            chunk_id: seq,
            total_chunks: None,
            timestamp: "t".into(),
            seq,
        }
    }

    #[test]
    fn a_fresh_page_restores_and_a_reconnect_resumes() {
        let mut c = BooksChat::default();
        assert_eq!(c.on_open(), ClientMessage::SessionRestore);
        c.apply(ServerMessage::SessionRestored {
            messages: vec![],
            current_agent: ORCHESTRATOR.into(),
            artifacts: vec![],
            model: None,
            timestamp: "t".into(),
            seq: 7,
        });
        assert_eq!(c.on_open(), ClientMessage::Resume { after_seq: 7 });
    }

    #[test]
    fn queued_messages_wait_until_the_server_echoes_them() {
        let mut c = BooksChat::default();
        let wire = c.send("c1".into(), "a plot".into(), "2025-01-28T10:30:00Z".into());
        assert!(matches!(wire, ClientMessage::Message { client_id: Some(ref c), .. } if c == "c1"));
        assert_eq!(c.pending.len(), 1);
        c.apply(received(1, "c1"));
        assert!(c.pending.is_empty());
        assert!(c.working());
        c.apply(chunk(2, "Title: "));
        c.apply(chunk(3, "Dragons"));
        assert_eq!(
            c.apply(chunk(3, "Dragons")),
            Follow::Nothing,
            "a replay is ignored"
        );
        let done = c.apply(ServerMessage::Completion {
            message: "done".into(),
            results: CompletionResults::default(),
            timestamp: "t".into(),
            seq: 4,
        });
        assert_eq!(done, Follow::ReloadArtifacts);
        assert!(!c.working());
        assert!(
            matches!(&c.transcript.entries[1], Entry::Agent { content, .. } if content == "Title: Dragons")
        );
    }

    #[test]
    fn connection_errors_are_notices_and_a_foreign_session_starts_a_new_one() {
        let mut c = BooksChat::default();
        c.apply(chunk(5, "x"));
        let err = |code: &str, seq| ServerMessage::Error {
            error_code: serde_json::from_value(serde_json::json!(code)).unwrap(),
            message: "Rate limit exceeded".into(),
            details: Default::default(),
            timestamp: "t".into(),
            seq,
        };
        c.apply(err("RATE_LIMITED", 5));
        assert_eq!(c.notice.as_deref(), Some("Rate limit exceeded"));
        assert_eq!(
            c.transcript.entries.len(),
            1,
            "not part of the conversation"
        );
        assert_eq!(c.apply(err("SESSION_FORBIDDEN", 0)), Follow::NewSession);
        c.apply(err("AGENT_TIMEOUT", 6));
        assert!(matches!(
            c.transcript.entries.last(),
            Some(Entry::Error { .. })
        ));
    }
}
