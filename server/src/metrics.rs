//! What operators watch: the server's figures in the Prometheus text
//! format, served by [`router`] on `--metrics-bind` (off by default, so it
//! is never public by accident), and read by the admin page.
//!
//! One registry per process, [`get`]: the figures are counted where they
//! happen (the socket loop, the generation runner, the provider, the
//! database driver's log events), places that hold no state, and a process
//! has one `/metrics`. Counting is a few atomic adds whether or not anyone
//! scrapes.
//!
//! - [`Metrics`]: every family, with what it counts.
//! - [`Open`]: a guard that holds one socket or SSE stream open in its gauge.
//! - [`DbQueries`]: a `tracing` layer that times every database statement
//!   from sqlx's own `sqlx::query` events.
//! - [`track_sse`]: the middleware that counts open SSE streams per protocol.

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;

/// One label: `[("protocol", "chat")]`.
type Label = [(&'static str, &'static str); 1];

/// The server's figures.
pub struct Metrics {
    registry: Registry,
    /// Open WebSockets (and socket.io connections), by protocol.
    pub(crate) sockets_open: Family<Label, Gauge>,
    /// Open SSE responses, by protocol.
    pub(crate) sse_open: Family<Label, Gauge>,
    /// Generations started.
    pub(crate) streams_started: Counter,
    /// Generations running now.
    pub(crate) streams_running: Gauge,
    /// Generations ended, by outcome (`completed`, `stopped`, `failed`).
    pub(crate) streams_finished: Family<Label, Counter>,
    /// From a model call's start to its first chunk, seconds.
    pub(crate) first_chunk_seconds: Histogram,
    /// From a model call's start to its end, seconds.
    pub(crate) reply_seconds: Histogram,
    /// Chunks of text streamed to readers.
    pub(crate) chunks_sent: Counter,
    /// Socket clients closed for not reading (1008, too far behind).
    pub(crate) slow_clients_closed: Counter,
    /// Requests to the model provider (the OpenAI-compatible API).
    pub(crate) provider_requests: Counter,
    /// Provider requests that failed, by error code.
    pub(crate) provider_errors: Family<Label, Counter>,
    /// From sending a provider request to its answer's headers, seconds.
    pub(crate) provider_seconds: Histogram,
    /// Output tokens generated.
    pub(crate) tokens: Counter,
    /// Credits charged to users.
    pub(crate) credits_charged: Counter,
    /// Safety escalations, by risk level.
    pub(crate) escalations: Family<Label, Counter>,
    /// Messages refused by a per-connection or per-session rate limit.
    pub(crate) rate_limited: Counter,
    /// Database statements, seconds.
    pub(crate) db_query_seconds: Histogram,
    /// Cluster (`--redis-url`): stream events written to Redis.
    pub(crate) cluster_events_mirrored: Counter,
    /// Cluster: stream events Redis did not get (it was down or too
    /// slow); readers on other instances miss them until the stream's
    /// instance writes its streams again once Redis is back.
    pub(crate) cluster_events_lost: Counter,
    /// Cluster: events the mirror still had queued at shutdown and wrote
    /// before the process exited.
    pub(crate) cluster_events_flushed: Counter,
    /// Cluster: chat news this instance shared with the others
    /// (`chorus:chats:news`).
    pub(crate) cluster_news_published: Counter,
    /// Cluster: chat news other instances shared with this one.
    pub(crate) cluster_news_received: Counter,
    /// Cluster: socket.io adapter messages (broadcasts to rooms) published.
    pub(crate) cluster_socketio_published: Counter,
    /// Cluster: socket.io adapter messages received from Redis.
    pub(crate) cluster_socketio_received: Counter,
    /// Cluster: BooksWriter messages relayed between a socket and the
    /// instance holding its session, by direction (`to_owner`, `to_socket`).
    pub(crate) cluster_books_relayed: Family<Label, Counter>,
    /// Cluster: what this instance took over, by kind: `instance`, the
    /// generations of an instance that went away (recovered);
    /// `books_session`, a BooksWriter session's lease (a session new to the
    /// cluster, or one whose instance went away).
    pub(crate) cluster_takeovers: Family<Label, Counter>,
    /// Cluster: per-user connection slots this instance holds in Redis.
    pub(crate) cluster_slots_held: Gauge,
    /// Cluster: Redis commands that failed (the features degrade to local
    /// state meanwhile).
    pub(crate) cluster_redis_errors: Counter,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's figures.
pub(crate) fn get() -> &'static Metrics {
    &METRICS
}

