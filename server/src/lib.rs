//! The Chorus server: an axum app that serves the API, the SSE and WebSocket
//! streams, and the built Leptos app, from one binary (`chorus`).
//!
//! # Layout
//!
//! Three layers, and imports only go down: the features, the platform they
//! stream on, and the handles the state is made of.
//!
//! - [`app`] builds the router from an [`AppState`]; [`run`] serves it on a
//!   listener until a shutdown signal, ending open streams first.
//! - **Features**, each with its own `router()`, returning [`AppError`] and
//!   knowing no transport: [`personas`] (the persona protocol on `/ws`),
//!   [`support`] (the support protocol on `/ws`; its crisis
//!   classifier is the `safety` crate), [`rolecard`] (the role-card protocol over SSE), [`books`]
//!   (the BooksWriter protocol on `/ws/{session_id}`), [`chats`] (the
//!   hybrid chat: its management protocol on `/api/v1/chats/ws` and
//!   socket.io `/chats`, replies over SSE), [`auth`], [`usage`],
//!   [`health`] (alive, ready), [`models`] (`GET /api/models`),
//!   [`test_sse`], [`admin`] (the admin page's figures), [`apidocs`] (the
//!   OpenAPI and AsyncAPI documents).
//! - **Platform**: [`socket`] (the one WebSocket connection loop: the
//!   streams it follows, read in place, batched writes, the stall timeout on every write, idle and shutdown
//!   close, size and binary-frame handling, one set of close codes; each
//!   protocol is a `Protocol` implementation, [`ws`] being `/ws`'s);
//!   [`streams`] (the one generation runner, [`streams::generation`], for
//!   every feature's model calls, with its stop/shutdown/deadline `select!`;
//!   the replay log with cursor readers, [`streams::log`]; the registry of
//!   streams; resume and stop over HTTP); [`sse`] (stream responses);
//!   [`engine`] (the offline and OpenAI-compatible providers behind
//!   capabilities, and chunking); [`web`] (headers, Origin checks, JSON
//!   errors); [`parse_errors`] (the JSON body on hyper's own 400/414/431); [`spa`] (the app and its fallback); [`request_id`] (an id
//!   per request on every log line and to the provider); [`metrics`]
//!   (`GET /metrics` on `--metrics-bind`).
//! - **State**: [`state`] (`#[derive(FromRef)]`; the [`Generator`]
//!   sub-state for the features that stream) over handles that never import
//!   it: [`config`], [`store`] over [`db`], [`quota`], [`connections`],
//!   `streams::registry`, `chats::hub`, `books::hub`,
//!   `personas::conversations`, `auth::token`, [`client_ip`]; the identity extractors in
//!   `auth::identity` take what they need from any state through
//!   `FromRef`. Below the handlers, functions take the handle they use (a
//!   `&Store`, a `&Generator`, a `&Quota`, a shutdown token), not the
//!   whole state; the few that need several parts (a chat reply's render,
//!   BooksWriter's agents) take the state. Cross-cutting: [`error`],
//!   [`clock`], [`ratelimit`].
//!
//! [`Generator`]: streams::generation::Generator

#![warn(unreachable_pub)]

pub(crate) mod admin;
pub(crate) mod apidocs;
pub mod auth;
pub mod books;
pub mod chats;
pub mod client_ip;
pub(crate) mod clock;
pub mod cluster;
pub mod config;
pub(crate) mod connections;
pub mod db;
pub mod engine;
pub mod error;
pub(crate) mod health;
pub mod message_rates;
pub mod metrics;
pub(crate) mod models;
pub(crate) mod parse_errors;
pub mod personas;
#[cfg(test)]
mod proptests;
pub mod quota;
pub(crate) mod ratelimit;
pub(crate) mod request_id;
pub(crate) mod rolecard;
pub mod socket;
pub(crate) mod spa;
pub(crate) mod sse;
pub mod state;
pub mod store;
pub mod streams;
pub mod support;
pub(crate) mod test_sse;
pub(crate) mod usage;
pub(crate) mod web;
pub mod ws;

pub use config::Config;
pub use error::{AppError, StartError};
pub use state::AppState;

