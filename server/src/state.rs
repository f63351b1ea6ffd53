//! The one shared state every handler gets with `State<AppState>`, or any
//! part of it with `State<Part>` (`#[derive(FromRef)]`).
//!
//! Its parts are handles to modules that never import this one, so there is
//! no module cycle through the state: the features depend on it, it depends
//! on nothing that depends on it.

use crate::auth::identity::Identity;
use crate::auth::limits::AuthLimits;
use crate::auth::revocation::TokenVersions;
use crate::auth::token::TokenKeys;
use crate::books::hub::Books;
use crate::chats::hub::ChatHub;
use crate::client_ip::TrustedProxies;
use crate::cluster::Cluster;
use crate::cluster::limits::SharedSlots;
use crate::config::Config;
use crate::connections::ConnectionCounter;
use crate::db::Db;
use crate::error::StartError;
use crate::message_rates::AddressRates;
use crate::personas::conversations::Conversations;
use crate::quota::{AnonAddresses, Quota};
use crate::store::Store;
use crate::streams::generation::Generator;
use crate::streams::registry::Streams;
use crate::web::OriginPolicy;
use axum::extract::FromRef;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The server's state: one pointer to its [`Parts`], so a request or an
/// open connection holding it costs a pointer, not a copy of every handle.
/// Extractors take the part they need (`State<Store>`, …) through
/// `FromRef`, as with a derived state.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl std::ops::Deref for AppState {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.0
    }
}

/// `FromRef<AppState>` for each part, as `#[derive(FromRef)]` writes it on
/// a struct of handles.
macro_rules! parts_from_ref {
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $ty {
            fn from_ref(state: &AppState) -> Self {
                state.0.$field.clone()
            }
        })*
    };
}

parts_from_ref! {
    config: Arc<Config>,
    store: Store,
    tokens: TokenKeys,
    token_versions: TokenVersions,
    generator: Generator,
    conversations: Conversations,
    books: Books,
    connections: ConnectionCounter,
    auth_limits: AuthLimits,
    anon_addresses: AnonAddresses,
    message_rates: AddressRates,
    proxies: TrustedProxies,
    origins: Arc<OriginPolicy>,
    chats: ChatHub,
    cluster: Option<Cluster>,
    shutdown: CancellationToken,
}

