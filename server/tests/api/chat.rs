//! The hybrid chat protocol's hybrid chat: the reply streams (send, regenerate, re-attach),
//! the limits as `assistant_error`, the management socket and its news, the
//! store on every database, and socket.io's path beside the app's fallbacks.

use crate::helpers::{
    TestApp, WsClient, json, read_sse, spawn_app, spawn_app_on, spawn_app_with, test_databases,
};
use serde_json::{Value, json};
use shared::ErrorCode;
use shared::chat::{Message, ServerEvent, ServerMessage};
use shared::stream::FinishStatus;

const ANON: &str = "anon-chat-test-1";

/// Who is calling.
enum As<'a> {
    Anon(&'a str),
    User(&'a str),
}

async fn post(app: &TestApp, path: &str, who: &As<'_>, body: &Value) -> reqwest::Response {
    let req = app.client.post(app.url(path)).json(body);
    let req = match who {
        As::Anon(id) => req.header("x-anon-id", *id),
        As::User(token) => req.bearer_auth(token),
    };
    req.send().await.unwrap()
}

/// The stream's events, decoded, with their SSE names and ids checked.
async fn events(res: reqwest::Response) -> Vec<ServerEvent> {
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert_eq!(res.headers()["x-accel-buffering"], "no");
    let stream_id = res.headers()["x-stream-id"].to_str().unwrap().to_owned();
    let raw = read_sse(res).await;
    let mut out = Vec::new();
    let mut last_id = 0u64;
    for (name, id, data) in raw {
        let e: ServerEvent =
            serde_json::from_str(&data).unwrap_or_else(|err| panic!("{err}: {data}"));
        let v: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            v["stream_id"],
            stream_id.as_str(),
            "the header names the stream"
        );
        assert_eq!(name, e.name(), "the SSE event name is the JSON type");
        let id: u64 = id.parse().unwrap();
        assert_eq!(id, last_id + 1, "id: is the seq");
        last_id = id;
        out.push(e);
    }
    out
}

fn names(events: &[ServerEvent]) -> Vec<&'static str> {
    let mut n: Vec<&str> = events.iter().map(ServerEvent::name).collect();
    n.dedup();
    n
}

fn deltas(events: &[ServerEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::AssistantDelta { delta } => Some(delta.as_str()),
            _ => None,
        })
        .collect()
}

