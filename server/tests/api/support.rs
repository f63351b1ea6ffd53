//! The support protocol: support sessions, the safety flow, isolation, connection
//! limits and the WebSocket switch.

use crate::helpers::{TestApp, WsClient, json, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use shared::support::{EscalationCount, Intent, RiskLevel, SupportMessage, SupportSession};
use shared::ws::ServerMessage;
use shared::{ApiError, ErrorCode};
use std::time::Duration;

async fn new_session(app: &TestApp, token: &str) -> SupportSession {
    let res = app
        .client
        .post(app.url("/api/support/sessions"))
        .bearer_auth(token)
        .json(&json!({"title": "Tonight"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    json(res).await
}

fn say(session: &str, text: &str) -> Value {
    json!({"type": "session_message", "session_id": session, "message_text": text})
}

async fn conversation(ws: &mut WsClient) -> Vec<Value> {
    ws.read_until(|v| v["type"] == "assistant_message_complete")
        .await
}

#[tokio::test]
async fn an_ordinary_message_gets_a_validating_reply_and_no_escalation() {
    let app = spawn_app().await;
    let token = app.register("calm_user").await;
    let session = new_session(&app, &token).await;
    let mut ws = WsClient::connect(&app, &format!("/ws?token={token}")).await;
    ws.send_json(say(&session.id, "I feel anxious today")).await;
    let events = conversation(&mut ws).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds[..2], ["user_message", "assistant_message_start"]);
    assert!(!kinds.contains(&"safety_escalation"));
    assert_eq!(events[0]["text"], "I feel anxious today");
    let chunks: String = events
        .iter()
        .filter(|e| e["type"] == "assistant_message_chunk")
        .map(|e| e["chunk"].as_str().unwrap())
        .collect();
    let last_chunk = events
        .iter()
        .rev()
        .find(|e| e["type"] == "assistant_message_chunk")
        .unwrap();
    assert_eq!(last_chunk["is_complete"], true);
    let complete: ServerMessage = serde_json::from_value(events.last().unwrap().clone()).unwrap();
    let ServerMessage::AssistantMessageComplete { message, timestamp } = complete else {
        panic!()
    };
    assert_eq!(message.text, chunks);
    assert!(message.text.contains("anxious"), "{}", message.text);
    assert_eq!(
        (message.intent, message.risk_level),
        (Intent::Validate, RiskLevel::Low)
    );
    assert!(timestamp.ends_with('Z'));

    let history: Vec<SupportMessage> = json(
        app.get_with_token(
            &format!("/api/support/sessions/{}/messages", session.id),
            &token,
        )
        .await,
    )
    .await;
    let roles: Vec<(&str, RiskLevel)> = history
        .iter()
        .map(|m| (m.role.as_str(), m.risk_level))
        .collect();
    assert_eq!(
        roles,
        [("user", RiskLevel::Low), ("assistant", RiskLevel::Low)]
    );
    assert_eq!(history[1].text, chunks);
}

#[tokio::test]
async fn a_high_risk_message_gets_the_crisis_resources_before_anything_else() {
    let app = spawn_app().await;
    let token = app.register("at_risk").await;
    let session = new_session(&app, &token).await;
    let mut ws = WsClient::connect(&app, &format!("/ws?token={token}")).await;
    ws.send_json(say(&session.id, "i want to kms tonight"))
        .await;
    let events = conversation(&mut ws).await;
    assert_eq!(events[0]["type"], "user_message");
    assert_eq!(
        events[1]["type"], "safety_escalation",
        "before the reply starts"
    );
    assert_eq!(events[1]["risk_level"], "high");
    assert_eq!(events[1]["emergency_resources"]["crisis_hotline"], "988");
    assert_eq!(events[1]["emergency_resources"]["crisis_text"], "741741");
    assert_eq!(events[2]["type"], "assistant_message_start");
    let done = &events.last().unwrap()["message"];
    assert_eq!(
        (done["intent"].as_str(), done["risk_level"].as_str()),
        (Some("escalate"), Some("high"))
    );
    assert!(done["text"].as_str().unwrap().contains("988"));

    // The conversation goes on.
    ws.send_json(say(&session.id, "thank you, I called them"))
        .await;
    let next = conversation(&mut ws).await;
    assert!(next.iter().all(|e| e["type"] != "safety_escalation"));

    // Recorded, and the session remembers it for the banner.
    let sessions: Vec<SupportSession> =
        json(app.get_with_token("/api/support/sessions", &token).await).await;
    assert_eq!(sessions[0].max_risk, RiskLevel::High);
    // The summary is for admins (tests/api/admin.rs).
    app.state.store.set_admin("at_risk", true).await.unwrap();
    let res = app
        .get_with_token("/api/support/escalations/summary", &token)
        .await;
    let body = res.text().await.unwrap();
    assert!(
        !body.contains("kms"),
        "no message text in the summary: {body}"
    );
    let summary: Vec<EscalationCount> = serde_json::from_str(&body).unwrap();
    assert_eq!(summary.len(), 1);
    assert_eq!(
        (summary[0].risk_level, summary[0].count),
        (RiskLevel::High, 1)
    );
}

#[tokio::test]
async fn another_users_session_is_answered_like_an_unknown_one() {
    let app = spawn_app().await;
    let alice = app.register("alice_s").await;
    let bob = app.register("bob_s").await;
    let session = new_session(&app, &alice).await;
    for id in [session.id.as_str(), "00000000-0000-4000-8000-000000000000"] {
        let res = app
            .get_with_token(&format!("/api/support/sessions/{id}/messages"), &bob)
            .await;
        assert_eq!(res.status(), 404);
        let err: ApiError = json(res).await;
        assert_eq!(
            (err.code, err.error.as_str()),
            (ErrorCode::SessionNotFound, "no such session")
        );
    }
    let mut ws = WsClient::connect(&app, &format!("/ws?token={bob}")).await;
    ws.send_json(say(&session.id, "hello")).await;
    assert_eq!(ws.next_json().await["code"], "SESSION_NOT_FOUND");
    let listed: Vec<SupportSession> =
        json(app.get_with_token("/api/support/sessions", &bob).await).await;
    assert!(listed.is_empty());
    // Nothing was written into Alice's session.
    let history: Vec<SupportMessage> = json(
        app.get_with_token(
            &format!("/api/support/sessions/{}/messages", session.id),
            &alice,
        )
        .await,
    )
    .await;
    assert!(history.is_empty());
    assert_eq!(app.get("/api/support/sessions").await.status(), 401);
}

#[tokio::test]
async fn support_messages_need_a_valid_unexpired_token() {
    let app = spawn_app().await;
    let token = app.register("expiring_s").await;
    let session = new_session(&app, &token).await;
    let mut anon = WsClient::connect(&app, "/ws?anon_id=no-token-here").await;
    anon.send_json(say(&session.id, "hi")).await;
    let e = anon.next_json().await;
    assert_eq!(
        (e["type"].as_str(), e["code"].as_str()),
        (Some("error"), Some("UNAUTHORIZED"))
    );

    let user = app
        .state
        .store
        .user_by_name("expiring_s")
        .await
        .unwrap()
        .unwrap();
    let now = chorus_server::store::now_secs();
    let short = app.state.tokens.issue_at(&user.id, now, now + 1);
    let mut ws = WsClient::connect(&app, &format!("/ws?token={short}")).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    ws.send_json(say(&session.id, "still there?")).await;
    assert_eq!(ws.next_json().await["code"], "UNAUTHORIZED");
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(
        ws.next_json().await["type"],
        "pong",
        "the socket stays open"
    );
}

#[tokio::test]
async fn connections_per_user_are_limited() {
    let app = spawn_app_with(|c| c.max_connections_per_user = 2).await;
    let token = app.register("many_tabs").await;
    let first = WsClient::connect(&app, &format!("/ws?token={token}")).await;
    let _second = WsClient::connect(&app, &format!("/ws?token={token}")).await;
    let refused = tokio_tungstenite::connect_async(app.ws_url(&format!("/ws?token={token}"))).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 429);
            let body: ApiError = serde_json::from_slice(res.body().as_deref().unwrap()).unwrap();
            assert_eq!(body.code, ErrorCode::ConnectionLimit);
        }
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
    // Closing one frees its place.
    drop(first);
    let mut reopened = false;
    for _ in 0..100 {
        if tokio_tungstenite::connect_async(app.ws_url(&format!("/ws?token={token}")))
            .await
            .is_ok()
        {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened);
}

#[tokio::test]
async fn enable_websocket_false_turns_every_socket_off() {
    let app = spawn_app_with(|c| c.enable_websocket = false).await;
    let res = app.get("/ws").await;
    assert_eq!(res.status(), 503);
    assert_eq!(json::<ApiError>(res).await.code, ErrorCode::Unavailable);
    assert_eq!(app.get("/api/health").await.status(), 200, "HTTP stays on");
}

#[tokio::test]
async fn enable_websocket_is_read_from_the_environment_as_the_seed_says() {
    use clap::Parser;
    let cli = chorus_server::config::Cli::try_parse_from(["chorus", "--enable-websocket", "false"])
        .unwrap();
    assert!(!cli.config.enable_websocket);
    let cli = chorus_server::config::Cli::try_parse_from(["chorus"]).unwrap();
    assert!(cli.config.enable_websocket, "on unless turned off");
}

/// Opens a session for a new user and a socket on `/ws`.
async fn talk(app: &TestApp, name: &str) -> (String, SupportSession, WsClient) {
    let token = app.register(name).await;
    let session = new_session(app, &token).await;
    let ws = WsClient::connect(app, &format!("/ws?token={token}")).await;
    (token, session, ws)
}

async fn stored(app: &TestApp, token: &str, session: &str) -> Vec<SupportMessage> {
    json(
        app.get_with_token(&format!("/api/support/sessions/{session}/messages"), token)
            .await,
    )
    .await
}

#[tokio::test]
async fn a_high_risk_message_whose_reply_fails_still_gets_the_resources_and_nothing_empty_is_stored()
 {
    // A provider that answers every request with a 500.
    let (base, _) = crate::openai::scripted().await;
    let app = crate::openai::on_model(&base, "broken").await;
    let (token, session, mut ws) = talk(&app, "fallback_high").await;
    ws.send_json(say(&session.id, "i took all my pills tonight"))
        .await;
    let events = conversation(&mut ws).await;
    assert_eq!(events[1]["type"], "safety_escalation");
    let streamed: String = events
        .iter()
        .filter(|e| e["type"] == "assistant_message_chunk")
        .map(|e| e["chunk"].as_str().unwrap())
        .collect();
    assert!(streamed.contains("988"), "{streamed}");
    assert!(events.iter().any(|e| e["type"] == "error"));
    let done = &events.last().unwrap()["message"];
    assert_eq!(done["text"].as_str().unwrap(), streamed);
    assert_eq!(done["risk_level"], "high");
    let history = stored(&app, &token, &session.id).await;
    let replies: Vec<&SupportMessage> = history
        .iter()
        .filter(|m| m.role == shared::Role::Assistant)
        .collect();
    assert_eq!(replies.len(), 1);
    assert!(replies[0].text.contains("988"));
    assert!(history.iter().all(|m| !m.text.trim().is_empty()));
}

#[tokio::test]
async fn an_ordinary_message_whose_reply_fails_gets_a_kind_fallback_not_an_empty_reply() {
    let (base, _) = crate::openai::scripted().await;
    let app = crate::openai::on_model(&base, "broken").await;
    let (token, session, mut ws) = talk(&app, "fallback_low").await;
    ws.send_json(say(&session.id, "work was long today")).await;
    let events = conversation(&mut ws).await;
    assert!(events.iter().all(|e| e["type"] != "safety_escalation"));
    let done = events.last().unwrap()["message"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(done.contains("couldn't put my reply together"), "{done}");
    let history = stored(&app, &token, &session.id).await;
    assert!(history.iter().all(|m| !m.text.trim().is_empty()));
    assert_eq!(
        history
            .iter()
            .filter(|m| m.role == shared::Role::Assistant)
            .count(),
        1
    );
}

#[tokio::test]
async fn the_escalation_stores_the_cues_that_caused_it_and_never_the_text() {
    let app = spawn_app().await;
    let (token, session, mut ws) = talk(&app, "cues_user").await;
    ws.send_json(say(&session.id, "I want to kill myself tonight"))
        .await;
    conversation(&mut ws).await;
    let history = stored(&app, &token, &session.id).await;
    let cues = app
        .state
        .store
        .escalation_cues(&history[0].id)
        .await
        .unwrap()
        .expect("an escalation for the message");
    assert!(cues.contains("ideation:kill_myself"), "{cues}");
    assert!(cues.contains("timing"), "{cues}");
    assert!(!cues.contains("want to"), "{cues}");
}

#[tokio::test]
async fn risk_that_builds_over_the_session_escalates() {
    let app = spawn_app().await;
    let (_, session, mut ws) = talk(&app, "building_up").await;
    ws.send_json(say(&session.id, "I can't do this anymore"))
        .await;
    let first = conversation(&mut ws).await;
    assert!(first.iter().all(|e| e["type"] != "safety_escalation"));
    assert_eq!(first.last().unwrap()["message"]["risk_level"], "medium");
    ws.send_json(say(&session.id, "I'm so tired of everything"))
        .await;
    let second = conversation(&mut ws).await;
    assert_eq!(second[1]["type"], "safety_escalation");
}

#[tokio::test]
async fn someone_elses_risk_is_medium_with_a_reply_that_helps_the_user_help_them() {
    let app = spawn_app().await;
    let (_, session, mut ws) = talk(&app, "worried_friend").await;
    ws.send_json(say(
        &session.id,
        "my friend says she wants to die and I don't know what to do",
    ))
    .await;
    let events = conversation(&mut ws).await;
    assert!(events.iter().all(|e| e["type"] != "safety_escalation"));
    let done = &events.last().unwrap()["message"];
    assert_eq!(done["risk_level"], "medium");
    let text = done["text"].as_str().unwrap();
    assert!(text.contains("988"), "{text}");
    assert!(text.contains("worried about someone else"), "{text}");
}