use crate::web::OriginPolicy;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::{Router, middleware};
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// The whole HTTP surface of Chorus.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(admin::router())
        .merge(apidocs::router())
        .merge(usage::router())
        .merge(models::router())
        .merge(streams::router())
        .merge(personas::router())
        .merge(support::router())
        .merge(rolecard::router())
        .merge(test_sse::router())
        .merge(books::api_router())
        .merge(chats::router(state.clone()))
        // Its own fallback: a nested router would otherwise inherit the SPA's.
        .fallback(spa::api_not_found);

    let compress = DefaultPredicate::new().and(NotForContentType::const_new("text/event-stream"));
    let limit = state.config.body_limit;

    // Each `.layer` wraps all before it: the last one runs first. Router
    // layers box the body between them, so the middleware see axum bodies.
    Router::new()
        .nest("/api", api)
        .merge(ws::router(state.clone()))
        .merge(books::router(state.clone()))
        .fallback(spa::fallback)
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(web::json_errors))
        .layer(middleware::from_fn(metrics::track_sse))
        // socket.io (`/socket.io/`, the hybrid chat protocol's `/chats`) answers before the
        // routes, so neither the SPA nor the `/api` fallback sees it (nor
        // the JSON errors: its clients read its own); CORS and the security
        // headers still wrap it.
        .layer(chats::socketio::layer(&state))
        .layer(middleware::from_fn(web::security_headers))
        .layer(tower::util::option_layer(cors(&state.origins)))
        .layer(CompressionLayer::new().compress_when(compress))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.extensions().get::<request_id::RequestId>();
            tracing::info_span!(
                "http",
                request_id = id.map_or("", |id| id.0.as_str()),
                method = %req.method(),
                uri = %web::redacted_uri(req.uri()),
            )
        }))
        .layer(middleware::from_fn(request_id::middleware))
        .with_state(state)
}

/// CORS only when `--allowed-origin` names origins; otherwise none at all.
fn cors(origins: &OriginPolicy) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .extra()
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-anon-id"),
                HeaderName::from_static("last-event-id"),
            ]),
    )
}

/// Serves `app(state)` on `listener` until `shutdown` completes (or the
/// state's shutdown token is cancelled). Open SSE streams and sockets are
/// ended first, so shutdown does not wait on them.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = state.shutdown.clone();
    let generator = state.generator.clone();
    let drainer = generator.clone();
    let db = state.store.db().clone();
    let cluster = state.cluster.clone();
    // In a cluster: the BooksWriter sockets other instances relay here.
    cluster::books::serve_inbox(state.clone());
    let router = app(state);
    // Streams write each event (or a batch of them) as soon as it is ready;
    // with Nagle's algorithm a small write after another waited for the
    // client's delayed ACK (40 ms on Linux) before leaving.
    // hyper's own 400/414/431 answers get the JSON error body.
    let listener = parse_errors::Listener(listener);
    let listener = axum::serve::ListenerExt::tap_io(
        listener,
        |io: &mut parse_errors::Io<tokio::net::TcpStream>| {
            if let Err(e) = io.get_mut().set_nodelay(true) {
                tracing::debug!(error = %e, "could not set TCP_NODELAY");
            }
        },
    );
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        tokio::select! {
            _ = shutdown => {}
            _ = token.cancelled() => {}
        }
        // In order: stop accepting (axum, when this returns); stop every
        // generation and let it save, settle and push its final events;
        // then end the streams and sockets, whose readers have those events
        // by then (axum waits for them); the pool closes last.
        tracing::info!("shutting down: stopping generations");
        tokio::spawn(async move {
            if !drainer.drain(SHUTDOWN_DRAIN).await {
                tracing::warn!("generations still saving after {SHUTDOWN_DRAIN:?}: closing anyway");
            }
            tracing::info!("shutting down: ending open streams");
            token.cancel();
        });
    })
    .await?;
    // Generations that started on a request in flight during the drain.
    generator.drain(SHUTDOWN_DRAIN).await;
    // In a cluster: the events still queued for Redis are written, so
    // readers on other instances get every stream whole, with its end;
    // then the lease goes.
    if let Some(cluster) = cluster {
        if cluster.leave(MIRROR_FLUSH).await {
            tracing::info!("shutting down: every stream event is in Redis");
        } else {
            tracing::warn!(
                "shutting down: stream events not written to Redis within {MIRROR_FLUSH:?}; readers elsewhere may miss the last ones"
            );
        }
    }
    db.close().await;
    Ok(())
}

/// Longest shutdown waits for running generations to save.
const SHUTDOWN_DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Longest shutdown waits for the stream mirror to write what it holds.
const MIRROR_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);
