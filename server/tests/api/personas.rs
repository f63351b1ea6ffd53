//! The persona protocol on `/ws`: persona chat, openai_chat, the multi-persona panel,
//! validation, limits, and the persona catalog.

use crate::helpers::{WsClient, json, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use shared::personas::{ChatResponseData, OpenaiResponseData, PanelResponseData, Persona};
use shared::stream::FinishStatus;
use shared::ws::ServerMessage;
use std::collections::HashMap;

fn chat_msg(persona: &str, message: &str) -> Value {
    json!({"type": "chat", "data": {
        "message": message, "persona_id": persona, "api": "openai",
        "model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 1000}})
}

fn multi_msg(personas: &[&str], message: &str) -> Value {
    json!({"type": "multi_chat", "data": {
        "message": message, "persona_ids": personas, "api": "openai",
        "model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 1000}})
}

/// Every message of a stream carries its stream_id and consecutive seqs.
fn assert_sequenced(events: &[Value]) {
    let mut last: HashMap<String, u64> = HashMap::new();
    for e in events {
        let id = e["stream_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no stream_id: {e}"))
            .to_owned();
        let seq = e["seq"].as_u64().unwrap_or_else(|| panic!("no seq: {e}"));
        let prev = last.insert(id, seq).unwrap_or(0);
        assert_eq!(seq, prev + 1, "{e}");
    }
}

#[tokio::test]
async fn the_catalog_has_the_seeds_personas_and_more() {
    let app = spawn_app().await;
    let personas: Vec<Persona> = json(app.get("/api/personas").await).await;
    let ids: Vec<&str> = personas.iter().map(|p| p.id.as_str()).collect();
    for id in ["tech_enthusiast", "creative_writer", "data_scientist"] {
        assert!(ids.contains(&id), "{id}");
    }
    assert!(personas.len() >= 6);
    assert!(
        personas
            .iter()
            .all(|p| !p.avatar.is_empty() && !p.style.is_empty())
    );
}

#[tokio::test]
async fn chat_streams_status_then_30_character_chunks_then_the_response() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, "/ws?anon_id=persona-test-1").await;
    ws.send_json(chat_msg(
        "tech_enthusiast",
        "What's your favorite programming language?",
    ))
    .await;
    let events = ws.read_until(|v| v["type"] == "response").await;
    assert_sequenced(&events);
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e["type"].as_str().unwrap() {
            "status" => format!("status:{}", e["status"].as_str().unwrap()),
            t => t.to_owned(),
        })
        .collect();
    assert_eq!(
        &kinds[..3],
        ["status:starting", "status:processing", "status:streaming"]
    );
    assert_eq!(&kinds[kinds.len() - 2..], ["status:completed", "response"]);
    let chunks: Vec<&Value> = events.iter().filter(|e| e["type"] == "chunk").collect();
    let (last, body) = chunks.split_last().unwrap();
    assert_eq!(last["is_final"], true);
    assert_eq!(last["chunk"], "");
    let texts: Vec<&str> = body.iter().map(|c| c["chunk"].as_str().unwrap()).collect();
    for t in &texts[..texts.len() - 1] {
        assert_eq!(t.chars().count(), 30, "{t:?}");
    }
    assert!(
        body.iter()
            .all(|c| c["is_final"] == false && c["persona_id"] == "tech_enthusiast")
    );
    let response = events.last().unwrap();
    assert_eq!(response["status"], "completed");
    let data: ChatResponseData = serde_json::from_value(response["data"].clone()).unwrap();
    assert_eq!(data.persona_id, "tech_enthusiast");
    assert_eq!(data.response, texts.concat());
    assert_eq!(data.finish, FinishStatus::Completed);
    // Every message decodes into the shared type.
    for e in &events {
        serde_json::from_value::<ServerMessage>(e.clone()).unwrap();
    }
}

#[tokio::test]
async fn openai_chat_streams_50_character_chunks_and_continues_by_response_id() {
    let app = spawn_app().await;
    // The seed's browser example connects with no identity at all.
    let mut ws = WsClient::connect(&app, "/ws").await;
    ws.send_json(json!({"type": "openai_chat", "data": {"input_text": "Hello, world!", "model": "gpt-4o-mini"}}))
        .await;
    let events = ws.read_until(|v| v["type"] == "response").await;
    assert_sequenced(&events);
    assert_eq!(events[0]["status"], "starting");
    assert_eq!(events[0]["message"], "Initializing...");
    assert_eq!(events[1]["status"], "processing");
    assert_eq!(events[1]["message"], "Sending request...");
    let chunks: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "chunk" && e["is_final"] == false)
        .map(|e| e["chunk"].as_str().unwrap())
        .collect();
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c.chars().count() == 50)
    );
    let first: OpenaiResponseData =
        serde_json::from_value(events.last().unwrap()["data"].clone()).unwrap();
    assert_eq!(first.output_text, chunks.concat());
    assert!(!first.response_id.is_empty());

    let follow_up = |prev: Option<&str>| json!({"type": "openai_chat", "data": {"input_text": "And in one word?", "previous_response_id": prev}});
    ws.send_json(follow_up(Some(&first.response_id))).await;
    let continued = ws.read_until(|v| v["type"] == "response").await;
    let continued: OpenaiResponseData =
        serde_json::from_value(continued.last().unwrap()["data"].clone()).unwrap();
    ws.send_json(follow_up(None)).await;
    let fresh = ws.read_until(|v| v["type"] == "response").await;
    let fresh: OpenaiResponseData =
        serde_json::from_value(fresh.last().unwrap()["data"].clone()).unwrap();
    assert_ne!(
        continued.output_text, fresh.output_text,
        "the context changes the reply"
    );
    assert_ne!(continued.response_id, first.response_id);

    ws.send_json(follow_up(Some("resp_unknown"))).await;
    let err = ws.next_json().await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("error"), Some("NOT_FOUND"))
    );
}

