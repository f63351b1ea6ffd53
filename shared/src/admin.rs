//! `GET /api/admin/overview`: what the admin page shows (admins only), and
//! `GET /api/admin/access`: whether the caller is an admin.

use crate::support::EscalationCount;
use serde::{Deserialize, Serialize};

/// The admin page's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AdminOverview {
    /// Safety escalations per day and level (counts only, no text), oldest
    /// first.
    pub escalations: Vec<EscalationCount>,
    /// Open sockets and SSE streams, by protocol.
    pub live: Vec<LiveCount>,
    /// Generations running now.
    pub running_streams: i64,
    /// Credits granted from the shell (`chorus credits grant`).
    pub credits: CreditsGranted,
}

/// `GET /api/admin/access`: whether the signed-in user is an admin (so the
/// app asks for the figures only when it may).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AdminAccess {
    pub admin: bool,
}

/// Open connections of one protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LiveCount {
    /// `"socket"` or `"sse"`.
    pub transport: String,
    /// `persona_support`, `books`, `chat_manage`, `chat_socketio`;
    /// `rolecard`, `chat`, `resume`, `test_sse`.
    pub protocol: String,
    pub open: i64,
}

/// Credits given by operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreditsGranted {
    /// Credits granted, in all.
    pub total: i64,
    /// How many grants.
    pub grants: i64,
}
