//! What every socket does the same, because they run on one connection loop
//! (`chorus_server::socket`): `/ws` (the persona protocol and support
//! sessions), `/ws/{session_id}` (the BooksWriter protocol) and
//! `/api/v1/chats/ws` (the chat management protocol).

use crate::helpers::{FakeSocket, TestApp, WsClient, spawn_app, spawn_app_with};
use axum::extract::ws::Message as AxumMessage;
use chorus_server::auth::identity::Identity;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const ANON: &str = "sockets-visitor-1";

/// The three sockets, each opened and past its greeting.
async fn every_socket(app: &TestApp) -> Vec<(&'static str, WsClient)> {
    let ws = WsClient::connect(app, &format!("/ws?anon_id={ANON}")).await;
    let books = WsClient::open(app, &format!("/ws/sockets-session-1?anon_id={ANON}")).await;
    let mut chat = WsClient::open(app, &format!("/api/v1/chats/ws?anon_id={ANON}")).await;
    assert_eq!(chat.next_json().await["type"], "usage_info");
    vec![("/ws", ws), ("books", books), ("chat", chat)]
}

/// The error code of an in-band error, whichever protocol spells it.
fn code(v: &Value) -> &str {
    assert_eq!(v["type"], "error", "{v}");
    v["code"]
        .as_str()
        .or_else(|| v["error_code"].as_str())
        .unwrap_or_else(|| panic!("no code in {v}"))
}

#[tokio::test]
async fn every_socket_answers_a_binary_frame_with_bad_request_and_stays_open() {
    let app = spawn_app().await;
    for (name, mut socket) in every_socket(&app).await {
        socket
            .socket
            .send(Message::binary(vec![1u8, 2, 3]))
            .await
            .unwrap();
        let e = socket.next_json().await;
        assert_eq!(code(&e), "BAD_REQUEST", "{name}: {e}");
        socket.send_json(json!({"type": "ping"})).await;
        assert_eq!(socket.next_json().await["type"], "pong", "{name}");
    }
}

#[tokio::test]
async fn every_socket_answers_an_oversized_message_in_band_or_refuses_the_frame() {
    let app = spawn_app().await;
    for (name, mut socket) in every_socket(&app).await {
        // Past every protocol's message limit (the BooksWriter protocol's is
        // its content limit), below the frame limit.
        let big = json!({"type": "message", "content": "x".repeat(70 * 1024)});
        socket.send_json(big).await;
        let e = socket.next_json().await;
        let code = code(&e);
        assert!(
            ["PAYLOAD_TOO_LARGE", "VALIDATION_ERROR"].contains(&code),
            "{name}: {e}"
        );
        socket.send_json(json!({"type": "ping"})).await;
        assert_eq!(socket.next_json().await["type"], "pong", "{name}");
    }
}

/// Runs `session` on a socket whose client takes one frame and then never
/// reads again, sending it pings; the session must end by itself.
async fn cut_off_when_it_stops_reading<F, Fut>(name: &str, session: F)
where
    F: FnOnce(FakeSocket) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (in_tx, in_rx) = tokio::sync::mpsc::channel(8);
    let (out_tx, _out_rx) = tokio::sync::mpsc::channel(1);
    let socket = FakeSocket {
        incoming: in_rx,
        outgoing: tokio_util::sync::PollSender::new(out_tx),
    };
    let running = tokio::spawn(session(socket));
    // Each ping is answered directly (no stream): the replies themselves
    // must time out.
    for _ in 0..3 {
        let ping = json!({"type": "ping"}).to_string();
        let _ = in_tx.send(AxumMessage::Text(ping.into())).await;
    }
    // The guard only keeps a broken build from hanging the suite.
    tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .unwrap_or_else(|_| panic!("{name}: a client that stops reading is cut off"))
        .unwrap();
}

#[tokio::test]
async fn every_socket_cuts_off_a_client_that_stops_reading_its_replies() {
    let app = spawn_app_with(|c| c.ws_stall_timeout_ms = 200).await;
    let who = Identity::Anonymous(ANON.into());
    let state = app.state.clone();
    let w = who.clone();
    cut_off_when_it_stops_reading("/ws", move |s| chorus_server::ws::session(s, state, w)).await;
    let state = app.state.clone();
    let w = who.clone();
    cut_off_when_it_stops_reading("chat", move |s| {
        chorus_server::chats::socket::session(s, state, w)
    })
    .await;
    let session = app
        .state
        .books
        .open(&app.state.store, "sockets-stall-1", &who)
        .await
        .unwrap();
    let state = app.state.clone();
    cut_off_when_it_stops_reading("books", move |s| {
        chorus_server::books::socket::serve(s, state, session)
    })
    .await;
}

