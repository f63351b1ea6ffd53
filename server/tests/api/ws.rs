//! The `/ws` connection: greeting, ping/pong, typed errors, Origin checks.

use crate::helpers::{json, spawn_app, spawn_app_with};
use futures_util::{SinkExt, StreamExt};
use shared::ws::ServerMessage;
use shared::{ApiError, ErrorCode};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_message(ws: &mut Socket) -> ServerMessage {
    loop {
        match ws.next().await.expect("socket open").expect("frame") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_connection_is_greeted_and_ping_gets_pong() {
    let app = spawn_app().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url("/ws"))
        .await
        .unwrap();
    match next_message(&mut ws).await {
        ServerMessage::Connection { status, timestamp } => {
            assert_eq!(status, "connected");
            assert!(timestamp.ends_with('Z'));
        }
        other => panic!("expected connection, got {other:?}"),
    }
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert!(matches!(
        next_message(&mut ws).await,
        ServerMessage::Pong { .. }
    ));
}

#[tokio::test]
async fn bad_messages_get_typed_errors_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url("/ws"))
        .await
        .unwrap();
    next_message(&mut ws).await;
    let cases = [
        (Message::text("not json"), ErrorCode::InvalidJson),
        (Message::text(r#"{"no":"type"}"#), ErrorCode::BadRequest),
        (Message::text(r#"{"type":"dance"}"#), ErrorCode::UnknownType),
        (Message::binary(vec![1u8, 2, 3]), ErrorCode::BadRequest),
    ];
    for (msg, want) in cases {
        ws.send(msg).await.unwrap();
        match next_message(&mut ws).await {
            ServerMessage::Error { status, code, .. } => {
                assert_eq!(status, "error");
                assert_eq!(code, want);
            }
            other => panic!("expected error, got {other:?}"),
        }
    }
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert!(matches!(
        next_message(&mut ws).await,
        ServerMessage::Pong { .. }
    ));
}

#[tokio::test]
async fn an_oversize_message_is_refused_in_band_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url("/ws"))
        .await
        .unwrap();
    next_message(&mut ws).await;
    let big = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(70 * 1024));
    ws.send(Message::text(big)).await.unwrap();
    match next_message(&mut ws).await {
        ServerMessage::Error { code, .. } => assert_eq!(code, ErrorCode::PayloadTooLarge),
        other => panic!("expected error, got {other:?}"),
    }
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert!(matches!(
        next_message(&mut ws).await,
        ServerMessage::Pong { .. }
    ));
}

#[tokio::test]
async fn a_frame_over_the_read_limit_ends_the_connection() {
    let app = spawn_app().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url("/ws"))
        .await
        .unwrap();
    next_message(&mut ws).await;
    let huge = "x".repeat(chorus_server::ws::MAX_FRAME_BYTES + 1);
    let _ = ws.send(Message::text(huge)).await;
    let mut texts = 0;
    while let Some(Ok(msg)) = ws.next().await {
        if msg.is_text() {
            texts += 1;
        }
    }
    assert_eq!(
        texts, 0,
        "no answer to a frame past the limit, only the end"
    );
}

async fn upgrade_status(app: &crate::helpers::TestApp, origin: Option<&str>) -> u16 {
    let mut req = app.ws_url("/ws").into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((_, res)) => res.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn websocket_upgrades_from_other_sites_are_forbidden() {
    let app = spawn_app_with(|c| c.allowed_origins = vec!["http://localhost:8080".into()]).await;
    let own = format!("http://{}", app.addr);
    assert_eq!(
        upgrade_status(&app, None).await,
        101,
        "programs send no Origin"
    );
    assert_eq!(upgrade_status(&app, Some(&own)).await, 101, "same origin");
    assert_eq!(
        upgrade_status(&app, Some("http://localhost:8080")).await,
        101,
        "allowed"
    );
    assert_eq!(
        upgrade_status(&app, Some("https://evil.example")).await,
        403
    );

    let res = app
        .client
        .get(app.url("/ws"))
        .header("origin", "https://evil.example")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let err: ApiError = json(res).await;
    assert_eq!(err.code, ErrorCode::Forbidden);
}

#[tokio::test]
async fn a_plain_get_on_the_socket_path_is_a_json_error() {
    let app = spawn_app().await;
    let res = app.get("/ws").await;
    assert!(res.status().is_client_error());
    let _: ApiError = json(res).await;
}

/// The upgrade's status for a page at `origin` that asked for `host`.
async fn upgrade_as(app: &crate::helpers::TestApp, origin: &str, host: &str) -> u16 {
    let mut req = app.ws_url("/ws").into_client_request().unwrap();
    req.headers_mut().insert("origin", origin.parse().unwrap());
    req.headers_mut().insert("host", host.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((_, res)) => res.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => res.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn a_page_on_a_rebound_name_cannot_open_sockets() {
    let app = spawn_app().await;
    let port = app.addr.port();
    let rebound = format!("rebound.example:{port}");
    assert_eq!(
        upgrade_as(&app, &format!("http://{rebound}"), &rebound).await,
        403
    );
    let localhost = format!("localhost:{port}");
    assert_eq!(
        upgrade_as(&app, &format!("http://{localhost}"), &localhost).await,
        101
    );

    // Named with --public-origin, that name is the server's own.
    let app = spawn_app_with(|c| c.public_origins = vec!["http://chorus.example".into()]).await;
    assert_eq!(
        upgrade_as(&app, "http://chorus.example", "chorus.example").await,
        101
    );
    let rebound = format!("rebound.example:{}", app.addr.port());
    assert_eq!(
        upgrade_as(&app, &format!("http://{rebound}"), &rebound).await,
        403
    );
}
