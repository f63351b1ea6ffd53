//! The one shared state every handler gets with `State<AppState>`.

use crate::config::Config;
use crate::db::Db;
use crate::error::StartError;
use crate::web::OriginPolicy;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Cheap to clone: every part is a handle.
#[derive(Clone)]
pub struct AppState {
    /// Settings the server was started with.
    pub config: Arc<Config>,
    /// The database pool (SQLite or PostgreSQL).
    pub db: Db,
    /// Which browser origins may open sockets (and call with CORS).
    pub origins: Arc<OriginPolicy>,
    /// Cancelled when the server shuts down; every open stream and socket
    /// watches it and ends, so graceful shutdown does not wait on them.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Connects to the database and builds the state.
    pub async fn new(config: Config) -> Result<Self, StartError> {
        let db = Db::connect(&config.database_url).await?;
        let origins = Arc::new(OriginPolicy::new(&config.allowed_origins)?);
        Ok(Self {
            config: Arc::new(config),
            db,
            origins,
            shutdown: CancellationToken::new(),
        })
    }
}
