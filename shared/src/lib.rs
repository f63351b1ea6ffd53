//! Chorus wire types: everything that crosses between the server and the app.
//!
//! Serde only, so it builds for `wasm32-unknown-unknown` (the app) and natively
//! (the server and its tests). One module per protocol; in each, enums are
//! named for who sends them: `ClientMessage` (browser → server),
//! `ServerMessage` (server → browser), `ServerEvent` (an SSE event).
//!
//! - [`admin`]: the admin page's figures.
//! - [`auth`]: accounts, anonymous visitors, usage.
//! - [`books`]: the BooksWriter protocol on `/ws/{session_id}`.
//! - [`chat`]: the hybrid chat protocol (management socket, reply SSE).
//! - [`error`]: the one JSON error body of every HTTP error.
//! - [`health`]: `GET /api/health`.
//! - [`personas`]: the persona protocol (persona chat and the panel), the persona catalog.
//! - [`rolecard`]: the role-card protocol (memories, relations, SSE events).
//! - [`stream`]: what every stream shares (seq, resume, stop, usage).
//! - [`support`]: the support protocol: supportive sessions and safety escalation.
//! - [`ws`]: the `/ws` socket's connection-level messages.
//! - [`test_sse`]: the hybrid chat protocol's `test-sse` stream, for checking proxies.

pub mod admin;
pub mod auth;
pub mod books;
pub mod chat;
pub mod error;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod health;
pub mod models;
pub mod personas;
pub mod rolecard;
pub mod stream;
pub mod support;
pub mod test_sse;
pub mod ws;

pub use error::{ApiError, ErrorCode};

use serde::{Deserialize, Serialize};

/// Who wrote a message of a conversation, in every protocol that has them
/// (the hybrid chat, persona history, support sessions): `"user"`,
/// `"assistant"` or `"system"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
    System,
    /// Any other role a client sent (a persona history's turns of other
    /// roles are accepted and left out, as they always were).
    #[serde(other)]
    Other,
}

impl Role {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::System => "system",
            Self::Other => "other",
        }
    }

    /// The role a wire spelling names.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "assistant" => Some(Self::Assistant),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn roles_use_their_wire_spelling_and_any_other_is_other() {
        for role in [Role::User, Role::Assistant, Role::System] {
            let json = serde_json::to_value(role).unwrap();
            assert_eq!(json, role.as_str());
            assert_eq!(serde_json::from_value::<Role>(json).unwrap(), role);
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        let bot: Role = serde_json::from_value(serde_json::json!("bot")).unwrap();
        assert_eq!(bot, Role::Other);
        assert_eq!(Role::parse("bot"), None);
    }
}