/// The `assistant_complete` of a stream: (chat_id, message_id, content).
fn completed(events: &[ServerEvent]) -> (String, String, String) {
    events
        .iter()
        .find_map(|e| match e {
            ServerEvent::AssistantComplete {
                chat_id,
                message_id,
                content,
                status,
                ..
            } => {
                assert_eq!(*status, FinishStatus::Completed);
                Some((chat_id.clone(), message_id.clone(), content.clone()))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no assistant_complete in {events:?}"))
}

/// The content of a stream's `assistant_regenerated`, checked to be
/// version `version` of `message_id` in `chat_id`, completed, in a stream
/// shaped as a regenerate's.
fn regenerated(events: &[ServerEvent], chat_id: &str, message_id: &str, version: usize) -> String {
    assert_eq!(
        names(events),
        [
            "assistant_regenerating",
            "assistant_delta",
            "assistant_regenerated",
            "usage_info"
        ]
    );
    match &events[events.len() - 2] {
        ServerEvent::AssistantRegenerated {
            message_id: m,
            chat_id: c,
            content,
            version: v,
            status,
        } => {
            assert_eq!(
                (m.as_str(), c.as_str(), *v, *status),
                (message_id, chat_id, version, FinishStatus::Completed)
            );
            content.clone()
        }
        other => panic!("{other:?}"),
    }
}

pub(crate) async fn manage(app: &TestApp, query: &str) -> WsClient {
    let (socket, _) =
        tokio_tungstenite::connect_async(app.ws_url(&format!("/api/v1/chats/ws?{query}")))
            .await
            .unwrap();
    let mut c = WsClient { socket };
    let first: ServerMessage = serde_json::from_value(c.next_json().await).unwrap();
    assert!(matches!(first, ServerMessage::UsageInfo(_)), "{first:?}");
    c
}

/// Sends a management message and reads until a message of `want` type.
async fn ask(c: &mut WsClient, msg: Value, want: &str) -> ServerMessage {
    c.send_json(msg).await;
    let all = c.read_until(|v| v["type"] == want).await;
    serde_json::from_value(all.last().unwrap().clone()).unwrap()
}

async fn messages(c: &mut WsClient, chat_id: &str) -> Vec<Message> {
    match ask(
        c,
        json!({"type": "list_messages", "chat_id": chat_id, "page": 0, "limit": 50}),
        "messages_list",
    )
    .await
    {
        ServerMessage::MessagesList { messages, .. } => messages,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_first_message_streams_the_seeds_events_and_creates_a_titled_chat() {
    let app = spawn_app().await;
    let body =
        json!({"model": "gpt-4o-mini", "content": "Tell me about rivers", "temperature": 0.7});
    let ev = events(post(&app, "/api/v1/messages/send", &As::Anon(ANON), &body).await).await;
    assert_eq!(
        names(&ev),
        [
            "assistant_typing",
            "assistant_delta",
            "assistant_complete",
            "usage_info"
        ]
    );
    let (chat_id, message_id, content) = completed(&ev);
    assert_eq!(deltas(&ev), content, "the deltas add up to the reply");
    assert!(
        matches!(&ev[0], ServerEvent::AssistantTyping { chat_id: c, message_id: m } if *c == chat_id && *m == message_id)
    );
    match ev.last().unwrap() {
        ServerEvent::UsageInfo(u) => assert_eq!((u.used, u.limit, u.remaining), (1, 10, 9)),
        other => panic!("{other:?}"),
    }

    // A second message continues the same chat.
    let body =
        json!({"chat_id": chat_id, "model": "", "content": "And lakes?", "temperature": 0.2});
    let ev = events(post(&app, "/api/v1/messages/send", &As::Anon(ANON), &body).await).await;
    assert_eq!(completed(&ev).0, chat_id);

    let mut ws = manage(&app, &format!("anon_id={ANON}")).await;
    match ask(
        &mut ws,
        json!({"type": "list_chats", "page": 0, "limit": 20}),
        "chats_list",
    )
    .await
    {
        ServerMessage::ChatsList { chats, page, total } => {
            assert_eq!((page, total), (0, 1));
            assert_eq!(chats[0].id, chat_id);
            assert_eq!(chats[0].title, "Tell me about rivers");
        }
        other => panic!("{other:?}"),
    }
    let msgs = messages(&mut ws, &chat_id).await;
    let roles: Vec<&str> = msgs.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert_eq!(msgs[0].content, "Tell me about rivers");
    assert_eq!(msgs[1].id, message_id);
    assert_eq!(msgs[1].content, content);
    assert_eq!(msgs[1].versions, vec![content.clone()]);
}

#[tokio::test]
async fn each_event_names_itself_before_its_data_for_line_readers() {
    // The seed's client reads `event:` and applies it to the next `data:`.
    let app = spawn_app().await;
    let res = post(
        &app,
        "/api/v1/messages/send",
        &As::Anon(ANON),
        &json!({"model": "m", "content": "hi"}),
    )
    .await;
    let body = res.text().await.unwrap();
    let blocks: Vec<&str> = body
        .split("\n\n")
        .filter(|b| b.contains("data: "))
        .collect();
    assert!(blocks.len() > 3);
    for block in blocks {
        let lines: Vec<&str> = block.lines().collect();
        assert!(lines[0].starts_with("event: "), "{block}");
        assert!(lines[1].starts_with("id: "), "{block}");
        assert!(lines[2].starts_with("data: "), "{block}");
        let name = &lines[0]["event: ".len()..];
        let data: Value = serde_json::from_str(&lines[2]["data: ".len()..]).unwrap();
        assert_eq!(data["type"], name);
    }
}

#[tokio::test]
async fn bad_input_is_a_json_error_before_any_stream() {
    let app = spawn_app().await;
    let ok = events(
        post(
            &app,
            "/api/v1/messages/send",
            &As::Anon(ANON),
            &json!({"model": "m", "content": "hi"}),
        )
        .await,
    )
    .await;
    let (chat_id, message_id, _) = completed(&ok);
    let long = "x".repeat(10_001);
    let cases = [
        (
            json!({"model": "m", "content": "   "}),
            422,
            ErrorCode::ValidationError,
        ),
        (
            json!({"model": "m", "content": long}),
            422,
            ErrorCode::ValidationError,
        ),
        (
            json!({"model": "m", "content": "hi", "temperature": 2.5}),
            422,
            ErrorCode::ValidationError,
        ),
        (
            json!({"model": "m", "content": "hi", "chat_id": "nope"}),
            404,
            ErrorCode::NotFound,
        ),
        (json!({"model": "m"}), 422, ErrorCode::ValidationError),
    ];
    for (body, status, code) in cases {
        let res = post(&app, "/api/v1/messages/send", &As::Anon(ANON), &body).await;
        assert_eq!(res.status(), status, "{body}");
        let err: shared::ApiError = json(res).await;
        assert_eq!(err.code, code, "{body}");
    }
    // Someone else's chat and reply.
    let other = As::Anon("anon-someone-else");
    let res = post(
        &app,
        "/api/v1/messages/send",
        &other,
        &json!({"model": "m", "content": "hi", "chat_id": chat_id}),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        json::<shared::ApiError>(res).await.code,
        ErrorCode::Forbidden
    );
    let res = post(
        &app,
        &format!("/api/v1/messages/{message_id}/regenerate"),
        &other,
        &json!({}),
    )
    .await;
    assert_eq!(
        json::<shared::ApiError>(res).await.code,
        ErrorCode::Forbidden
    );
    // No identity at all.
    let res = app
        .post_json(
            "/api/v1/messages/send",
            &json!({"model": "m", "content": "hi"}),
        )
        .await;
    assert_eq!(res.status(), 401);
    // Re-attaching needs the chat too; nothing running is 204.
    let res = app
        .client
        .get(app.url(&format!("/api/v1/chats/{chat_id}/stream")))
        .header("x-anon-id", ANON)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .client
        .get(app.url("/api/v1/chats/nope/stream"))
        .header("x-anon-id", ANON)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn the_anonymous_limit_arrives_as_assistant_error_on_the_stream_and_the_socket() {
    let app = spawn_app_with(|c| c.anon_message_limit = 1).await;
    let mut ws = manage(&app, &format!("anon_id={ANON}")).await;
    let body = json!({"model": "m", "content": "one"});
    let first = events(post(&app, "/api/v1/messages/send", &As::Anon(ANON), &body).await).await;
    let (chat_id, _, _) = completed(&first);
    let refused = events(
        post(
            &app,
            "/api/v1/messages/send",
            &As::Anon(ANON),
            &json!({"model": "m", "content": "two", "chat_id": chat_id}),
        )
        .await,
    )
    .await;
    assert_eq!(names(&refused), ["assistant_error", "usage_info"]);
    assert!(matches!(
        &refused[0],
        ServerEvent::AssistantError {
            code: ErrorCode::AnonLimitReached,
            ..
        }
    ));
    assert!(matches!(&refused[1], ServerEvent::UsageInfo(u) if u.remaining == 0));
    // The socket heard the reply's news, then the refusal.
    let seen = ws.read_until(|v| v["type"] == "assistant_error").await;
    let seen: Vec<ServerMessage> = seen
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert!(
        seen.iter()
            .any(|m| matches!(m, ServerMessage::ChatUpdated { chat } if chat.id == chat_id))
    );
    assert!(
        seen.iter()
            .any(|m| matches!(m, ServerMessage::UsageInfo(u) if u.used == 1))
    );
    assert!(matches!(
        seen.last().unwrap(),
        ServerMessage::AssistantError {
            code: ErrorCode::AnonLimitReached,
            ..
        }
    ));
    // The refused message was not saved.
    assert_eq!(messages(&mut ws, &chat_id).await.len(), 2);
    // Regenerating is refused the same way.
    let msgs = messages(&mut ws, &chat_id).await;
    let refused = events(
        post(
            &app,
            &format!("/api/v1/messages/{}/regenerate", msgs[1].id),
            &As::Anon(ANON),
            &json!({}),
        )
        .await,
    )
    .await;
    assert!(matches!(
        &refused[0],
        ServerEvent::AssistantError {
            code: ErrorCode::AnonLimitReached,
            ..
        }
    ));
}

#[tokio::test]
async fn a_user_without_credits_gets_insufficient_balance() {
    let app = spawn_app_with(|c| c.initial_credits = 0).await;
    let token = app.register("broke").await;
    let mut ws = manage(&app, &format!("token={token}")).await;
    let ev = events(
        post(
            &app,
            "/api/v1/messages/send",
            &As::User(&token),
            &json!({"model": "m", "content": "hi"}),
        )
        .await,
    )
    .await;
    assert!(matches!(
        &ev[0],
        ServerEvent::AssistantError {
            code: ErrorCode::InsufficientBalance,
            ..
        }
    ));
    assert!(matches!(&ev[1], ServerEvent::UsageInfo(u) if u.remaining == 0));
    let seen = ws.read_until(|v| v["type"] == "assistant_error").await;
    assert_eq!(seen.last().unwrap()["code"], "INSUFFICIENT_BALANCE");
}

#[tokio::test]
async fn a_signed_in_user_spends_credits_and_sees_usage() {
    let app = spawn_app().await;
    let token = app.register("chatter").await;
    let ev = events(
        post(
            &app,
            "/api/v1/messages/send",
            &As::User(&token),
            &json!({"model": "m", "content": "hi"}),
        )
        .await,
    )
    .await;
    completed(&ev);
    match ev.last().unwrap() {
        ServerEvent::UsageInfo(u) => {
            assert!(u.used > 0, "{u:?}");
            assert_eq!(u.used + u.remaining, u.limit);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn regenerate_adds_a_version_and_keeps_the_old_one() {
    let app = spawn_app().await;
    let ev = events(
        post(
            &app,
            "/api/v1/messages/send",
            &As::Anon(ANON),
            &json!({"model": "m", "content": "Explain tides"}),
        )
        .await,
    )
    .await;
    let (chat_id, message_id, first) = completed(&ev);
    let ev = events(
        post(
            &app,
            &format!("/api/v1/messages/{message_id}/regenerate"),
            &As::Anon(ANON),
            &json!({}),
        )
        .await,
    )
    .await;
    let second = regenerated(&ev, &chat_id, &message_id, 1);
    assert_eq!(deltas(&ev), second);
    let mut ws = manage(&app, &format!("anon_id={ANON}")).await;
    let msgs = messages(&mut ws, &chat_id).await;
    assert_eq!(msgs.len(), 2, "regenerate replaces, it does not append");
    assert_eq!(msgs[1].versions, vec![first, second.clone()]);
    assert_eq!(msgs[1].content, second);
    // Only replies can be regenerated; unknown ids are 404.
    let res = post(
        &app,
        &format!("/api/v1/messages/{}/regenerate", msgs[0].id),
        &As::Anon(ANON),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = post(
        &app,
        "/api/v1/messages/nope/regenerate",
        &As::Anon(ANON),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 404);
    // The body is typed: a temperature that is not a number is a typed
    // error, and nothing is generated for it.
    let res = post(
        &app,
        &format!("/api/v1/messages/{message_id}/regenerate"),
        &As::Anon(ANON),
        &json!({"temperature": "hot"}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "VALIDATION_ERROR", "{body}");
    let msgs = messages(&mut ws, &chat_id).await;
    assert_eq!(msgs[1].versions.len(), 2);
}

#[tokio::test]
async fn a_refresh_reattaches_and_a_cut_reply_still_completes_and_is_saved() {
    // Slow chunks, so the reply is still running when the client comes back.
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(150)).await;
    let res = post(
        &app,
        "/api/v1/messages/send",
        &As::Anon(ANON),
        &json!({"model": "m", "content": "Write a long story"}),
    )
    .await;
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let mut stream = res.bytes_stream().eventsource();
    let mut before = Vec::new();
    while before.len() < 2 {
        let ev = stream.next().await.unwrap().unwrap();
        before.push(serde_json::from_str::<ServerEvent>(&ev.data).unwrap());
    }
    drop(stream); // the tab is refreshed
    let chat_id = match &before[0] {
        ServerEvent::AssistantTyping { chat_id, .. } => chat_id.clone(),
        other => panic!("{other:?}"),
    };
    let res = app
        .client
        .get(app.url(&format!("/api/v1/chats/{chat_id}/stream")))
        .header("x-anon-id", ANON)
        .header("last-event-id", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let raw = read_sse(res).await;
    assert_eq!(raw[0].1, "3", "exactly the events after Last-Event-ID");
    let after: Vec<ServerEvent> = raw
        .iter()
        .map(|(_, _, d)| serde_json::from_str(d).unwrap())
        .collect();
    let mut all = before.clone();
    all.extend(after);
    let (_, message_id, content) = completed(&all);
    assert_eq!(deltas(&all), content);
    // Saved, and nothing runs any more.
    let mut ws = manage(&app, &format!("anon_id={ANON}")).await;
    let msgs = messages(&mut ws, &chat_id).await;
    assert_eq!(
        (msgs[1].id.as_str(), msgs[1].content.as_str()),
        (message_id.as_str(), content.as_str())
    );
    let res = app
        .client
        .get(app.url(&format!("/api/v1/chats/{chat_id}/stream")))
        .header("x-anon-id", ANON)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn rename_and_delete_are_confirmed_and_reach_the_owners_other_tabs_only() {
    let app = spawn_app().await;
    let ev = events(
        post(
            &app,
            "/api/v1/messages/send",
            &As::Anon(ANON),
            &json!({"model": "m", "content": "hello"}),
        )
        .await,
    )
    .await;
    let (chat_id, _, _) = completed(&ev);
    let mut tab1 = manage(&app, &format!("anon_id={ANON}")).await;
    let mut tab2 = manage(&app, &format!("anon_id={ANON}")).await;
    let mut stranger = manage(&app, "anon_id=anon-stranger-1").await;

    let renamed = ask(
        &mut tab1,
        json!({"type": "rename_chat", "chat_id": chat_id, "title": "  Greetings "}),
        "chat_renamed",
    )
    .await;
    assert!(matches!(&renamed, ServerMessage::ChatRenamed { chat } if chat.title == "Greetings"));
    let news: ServerMessage = serde_json::from_value(tab2.next_json().await).unwrap();
    assert_eq!(news, renamed, "the other tab hears of it");

    // A stranger can neither see nor change it.
    let e = ask(
        &mut stranger,
        json!({"type": "delete_chat", "chat_id": chat_id}),
        "error",
    )
    .await;
    assert!(matches!(
        e,
        ServerMessage::Error {
            code: ErrorCode::Forbidden,
            ..
        }
    ));
    let e = ask(
        &mut stranger,
        json!({"type": "list_messages", "chat_id": chat_id}),
        "error",
    )
    .await;
    assert!(matches!(
        e,
        ServerMessage::Error {
            code: ErrorCode::Forbidden,
            ..
        }
    ));

    // Bad messages get typed errors and the socket stays open.
    for (bad, code) in [
        (json!({"type": "dance"}), ErrorCode::UnknownType),
        (
            json!({"type": "rename_chat", "chat_id": chat_id, "title": ""}),
            ErrorCode::ValidationError,
        ),
        (
            json!({"type": "list_chats", "limit": 0}),
            ErrorCode::ValidationError,
        ),
        (
            json!({"type": "list_messages", "chat_id": "nope"}),
            ErrorCode::NotFound,
        ),
    ] {
        let e = ask(&mut tab1, bad.clone(), "error").await;
        assert!(
            matches!(e, ServerMessage::Error { code: c, .. } if c == code),
            "{bad}: {e:?}"
        );
    }

    let deleted = ask(
        &mut tab1,
        json!({"type": "delete_chat", "chat_id": chat_id}),
        "chat_deleted",
    )
    .await;
    assert_eq!(
        deleted,
        ServerMessage::ChatDeleted {
            chat_id: chat_id.clone()
        }
    );
    let news: ServerMessage = serde_json::from_value(tab2.next_json().await).unwrap();
    assert_eq!(news, deleted);
    match ask(&mut tab2, json!({"type": "list_chats"}), "chats_list").await {
        ServerMessage::ChatsList { total, .. } => assert_eq!(total, 0),
        other => panic!("{other:?}"),
    }
    // The stranger heard nothing but its own answers.
    let usage = ask(&mut stranger, json!({"type": "get_usage"}), "usage_info").await;
    assert!(matches!(usage, ServerMessage::UsageInfo(u) if u.used == 0));
}

#[tokio::test]
async fn the_management_socket_refuses_other_sites_and_missing_identities() {
    let app = spawn_app().await;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = app
        .ws_url(&format!("/api/v1/chats/ws?anon_id={ANON}"))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let err = tokio_tungstenite::connect_async(app.ws_url("/api/v1/chats/ws"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test]
async fn socketio_is_served_beside_the_app_and_api_fallbacks() {
    let app = spawn_app().await;
    let res = app.get("/socket.io/?EIO=4&transport=polling").await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.starts_with("0{"), "an engine.io open packet: {body}");
    let open: Value = serde_json::from_str(&body[1..]).unwrap();
    assert!(open["sid"].is_string());
    // With --allowed-origin, the polling transport answers CORS like the API.
    let app = spawn_app_with(|c| c.allowed_origins = vec!["http://localhost:8080".into()]).await;
    let res = app
        .client
        .get(app.url("/socket.io/?EIO=4&transport=polling"))
        .header("origin", "http://localhost:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://localhost:8080"
    );
    // The fallbacks still answer everything else.
    let res = app.get("/api/v1/nothing-here").await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        json::<shared::ApiError>(res).await.code,
        ErrorCode::NotFound
    );
    let res = app.get("/chat").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("<title>Chorus</title>"));
}

#[tokio::test]
async fn the_chat_store_pages_keeps_versions_and_deletes_on_every_database() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let store = app.state.store.clone();
        let mut ids = Vec::new();
        for i in 0..3 {
            let chat = store
                .create_chat("anon:a", &format!("chat {i}"))
                .await
                .unwrap();
            ids.push(chat.id);
        }
        store.create_chat("anon:b", "theirs").await.unwrap();
        // Activity moves a chat to the top.
        store
            .add_chat_message(&ids[0], "m-u", shared::Role::User, "hi")
            .await
            .unwrap();
        let (page, total) = store.chats("anon:a", 0, 2).await.unwrap();
        assert_eq!(total, 3, "{db}");
        assert_eq!(page.len(), 2);
        assert_eq!(page[0].id, ids[0], "{db}");
        let (rest, _) = store.chats("anon:a", 1, 2).await.unwrap();
        assert_eq!(rest.len(), 1, "{db}");

        let reply = store
            .add_chat_message(&ids[0], "m-a", shared::Role::Assistant, "v0")
            .await
            .unwrap();
        assert_eq!(reply.versions, ["v0"]);
        assert_eq!(
            store.add_message_version("m-a", "v1").await.unwrap(),
            1,
            "{db}"
        );
        let stored = store.chat_message("m-a").await.unwrap().unwrap();
        assert_eq!(
            (stored.owner.as_str(), stored.position),
            ("anon:a", 1),
            "{db}"
        );
        assert_eq!(stored.message.versions, ["v0", "v1"], "{db}");
        assert_eq!(stored.message.content, "v1");
        for i in 0..4 {
            store
                .add_chat_message(
                    &ids[0],
                    &format!("m-{i}"),
                    shared::Role::User,
                    &format!("n{i}"),
                )
                .await
                .unwrap();
        }
        // Page 0 is the newest, oldest first within it.
        let (newest, total) = store.chat_messages(&ids[0], 0, 3).await.unwrap();
        assert_eq!(total, 6, "{db}");
        let texts: Vec<&str> = newest.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["n1", "n2", "n3"], "{db}");
        let (older, _) = store.chat_messages(&ids[0], 1, 3).await.unwrap();
        assert_eq!(older[1].versions, ["v0", "v1"], "{db}");
        let history = store
            .chat_history(&ids[0], Some(stored.position), 20)
            .await
            .unwrap();
        assert_eq!(history.len(), 1, "{db}");

        use chorus_server::store::chats::ChatAccess;
        assert_eq!(
            store.chat_access(&ids[0], "anon:a").await.unwrap(),
            ChatAccess::Owned
        );
        assert_eq!(
            store.chat_access(&ids[0], "anon:b").await.unwrap(),
            ChatAccess::Other
        );
        assert_eq!(
            store.chat_access("none", "anon:a").await.unwrap(),
            ChatAccess::Missing
        );
        let renamed = store.rename_chat(&ids[1], "new").await.unwrap().unwrap();
        assert_eq!(renamed.title, "new");
        assert!(store.delete_chat(&ids[0]).await.unwrap(), "{db}");
        assert!(store.chat_message("m-a").await.unwrap().is_none(), "{db}");
        assert_eq!(store.chats("anon:a", 0, 10).await.unwrap().1, 2, "{db}");
        assert!(!store.delete_chat(&ids[0]).await.unwrap());
    }
}

#[tokio::test]
async fn a_stopped_reply_ends_complete_as_stopped_and_keeps_its_text() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(100)).await;
    let res = post(
        &app,
        "/api/v1/messages/send",
        &As::Anon(ANON),
        &json!({"model": "m", "content": "Write a long story"}),
    )
    .await;
    let stream_id = res.headers()["x-stream-id"].to_str().unwrap().to_owned();
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let mut stream = res.bytes_stream().eventsource();
    let mut all = Vec::new();
    // Stop after the first piece of text.
    while !all
        .iter()
        .any(|e| matches!(e, ServerEvent::AssistantDelta { .. }))
    {
        let ev = stream.next().await.unwrap().unwrap();
        all.push(serde_json::from_str::<ServerEvent>(&ev.data).unwrap());
    }
    let res = post(
        &app,
        &format!("/api/streams/{stream_id}/stop"),
        &As::Anon(ANON),
        &json!({}),
    )
    .await;
    assert_eq!(res.status(), 200);
    while let Some(ev) = stream.next().await {
        all.push(serde_json::from_str::<ServerEvent>(&ev.unwrap().data).unwrap());
    }
    let (chat_id, message_id, content) = all
        .iter()
        .find_map(|e| match e {
            ServerEvent::AssistantComplete {
                chat_id,
                message_id,
                content,
                status,
                ..
            } => {
                assert_eq!(*status, FinishStatus::Stopped);
                Some((chat_id.clone(), message_id.clone(), content.clone()))
            }
            _ => None,
        })
        .expect("assistant_complete");
    assert_eq!(deltas(&all), content);
    assert!(matches!(all.last().unwrap(), ServerEvent::UsageInfo(_)));
    let mut ws = manage(&app, &format!("anon_id={ANON}")).await;
    let msgs = messages(&mut ws, &chat_id).await;
    assert_eq!(
        (msgs[1].id.as_str(), msgs[1].content.as_str()),
        (message_id.as_str(), content.as_str())
    );
}

#[tokio::test]
async fn editing_a_message_makes_a_new_version_of_it_and_of_its_reply() {
    let app = spawn_app_with(|c| c.anon_message_limit = 3).await;
    let (chat_id, reply_id, first_reply) = completed(
        &events(
            post(
                &app,
                "/api/v1/messages/send",
                &As::Anon(ANON),
                &json!({"model": "m", "content": "Explain tides"}),
            )
            .await,
        )
        .await,
    );
    completed(
        &events(
            post(
                &app,
                "/api/v1/messages/send",
                &As::Anon(ANON),
                &json!({"chat_id": chat_id, "model": "m", "content": "And the moon?"}),
            )
            .await,
        )
        .await,
    );
    let mut ws = manage(&app, &format!("anon_id={ANON}")).await;
    let before = messages(&mut ws, &chat_id).await;
    assert_eq!(before.len(), 4);
    assert!(before[0].versions.is_empty(), "never edited: no versions");
    let user_id = before[0].id.clone();

    let ev = events(
        post(
            &app,
            &format!("/api/v1/messages/{user_id}/edit"),
            &As::Anon(ANON),
            &json!({"content": "  Explain volcanoes  ", "model": "m", "temperature": 0.5}),
        )
        .await,
    )
    .await;
    let second_reply = regenerated(&ev, &chat_id, &reply_id, 1);
    assert_ne!(second_reply, first_reply);
    assert!(
        second_reply.to_lowercase().contains("volcano"),
        "written from the new text: {second_reply}"
    );
    let after = messages(&mut ws, &chat_id).await;
    assert_eq!(after.len(), 4, "an edit replaces, it does not append");
    assert_eq!(after[0].versions, ["Explain tides", "Explain volcanoes"]);
    assert_eq!(after[0].content, "Explain volcanoes");
    assert_eq!(after[1].versions, [first_reply, second_reply.clone()]);
    assert_eq!(after[2..], before[2..], "later messages stay");

    // Bad input is a typed error before any stream, and changes nothing.
    let edit = |id: String, body: Value| {
        let app = &app;
        async move {
            post(
                app,
                &format!("/api/v1/messages/{id}/edit"),
                &As::Anon(ANON),
                &body,
            )
            .await
        }
    };
    for (id, body, status) in [
        (user_id.clone(), json!({"content": "   "}), 422),
        (user_id.clone(), json!({"content": "x".repeat(10_001)}), 422),
        (user_id.clone(), json!({"model": "m"}), 422),
        (
            user_id.clone(),
            json!({"content": "hi", "temperature": 3}),
            422,
        ),
        (
            user_id.clone(),
            json!({"content": "hi", "temperature": "hot"}),
            422,
        ),
        (
            user_id.clone(),
            json!({"content": "hi", "max_tokens": 0}),
            422,
        ),
        (reply_id.clone(), json!({"content": "hi"}), 422),
        ("nope".to_owned(), json!({"content": "hi"}), 404),
    ] {
        let res = edit(id, body.clone()).await;
        assert_eq!(res.status(), status, "{body}");
        let err: shared::ApiError = res.json().await.unwrap();
        assert!(!err.error.is_empty(), "{body}");
    }
    let res = post(
        &app,
        &format!("/api/v1/messages/{user_id}/edit"),
        &As::Anon("anon-someone-else-1"),
        &json!({"content": "mine now"}),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(messages(&mut ws, &chat_id).await, after);

    // Past the free limit the edit is refused like a send, and nothing is saved.
    let refused = events(edit(user_id.clone(), json!({"content": "Explain glaciers"})).await).await;
    assert!(matches!(
        &refused[0],
        ServerEvent::AssistantError {
            code: ErrorCode::AnonLimitReached,
            ..
        }
    ));
    assert_eq!(messages(&mut ws, &chat_id).await, after);
}

#[tokio::test]
async fn an_edit_keeps_every_text_of_a_message_on_every_database() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let store = app.state.store.clone();
        let chat = store.create_chat("anon:e", "edits").await.unwrap();
        store
            .add_chat_message(&chat.id, "e-u", shared::Role::User, "first")
            .await
            .unwrap();
        store
            .add_chat_message(&chat.id, "e-a", shared::Role::Assistant, "reply")
            .await
            .unwrap();
        let stored = store.chat_message("e-u").await.unwrap().unwrap();
        let next = store
            .message_after(&chat.id, stored.position)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((next.id.as_str(), next.versions.len()), ("e-a", 1), "{db}");
        assert_eq!(
            store
                .message_after(&chat.id, stored.position + 1)
                .await
                .unwrap(),
            None,
            "{db}"
        );
        assert_eq!(store.edit_user_message("e-u", "second").await.unwrap(), 1);
        assert_eq!(store.edit_user_message("e-u", "third").await.unwrap(), 2);
        let (list, _) = store.chat_messages(&chat.id, 0, 10).await.unwrap();
        assert_eq!(list[0].versions, ["first", "second", "third"], "{db}");
        assert_eq!(list[0].content, "third", "{db}");
        let history = store.chat_history(&chat.id, None, 10).await.unwrap();
        assert_eq!(history[0].content, "third", "{db}");
        assert!(
            store.edit_user_message("missing", "x").await.is_err(),
            "{db}"
        );
    }
}

#[tokio::test]
async fn recovery_puts_a_cut_reply_and_a_cut_new_version_in_their_chats_once() {
    use chorus_server::store::chats::ReplyPlace;
    for db in test_databases().await {
        let pool = chorus_server::db::Db::connect(&db).await.unwrap();
        let store = chorus_server::store::Store::new(pool.clone());
        let chat = store.create_chat("anon:cut", "Cut").await.unwrap();
        store
            .add_chat_message(&chat.id, "q1", shared::Role::User, "Hello?")
            .await
            .unwrap();
        store
            .add_chat_message(&chat.id, "a0", shared::Role::Assistant, "First answer")
            .await
            .unwrap();
        store
            .add_chat_message(&chat.id, "q2", shared::Role::User, "And then?")
            .await
            .unwrap();
        // A regenerate of a0 and a new reply to q2, both cut by a crash
        // with some text saved.
        for (stream, message, place, text) in [
            ("s-version", "a0", ReplyPlace::Version, "Second ans"),
            ("s-new", "a1", ReplyPlace::New, "Then the riv"),
        ] {
            store
                .generation_holding(stream, "anon:cut", 0)
                .await
                .unwrap();
            store.queue_generation_text(stream, text);
            store
                .record_chat_reply(stream, &chat.id, message, place)
                .await
                .unwrap();
        }
        // The queued text is written before the next awaited write.
        store
            .generation_holding("s-flush", "anon:cut", 0)
            .await
            .unwrap();
        store
            .generation_finished("s-flush", "completed", "", 0, 0)
            .await
            .unwrap();
        store.recover_interrupted(|_| 0).await.unwrap();
        let (messages, total) = store.chat_messages(&chat.id, 0, 50).await.unwrap();
        assert_eq!(total, 4, "{messages:#?}");
        let a0 = &messages[1];
        assert_eq!(a0.content, "Second ans");
        assert_eq!(a0.versions, ["First answer", "Second ans"]);
        assert!(
            a0.interrupted && a0.status == FinishStatus::Failed,
            "{a0:?}"
        );
        let a1 = &messages[3];
        assert_eq!(
            (a1.id.as_str(), a1.content.as_str()),
            ("a1", "Then the riv")
        );
        assert!(a1.interrupted, "{a1:?}");
        assert!(!messages[0].interrupted && !messages[2].interrupted);
        // Once: a second start-up adds nothing.
        store.recover_interrupted(|_| 0).await.unwrap();
        assert_eq!(
            store.chat_messages(&chat.id, 0, 50).await.unwrap().0,
            messages
        );
        // A regenerate then replaces the mark with its own status.
        store
            .add_message_version("a1", "Then the river ran")
            .await
            .unwrap();
        store
            .set_message_status("a1", FinishStatus::Completed)
            .await
            .unwrap();
        let a1 = store.chat_message("a1").await.unwrap().unwrap().message;
        assert!(!a1.interrupted && a1.status == FinishStatus::Completed);
        pool.close().await;
    }
}
