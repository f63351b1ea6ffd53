//! Request ids: every request gets one, every log line of the request
//! carries it, and the model provider is sent it (`X-Request-Id`), so one
//! id follows a request from the client's log through ours to the
//! provider's.
//!
//! - [`middleware`]: takes the client's `X-Request-Id` when it is a sane one
//!   (1–64 of `[A-Za-z0-9._:-]`), else makes one; puts it in the request's
//!   extensions (the trace span reads it there), in a task-local for the
//!   code below, and on the response.
//! - [`current`]: the id of the request being served, if any.
//! - [`carry`]: a future that keeps the current id and log span when it is
//!   spawned (a socket session, a generation running in the background).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::future::Future;
use tracing::Instrument;

/// The header, both ways: from the client, to the client, to the provider.
pub(crate) const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// One request's id (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId(pub(crate) String);

tokio::task_local! {
    static CURRENT: RequestId;
}

/// Gives the request its id and runs it with that id current.
pub(crate) async fn middleware(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid(v))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = CURRENT.scope(RequestId(id.clone()), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}

/// A client's id is kept only when it cannot spoil a log line or a header.
fn is_valid(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The id of the request this code runs for, if it runs for one.
pub(crate) fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// The current request id and log span, to be taken along where `tokio::spawn`
/// and `on_upgrade` would lose both.
pub(crate) struct Context {
    span: tracing::Span,
    id: Option<RequestId>,
}

impl Context {
    /// What is current here.
    pub(crate) fn current() -> Self {
        Self {
            span: tracing::Span::current(),
            id: CURRENT.try_with(Clone::clone).ok(),
        }
    }

    /// `fut`, run with this context current.
    pub(crate) async fn run<F: Future>(self, fut: F) -> F::Output {
        match self.id {
            Some(id) => CURRENT.scope(id, fut.instrument(self.span)).await,
            None => fut.instrument(self.span).await,
        }
    }
}

/// `fut` with the current request id and log span, for `tokio::spawn`.
pub(crate) fn carry<F: Future>(fut: F) -> impl Future<Output = F::Output> {
    Context::current().run(fut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_client_ids_are_kept() {
        assert!(is_valid("req-1.2_3:4"));
        assert!(is_valid(&"a".repeat(64)));
        assert!(!is_valid(""));
        assert!(!is_valid(&"a".repeat(65)));
        assert!(!is_valid("two words"));
        assert!(!is_valid("line\nbreak"));
    }

    #[tokio::test]
    async fn a_carried_future_keeps_the_id_across_a_spawn() {
        let id = CURRENT
            .scope(RequestId("abc".into()), async {
                tokio::spawn(carry(async { current() })).await.unwrap()
            })
            .await;
        assert_eq!(id.as_deref(), Some("abc"));
        assert_eq!(current(), None);
    }
}
