//! Graceful shutdown ends open streams instead of waiting for them.

use crate::helpers::spawn_app;
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn shutdown_ends_an_open_sse_stream_and_the_server_returns() {
    let app = spawn_app().await;
    // Five-second gaps: the stream would take 25 s to finish on its own.
    let res = app.get("/api/v1/messages/test-sse?interval_ms=5000").await;
    let mut events = res.bytes_stream().eventsource();
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first.event, "test_message");

    let server = tokio::spawn(app.shut_down());
    let mut rest = 0;
    while let Some(ev) = events.next().await {
        if ev.is_ok() {
            rest += 1;
        }
    }
    assert_eq!(rest, 0, "no further events after shutdown");
    server.await.unwrap().expect("run returns cleanly");
}

#[tokio::test]
async fn shutdown_closes_an_open_websocket_with_going_away() {
    let app = spawn_app().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url("/ws"))
        .await
        .unwrap();
    let greeting = ws.next().await.unwrap().unwrap();
    assert!(greeting.is_text());

    let server = tokio::spawn(app.shut_down());
    let mut close_code = None;
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Close(Some(frame)) = msg {
            close_code = Some(u16::from(frame.code));
        }
    }
    assert_eq!(close_code, Some(1001));
    server.await.unwrap().expect("run returns cleanly");
}
