//! `GET /api/health`: liveness and the server's version.

use serde::{Deserialize, Serialize};

/// Answer of `GET /api/health`: `{"status":"ok","version":"0.1.0"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the server answers.
    pub status: String,
    /// The server's crate version.
    pub version: String,
}
