//! The role-card protocol: memories and relations, the four role-card streams with the
//! seed's exact event shapes, the saved card, and the export.

use crate::helpers::{TestApp, json, read_sse, spawn_app};
use serde_json::{Value, json};
use shared::rolecard::{Memory, Relation, SavedRoleCard, ServerEvent};
use shared::{ApiError, ErrorCode};

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn setup(app: &TestApp, name: &str) -> (String, Relation) {
    let token = app.register(name).await;
    for m in [
        "Grandma Rosa baked bread every Sunday for the whole family.",
        "She taught me to play piano and always said \"practice makes progress\".",
        "She would help any neighbour who asked, and she loved her garden roses.",
        "Rosa and my brother Tom used to race to the bakery every morning!",
    ] {
        let res = post(app, "/api/memories", &token, json!({"content": m})).await;
        assert_eq!(res.status(), 201);
    }
    let res = post(
        app,
        "/api/relations",
        &token,
        json!({"name": "Tom", "relationship": "grandson", "notes": "her favourite"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    (token, json(res).await)
}

/// Writes `n` more relations for `username` straight to the store (past
/// what the API lets one account keep).
async fn add_relations(app: &TestApp, username: &str, n: usize, notes: &str) {
    let store = &app.state.store;
    let user = store.user_by_name(username).await.unwrap().unwrap();
    for i in 0..n {
        store
            .add_relation(&user.id, &format!("Friend {i}"), "friend", notes)
            .await
            .unwrap();
    }
}

/// The stream's events, checking that none has an SSE name and ids are seqs.
async fn events(res: reqwest::Response) -> Vec<ServerEvent> {
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-stream-id"));
    let raw = read_sse(res).await;
    raw.iter()
        .enumerate()
        .map(|(i, (name, id, data))| {
            assert_eq!(
                name, "message",
                "no event: names, the seed listens on onmessage"
            );
            assert_eq!(id, &(i + 1).to_string());
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(v["seq"], (i + 1) as u64);
            serde_json::from_value(v).unwrap()
        })
        .collect()
}

fn progress_of(events: &[ServerEvent]) -> Vec<(String, u8)> {
    events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Progress {
                stage, progress, ..
            } => Some((stage.clone(), *progress)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn memories_and_relations_belong_to_their_owner() {
    let app = spawn_app().await;
    let (alice, relation) = setup(&app, "alice_rc").await;
    let bob = app.register("bob_rc").await;
    let mine: Vec<Memory> = json(app.get_with_token("/api/memories", &alice).await).await;
    assert_eq!(mine.len(), 4);
    let theirs: Vec<Memory> = json(app.get_with_token("/api/memories", &bob).await).await;
    assert!(theirs.is_empty());
    for (content, ok) in [
        ("", false),
        (&"x".repeat(4001) as &str, false),
        (&"x".repeat(4000) as &str, true),
    ] {
        let res = post(&app, "/api/memories", &bob, json!({"content": content})).await;
        assert_eq!(res.status().is_success(), ok);
    }
    let res = app
        .client
        .delete(app.url(&format!("/api/relations/{}", relation.id)))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status().as_u16(), json::<ApiError>(res).await.code),
        (403, ErrorCode::Forbidden)
    );
    let res = app
        .client
        .delete(app.url("/api/memories/nope"))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .client
        .delete(app.url(&format!("/api/memories/{}", mine[0].id)))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.get("/api/memories").await.status(), 401);
}

#[tokio::test]
async fn generate_streams_the_seeds_events_in_order_and_saves_the_card() {
    let app = spawn_app().await;
    let (token, relation) = setup(&app, "rc_full").await;
    let res = post(
        &app,
        "/api/rolecard/generate/stream",
        &token,
        json!({"options": {"includeCore": true, "includeRelations": true}}),
    )
    .await;
    let evs = events(res).await;
    let progress = progress_of(&evs);
    let stages: Vec<&str> = progress.iter().map(|(s, _)| s.as_str()).collect();
    let first = |s: &str| stages.iter().position(|x| *x == s).unwrap();
    assert!(first("analyzing_memories") < first("generating_core_layer"));
    assert!(first("generating_core_layer") < first("generating_relation_layers"));
    assert!(
        progress.windows(2).all(|w| w[0].1 <= w[1].1),
        "never backwards: {progress:?}"
    );
    assert_eq!(progress.last().unwrap().1, 100);
    let complete_at = evs
        .iter()
        .position(|e| matches!(e, ServerEvent::Complete { .. }))
        .unwrap();
    assert_eq!(complete_at, evs.len() - 1);
    let last_progress = evs
        .iter()
        .rposition(|e| matches!(e, ServerEvent::Progress { .. }))
        .unwrap();
    assert!(last_progress < complete_at, "100 before complete");
    assert!(evs.iter().any(|e| matches!(e, ServerEvent::Data { .. })));
    let ServerEvent::Complete { result } = &evs[complete_at] else {
        unreachable!()
    };
    // As on the wire.
    let result = serde_json::to_value(result).unwrap();
    let core = &result["rolecard"]["coreLayer"];
    assert!(
        core["identitySummary"]
            .as_str()
            .unwrap()
            .starts_with("Someone")
    );
    let traits = core["personalityTraits"].as_array().unwrap();
    assert!(
        traits
            .iter()
            .any(|t| t["name"] == "caring"
                && t["evidence"][0].as_str().unwrap().contains("neighbour"))
    );
    assert!(
        core["interests"]
            .as_array()
            .unwrap()
            .contains(&json!("cooking"))
    );
    let layers = result["rolecard"]["relationLayers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0]["relationId"], relation.id.as_str());
    assert!(
        layers[0]["sharedHistory"]
            .as_str()
            .unwrap()
            .contains("bakery")
    );

    let saved: SavedRoleCard = json(app.get_with_token("/api/rolecard", &token).await).await;
    assert_eq!(
        serde_json::to_value(&saved.rolecard).unwrap(),
        result["rolecard"]
    );
    let spent = app
        .state
        .store
        .user_by_name("rc_full")
        .await
        .unwrap()
        .unwrap()
        .credits;
    assert!(spent < 2000, "generation counts against credits");
}

#[tokio::test]
async fn eventsource_clients_use_get_with_the_token_in_the_query() {
    let app = spawn_app().await;
    let (token, _) = setup(&app, "rc_get").await;
    let res = app
        .get(&format!(
            "/api/rolecard/generate/stream?token={token}&includeCore=true&includeRelations=false"
        ))
        .await;
    let evs = events(res).await;
    let Some(ServerEvent::Complete { result }) = evs.last() else {
        panic!("{evs:?}")
    };
    // As on the wire.
    let result = serde_json::to_value(result).unwrap();
    assert!(
        result["rolecard"]["relationLayers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(result["rolecard"]["coreLayer"].is_object());
    assert_eq!(app.get("/api/rolecard/generate/stream").await.status(), 401);
    assert_eq!(
        app.get("/api/rolecard/generate/stream?token=bad")
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn single_layers_and_the_batch_follow_the_seed() {
    let app = spawn_app().await;
    let (token, relation) = setup(&app, "rc_layers").await;

    let core =
        events(post(&app, "/api/rolecard/layers/core/stream", &token, json!({})).await).await;
    let p = progress_of(&core);
    assert_eq!(p.first().unwrap(), &("starting".to_owned(), 0));
    assert!(p.contains(&("analyzing".to_owned(), 50)));
    let Some(ServerEvent::Complete { result }) = core.last() else {
        panic!()
    };
    // As on the wire.
    let result = serde_json::to_value(result).unwrap();
    assert!(result["coreLayer"]["identitySummary"].is_string());

    // The batch now has only the relation left.
    let batch =
        events(post(&app, "/api/rolecard/layers/batch/stream", &token, json!({})).await).await;
    assert_eq!(
        batch[0],
        ServerEvent::BatchStart {
            total: 1,
            pending: vec![relation.id.clone()]
        }
    );
    assert!(batch.contains(&ServerEvent::LayerProgress {
        layer: relation.id.clone(),
        progress: 100
    }));
    assert!(batch.contains(&ServerEvent::LayerComplete {
        layer: relation.id.clone()
    }));
    let Some(ServerEvent::BatchComplete { result }) = batch.last() else {
        panic!()
    };
    // As on the wire.
    let result = serde_json::to_value(result).unwrap();
    assert_eq!(
        result["rolecard"]["relationLayers"][0]["relationId"],
        relation.id.as_str()
    );

    let one = events(
        post(
            &app,
            &format!("/api/rolecard/layers/relation/{}/stream", relation.id),
            &token,
            json!({}),
        )
        .await,
    )
    .await;
    let Some(ServerEvent::Complete { result }) = one.last() else {
        panic!()
    };
    // As on the wire.
    let result = serde_json::to_value(result).unwrap();
    assert_eq!(result["relationLayer"]["name"], "Tom");

    let other = app.register("rc_other").await;
    let res = post(
        &app,
        &format!("/api/rolecard/layers/relation/{}/stream", relation.id),
        &other,
        json!({}),
    )
    .await;
    assert_eq!(
        (res.status().as_u16(), json::<ApiError>(res).await.code),
        (403, ErrorCode::Forbidden)
    );
    let res = post(
        &app,
        "/api/rolecard/layers/relation/unknown/stream",
        &token,
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn with_no_memories_the_stream_explains_what_to_add() {
    let app = spawn_app().await;
    let token = app.register("rc_empty").await;
    let evs = events(post(&app, "/api/rolecard/generate/stream", &token, json!({})).await).await;
    let Some(ServerEvent::Error { error }) = evs.last() else {
        panic!("{evs:?}")
    };
    assert!(error.contains("Add at least one memory"), "{error}");
    let res = app.get_with_token("/api/rolecard", &token).await;
    assert_eq!(res.status(), 204, "no card yet");
}

#[tokio::test]
async fn different_memories_give_different_cards() {
    let app = spawn_app().await;
    let (a, _) = setup(&app, "rc_a").await;
    let b = app.register("rc_b").await;
    post(&app, "/api/memories", &b, json!({"content": "He climbed mountains and travelled abroad every summer, always competing to win."})).await;
    let ca = events(post(&app, "/api/rolecard/generate/stream", &a, json!({})).await).await;
    let cb = events(post(&app, "/api/rolecard/generate/stream", &b, json!({})).await).await;
    assert_ne!(ca.last(), cb.last());
}

#[tokio::test]
async fn the_card_exports_as_character_card_v2_and_v3() {
    let app = spawn_app().await;
    let (token, _) = setup(&app, "rc_export").await;
    assert_eq!(
        app.get_with_token("/api/rolecard/export?format=ccv2", &token)
            .await
            .status(),
        404
    );
    events(post(&app, "/api/rolecard/generate/stream", &token, json!({})).await).await;
    let res = app
        .get_with_token("/api/rolecard/export?format=ccv2&name=Rosa", &token)
        .await;
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("rolecard.ccv2.json")
    );
    let v2: Value = json(res).await;
    assert_eq!(
        (v2["spec"].as_str(), v2["spec_version"].as_str()),
        (Some("chara_card_v2"), Some("2.0"))
    );
    for key in [
        "name",
        "description",
        "personality",
        "scenario",
        "first_mes",
        "mes_example",
        "creator_notes",
        "system_prompt",
        "post_history_instructions",
        "alternate_greetings",
        "tags",
        "creator",
        "character_version",
        "extensions",
    ] {
        assert!(v2["data"].get(key).is_some(), "{key}");
    }
    assert_eq!(v2["data"]["name"], "Rosa");
    let v3: Value = json(
        app.get_with_token("/api/rolecard/export?format=ccv3", &token)
            .await,
    )
    .await;
    assert_eq!(
        (v3["spec"].as_str(), v3["spec_version"].as_str()),
        (Some("chara_card_v3"), Some("3.0"))
    );
    for key in ["group_only_greetings", "creation_date", "modification_date"] {
        assert!(v3["data"].get(key).is_some(), "{key}");
    }
    assert_eq!(
        app.get_with_token("/api/rolecard/export?format=pdf", &token)
            .await
            .status(),
        422
    );
}

#[tokio::test]
async fn the_seeds_python_client_works_unchanged() {
    let app = spawn_app().await;
    let (token, _) = setup(&app, "rc_python").await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/seed_clients/rolecard_stream.py"
    );
    let base = app.url("");
    let out = tokio::process::Command::new("python3")
        .args([script, base.trim_end_matches('/'), &token])
        .output()
        .await
        .expect("python3 (make test installs it with requests)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The seed's handler reads data['message'] on every progress event.
    assert!(
        stdout.contains("Progress: 25% - Analyzed 4 memories"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Progress: 100% - Role card ready"),
        "{stdout}"
    );
    assert!(stdout.contains("Generation complete!"), "{stdout}");
    assert!(stdout.contains("'coreLayer'"), "{stdout}");
}

#[tokio::test]
async fn a_generated_card_joins_the_personas_and_can_answer() {
    let app = spawn_app().await;
    let (token, _) = setup(&app, "rc_persona").await;
    let ids = |v: Vec<shared::personas::Persona>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let before = ids(json(app.get_with_token("/api/personas", &token).await).await);
    assert!(!before.contains(&"rolecard".to_owned()));
    let mut ws = crate::helpers::WsClient::connect(&app, &format!("/ws?token={token}")).await;
    let ask = json!({"type": "chat", "data": {"message": "What did you bake?", "persona_id": "rolecard"}});
    ws.send_json(ask.clone()).await;
    assert_eq!(ws.next_json().await["code"], "UNKNOWN_PERSONA");

    events(post(&app, "/api/rolecard/generate/stream", &token, json!({})).await).await;
    let personas: Vec<shared::personas::Persona> =
        json(app.get_with_token("/api/personas", &token).await).await;
    let mine = personas.iter().find(|p| p.id == "rolecard").unwrap();
    assert_eq!(mine.kind, "rolecard");
    assert!(mine.description.starts_with("Someone who is"));
    ws.send_json(ask).await;
    let events = ws.read_until(|v| v["type"] == "response").await;
    let reply = events.last().unwrap()["data"]["response"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reply.contains("role card"), "{reply}");
    // Others do not see it.
    let other = app.register("rc_persona_other").await;
    let theirs = ids(json(app.get_with_token("/api/personas", &other).await).await);
    assert!(!theirs.contains(&"rolecard".to_owned()));
}

#[tokio::test]
async fn a_card_is_paid_for_by_the_runner_and_a_refusal_costs_nothing() {
    let app = spawn_app().await;
    let usage = |token: String| {
        let app = &app;
        async move {
            json::<shared::auth::Usage>(app.get_with_token("/api/usage", &token).await)
                .await
                .remaining
        }
    };
    let empty = app.register("rc_pay_empty").await;
    let before = usage(empty.clone()).await;
    events(post(&app, "/api/rolecard/generate/stream", &empty, json!({})).await).await;
    assert_eq!(
        usage(empty).await,
        before,
        "nothing to generate from: no charge"
    );

    let (token, _) = setup(&app, "rc_pay").await;
    let before = usage(token.clone()).await;
    let evs = events(post(&app, "/api/rolecard/generate/stream", &token, json!({})).await).await;
    assert!(
        matches!(evs.last(), Some(ServerEvent::Complete { .. })),
        "{evs:?}"
    );
    let text: String = evs
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Data { content } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    let spent = before - usage(token).await;
    assert!(spent > 0, "the card's text is paid for");
    assert_eq!(
        spent,
        text.chars().count().div_ceil(4) as i64,
        "its tokens, settled once: {text}"
    );
}

#[tokio::test]
async fn a_role_card_stream_keeps_to_the_per_stream_byte_bound() {
    use chorus_server::streams::registry::MAX_STREAM_BYTES;
    let app = spawn_app().await;
    let (token, _) = setup(&app, "many_friends").await;
    // More relations than the API lets one account keep: written directly.
    add_relations(&app, "many_friends", 5000, "met at school").await;
    let res = post(&app, "/api/rolecard/generate/stream", &token, json!({})).await;
    assert_eq!(res.status(), 200);
    let raw = read_sse(res).await;
    let bytes: usize = raw.iter().map(|(_, _, data)| data.len()).sum();
    assert!(bytes <= MAX_STREAM_BYTES, "{bytes} bytes streamed");
    let last: ServerEvent = serde_json::from_str(&raw.last().unwrap().2).unwrap();
    match last {
        ServerEvent::Error { error } => assert!(error.contains("too large"), "{error}"),
        other => panic!(
            "after {bytes} bytes the stream ended with {:.200}",
            format!("{other:?}")
        ),
    }
}

#[tokio::test]
async fn one_account_keeps_a_bounded_number_of_memories_and_relations() {
    let app = spawn_app().await;
    let token = app.register("hoarder").await;
    let user = app
        .state
        .store
        .user_by_name("hoarder")
        .await
        .unwrap()
        .unwrap();
    // Up to one below each cap, directly; the API takes the last one.
    for i in 0..499 {
        app.state
            .store
            .add_memory(&user.id, &format!("memory {i}"))
            .await
            .unwrap();
    }
    add_relations(&app, "hoarder", 199, "").await;
    let memory = |i: usize| json!({"content": format!("one more {i}")});
    let relation = |i: usize| json!({"name": format!("New {i}"), "relationship": "friend"});
    assert_eq!(
        post(&app, "/api/memories", &token, memory(0))
            .await
            .status(),
        201
    );
    assert_eq!(
        post(&app, "/api/relations", &token, relation(0))
            .await
            .status(),
        201
    );
    for (path, body, limit) in [
        ("/api/memories", memory(1), 500),
        ("/api/relations", relation(1), 200),
    ] {
        let res = post(&app, path, &token, body).await;
        assert_eq!(res.status(), 422, "{path}");
        let err: ApiError = json(res).await;
        assert_eq!(err.code, ErrorCode::ValidationError);
        assert_eq!(err.details.unwrap()["limit"], limit, "{path}");
    }
    // Nothing more was written, and deleting one makes room again.
    let mine: Vec<Memory> = json(app.get_with_token("/api/memories", &token).await).await;
    assert_eq!(mine.len(), 500);
    let res = app
        .client
        .delete(app.url(&format!("/api/memories/{}", mine[0].id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        post(&app, "/api/memories", &token, memory(2))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn a_role_cards_text_is_saved_while_it_streams() {
    use eventsource_stream::Eventsource;
    use futures_util::StreamExt;
    let app = crate::helpers::spawn_app_with(|c| c.chunk_delay_ms = Some(100)).await;
    let (token, _) = setup(&app, "slow_writer").await;
    add_relations(&app, "slow_writer", 20, "").await;
    let res = post(&app, "/api/rolecard/generate/stream", &token, json!({})).await;
    let stream_id = res.headers()["x-stream-id"].to_str().unwrap().to_owned();
    let mut events = res.bytes_stream().eventsource();
    // Stream for a while (the text is saved at least once a second), then
    // look at what a crash would leave.
    let started = std::time::Instant::now();
    let mut streamed = String::new();
    while started.elapsed() < std::time::Duration::from_millis(2500) {
        let ev = events.next().await.expect("still streaming").unwrap();
        match serde_json::from_str::<ServerEvent>(&ev.data).unwrap() {
            ServerEvent::Data { content } => streamed.push_str(&content),
            ServerEvent::Complete { .. } => panic!("the card was done too soon"),
            _ => {}
        }
    }
    let store = &app.state.store;
    let saved = store.generation(&stream_id).await.unwrap().unwrap();
    assert_eq!(saved.status, "running");
    assert!(!saved.text.is_empty(), "nothing saved while streaming");
    assert!(streamed.starts_with(&saved.text), "{:?}", saved.text);
}