/// The status and code of a refused upgrade.
async fn refused_upgrade(app: &TestApp, path: &str) -> (u16, String) {
    match tokio_tungstenite::connect_async(app.ws_url(path)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            let body: shared::ApiError =
                serde_json::from_slice(res.body().as_deref().unwrap()).unwrap();
            (res.status().as_u16(), body.code.as_str().to_owned())
        }
        other => panic!("{path}: expected a refusal, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_users_sockets_are_counted_together_on_every_endpoint() {
    let app = spawn_app_with(|c| c.max_connections_per_user = 2).await;
    let token = app.register("many_sockets").await;
    let _ws = WsClient::connect(&app, &format!("/ws?token={token}")).await;
    let mut chat = WsClient::open(&app, &format!("/api/v1/chats/ws?token={token}")).await;
    assert_eq!(chat.next_json().await["type"], "usage_info");
    for path in [
        format!("/api/v1/chats/ws?token={token}"),
        format!("/ws/counted-session?token={token}"),
        format!("/ws?token={token}"),
    ] {
        assert_eq!(
            refused_upgrade(&app, &path).await,
            (429, "CONNECTION_LIMIT".to_owned()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn anonymous_sockets_are_capped_per_address_whatever_ids_they_send() {
    let app = spawn_app_with(|c| c.max_connections_per_ip = 3).await;
    let _a = WsClient::connect(&app, "/ws?anon_id=visitor-aaaa-1").await;
    let _b = WsClient::connect(&app, "/ws").await;
    let mut c = WsClient::open(&app, "/api/v1/chats/ws?anon_id=visitor-cccc-3").await;
    assert_eq!(c.next_json().await["type"], "usage_info");
    for path in [
        "/ws?anon_id=visitor-dddd-4",
        "/ws/anon-session?anon_id=visitor-eeee-5",
        "/api/v1/chats/ws?anon_id=visitor-ffff-6",
    ] {
        assert_eq!(
            refused_upgrade(&app, path).await,
            (429, "CONNECTION_LIMIT".to_owned()),
            "{path}"
        );
    }
    // A signed-in user from the same address has their own cap.
    let token = app.register("same_address").await;
    WsClient::connect(&app, &format!("/ws?token={token}")).await;
}

#[tokio::test]
async fn the_server_keeps_descriptors_for_http_past_its_socket_total() {
    let app = spawn_app_with(|c| c.max_sockets = 2).await;
    let _a = WsClient::connect(&app, "/ws?anon_id=visitor-aaaa-1").await;
    let _b = WsClient::connect(&app, "/ws?anon_id=visitor-bbbb-2").await;
    assert_eq!(
        refused_upgrade(&app, "/ws?anon_id=visitor-cccc-3").await,
        (503, "UNAVAILABLE".to_owned())
    );
    assert_eq!(app.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn every_socket_closes_after_a_burst_of_junk_with_a_policy_close() {
    let app = spawn_app().await;
    for (name, mut socket) in every_socket(&app).await {
        let sent = 1000;
        for i in 0..sent {
            let junk = if i % 2 == 0 {
                "not json".to_owned()
            } else {
                format!("{{\"type\":\"nope{i}\"}}")
            };
            if socket.socket.send(Message::text(junk)).await.is_err() {
                break;
            }
        }
        let mut answers = 0;
        let close = loop {
            let frame = tokio::time::timeout(Duration::from_secs(20), socket.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{name}: still open after {answers} answers"));
            match frame {
                Some(Ok(Message::Text(_))) => answers += 1,
                Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
                Some(Ok(_)) => {}
                other => panic!("{name}: dropped without a close frame: {other:?}"),
            }
        };
        assert_eq!(close, 1008, "{name}");
        assert!(answers < sent, "{name}: {answers} answers");
    }
}

#[tokio::test]
async fn every_socket_closes_on_a_frame_past_the_limit_with_1009_not_a_reset() {
    let app = spawn_app().await;
    for (name, mut socket) in every_socket(&app).await {
        let huge = "x".repeat(chorus_server::socket::MAX_FRAME_BYTES + 1024);
        let _ = socket.socket.send(Message::text(huge)).await;
        let close = loop {
            let frame = tokio::time::timeout(Duration::from_secs(20), socket.socket.next())
                .await
                .unwrap_or_else(|_| panic!("{name}: still open"));
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
                Some(Ok(_)) => {}
                other => panic!("{name}: dropped without a close frame: {other:?}"),
            }
        };
        assert_eq!(close, 1009, "{name}");
    }
}
