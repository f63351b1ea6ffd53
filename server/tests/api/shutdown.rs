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

/// A server on a SQLite file (so the database can be read after it is
/// gone), streaming slowly, with one signed-in user.
async fn slow_app_on_a_file() -> (crate::helpers::TestApp, tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("chorus.db").display());
    let app = crate::helpers::spawn_app_with({
        let url = url.clone();
        move |c| {
            c.database_url = url;
            c.chunk_delay_ms = Some(150);
        }
    })
    .await;
    let token = app.register("leaving").await;
    (app, dir, url, token)
}

#[tokio::test]
async fn shutdown_mid_reply_gives_sse_readers_a_stopped_event_and_saves_before_the_pool_closes() {
    let (app, _dir, url, token) = slow_app_on_a_file().await;
    let (stream_id, events) =
        crate::helpers::long_chat_reply(&app.client, &app.url(""), &token).await;
    let mut events = std::pin::pin!(events);
    loop {
        let ev = events.next().await.unwrap().unwrap();
        if ev.event == "assistant_delta" {
            break;
        }
    }
    let server = tokio::spawn(app.shut_down());
    let mut rest = Vec::new();
    while let Some(Ok(ev)) = events.next().await {
        rest.push(ev);
    }
    let last = rest.last().expect("events after the shutdown began");
    assert_eq!(last.event, "stopped", "{rest:?}");
    let ending: shared::stream::Ending = serde_json::from_str(&last.data).unwrap();
    assert_eq!(
        ending,
        shared::stream::Ending::Stopped {
            reason: shared::stream::StopReason::Shutdown,
            stream_id: stream_id.clone()
        }
    );
    server.await.unwrap().expect("run returns cleanly");

    // Saved and settled before the pool closed.
    let db = chorus_server::db::Db::connect(&url).await.unwrap();
    let store = chorus_server::store::Store::new(db);
    let saved = store.generation(&stream_id).await.unwrap().unwrap();
    assert_eq!(saved.status, "stopped");
    assert!(!saved.text.is_empty());
    let user = store.user_by_name("leaving").await.unwrap().unwrap();
    assert_settled(&store, &user.id).await;
    assert_eq!(store.recover_interrupted(|_| 0).await.unwrap(), (0, 0));
}

#[tokio::test]
async fn shutdown_mid_reply_gives_socket_readers_a_stopped_message_before_going_away() {
    let (app, _dir, _url, token) = slow_app_on_a_file().await;
    let mut ws = crate::helpers::WsClient::connect(&app, &format!("/ws?token={token}")).await;
    ws.send_json(serde_json::json!({"type": "chat", "data": {
        "message": "Tell me a long story", "persona_id": "tech_enthusiast", "api": "openai",
        "model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 1000}}))
        .await;
    ws.read_until(|v| v["type"] == "chunk").await;
    let server = tokio::spawn(app.shut_down());
    let mut seen = Vec::new();
    let mut close_code = None;
    while let Some(Ok(msg)) = ws.socket.next().await {
        match msg {
            Message::Text(t) => seen.push(serde_json::from_str::<serde_json::Value>(&t).unwrap()),
            Message::Close(Some(frame)) => close_code = Some(u16::from(frame.code)),
            _ => {}
        }
    }
    assert_eq!(close_code, Some(1001));
    let stopped = seen
        .iter()
        .find(|v| v["type"] == "stopped")
        .unwrap_or_else(|| panic!("no stopped message in {seen:?}"));
    assert_eq!(stopped["reason"], "shutdown");
    // The protocol's own end came first.
    assert!(
        seen.iter()
            .any(|v| v["type"] == "response" && v["status"] == "stopped"),
        "{seen:?}"
    );
    server.await.unwrap().expect("run returns cleanly");
}

/// The user paid for the text written and got back every credit reserved
/// and not spent.
pub(crate) async fn assert_settled(store: &chorus_server::store::Store, user_id: &str) {
    let credits = store.credit_summary(user_id).await.unwrap();
    assert!(credits.spent > 0, "the text written is paid: {credits:?}");
    assert_eq!(
        credits.balance + credits.spent,
        credits.granted,
        "every reserved credit not spent came back: {credits:?}"
    );
}

/// The generation records of `owner` (an owner key): status, what each
/// still holds, and its saved text.
pub(crate) async fn generations_of(
    db: &chorus_server::db::Db,
    owner: &str,
) -> Vec<(String, i64, String)> {
    use sqlx::Row;
    sqlx::query("SELECT status, reserved, text FROM generations WHERE owner = $1")
        .bind(owner)
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get("status").unwrap(),
                r.try_get("reserved").unwrap(),
                r.try_get("text").unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn shutdown_mid_bookswriter_request_saves_the_work_completes_and_settles_before_the_pool_closes()
 {
    let (app, _dir, url, token) = slow_app_on_a_file().await;
    let session = "leaving-book";
    let mut ws =
        crate::helpers::WsClient::open(&app, &format!("/ws/{session}?token={token}")).await;
    ws.send_json(crate::books::bare("Create a fantasy novel with dragons"))
        .await;
    ws.read_until(|v| v["type"] == "stream_chunk").await;
    let server = tokio::spawn(app.shut_down());
    let mut seen = Vec::new();
    while let Some(Ok(msg)) = ws.socket.next().await {
        if let Message::Text(t) = msg {
            seen.push(serde_json::from_str::<shared::books::ServerMessage>(&t).unwrap());
        }
    }
    server.await.unwrap().expect("run returns cleanly");
    // The request ended as stopped, its work saved, before the socket closed.
    let Some(shared::books::ServerMessage::Completion { results, .. }) = seen.last() else {
        panic!("the request did not complete: {seen:#?}");
    };
    assert!(results.stopped, "{results:?}");
    assert_eq!(results.artifacts.len(), 1, "{results:?}");

    let db = chorus_server::db::Db::connect(&url).await.unwrap();
    let store = chorus_server::store::Store::new(db.clone());
    let user = store.user_by_name("leaving").await.unwrap().unwrap();
    let records = generations_of(&db, &format!("user:{}", user.id)).await;
    assert_eq!(records.len(), 1, "one generation recorded: {records:?}");
    let (status, reserved, text) = &records[0];
    assert_eq!((status.as_str(), *reserved), ("stopped", 0), "{records:?}");
    assert!(!text.is_empty());
    let saved = store.artifacts(session).await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].status, "partial");
    assert!(
        store
            .books_entries(session)
            .await
            .unwrap()
            .iter()
            .any(|e| matches!(
                e,
                shared::books::Entry::Completion { results, .. } if results.stopped
            )),
        "the stopped completion is in the saved conversation"
    );
    assert_settled(&store, &user.id).await;
    assert_eq!(store.recover_interrupted(|_| 0).await.unwrap(), (0, 0));
}
