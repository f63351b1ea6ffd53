//! The hybrid chat protocol's events for a reply: `assistant_typing` (or
//! `assistant_regenerating`), `assistant_delta`s, then `assistant_complete`
//! (or `assistant_regenerated`) or `assistant_error`, then `usage_info`.
//!
//! The stream becomes the chat's running reply when it opens (so a
//! refreshed page finds it). Before the final events go out the reply is
//! saved (a new message, or a new version of the regenerated one), the
//! chat's running reply is cleared, the usage is read, and the owner's
//! management connections hear about both.

use crate::auth::identity::Identity;
use crate::state::AppState;
use crate::streams::generation::{Out, Outcome, Render};
use serde_json::Value;
use shared::Role;
use shared::chat::{ServerEvent, ServerMessage};
use shared::stream::FinishStatus;

/// What the stream answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A new reply, saved as message `message_id`.
    Send,
    /// A new version of reply `message_id`.
    Regenerate,
}

/// The render of one reply stream.
pub(crate) struct ChatRender {
    state: AppState,
    who: Identity,
    kind: Kind,
    chat_id: String,
    message_id: String,
    /// The stream, to clear the chat's running reply when it ends.
    stream_id: String,
}

impl ChatRender {
    /// The render of a reply to save as `message_id` in `chat_id`.
    pub(crate) fn new(
        state: &AppState,
        who: &Identity,
        kind: Kind,
        chat_id: &str,
        message_id: &str,
    ) -> Self {
        Self {
            state: state.clone(),
            who: who.clone(),
            kind,
            chat_id: chat_id.to_owned(),
            message_id: message_id.to_owned(),
            stream_id: String::new(),
        }
    }
}

/// An event ready for the registry: its name and JSON.
pub(crate) fn out(e: ServerEvent) -> Out {
    (
        Some(e.name()),
        serde_json::to_value(&e).unwrap_or(Value::Null).into(),
    )
}

impl Render for ChatRender {
    fn start(&mut self, stream_id: &str) -> Vec<Out> {
        self.stream_id = stream_id.to_owned();
        self.state.chats.set_running(&self.chat_id, stream_id);
        let (chat_id, message_id) = (self.chat_id.clone(), self.message_id.clone());
        vec![out(match self.kind {
            Kind::Send => ServerEvent::AssistantTyping {
                chat_id,
                message_id,
            },
            Kind::Regenerate => ServerEvent::AssistantRegenerating {
                chat_id,
                message_id,
            },
        })]
    }

    fn chunk(&mut self, text: &str) -> Vec<Out> {
        vec![out(ServerEvent::AssistantDelta {
            delta: text.to_owned(),
        })]
    }

    async fn finish(&mut self, o: &Outcome) -> Vec<Out> {
        let state = &self.state;
        let owner = self.who.owner_key();
        let chat_id = &self.chat_id;
        let mut version = 0;
        // A stopped or failed reply keeps what was written; a new reply
        // that failed before a word is kept too (empty, `failed`), so the
        // chat shows it and it can be retried; a stop before a word, or a
        // failed regenerate, saves nothing.
        let failed_new = self.kind == Kind::Send && o.status == FinishStatus::Failed;
        if !o.text.is_empty() || failed_new {
            let saved = match self.kind {
                Kind::Send => state
                    .store
                    .add_chat_message(chat_id, &self.message_id, Role::Assistant, &o.text)
                    .await
                    .map(|_| 0),
                Kind::Regenerate => {
                    state
                        .store
                        .add_message_version(&self.message_id, &o.text)
                        .await
                }
            };
            let saved = match saved {
                Ok(v) => state
                    .store
                    .set_message_status(&self.message_id, o.status)
                    .await
                    .map(|_| v),
                Err(e) => Err(e),
            };
            match saved {
                Ok(v) => version = v,
                // Deleted while the reply was written: nothing to keep.
                Err(_) if matches!(state.store.chat(chat_id).await, Ok(None)) => {
                    tracing::debug!(chat = %chat_id, "reply to a deleted chat not saved")
                }
                Err(e) => {
                    tracing::error!(chat = %chat_id, error = %e, "could not save a reply")
                }
            }
            if let Ok(Some(chat)) = state.store.chat(chat_id).await {
                state
                    .chats
                    .notify(&owner, None, ServerMessage::ChatUpdated { chat });
            }
        }
        state.chats.clear_running(chat_id, &self.stream_id);
        let usage = match state.generator.quota.usage(&self.who).await {
            Ok(usage) => {
                state
                    .chats
                    .notify(&owner, None, ServerMessage::UsageInfo(usage.clone()));
                Some(usage)
            }
            Err(e) => {
                tracing::error!(error = %e, "could not read usage");
                None
            }
        };
        let mut events = Vec::new();
        match &o.error {
            Some((code, error)) if o.text.is_empty() || o.status == FinishStatus::Failed => {
                events.push(out(ServerEvent::AssistantError {
                    error: error.clone(),
                    code: *code,
                    retry_after: o.retry_after,
                }));
                self.state.chats.notify(
                    &self.who.owner_key(),
                    None,
                    ServerMessage::AssistantError {
                        error: error.clone(),
                        code: *code,
                    },
                );
            }
            _ => events.push(out(match self.kind {
                Kind::Send => ServerEvent::AssistantComplete {
                    message_id: self.message_id.clone(),
                    chat_id: self.chat_id.clone(),
                    content: o.text.clone(),
                    usage: o.usage,
                    status: o.status,
                },
                Kind::Regenerate => ServerEvent::AssistantRegenerated {
                    message_id: self.message_id.clone(),
                    chat_id: self.chat_id.clone(),
                    content: o.text.clone(),
                    version,
                    status: o.status,
                },
            })),
        }
        if let Some(usage) = usage {
            events.push(out(ServerEvent::UsageInfo(usage)));
        }
        events
    }
}
