//! `--no-limits` (benchmarks only): every limit that protects a public
//! server holds without it and is lifted with it.

use crate::helpers::{TestApp, WsClient, spawn_app_with};
use serde_json::{Value, json};

fn chat() -> Value {
    json!({"type": "chat", "data": {"message": "Bread?", "persona_id": "chef"}})
}

/// Sends a `chat` and reads to its end; the refusal code, if it was refused.
async fn chat_refusal(ws: &mut WsClient) -> Option<String> {
    ws.send_json(chat()).await;
    let events = ws
        .read_until(|v| {
            v["type"] == "response" || (v["type"] == "error" && v["stream_id"].is_null())
        })
        .await;
    let last = events.last().unwrap();
    (last["type"] == "error").then(|| last["code"].as_str().unwrap().to_owned())
}

/// Which limits refused something.
#[derive(Debug, PartialEq)]
struct Refused {
    anonymous_replies: Option<String>,
    message_rate: usize,
    credits: Option<String>,
    second_connection: bool,
}

/// Runs into each limit once.
async fn probe(app: &TestApp) -> Refused {
    let mut anon = WsClient::connect(app, "/ws?anon_id=probe-visitor").await;
    assert_eq!(chat_refusal(&mut anon).await, None, "the first free reply");
    let anonymous_replies = chat_refusal(&mut anon).await;

    let mut rate = WsClient::connect(app, "/ws?anon_id=probe-rate").await;
    let mut message_rate = 0;
    for _ in 0..chorus_server::ws::RATE_BURST + 5 {
        rate.send_json(json!({"type": "stop", "data": {"stream_id": "st_none"}}))
            .await;
        if rate.next_json().await["code"] == "RATE_LIMITED" {
            message_rate += 1;
        }
    }

    let token = app.register("probe-user").await;
    let mut user = WsClient::connect(app, &format!("/ws?token={token}")).await;
    let credits = chat_refusal(&mut user).await;
    let second = tokio_tungstenite::connect_async(app.ws_url(&format!("/ws?token={token}"))).await;
    Refused {
        anonymous_replies,
        message_rate,
        credits,
        second_connection: second.is_err(),
    }
}

async fn app(no_limits: bool) -> TestApp {
    spawn_app_with(move |c| {
        c.anon_message_limit = 1;
        c.initial_credits = 0;
        c.max_connections_per_user = 1;
        c.no_limits = no_limits;
    })
    .await
}

#[tokio::test]
async fn without_no_limits_every_limit_holds() {
    let refused = probe(&app(false).await).await;
    assert_eq!(
        refused.anonymous_replies.as_deref(),
        Some("ANON_LIMIT_REACHED")
    );
    assert!(refused.message_rate >= 4, "{refused:?}");
    assert_eq!(refused.credits.as_deref(), Some("INSUFFICIENT_BALANCE"));
    assert!(refused.second_connection, "{refused:?}");
}

#[tokio::test]
async fn no_limits_lifts_every_limit() {
    let refused = probe(&app(true).await).await;
    assert_eq!(
        refused,
        Refused {
            anonymous_replies: None,
            message_rate: 0,
            credits: None,
            second_connection: false,
        }
    );
}

/// Messages refused by the rate limits of BooksWriter's session window
/// (60 a minute) and the chat management socket, out of 70 each.
async fn socket_rate_refusals(app: &TestApp) -> (usize, usize) {
    let mut books = WsClient::open(app, "/ws/limits-probe").await;
    for _ in 0..70 {
        books.send_json(json!({"type": "ping"})).await;
    }
    let mut books_refused = 0;
    for _ in 0..70 {
        if books.next_json().await["error_code"] == "RATE_LIMITED" {
            books_refused += 1;
        }
    }
    let mut chats = WsClient::open(app, "/api/v1/chats/ws?anon_id=limits-probe").await;
    let _usage = chats.next_json().await;
    for _ in 0..70 {
        chats
            .send_json(json!({"type": "list_chats", "page": 0, "limit": 1}))
            .await;
    }
    let mut chats_refused = 0;
    for _ in 0..70 {
        if chats.next_json().await["code"] == "RATE_LIMITED" {
            chats_refused += 1;
        }
    }
    (books_refused, chats_refused)
}

#[tokio::test]
async fn no_limits_lifts_the_books_and_chat_socket_rates_too() {
    let (books, chats) = socket_rate_refusals(&app(false).await).await;
    assert_eq!(books, 10, "the seed's 60 a minute");
    assert!(chats > 0);
    assert_eq!(socket_rate_refusals(&app(true).await).await, (0, 0));
}

#[tokio::test]
async fn anonymous_message_rates_are_per_address_so_reconnecting_does_not_reset_them() {
    let app = spawn_app_with(|_| {}).await;
    let burst = chorus_server::ws::RATE_BURST as usize;
    let per_address = chorus_server::message_rates::ADDRESS_BURST as usize;
    let stop = json!({"type": "stop", "data": {"stream_id": "st_none"}});
    // A fresh connection (and a fresh id) for every burst: each stays
    // within its own connection's rate, all together go past the address's.
    let (mut limited, mut retry_after) = (0, None);
    for i in 0..per_address / burst + 2 {
        let mut ws = WsClient::connect(&app, &format!("/ws?anon_id=rotating-{i:04}")).await;
        for _ in 0..burst {
            ws.send_json(stop.clone()).await;
            let reply = ws.next_json().await;
            if reply["code"] == "RATE_LIMITED" {
                limited += 1;
                retry_after = reply["retry_after"].as_u64();
            }
        }
    }
    assert!(limited >= burst, "{limited} refused");
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    // A signed-in user from the same address has their own rate.
    let token = app.register("same_address").await;
    let mut user = WsClient::connect(&app, &format!("/ws?token={token}")).await;
    user.send_json(stop).await;
    assert_ne!(user.next_json().await["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn the_chat_sockets_share_the_addresss_budget_too() {
    let app = spawn_app_with(|_| {}).await;
    let per_address = chorus_server::message_rates::ADDRESS_BURST as usize;
    let list = json!({"type": "list_chats", "page": 0, "limit": 1});
    // 60 a connection (its own rate), on fresh connections and ids.
    let mut limited = 0;
    for i in 0..per_address / 60 + 2 {
        let mut ws =
            WsClient::open(&app, &format!("/api/v1/chats/ws?anon_id=chatter-{i:04}")).await;
        for _ in 0..60 {
            ws.send_json(list.clone()).await;
            let reply = ws
                .read_until(|v| v["type"] == "chats_list" || v["type"] == "error")
                .await;
            let reply = reply.last().unwrap();
            if reply["code"] == "RATE_LIMITED" {
                assert!(
                    reply["error"].as_str().unwrap().contains("address"),
                    "{reply}"
                );
                limited += 1;
            }
        }
    }
    assert!(limited >= 60, "{limited} refused");
}
