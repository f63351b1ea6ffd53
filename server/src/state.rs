//! The one shared state every handler gets with `State<AppState>`.

use crate::auth::token::TokenKeys;
use crate::books::Books;
use crate::chats::hub::ChatHub;
use crate::config::Config;
use crate::db::Db;
use crate::engine::Engine;
use crate::error::StartError;
use crate::personas::conversations::Conversations;
use crate::store::Store;
use crate::streams::registry::Streams;
use crate::usage::Quota;
use crate::web::OriginPolicy;
use crate::ws::ConnectionCounter;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Cheap to clone: every part is a handle.
#[derive(Clone)]
pub struct AppState {
    /// Settings the server was started with.
    pub config: Arc<Config>,
    /// Typed access to the database (SQLite or PostgreSQL).
    pub store: Store,
    /// Signs and checks login tokens.
    pub tokens: TokenKeys,
    /// The model provider every feature generates with.
    pub engine: Engine,
    /// Live and replayable streams.
    pub streams: Streams,
    /// `previous_response_id` context for providers that keep none.
    pub conversations: Conversations,
    /// Live BooksWriter sessions (seed 002).
    pub books: Books,
    /// Open WebSocket connections per user, for the per-user limit.
    pub connections: ConnectionCounter,
    /// Which browser origins may open sockets (and call with CORS).
    pub origins: Arc<OriginPolicy>,
    /// Seed 003's chat news for every management connection, and the
    /// replies running per chat.
    pub chats: ChatHub,
    /// Cancelled when the server shuts down; every open stream and socket
    /// watches it and ends, so graceful shutdown does not wait on them.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Connects to the database and builds the state.
    pub async fn new(config: Config) -> Result<Self, StartError> {
        let db = Db::connect(&config.database_url).await?;
        let origins = Arc::new(OriginPolicy::new(&config.allowed_origins)?);
        let tokens = TokenKeys::load(
            config.jwt_secret.as_deref(),
            &config.data_dir,
            config.token_ttl_hours.max(1) * 3600,
        )?;
        Ok(Self {
            engine: config.engine(),
            streams: Streams::new(std::time::Duration::from_secs(config.stream_ttl_secs))
                .with_retained_limit(config.stream_memory_mb.saturating_mul(1024 * 1024)),
            conversations: Conversations::default(),
            connections: ConnectionCounter::default(),
            books: Books::default(),
            chats: ChatHub::default(),
            config: Arc::new(config),
            store: Store::new(db),
            tokens,
            origins,
            shutdown: CancellationToken::new(),
        })
    }

    /// The limits in force, for features that generate.
    pub fn quota(&self) -> Quota {
        Quota {
            store: self.store.clone(),
            anon_limit: self.config.anon_message_limit,
            unlimited: self.config.no_limits,
        }
    }
}