/// 1 ms … about 65 s, doubling.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Metrics {
    fn new() -> Self {
        let mut m = Self {
            registry: Registry::with_prefix("chorus"),
            sockets_open: Family::default(),
            sse_open: Family::default(),
            streams_started: Counter::default(),
            streams_running: Gauge::default(),
            streams_finished: Family::default(),
            first_chunk_seconds: seconds(),
            reply_seconds: seconds(),
            chunks_sent: Counter::default(),
            slow_clients_closed: Counter::default(),
            provider_requests: Counter::default(),
            provider_errors: Family::default(),
            provider_seconds: seconds(),
            tokens: Counter::default(),
            credits_charged: Counter::default(),
            escalations: Family::default(),
            rate_limited: Counter::default(),
            db_query_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            cluster_events_mirrored: Counter::default(),
            cluster_events_lost: Counter::default(),
            cluster_events_flushed: Counter::default(),
            cluster_news_published: Counter::default(),
            cluster_news_received: Counter::default(),
            cluster_socketio_published: Counter::default(),
            cluster_socketio_received: Counter::default(),
            cluster_books_relayed: Family::default(),
            cluster_takeovers: Family::default(),
            cluster_slots_held: Gauge::default(),
            cluster_redis_errors: Counter::default(),
        };
        let r = &mut m.registry;
        r.register(
            "sockets_open",
            "Open WebSocket and socket.io connections, by protocol",
            m.sockets_open.clone(),
        );
        r.register(
            "sse_open",
            "Open SSE streams, by protocol",
            m.sse_open.clone(),
        );
        r.register(
            "streams_started",
            "Generations started",
            m.streams_started.clone(),
        );
        r.register(
            "streams_running",
            "Generations running now",
            m.streams_running.clone(),
        );
        r.register(
            "streams_finished",
            "Generations ended, by outcome",
            m.streams_finished.clone(),
        );
        r.register(
            "first_chunk_seconds",
            "Time from a model call's start to its first chunk",
            m.first_chunk_seconds.clone(),
        );
        r.register(
            "reply_seconds",
            "Time from a model call's start to its end",
            m.reply_seconds.clone(),
        );
        r.register(
            "chunks_sent",
            "Chunks of text streamed",
            m.chunks_sent.clone(),
        );
        r.register(
            "slow_clients_closed",
            "Socket clients closed for not reading their messages",
            m.slow_clients_closed.clone(),
        );
        r.register(
            "provider_requests",
            "Requests to the model provider",
            m.provider_requests.clone(),
        );
        r.register(
            "provider_errors",
            "Failed provider requests, by error code",
            m.provider_errors.clone(),
        );
        r.register(
            "provider_seconds",
            "Time from a provider request to its answer's headers",
            m.provider_seconds.clone(),
        );
        r.register("tokens", "Output tokens generated", m.tokens.clone());
        r.register(
            "credits_charged",
            "Credits charged to users",
            m.credits_charged.clone(),
        );
        r.register(
            "escalations",
            "Safety escalations, by risk level",
            m.escalations.clone(),
        );
        r.register(
            "rate_limited",
            "Messages refused by a rate limit",
            m.rate_limited.clone(),
        );
        r.register(
            "db_query_seconds",
            "Time of one database statement",
            m.db_query_seconds.clone(),
        );
        r.register(
            "cluster_events_mirrored",
            "Stream events written to the cluster's Redis",
            m.cluster_events_mirrored.clone(),
        );
        r.register(
            "cluster_events_lost",
            "Stream events the cluster's Redis did not get",
            m.cluster_events_lost.clone(),
        );
        r.register(
            "cluster_events_flushed",
            "Stream events written to Redis during shutdown, before the process exited",
            m.cluster_events_flushed.clone(),
        );
        r.register(
            "cluster_news_published",
            "Chat news shared with the other instances",
            m.cluster_news_published.clone(),
        );
        r.register(
            "cluster_news_received",
            "Chat news received from the other instances",
            m.cluster_news_received.clone(),
        );
        r.register(
            "cluster_socketio_published",
            "socket.io adapter messages published to Redis",
            m.cluster_socketio_published.clone(),
        );
        r.register(
            "cluster_socketio_received",
            "socket.io adapter messages received from Redis",
            m.cluster_socketio_received.clone(),
        );
        r.register(
            "cluster_books_relayed",
            "BooksWriter messages relayed between instances, by direction",
            m.cluster_books_relayed.clone(),
        );
        r.register(
            "cluster_takeovers",
            "What this instance took over: a gone instance's generations, a BooksWriter session's lease",
            m.cluster_takeovers.clone(),
        );
        r.register(
            "cluster_slots_held",
            "Per-user connection slots this instance holds in Redis",
            m.cluster_slots_held.clone(),
        );
        r.register(
            "cluster_redis_errors",
            "Redis commands that failed",
            m.cluster_redis_errors.clone(),
        );
        m
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        out
    }

    /// (protocol, open) for every socket protocol seen so far.
    pub(crate) fn open_sockets(&self) -> Vec<(&'static str, i64)> {
        SOCKET_PROTOCOLS
            .iter()
            .map(|p| {
                (
                    *p,
                    self.sockets_open.get_or_create(&[("protocol", p)]).get(),
                )
            })
            .collect()
    }

    /// (protocol, open) for every SSE protocol.
    pub(crate) fn open_sse(&self) -> Vec<(&'static str, i64)> {
        SSE_PROTOCOLS
            .iter()
            .map(|p| (*p, self.sse_open.get_or_create(&[("protocol", p)]).get()))
            .collect()
    }
}

