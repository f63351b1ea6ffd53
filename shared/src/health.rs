//! `GET /api/health`: liveness and the server's version.

use serde::{Deserialize, Serialize};

/// Answer of `GET /api/health`: `{"status":"ok","version":"0.1.0"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Health {
    /// Always `"ok"` when the server answers.
    pub status: String,
    /// The server's crate version.
    pub version: String,
}

/// Answer of `GET /api/ready`: 200 and `"ready"` when every check passes,
/// else 503 and `"not_ready"` (so a load balancer takes the instance out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Readiness {
    /// `"ready"` or `"not_ready"`.
    pub status: String,
    /// `database` (reachable) and `migrations` (all applied), in that order,
    /// then, in a cluster (`--redis-url`), `redis` (answers).
    pub checks: Vec<Check>,
}

/// One readiness check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Check {
    /// What was checked: `database`, `migrations`, `redis`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found: `"sqlite"`, `"9 of 9 applied"`, `"unreachable"`.
    pub detail: String,
}
