//! SSE responses that end when the server shuts down.
//!
//! Every SSE endpoint builds its events and hands them to [`response`],
//! which adds the headers proxies need (`Cache-Control: no-cache`,
//! `X-Accel-Buffering: no`), keep-alive comments, and the shutdown watch.

use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use std::convert::Infallible;
use tokio_util::sync::CancellationToken;

/// An SSE event with `event:` name, `id:` = seq and JSON data.
pub(crate) fn event(name: &str, seq: u64, data: &impl Serialize) -> Event {
    let json = serde_json::to_string(data).unwrap_or_else(|_| "{}".into());
    Event::default().event(name).id(seq.to_string()).data(json)
}

/// Streams `events` as `text/event-stream`, ending them at shutdown.
pub(crate) fn response<S>(shutdown: &CancellationToken, events: S) -> Response
where
    S: Stream<Item = Event> + Send + 'static,
{
    let stream = events
        .take_until(shutdown.clone().cancelled_owned())
        .map(Ok::<_, Infallible>);
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}
