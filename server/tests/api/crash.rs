//! A real `chorus` process killed with SIGKILL mid-reply: after a restart
//! the database holds the partial text as `interrupted`, and the credits
//! reserved for it are settled (the produced tokens paid, the rest back).

use futures_util::StreamExt;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts the binary on `db` and returns it with its address, read from
/// its "listening" log line.
fn start_chorus(db: &str, data: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            db,
            "--chunk-delay-ms",
            "250",
        ])
        .arg("--data-dir")
        .arg(data)
        .arg("--dist")
        .arg(data.join("no-dist"))
        .env("JWT_SECRET", "crash-test-secret-of-sufficient-length-0123")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the chorus binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("chorus logs that it listens").unwrap();
        if let Some((_, rest)) = line.split_once("listening on http://") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep reading the log so the process never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

/// Registers `username` on the server at `addr`.
async fn register(
    client: &reqwest::Client,
    addr: &str,
    username: &str,
) -> shared::auth::AuthResponse {
    client
        .post(format!("http://{addr}/api/auth/register"))
        .json(&serde_json::json!({"username": username, "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sigkill_mid_reply_leaves_the_partial_text_and_refunds_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("chorus.db").display());
    let (mut first, addr) = start_chorus(&db, dir.path());
    let client = reqwest::Client::new();
    let auth = register(&client, &addr, "crashy").await;
    let (stream_id, events) =
        crate::helpers::long_chat_reply(&client, &format!("http://{addr}"), &auth.token).await;
    let mut events = std::pin::pin!(events);
    // Stream for a while: the text is saved at least once a second.
    let started = Instant::now();
    let mut streamed = String::new();
    while started.elapsed() < Duration::from_millis(2500) {
        let ev = events.next().await.expect("still streaming").unwrap();
        assert_ne!(ev.event, "assistant_complete", "the reply ended too soon");
        if ev.event == "assistant_delta" {
            let v: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
            streamed.push_str(v["delta"].as_str().unwrap());
        }
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    // What the killed process left: running, partial text, credits held.
    let pool = chorus_server::db::Db::connect(&db).await.unwrap();
    let store = chorus_server::store::Store::new(pool.clone());
    let left = store.generation(&stream_id).await.unwrap().unwrap();
    assert_eq!(left.status, "running");
    assert!(!left.text.is_empty(), "no partial text was saved");
    let user = store.user_by_name("crashy").await.unwrap().unwrap();
    let before = store.credit_summary(&user.id).await.unwrap();
    assert!(
        before.balance < before.granted,
        "nothing was reserved: {before:?}"
    );
    pool.close().await;

    // The restart recovers it.
    let (mut second, addr) = start_chorus(&db, dir.path());
    let pool = chorus_server::db::Db::connect(&db).await.unwrap();
    let store = chorus_server::store::Store::new(pool.clone());
    let after = store.generation(&stream_id).await.unwrap().unwrap();
    assert_eq!(after.status, "interrupted");
    assert_eq!(after.text, left.text, "the partial text is kept");
    assert!(
        streamed.starts_with(&after.text),
        "saved text is what was streamed"
    );
    let credits = store.credit_summary(&user.id).await.unwrap();
    assert!(
        credits.spent > 0,
        "the produced tokens are paid: {credits:?}"
    );
    assert_eq!(
        credits.balance + credits.spent,
        credits.granted,
        "every reserved credit not spent came back: {credits:?}"
    );
    // The owner can read it back, as an expired stream with its text.
    let res = client
        .get(format!("http://{addr}/api/streams/{stream_id}"))
        .bearer_auth(&auth.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    let err: shared::ApiError = res.json().await.unwrap();
    assert_eq!(err.details.unwrap()["status"], "interrupted");
    pool.close().await;

    // A SIGTERM ends it cleanly.
    let pid = second.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(second.wait().unwrap().success());
}

#[tokio::test]
async fn sigkill_mid_bookswriter_request_refunds_its_hold_and_keeps_its_text_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("chorus.db").display());
    let (mut first, addr) = start_chorus(&db, dir.path());
    let client = reqwest::Client::new();
    let auth = register(&client, &addr, "crashy-writer").await;
    let session = "crashing-book";
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/{session}?token={}", auth.token))
            .await
            .unwrap();
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        crate::books::bare("Create a fantasy novel with dragons").to_string(),
    ))
    .await
    .unwrap();
    // Stream for a while: the text is saved at least once a second.
    let started = Instant::now();
    let mut chunks = 0;
    while started.elapsed() < Duration::from_millis(2500) {
        let frame = ws.next().await.expect("still streaming").unwrap();
        let Ok(text) = frame.to_text() else { continue };
        let msg: shared::books::ServerMessage = serde_json::from_str(text).unwrap();
        assert!(
            !matches!(msg, shared::books::ServerMessage::Completion { .. }),
            "the request ended too soon"
        );
        if matches!(msg, shared::books::ServerMessage::StreamChunk { .. }) {
            chunks += 1;
        }
    }
    assert!(chunks > 2, "streamed");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    // What the killed process left: a running request holding credits.
    let pool = chorus_server::db::Db::connect(&db).await.unwrap();
    let store = chorus_server::store::Store::new(pool.clone());
    let user = store.user_by_name("crashy-writer").await.unwrap().unwrap();
    let owner = format!("user:{}", user.id);
    let left = crate::shutdown::generations_of(&pool, &owner).await;
    assert_eq!(left.len(), 1, "the request is recorded: {left:?}");
    let (status, reserved, text) = &left[0];
    assert_eq!(status, "running");
    assert!(*reserved > 0, "its hold is recorded");
    assert!(!text.is_empty(), "its text is saved while it streams");
    let before = store.credit_summary(&user.id).await.unwrap();
    assert!(before.balance < before.granted, "{before:?}");
    // The conversation with the agent's text so far.
    let agent_text = |entries: &[shared::books::Entry]| {
        entries
            .iter()
            .filter_map(|e| match e {
                shared::books::Entry::Agent { content, .. } => Some(content.clone()),
                _ => None,
            })
            .collect::<String>()
    };
    let saved = agent_text(&store.books_entries(session).await.unwrap());
    assert!(!saved.is_empty(), "the conversation keeps the text so far");
    pool.close().await;

    // The restart settles it.
    let (mut second, _addr) = start_chorus(&db, dir.path());
    let pool = chorus_server::db::Db::connect(&db).await.unwrap();
    let store = chorus_server::store::Store::new(pool.clone());
    let after = crate::shutdown::generations_of(&pool, &owner).await;
    assert_eq!(
        after,
        [("interrupted".to_owned(), 0, text.clone())],
        "nothing runs forever, nothing is held"
    );
    crate::shutdown::assert_settled(&store, &user.id).await;
    pool.close().await;
    let pid = second.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(second.wait().unwrap().success());
}

#[tokio::test]
async fn sigkill_mid_chat_reply_puts_its_saved_text_in_the_chat_marked_interrupted_after_a_restart()
{
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("chorus.db").display());
    let (mut first, addr) = start_chorus(&db, dir.path());
    let client = reqwest::Client::new();
    let auth = register(&client, &addr, "cut-short").await;
    let (stream_id, events) =
        crate::helpers::long_chat_reply(&client, &format!("http://{addr}"), &auth.token).await;
    let mut events = std::pin::pin!(events);
    let started = Instant::now();
    let mut reply = None;
    while started.elapsed() < Duration::from_millis(2500) {
        let ev = events.next().await.expect("still streaming").unwrap();
        assert_ne!(ev.event, "assistant_complete", "the reply ended too soon");
        if ev.event == "assistant_typing" {
            let v: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
            reply = Some((
                v["chat_id"].as_str().unwrap().to_owned(),
                v["message_id"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let (chat_id, message_id) = reply.expect("the reply named its chat");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let pool = chorus_server::db::Db::connect(&db).await.unwrap();
    let store = chorus_server::store::Store::new(pool.clone());
    let saved = store.generation(&stream_id).await.unwrap().unwrap().text;
    assert!(!saved.is_empty(), "no partial text was saved");
    pool.close().await;

    let (mut second, addr) = start_chorus(&db, dir.path());
    let (mut manage, _) = tokio_tungstenite::connect_async(format!(
        "ws://{addr}/api/v1/chats/ws?token={}",
        auth.token
    ))
    .await
    .unwrap();
    use futures_util::SinkExt;
    manage
        .send(tokio_tungstenite::tungstenite::Message::text(
            serde_json::json!({"type": "list_messages", "chat_id": chat_id}).to_string(),
        ))
        .await
        .unwrap();
    let messages = loop {
        let frame = manage.next().await.expect("an answer").unwrap();
        let Ok(text) = frame.to_text() else { continue };
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        if v["type"] == "messages_list" {
            break v["messages"].as_array().unwrap().clone();
        }
    };
    assert_eq!(
        messages.len(),
        2,
        "the question and its cut reply: {messages:#?}"
    );
    let cut = &messages[1];
    assert_eq!(cut["id"], message_id.as_str());
    assert_eq!(cut["role"], "assistant");
    assert_eq!(cut["content"], saved.as_str(), "the saved text");
    assert_eq!(cut["interrupted"], true, "marked interrupted: {cut}");
    assert_eq!(cut["status"], "failed");
    assert_eq!(cut["versions"], serde_json::json!([saved]));
    // It can be regenerated: the new version replaces the cut one.
    let res = client
        .post(format!(
            "http://{addr}/api/v1/messages/{message_id}/regenerate"
        ))
        .bearer_auth(&auth.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(res);
    let pid = second.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(second.wait().unwrap().success());
}
