//! Real providers at the edges, through the real server and every
//! protocol: a cut stream ends as a failure with its partial text saved,
//! operators choose (and price) the models, rate limits carry their wait as
//! a number, a slow model's words are not held back, and a stop keeps every
//! character received. The scripted provider is [`crate::openai`]'s.

use crate::helpers::{TestApp, WsClient, json, read_sse, spawn_app_with};
use crate::openai::{on_model, on_models, scripted};
use chorus_server::auth::identity::Identity;
use chorus_server::engine::GenRequest;
use chorus_server::streams::generation::{EngineEvents, Generation, start};
use serde_json::{Value, json};
use shared::ErrorCode;
use shared::chat::{Message, ServerEvent, ServerMessage};
use shared::models::ModelList;
use shared::stream::FinishStatus;

/// A generation of `chunk_chars`-character chunks for an anonymous
/// visitor, and its stream as the engine's own events (`/api/streams`).
async fn engine_stream(
    app: &TestApp,
    who: &str,
    chunk_chars: usize,
) -> (String, reqwest::Response) {
    let entry = start(
        &app.state.generator,
        &Identity::Anonymous(who.into()),
        Generation {
            request: GenRequest::new("hi"),
            chunk_chars,
            render: EngineEvents,
            ticket: None,
        },
    );
    let res = app
        .client
        .get(app.url(&format!("/api/streams/{}", entry.id)))
        .header("x-anon-id", who)
        .send()
        .await
        .unwrap();
    (entry.id.clone(), res)
}

/// [`engine_stream`] read to its end: the stream's id and its events.
async fn engine_run(app: &TestApp, who: &str, chunk_chars: usize) -> (String, Vec<Value>) {
    let (id, res) = engine_stream(app, who, chunk_chars).await;
    let events = read_sse(res)
        .await
        .into_iter()
        .map(|e| serde_json::from_str(&e.2).unwrap())
        .collect();
    (id, events)
}

/// The server on the scripted model that sends 120 characters at once and
/// then nothing, with chunks a minute apart: all but the first chunk wait.
async fn stalled_app(base: String) -> TestApp {
    spawn_app_with(move |c| {
        c.llm = chorus_server::config::LlmKind::Openai;
        c.openai_base_url = base;
        c.model = "burst-then-hang".into();
        c.chunk_delay_ms = Some(60_000);
    })
    .await
}

fn delta_texts(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "delta")
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn chat_send(app: &TestApp, anon: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/messages/send"))
        .header("x-anon-id", anon)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn chat_events(res: reqwest::Response) -> Vec<ServerEvent> {
    read_sse(res)
        .await
        .into_iter()
        .map(|e| serde_json::from_str(&e.2).unwrap())
        .collect()
}

async fn list_messages(app: &TestApp, anon: &str, chat_id: &str) -> Vec<Message> {
    let (socket, _) =
        tokio_tungstenite::connect_async(app.ws_url(&format!("/api/v1/chats/ws?anon_id={anon}")))
            .await
            .unwrap();
    let mut ws = WsClient { socket };
    ws.send_json(json!({"type": "list_messages", "chat_id": chat_id, "page": 0, "limit": 50}))
        .await;
    let all = ws.read_until(|v| v["type"] == "messages_list").await;
    match serde_json::from_value(all.last().unwrap().clone()).unwrap() {
        ServerMessage::MessagesList { messages, .. } => messages,
        other => panic!("{other:?}"),
    }
}

async fn anon_used(app: &TestApp, anon: &str) -> i64 {
    let usage: Value = json(
        app.client
            .get(app.url("/api/usage"))
            .header("x-anon-id", anon)
            .send()
            .await
            .unwrap(),
    )
    .await;
    usage["used"].as_i64().unwrap()
}

#[tokio::test]
async fn a_cut_stream_fails_with_its_partial_text_saved_on_the_engine_stream_and_the_chat() {
    let (base, _) = scripted().await;
    let app = on_model(&base, "cut").await;

    // The engine's own events (`/api/streams` resume).
    let (id, events) = engine_run(&app, "cut-engine-1", 50).await;
    let error = events.iter().find(|e| e["type"] == "error").unwrap();
    assert_eq!(error["code"], "PROVIDER_INCOMPLETE");
    let done = events.last().unwrap();
    assert_eq!(done["status"], "failed");
    assert_eq!(done["text"], "Half a thought");
    let saved = app.state.store.generation(&id).await.unwrap().unwrap();
    assert_eq!(saved.status, "failed");

    // The hybrid chat: an error, a saved reply marked failed, and the
    // anonymous visitor's free reply given back.
    let anon = "cut-chat-visitor";
    let events = chat_events(chat_send(&app, anon, json!({"content": "Think"})).await).await;
    let chat_id = match &events[0] {
        ServerEvent::AssistantTyping { chat_id, .. } => chat_id.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::AssistantError {
                code: ErrorCode::ProviderIncomplete,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ServerEvent::AssistantComplete { .. })),
        "a cut reply never completes"
    );
    let messages = list_messages(&app, anon, &chat_id).await;
    let reply = messages.last().unwrap();
    assert_eq!(reply.content, "Half a thought");
    assert_eq!(reply.status, FinishStatus::Failed);
    assert_eq!(messages[0].status, FinishStatus::Completed);
    assert_eq!(anon_used(&app, anon).await, 0, "a failed reply is free");
}