/// The socket protocols, as their gauges name them.
pub(crate) const SOCKET_PROTOCOLS: [&str; 4] =
    ["persona_support", "books", "chat_manage", "chat_socketio"];

/// The SSE protocols, as their gauges name them.
pub(crate) const SSE_PROTOCOLS: [&str; 4] = ["rolecard", "chat", "resume", "test_sse"];

/// A generation started: counted, and running until [`stream_finished`].
pub(crate) fn stream_started() {
    let m = get();
    m.streams_started.inc();
    m.streams_running.inc();
}

/// A generation ended with `outcome` after writing `tokens` output tokens.
pub(crate) fn stream_finished(outcome: &'static str, tokens: u64) {
    let m = get();
    m.streams_running.dec();
    m.streams_finished
        .get_or_create(&[("outcome", outcome)])
        .inc();
    m.tokens.inc_by(tokens);
}

/// One open connection in a gauge, until dropped.
pub(crate) struct Open(Gauge);

impl Open {
    /// A socket of `protocol` (one of [`SOCKET_PROTOCOLS`]) opened.
    pub(crate) fn socket(protocol: &'static str) -> Self {
        let gauge = get().sockets_open.get_or_create(&[("protocol", protocol)]);
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A provider request got its answer (`error`: `None`) or failed, after
/// `started`.
pub(crate) fn provider_answered(started: std::time::Instant, error: Option<shared::ErrorCode>) {
    let m = get();
    m.provider_requests.inc();
    m.provider_seconds.observe(started.elapsed().as_secs_f64());
    if let Some(code) = error {
        m.provider_errors
            .get_or_create(&[("code", code.as_str())])
            .inc();
    }
}

/// Counts an SSE response as open for as long as its body is streamed,
/// under the protocol its route belongs to.
pub(crate) async fn track_sse(req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    let is_sse = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !is_sse {
        return res;
    }
    let protocol = sse_protocol(&path);
    let gauge = get().sse_open.get_or_create(&[("protocol", protocol)]);
    gauge.inc();
    let open = Open(gauge.clone());
    let (parts, body) = res.into_parts();
    let body = Body::from_stream(futures_util::StreamExt::map(
        body.into_data_stream(),
        move |chunk| {
            let _held = &open;
            chunk
        },
    ));
    Response::from_parts(parts, body)
}

/// Which protocol an SSE path belongs to.
fn sse_protocol(path: &str) -> &'static str {
    let path = path.strip_prefix("/api").unwrap_or(path);
    if path.starts_with("/rolecard") {
        "rolecard"
    } else if path.starts_with("/streams") {
        "resume"
    } else if path.ends_with("/test-sse") {
        "test_sse"
    } else {
        "chat"
    }
}

/// `GET /metrics` on its own listener (`--metrics-bind`).
pub fn router() -> Router {
    Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
                )],
                get().render(),
            )
                .into_response()
        }),
    )
}

/// Times database statements from sqlx's `sqlx::query` events (their
/// `elapsed_secs`). Installed by the binary when metrics are served, with
/// a filter that lets those events through at `debug`.
pub struct DbQueries;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for DbQueries {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Elapsed(Option<f64>);
        impl tracing::field::Visit for Elapsed {
            fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
                if field.name() == "elapsed_secs" {
                    self.0 = Some(value);
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut elapsed = Elapsed(None);
        event.record(&mut elapsed);
        if let Some(secs) = elapsed.0 {
            get().db_query_seconds.observe(secs);
        }
    }
}

/// The filter [`DbQueries`] needs: sqlx's statement events.
pub fn db_queries_filter() -> tracing_subscriber::filter::Targets {
    tracing_subscriber::filter::Targets::new().with_target("sqlx::query", tracing::Level::DEBUG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_paths_name_their_protocol() {
        assert_eq!(sse_protocol("/api/rolecard/layers/core/stream"), "rolecard");
        assert_eq!(sse_protocol("/api/streams/{stream_id}"), "resume");
        assert_eq!(sse_protocol("/api/v1/messages/test-sse"), "test_sse");
        assert_eq!(sse_protocol("/api/v1/messages/send"), "chat");
    }
}
