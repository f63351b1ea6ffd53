//! A visitor's things move into the account they sign up for, or sign into,
//! from the same browser (`x-anon-id` on register and login): their chats
//! and BooksWriter books here; persona answers (saved generations) in the
//! store test on both databases (`store_order.rs`).

use crate::helpers::{TestApp, WsClient, json, read_sse, spawn_app};
use serde_json::json;
use shared::books::ServerMessage;
use shared::chat::ChatHit;

/// A visitor writes a chat message and waits for the reply.
async fn visitor_chats(app: &TestApp, anon: &str, text: &str) {
    let res = app
        .client
        .post(app.url("/api/v1/messages/send"))
        .header("x-anon-id", anon)
        .json(&json!({"model": "m", "content": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    read_sse(res).await;
}

async fn search(app: &TestApp, q: &str, token: Option<&str>, anon: &str) -> Vec<ChatHit> {
    let req = app
        .client
        .get(app.url(&format!("/api/v1/chats/search?q={q}")));
    let req = match token {
        Some(t) => req.bearer_auth(t),
        None => req.header("x-anon-id", anon),
    };
    json(req.send().await.unwrap()).await
}

/// The next BooksWriter message on `ws`.
async fn next(ws: &mut WsClient) -> ServerMessage {
    let v = ws.next_json().await;
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"))
}

#[tokio::test]
async fn a_visitors_chats_and_books_move_into_the_account_they_register() {
    let app = spawn_app().await;
    let anon = "visitor-moves-1";
    visitor_chats(&app, anon, "Tell me about zebras").await;
    let session = "book-of-a-visitor";
    let mut visitor = WsClient::open(&app, &format!("/ws/{session}?anon_id={anon}")).await;
    visitor.send_json(json!({"type": "session_restore"})).await;
    assert!(matches!(
        next(&mut visitor).await,
        ServerMessage::SessionRestored { .. }
    ));

    let res = app
        .client
        .post(app.url("/api/auth/register"))
        .header("x-anon-id", anon)
        .json(&json!({"username": "zebra_fan", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = json::<shared::auth::AuthResponse>(res).await.token;

    let mine = search(&app, "zebras", Some(&token), anon).await;
    assert_eq!(mine.len(), 1, "the chat is the account's");
    assert!(
        search(&app, "zebras", None, anon).await.is_empty(),
        "and no longer the visitor's"
    );

    let artifacts = app
        .get_with_token(&format!("/api/books/{session}/artifacts"), &token)
        .await;
    assert_eq!(artifacts.status(), 200, "the book is the account's");
    // The live session reopens as the account's, not as someone else's.
    let mut user = WsClient::open(&app, &format!("/ws/{session}?token={token}")).await;
    user.send_json(json!({"type": "session_restore"})).await;
    match next(&mut user).await {
        ServerMessage::SessionRestored { .. } => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn signing_in_moves_the_visitors_chats_and_nothing_else_does() {
    let app = spawn_app().await;
    let token = app.register("tide_reader").await;
    // Without the header nothing moves.
    visitor_chats(&app, "visitor-moves-2", "Explain the tides").await;
    let plain = json!({"username": "tide_reader", "password": "correct horse"});
    let res = app.post_json("/api/auth/login", &plain).await;
    assert_eq!(res.status(), 200);
    assert!(search(&app, "tides", Some(&token), "").await.is_empty());
    // A bad id moves nothing and the sign-in still works.
    let login = |anon: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-anon-id", anon)
            .json(&plain)
            .send()
    };
    assert_eq!(login("no good").await.unwrap().status(), 200);

    let res = login("visitor-moves-2").await.unwrap();
    assert_eq!(res.status(), 200);
    let token = json::<shared::auth::AuthResponse>(res).await.token;
    assert_eq!(search(&app, "tides", Some(&token), "").await.len(), 1);
}