#[tokio::test]
async fn multi_chat_runs_personas_at_once_and_answers_in_request_order() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(10)).await;
    let mut ws = WsClient::connect(&app, "/ws?anon_id=panel-test-1").await;
    let personas = ["tech_enthusiast", "creative_writer", "data_scientist"];
    ws.send_json(multi_msg(&personas, "What do you think about AI?"))
        .await;
    let events = ws
        .read_until(|v| v["type"] == "response" && v["data"]["responses"].is_array())
        .await;
    assert_sequenced(&events);
    let first = &events[0];
    assert_eq!(
        (first["type"].as_str(), first["status"].as_str()),
        (Some("status"), Some("starting"))
    );
    let streams = first["persona_streams"].as_array().unwrap();
    assert_eq!(streams.len(), 3);
    // Chunks carry their persona, and the personas interleave.
    let order: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "chunk" && e["is_final"] == false)
        .map(|e| e["persona_id"].as_str().unwrap())
        .collect();
    let switches = order.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        switches > 3,
        "chunks interleave, not one persona after another: {order:?}"
    );
    let per_persona: Vec<Value> = events
        .iter()
        .filter(|e| e["type"] == "persona_response")
        .cloned()
        .collect();
    assert_eq!(per_persona.len(), 3);
    let combined: PanelResponseData =
        serde_json::from_value(events.last().unwrap()["data"].clone()).unwrap();
    let ids: Vec<&str> = combined
        .responses
        .iter()
        .map(|r| r.persona_id.as_str())
        .collect();
    assert_eq!(ids, personas);
    for r in &combined.responses {
        let streamed: String = events
            .iter()
            .filter(|e| e["type"] == "chunk" && e["persona_id"] == r.persona_id.as_str())
            .map(|e| e["chunk"].as_str().unwrap())
            .collect();
        assert_eq!(r.response, streamed);
        assert_eq!(r.finish, FinishStatus::Completed);
    }
}

