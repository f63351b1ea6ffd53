//! Who a caller is: identities the server makes cannot be named by
//! clients, and `X-Forwarded-For` is believed only from a trusted proxy.

use crate::helpers::{TestApp, WsClient, json, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use shared::auth::Usage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

fn chat_msg() -> Value {
    json!({"type": "chat", "data": {
        "message": "hello", "persona_id": "tech_enthusiast", "api": "openai",
        "model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 50}})
}

/// Opens `/ws` with no identity, `X-Forwarded-For: forwarded` if given,
/// asks for one reply and returns the last message (`response` or `error`).
async fn one_reply_without_identity(app: &TestApp, forwarded: Option<&str>) -> Value {
    one_reply_at(app, "/ws", forwarded).await
}

/// One reply on the socket at `path` (`/ws?anon_id=…`).
pub(crate) async fn one_reply_at(app: &TestApp, path: &str, forwarded: Option<&str>) -> Value {
    let mut req = app.ws_url(path).into_client_request().unwrap();
    if let Some(f) = forwarded {
        req.headers_mut()
            .insert("x-forwarded-for", f.parse().unwrap());
    }
    let (socket, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut ws = WsClient { socket };
    assert_eq!(ws.next_json().await["type"], "connection");
    ws.send_json(chat_msg()).await;
    let events = ws
        .read_until(|v| v["type"] == "response" || v["type"] == "error")
        .await;
    events.last().unwrap().clone()
}

#[tokio::test]
async fn a_visitor_keyed_by_address_cannot_be_taken_with_an_anon_id() {
    let app = spawn_app().await;
    let last = one_reply_without_identity(&app, None).await;
    assert_eq!(last["type"], "response", "{last}");

    // The id the server used to make for 127.0.0.1 is a valid x-anon-id: it
    // must name someone else, with nothing used.
    for forged in ["ip-127-0-0-1", "ip_127_0_0_1"] {
        let res = app
            .client
            .get(app.url("/api/usage"))
            .header("x-anon-id", forged)
            .send()
            .await
            .unwrap();
        let usage: Usage = json(res).await;
        assert_eq!(usage.used, 0, "{forged} reads the address's visitor");
    }
    // The visitor made by the server holds the reply, under a name no
    // client can send.
    assert_eq!(app.state.store.touch_anon("ip:127.0.0.1").await.unwrap(), 1);
    assert!(!shared::auth::is_valid_anon_id("ip:127.0.0.1"));
}

#[tokio::test]
async fn forwarded_for_is_ignored_without_a_trusted_proxy() {
    let app = spawn_app_with(|c| c.anon_message_limit = 1).await;
    let first = one_reply_without_identity(&app, Some("203.0.113.1")).await;
    assert_eq!(first["type"], "response", "{first}");
    // Another claimed address from the same peer is the same visitor.
    let second = one_reply_without_identity(&app, Some("203.0.113.2")).await;
    assert_eq!(second["type"], "error", "{second}");
    assert_eq!(second["code"], "ANON_LIMIT_REACHED", "{second}");
}

#[tokio::test]
async fn a_trusted_proxy_names_each_visitor_by_their_own_address() {
    let app = spawn_app_with(|c| {
        c.anon_message_limit = 1;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let first = one_reply_without_identity(&app, Some("203.0.113.1")).await;
    assert_eq!(first["type"], "response", "{first}");
    // A client's own claim left of the proxy's entry is not believed.
    let second = one_reply_without_identity(&app, Some("203.0.113.1, 203.0.113.2")).await;
    assert_eq!(second["type"], "response", "{second}");
    let third = one_reply_without_identity(&app, Some("198.51.100.9, 203.0.113.1")).await;
    assert_eq!(third["type"], "error", "{third}");
    assert_eq!(
        app.state.store.touch_anon("ip:203.0.113.2").await.unwrap(),
        1
    );
}

#[tokio::test]
async fn rotating_anonymous_ids_does_not_outrun_the_addresss_budget() {
    let app = spawn_app_with(|c| {
        c.anon_message_limit = 2;
        c.anon_ip_message_limit = 3;
    })
    .await;
    for _ in 0..2 {
        let r = one_reply_at(&app, "/ws?anon_id=rotating-id-1", None).await;
        assert_eq!(r["type"], "response", "{r}");
    }
    let r = one_reply_at(&app, "/ws?anon_id=rotating-id-2", None).await;
    assert_eq!(r["type"], "response", "{r}");
    // A fresh id, the address's budget spent.
    for id in ["rotating-id-2", "rotating-id-3"] {
        let r = one_reply_at(&app, &format!("/ws?anon_id={id}"), None).await;
        assert_eq!(r["code"], "ANON_LIMIT_REACHED", "{r}");
    }
    // Another address is not affected (through a trusted proxy here).
    let app = spawn_app_with(|c| {
        c.anon_message_limit = 2;
        c.anon_ip_message_limit = 1;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let r = one_reply_at(&app, "/ws?anon_id=rotating-id-4", Some("203.0.113.7")).await;
    assert_eq!(r["type"], "response", "{r}");
    let r = one_reply_at(&app, "/ws?anon_id=rotating-id-5", Some("203.0.113.7")).await;
    assert_eq!(r["code"], "ANON_LIMIT_REACHED", "{r}");
    let r = one_reply_at(&app, "/ws?anon_id=rotating-id-6", Some("203.0.113.8")).await;
    assert_eq!(r["type"], "response", "{r}");
}