#[tokio::test]
async fn a_cut_stream_fails_on_the_persona_support_books_and_role_card_protocols() {
    let (base, _) = scripted().await;
    let app = on_model(&base, "cut").await;

    // The persona protocol: `chat` and `openai_chat` (the Responses API).
    let mut ws = WsClient::connect(&app, "/ws?anon_id=cut-persona-1").await;
    ws.send_json(json!({"type": "chat", "data": {
        "message": "Hi", "persona_id": "tech_enthusiast", "api": "openai",
        "model": "cut", "temperature": 0.7, "max_tokens": 100}}))
        .await;
    let events = ws.read_until(|v| v["type"] == "response").await;
    let error = events.iter().find(|e| e["type"] == "error").unwrap();
    assert_eq!(error["code"], "PROVIDER_INCOMPLETE", "{events:?}");
    let last = events.last().unwrap();
    assert_eq!(last["data"]["finish"], "failed", "{last}");
    ws.send_json(json!({"type": "openai_chat", "data": {"input_text": "Hi", "model": "cut"}}))
        .await;
    let events = ws.read_until(|v| v["type"] == "response").await;
    let error = events.iter().find(|e| e["type"] == "error").unwrap();
    assert_eq!(error["code"], "PROVIDER_INCOMPLETE", "{events:?}");

    // The support protocol.
    let token = app.register("cut_support").await;
    let session: Value = json(
        app.client
            .post(app.url("/api/support/sessions"))
            .bearer_auth(&token)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut ws = WsClient::connect(&app, &format!("/ws?token={token}")).await;
    ws.send_json(json!({"type": "session_message", "session_id": session["id"], "message_text": "I had a long day"}))
        .await;
    let events = ws
        .read_until(|v| v["type"] == "assistant_message_complete")
        .await;
    let error = events.iter().find(|e| e["type"] == "error").unwrap();
    assert_eq!(error["code"], "PROVIDER_INCOMPLETE");

    // BooksWriter.
    let session = format!(
        "session-cut{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut ws = WsClient::open(&app, &format!("/ws/{session}")).await;
    ws.send_json(json!({"type": "message", "content": "A mystery novel", "timestamp": "2025-01-28T10:30:00Z"}))
        .await;
    let events = ws
        .read_until(|v| v["type"] == "error" || v["type"] == "completion")
        .await;
    let last = events.last().unwrap();
    assert_eq!(last["type"], "error", "{events:?}");
    assert_eq!(last["error_code"], "PROVIDER_INCOMPLETE");

    // Role cards: a sentence, not a serde message.
    let (_, res) =
        crate::openai::core_layer_stream(&app, "cut_rolecard", "She sang while she cooked.").await;
    let events = read_sse(res).await;
    let last: Value = serde_json::from_str(&events.last().unwrap().2).unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(
        last["error"],
        "The model provider's answer was cut off before it finished."
    );
}

#[tokio::test]
async fn operators_choose_and_price_the_models_clients_may_pick() {
    let (base, script) = scripted().await;
    let app = spawn_app_with(move |c| {
        c.llm = chorus_server::config::LlmKind::Openai;
        c.openai_base_url = base;
        c.model = "with-usage".into();
        c.allowed_models = vec!["no-usage".into()];
        c.model_prices = vec![("no-usage".into(), 2.0)];
    })
    .await;
    let list: ModelList = json(app.get("/api/models").await).await;
    assert_eq!(list.default, "with-usage");
    let ids: Vec<(String, f64)> = list.models.into_iter().map(|m| (m.id, m.price)).collect();
    assert_eq!(ids, [("with-usage".into(), 1.0), ("no-usage".into(), 2.0)]);

    // The hybrid chat: refused before a stream, nothing charged or sent.
    let anon = "picky-visitor-1";
    let res = chat_send(&app, anon, json!({"model": "o1-pro", "content": "hi"})).await;
    assert_eq!(res.status(), 400);
    let err: shared::ApiError = json(res).await;
    assert_eq!(err.code, ErrorCode::ModelNotAllowed);
    assert_eq!(anon_used(&app, anon).await, 0);

    // The persona protocol.
    let mut ws = WsClient::connect(&app, "/ws?anon_id=picky-visitor-2").await;
    ws.send_json(json!({"type": "chat", "data": {
        "message": "Hi", "persona_id": "tech_enthusiast", "api": "openai",
        "model": "o1-pro", "temperature": 0.7, "max_tokens": 100}}))
        .await;
    let refused = ws.next_json().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "MODEL_NOT_ALLOWED");
    ws.send_json(json!({"type": "openai_chat", "data": {"input_text": "Hi", "model": "o1-pro"}}))
        .await;
    assert_eq!(ws.next_json().await["code"], "MODEL_NOT_ALLOWED");

    // BooksWriter: a model switch and a message's model.
    let session = format!(
        "session-pick{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut ws = WsClient::open(&app, &format!("/ws/{session}")).await;
    ws.send_json(json!({"type": "model_switch", "model": "o1-pro"}))
        .await;
    let refused = ws.next_json().await;
    assert_eq!(refused["error_code"], "MODEL_NOT_ALLOWED", "{refused}");
    ws.send_json(json!({"type": "model_switch", "model": "no-usage"}))
        .await;
    assert_eq!(ws.next_json().await["type"], "model_switched");
    assert!(
        script.calls.lock().unwrap().iter().all(|c| c.0 != "o1-pro"),
        "a refused model never goes upstream"
    );

    // A priced model costs its factor per output token: "Hello there" is
    // 3 tokens without upstream usage, 6 credits at 2.
    let token = app.register("priced_user").await;
    let before: Value = json(app.get_with_token("/api/usage", &token).await).await;
    let res = app
        .client
        .post(app.url("/api/v1/messages/send"))
        .bearer_auth(&token)
        .json(&json!({"model": "no-usage", "content": "hi"}))
        .send()
        .await
        .unwrap();
    chat_events(res).await;
    let after: Value = json(app.get_with_token("/api/usage", &token).await).await;
    assert_eq!(
        after["used"].as_i64().unwrap() - before["used"].as_i64().unwrap(),
        6
    );
}

#[tokio::test]
async fn a_rate_limited_reply_carries_retry_after_as_a_number() {
    let (base, _) = scripted().await;
    let app = on_model(&base, "limited").await;
    let events =
        chat_events(chat_send(&app, "limited-visitor", json!({"content": "hi"})).await).await;
    let error = events
        .iter()
        .find_map(|e| match e {
            ServerEvent::AssistantError {
                error,
                code,
                retry_after,
            } => Some((error.clone(), *code, *retry_after)),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        error,
        (
            "the model provider is rate limiting; try again in 7 seconds".into(),
            ErrorCode::RateLimited,
            Some(7)
        )
    );
    let mut ws = WsClient::connect(&app, "/ws?anon_id=limited-persona").await;
    ws.send_json(json!({"type": "chat", "data": {
        "message": "Hi", "persona_id": "tech_enthusiast", "api": "openai",
        "model": "limited", "temperature": 0.7, "max_tokens": 100}}))
        .await;
    let events = ws.read_until(|v| v["type"] == "response").await;
    let error = events.iter().find(|e| e["type"] == "error").unwrap();
    assert_eq!(error["retry_after"], 7);
}

#[tokio::test]
async fn a_slow_models_words_go_out_as_they_come_not_when_a_chunk_fills() {
    let (base, _) = scripted().await;
    let app = on_model(&base, "trickle").await;
    let (_, events) = engine_run(&app, "trickle-visitor", 50).await;
    // Held for a full 50-character chunk they would be one delta at the end.
    assert_eq!(delta_texts(&events), ["Slow", " and", " steady"]);
    assert_eq!(events.last().unwrap()["status"], "completed");
}

#[tokio::test]
async fn a_stop_saves_every_character_received_even_the_unsent_ones() {
    let (base, _) = scripted().await;
    let app = stalled_app(base).await;
    let who = "burst-visitor";
    let (id, res) = engine_stream(&app, who, 4).await;
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let mut events = res.bytes_stream().eventsource();
    let first: Value = serde_json::from_str(&events.next().await.unwrap().unwrap().data).unwrap();
    assert_eq!(first["text"], "abcd");
    let stopped = app
        .client
        .post(app.url(&format!("/api/streams/{id}/stop")))
        .header("x-anon-id", who)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 200);
    let mut last = Value::Null;
    while let Some(ev) = events.next().await {
        last = serde_json::from_str(&ev.unwrap().data).unwrap();
    }
    let all = "abcdefghij".repeat(12);
    assert_eq!(last["status"], "stopped");
    assert_eq!(last["text"], all.as_str());
    let saved = app.state.store.generation(&id).await.unwrap().unwrap();
    assert_eq!(saved.status, "stopped");
    assert_eq!(saved.text, all);
}

/// A user with one memory and one relation on `app`: their token and the
/// relation's id.
async fn rolecard_user(app: &TestApp, name: &str) -> (String, String) {
    let token = app.register(name).await;
    app.client
        .post(app.url("/api/memories"))
        .bearer_auth(&token)
        .json(&json!({"content": "Tom raced his grandmother to the bakery."}))
        .send()
        .await
        .unwrap();
    let relation: Value = json(
        app.client
            .post(app.url("/api/relations"))
            .bearer_auth(&token)
            .json(&json!({"name": "Tom", "relationship": "grandson", "notes": ""}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    (token, relation["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_role_card_retry_announces_its_restart_and_failed_layers_cost_nothing() {
    let (base, _) = scripted().await;
    let app = on_model(&base, "garbage").await;
    let (token, _) = rolecard_user(&app, "rc_restart").await;
    let before: Value = json(app.get_with_token("/api/usage", &token).await).await;
    let res = app
        .client
        .post(app.url("/api/rolecard/layers/core/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let events: Vec<shared::rolecard::ServerEvent> = read_sse(res)
        .await
        .into_iter()
        .map(|e| serde_json::from_str(&e.2).unwrap())
        .collect();
    // The first attempt's text, then the restart taking all of it back.
    let first_attempt = "Sure! Here is no JSON at all.";
    let restart = events
        .iter()
        .position(|e| matches!(e, shared::rolecard::ServerEvent::DataRestart { .. }))
        .expect("a data_restart event");
    let streamed: String = events[..restart]
        .iter()
        .filter_map(|e| match e {
            shared::rolecard::ServerEvent::Data { content } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed, first_attempt);
    assert!(matches!(
        &events[restart],
        shared::rolecard::ServerEvent::DataRestart { discarded, .. } if *discarded == first_attempt.chars().count()
    ));
    let Some(shared::rolecard::ServerEvent::Error { error }) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(
        error,
        "The model's answer was not a valid layer for the role card. Try again."
    );
    let after: Value = json(app.get_with_token("/api/usage", &token).await).await;
    assert_eq!(
        after["used"], before["used"],
        "failed layers are not charged"
    );
}

#[tokio::test]
async fn a_relation_layer_belongs_to_the_servers_relation_whatever_the_model_wrote() {
    let (base, _) = scripted().await;
    let app = on_model(&base, "relation-layer").await;
    let (token, relation_id) = rolecard_user(&app, "rc_relation").await;
    let res = app
        .client
        .post(app.url(&format!(
            "/api/rolecard/layers/relation/{relation_id}/stream"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let events = read_sse(res).await;
    let last: Value = serde_json::from_str(&events.last().unwrap().2).unwrap();
    assert_eq!(last["type"], "complete", "{last}");
    assert_eq!(
        last["result"]["relationLayer"]["relationId"],
        relation_id.as_str()
    );
    let card: Value = json(app.get_with_token("/api/rolecard", &token).await).await;
    assert_eq!(
        card["rolecard"]["relationLayers"][0]["relationId"],
        relation_id.as_str()
    );
}

#[tokio::test]
async fn a_chat_reply_that_fails_before_any_text_is_kept_as_failed_to_retry() {
    let (base, _) = scripted().await;
    let app = on_models(&base, "broken", &["with-usage"]).await;
    let anon = "broken-visitor";
    let events = chat_events(chat_send(&app, anon, json!({"content": "Hello"})).await).await;
    let (chat_id, message_id) = match &events[0] {
        ServerEvent::AssistantTyping {
            chat_id,
            message_id,
        } => (chat_id.clone(), message_id.clone()),
        other => panic!("{other:?}"),
    };
    assert!(events.iter().any(|e| matches!(
        e,
        ServerEvent::AssistantError {
            code: ErrorCode::ProviderUnavailable,
            ..
        }
    )));
    let messages = list_messages(&app, anon, &chat_id).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[1].content.as_str(), messages[1].status),
        ("", FinishStatus::Failed)
    );
    assert_eq!(anon_used(&app, anon).await, 0);
    // Retry is a regenerate: the new version completes.
    let res = app
        .client
        .post(app.url(&format!("/api/v1/messages/{message_id}/regenerate")))
        .header("x-anon-id", anon)
        .json(&json!({"model": "with-usage"}))
        .send()
        .await
        .unwrap();
    let events = chat_events(res).await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            ServerEvent::AssistantRegenerated {
                status: FinishStatus::Completed,
                ..
            }
        )),
        "{events:?}"
    );
    let messages = list_messages(&app, anon, &chat_id).await;
    assert_eq!(
        (messages[1].content.as_str(), messages[1].status),
        ("Hello world", FinishStatus::Completed)
    );
}

#[tokio::test]
async fn a_stopped_chat_reply_lists_as_stopped_with_every_character_received() {
    let (base, _) = scripted().await;
    let app = stalled_app(base).await;
    let anon = "stopping-visitor";
    let res = chat_send(&app, anon, json!({"content": "Go on"})).await;
    let stream_id = res.headers()["x-stream-id"].to_str().unwrap().to_owned();
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let mut events = res.bytes_stream().eventsource();
    let mut chat_id = String::new();
    // Up to the first delta (the next one would wait a minute).
    while let Some(ev) = events.next().await {
        let ev: ServerEvent = serde_json::from_str(&ev.unwrap().data).unwrap();
        match ev {
            ServerEvent::AssistantTyping { chat_id: c, .. } => chat_id = c,
            ServerEvent::AssistantDelta { .. } => break,
            _ => {}
        }
    }
    let stopped = app
        .client
        .post(app.url(&format!("/api/streams/{stream_id}/stop")))
        .header("x-anon-id", anon)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), 200);
    while events.next().await.is_some() {}
    let messages = list_messages(&app, anon, &chat_id).await;
    let reply = messages.last().unwrap();
    assert_eq!(reply.status, FinishStatus::Stopped);
    assert_eq!(reply.content, "abcdefghij".repeat(12));
}