#[tokio::test]
async fn stopping_one_persona_leaves_the_others_running() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(60)).await;
    let mut ws = WsClient::connect(&app, "/ws?anon_id=panel-test-2").await;
    ws.send_json(multi_msg(
        &["tech_enthusiast", "chef", "historian"],
        "How should I spend a rainy Sunday?",
    ))
    .await;
    let first = ws.next_json().await;
    let chef = first["persona_streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["persona_id"] == "chef")
        .unwrap()["stream_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Wait for the chef to start talking, then stop only the chef.
    ws.read_until(|v| v["type"] == "chunk" && v["persona_id"] == "chef")
        .await;
    ws.send_json(json!({"type": "stop", "data": {"stream_id": chef}}))
        .await;
    let events = ws
        .read_until(|v| v["type"] == "response" && v["data"]["responses"].is_array())
        .await;
    let combined: PanelResponseData =
        serde_json::from_value(events.last().unwrap()["data"].clone()).unwrap();
    let finish: Vec<(String, FinishStatus)> = combined
        .responses
        .iter()
        .map(|r| (r.persona_id.clone(), r.finish))
        .collect();
    assert_eq!(
        finish,
        [
            ("tech_enthusiast".to_owned(), FinishStatus::Completed),
            ("chef".to_owned(), FinishStatus::Stopped),
            ("historian".to_owned(), FinishStatus::Completed),
        ]
    );
    let chef_text = &combined.responses[1].response;
    let others = &combined.responses[0].response;
    assert!(chef_text.len() < others.len(), "the chef was cut short");
}

#[tokio::test]
async fn bad_messages_get_typed_errors_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, "/ws?anon_id=validation-1").await;
    let nine: Vec<&str> = vec!["tech_enthusiast"; 9];
    let cases = [
        (chat_msg("tech_enthusiast", ""), "VALIDATION_ERROR"),
        (
            chat_msg("tech_enthusiast", &"x".repeat(10_001)),
            "VALIDATION_ERROR",
        ),
        (multi_msg(&nine, "hi"), "VALIDATION_ERROR"),
        (multi_msg(&[], "hi"), "VALIDATION_ERROR"),
        (
            json!({"type":"chat","data":{"message":"hi","persona_id":"tech_enthusiast","temperature":3}}),
            "VALIDATION_ERROR",
        ),
        (
            json!({"type":"chat","data":{"message":"hi","persona_id":"tech_enthusiast","max_tokens":0}}),
            "VALIDATION_ERROR",
        ),
        (
            json!({"type":"chat","data":{"persona_id":"tech_enthusiast"}}),
            "VALIDATION_ERROR",
        ),
        (
            json!({"type":"chat","data":{"message":"hi","persona_id":"nobody_at_all"}}),
            "UNKNOWN_PERSONA",
        ),
        (multi_msg(&["chef", "ghost"], "hi"), "UNKNOWN_PERSONA"),
        (json!({"type":"sing","data":{}}), "UNKNOWN_TYPE"),
    ];
    for (msg, code) in cases {
        ws.send_json(msg.clone()).await;
        let e = ws.next_json().await;
        assert_eq!(
            (e["type"].as_str(), e["code"].as_str()),
            (Some("error"), Some(code)),
            "{msg}"
        );
        assert_eq!(e["status"], "error");
        if code == "UNKNOWN_PERSONA" {
            let message = e["message"].as_str().unwrap();
            assert!(
                message.contains("nobody_at_all") || message.contains("\"ghost\""),
                "names the id: {e}"
            );
        }
    }
    ws.send_json(json!({"type":"chat","data":{"message":"hi","persona_id":"ghost_writer"}}))
        .await;
    assert!(
        ws.next_json().await["message"]
            .as_str()
            .unwrap()
            .contains("ghost_writer")
    );
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(ws.next_json().await["type"], "pong");
}

#[tokio::test]
async fn a_connection_that_sends_too_fast_is_rate_limited_and_stays_open() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, "/ws?anon_id=fast-sender-1").await;
    let mut codes = Vec::new();
    for _ in 0..chorus_server::ws::RATE_BURST + 5 {
        ws.send_json(json!({"type": "stop", "data": {"stream_id": "st_none"}}))
            .await;
        codes.push(ws.next_json().await["code"].as_str().unwrap().to_owned());
    }
    let limited = codes.iter().filter(|c| *c == "RATE_LIMITED").count();
    assert!(limited >= 4, "{codes:?}");
    assert_eq!(codes[0], "STREAM_EXPIRED");
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(ws.next_json().await["type"], "pong");
}