/// What the state holds; every part is a cheap handle.
pub struct Parts {
    /// Settings the server was started with.
    pub config: Arc<Config>,
    /// Typed access to the database (SQLite or PostgreSQL); the generator
    /// holds the same handle.
    pub store: Store,
    /// Signs and checks login tokens.
    pub tokens: TokenKeys,
    /// The version of each user's tokens: logout revokes the older ones.
    pub token_versions: TokenVersions,
    /// What every feature that streams generates with: the engine, the
    /// streams, the quota.
    pub generator: Generator,
    /// `previous_response_id` context for providers that keep none.
    pub(crate) conversations: Conversations,
    /// Live BooksWriter sessions.
    pub books: Books,
    /// Open WebSocket connections per user, for the per-user limit.
    pub(crate) connections: ConnectionCounter,
    /// Sign-in and sign-up attempts per address and per account.
    pub auth_limits: AuthLimits,
    /// Anonymous visitors' addresses, for the per-address budget of free
    /// replies (the quota holds the same handle).
    pub anon_addresses: AnonAddresses,
    /// Socket messages per address for anonymous visitors, across their
    /// connections.
    pub message_rates: AddressRates,
    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub proxies: TrustedProxies,
    /// Which browser origins may open sockets (and call with CORS).
    pub(crate) origins: Arc<OriginPolicy>,
    /// The hybrid chat's news for every management connection, and the
    /// replies running per chat.
    pub(crate) chats: ChatHub,
    /// The Redis shared with the other instances (`--redis-url`), if this
    /// instance is one of a cluster.
    pub cluster: Option<Cluster>,
    /// Cancelled when the server shuts down, after the generations have
    /// stopped and saved (the generator holds a child token, cancelled
    /// first); every open stream and socket watches it and ends, so
    /// graceful shutdown does not wait on them.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Connects to the database and builds the state.
    pub async fn new(config: Config) -> Result<Self, StartError> {
        // First: a cluster member that cannot join must not touch the
        // shared database.
        let cluster = match &config.redis_url {
            Some(url) => Some(
                Cluster::join(url, config.jwt_secret.as_deref())
                    .await
                    .map_err(|e| StartError(e.to_string()))?,
            ),
            None => None,
        };
        let db = Db::connect(&config.database_url).await?;
        let origins = Arc::new(
            OriginPolicy::new(&config.allowed_origins)?.with_public(&config.public_origins)?,
        );
        let tokens = TokenKeys::load(
            config.jwt_secret.as_deref(),
            &config.data_dir,
            config.token_ttl_hours.max(1) * 3600,
        )?;
        let store = match &cluster {
            Some(c) => Store::new(db).with_instance(c.instance()),
            None => Store::new(db),
        };
        // In a cluster, only the generations of instances that went away
        // are recovered (by `cluster::instances`, below): the others' are
        // live streams.
        if cluster.is_none() {
            recover(&store).await?;
        }
        let config_proxies = config.trusted_proxies.clone();
        let no_limits = config.no_limits;
        let addresses = AnonAddresses::new((!no_limits).then_some(config.anon_ip_message_limit))
            .shared(cluster.clone());
        let shutdown = CancellationToken::new();
        let ttl = std::time::Duration::from_secs(config.stream_ttl_secs);
        let mut streams = Streams::new(ttl)
            .with_retained_limit(config.stream_memory_mb.saturating_mul(1024 * 1024));
        if let Some(cluster) = &cluster {
            streams = crate::cluster::start(cluster, &store, streams, ttl, &shutdown);
        }
        let generator = Generator {
            engine: config.engine(),
            models: config.models(),
            streams,
            cluster: cluster.clone(),
            quota: Quota {
                store: store.clone(),
                anon_limit: config.anon_message_limit,
                unlimited: config.no_limits,
                addresses: addresses.clone(),
            },
            store: store.clone(),
            chunk_delay: config.chunk_delay(),
            // A child: shutdown stops generations first, and the sockets
            // and SSE responses end only after their final events.
            shutdown: shutdown.child_token(),
            tasks: tokio_util::task::TaskTracker::new(),
        };
        let chats = ChatHub::new(cluster.as_ref());
        let connections = ConnectionCounter::new(config.connection_caps())
            .shared(cluster.clone().map(SharedSlots::new));
        let token_versions = TokenVersions::new(store.clone());
        if let Some(cluster) = &cluster {
            let sign_outs = token_versions.sign_outs.clone();
            crate::cluster::signouts::spawn_listener(cluster, shutdown.clone(), move |user| {
                sign_outs.sign_out_here(user);
            });
        }
        Ok(Self(Arc::new(Parts {
            generator,
            conversations: Conversations::new(cluster.clone()),
            connections,
            books: Books::new(cluster.clone()),
            chats,
            config: Arc::new(config),
            token_versions,
            store,
            tokens,
            origins,
            proxies: TrustedProxies::new(&config_proxies),
            auth_limits: AuthLimits::new(!no_limits),
            message_rates: AddressRates::new(!no_limits),
            anon_addresses: addresses,
            shutdown,
            cluster,
        })))
    }
}

impl AppState {
    /// The socket loop's limits for a connection of `who` (`idle`: close
    /// after that long without a frame from the client): the server's
    /// stall timeout and frame budget, closed at shutdown, and at a
    /// signed-in user's logout.
    pub fn socket_limits(&self, who: &Identity, idle: Option<Duration>) -> crate::socket::Limits {
        crate::socket::Limits {
            stall: self.config.ws_stall_timeout(),
            idle,
            shutdown: self.shutdown.clone(),
            signed_out: match who {
                Identity::User(id) => Some(self.token_versions.sign_outs.watch(id)),
                Identity::Anonymous(_) => None,
            },
            frame_budget: !self.config.no_limits,
        }
    }
}

/// What a crash left behind: generations still `running` become
/// `interrupted`, and reservations never settled go back.
async fn recover(store: &Store) -> Result<(), StartError> {
    let count = |text: &str| crate::engine::approx_tokens(text) as i64;
    let (interrupted, settled) = store.recover_interrupted(count).await?;
    if interrupted + settled > 0 {
        tracing::warn!(
            interrupted,
            settled,
            "recovered generations the last run did not finish"
        );
    }
    Ok(())
}
