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
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

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
    let stream = EndAtShutdown {
        events: Box::pin(events),
        shutdown: Box::pin(shutdown.clone().cancelled_owned()),
        ending: false,
    }
    .map(Ok::<_, Infallible>);
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// `events` until shutdown, and then what is ready of them: shutdown comes
/// after the generations pushed their final events, which a reader still
/// behind must get before its stream ends (a plain `take_until` dropped
/// them).
struct EndAtShutdown<S> {
    events: Pin<Box<S>>,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    ending: bool,
}

impl<S: Stream> Stream for EndAtShutdown<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if !self.ending && self.shutdown.as_mut().poll(cx).is_ready() {
            self.ending = true;
        }
        match self.events.as_mut().poll_next(cx) {
            Poll::Pending if self.ending => Poll::Ready(None),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn at_shutdown_the_events_already_there_still_go_out() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
        let shutdown = CancellationToken::new();
        let mut stream = EndAtShutdown {
            events: Box::pin(tokio_stream_of(rx)),
            shutdown: Box::pin(shutdown.clone().cancelled_owned()),
            ending: false,
        };
        tx.send(1).unwrap();
        assert_eq!(stream.next().await, Some(1));
        // The final events are pushed, then the server shuts down before
        // the reader took them.
        tx.send(2).unwrap();
        tx.send(3).unwrap();
        shutdown.cancel();
        assert_eq!(stream.next().await, Some(2));
        assert_eq!(stream.next().await, Some(3));
        // Nothing more is ready: the stream ends instead of waiting.
        assert_eq!(stream.next().await, None);
    }

    fn tokio_stream_of(
        mut rx: tokio::sync::mpsc::UnboundedReceiver<u32>,
    ) -> impl Stream<Item = u32> {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }
}