#[tokio::test]
async fn anonymous_replies_count_against_the_free_limit() {
    let app = spawn_app_with(|c| c.anon_message_limit = 2).await;
    let mut ws = WsClient::connect(&app, "/ws?anon_id=limited-visitor").await;
    ws.send_json(multi_msg(&["chef", "historian", "philosopher"], "Bread?"))
        .await;
    let events = ws
        .read_until(|v| v["type"] == "response" && v["data"]["responses"].is_array())
        .await;
    let refused: Vec<&Value> = events.iter().filter(|e| e["type"] == "error").collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["code"], "ANON_LIMIT_REACHED");
    assert_eq!(refused[0]["persona_id"], "philosopher");
    ws.send_json(chat_msg("chef", "More bread?")).await;
    let e = ws.next_json().await;
    assert_eq!(e["code"], "ANON_LIMIT_REACHED");
    let usage: shared::auth::Usage =
        json(app.get("/api/usage?anon_id=limited-visitor").await).await;
    assert_eq!((usage.used, usage.remaining), (2, 0));
}

#[tokio::test]
async fn a_new_account_asking_three_or_six_personas_gets_every_answer() {
    let app = spawn_app().await;
    for (n, user) in [(3, "panel_credits_3"), (6, "panel_credits_6")] {
        let token = app.register(user).await;
        let mut ws = WsClient::connect(&app, &format!("/ws?token={token}")).await;
        let personas = &[
            "tech_enthusiast",
            "creative_writer",
            "data_scientist",
            "philosopher",
            "chef",
            "historian",
        ][..n];
        ws.send_json(multi_msg(personas, "What makes a good morning?"))
            .await;
        let events = ws
            .read_until(|v| v["type"] == "response" && v["data"]["responses"].is_array())
            .await;
        let errors: Vec<&Value> = events.iter().filter(|e| e["type"] == "error").collect();
        assert!(errors.is_empty(), "{n} personas: {errors:?}");
        let combined: PanelResponseData =
            serde_json::from_value(events.last().unwrap()["data"].clone()).unwrap();
        assert_eq!(combined.responses.len(), n);
        for r in &combined.responses {
            assert_eq!(r.finish, FinishStatus::Completed, "{n}: {}", r.persona_id);
            assert!(!r.response.is_empty(), "{n}: {} answered", r.persona_id);
        }
    }
}

#[tokio::test]
async fn history_turns_of_other_roles_are_left_out_not_refused() {
    let app = spawn_app().await;
    let mut ws = WsClient::connect(&app, "/ws?anon_id=history-roles-1").await;
    let mut msg = chat_msg("chef", "What should I cook tonight?");
    msg["data"]["history"] = json!([
        {"role": "system", "content": "be brief"},
        {"role": "tool", "content": "{}"},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi!"},
    ]);
    ws.send_json(msg).await;
    let events = ws.read_until(|v| v["type"] == "response").await;
    assert!(events.iter().all(|e| e["type"] != "error"), "{events:?}");
    let data: ChatResponseData =
        serde_json::from_value(events.last().unwrap()["data"].clone()).unwrap();
    assert!(!data.response.is_empty());
}

#[tokio::test]
async fn stopping_a_panels_stream_stops_every_persona_of_the_panel() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(200)).await;
    let mut ws = WsClient::connect(&app, "/ws?anon_id=panel-stop-1").await;
    let personas = ["tech_enthusiast", "creative_writer", "data_scientist"];
    ws.send_json(multi_msg(&personas, "Tell me a long story"))
        .await;
    let first = ws.next_json().await;
    assert_eq!(first["status"], "starting", "{first}");
    let panel = first["stream_id"].as_str().unwrap().to_owned();
    ws.send_json(json!({"type": "stop", "data": {"stream_id": panel}}))
        .await;
    let events = ws
        .read_until(|v| v["type"] == "response" && v["data"]["responses"].is_array())
        .await;
    let combined: PanelResponseData =
        serde_json::from_value(events.last().unwrap()["data"].clone()).unwrap();
    for r in &combined.responses {
        assert_eq!(r.finish, FinishStatus::Stopped, "{}", r.persona_id);
    }
}
