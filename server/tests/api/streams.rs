//! The stream layer: seq and stream_id on every event, resume from any
//! position, stop that saves the partial text, ownership, expiry, the
//! bounded WebSocket outbox.

use crate::helpers::{TestApp, json, read_sse, spawn_app, spawn_app_with};
use chorus_server::auth::identity::Identity;
use chorus_server::engine::GenRequest;
use chorus_server::streams::generation::{EngineEvents, Generation, start};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shared::stream::{FinishStatus, ServerEvent, StopResponse};
use shared::{ApiError, ErrorCode};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const ANON: &str = "stream-tester-1";

fn generation(msg: &str) -> Generation<EngineEvents> {
    let mut request = GenRequest::new(msg);
    request.system = "You are Ada, a tech enthusiast.".into();
    Generation {
        request,
        chunk_chars: 30,
        render: EngineEvents,
        ticket: None,
    }
}

fn anon() -> Identity {
    Identity::Anonymous(ANON.into())
}

/// `GET path` as the anonymous owner of the test streams.
async fn get_as_owner(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("x-anon-id", ANON)
        .send()
        .await
        .unwrap()
}

/// Reads the stream from `after`, as its owner, over HTTP.
async fn read_from(app: &TestApp, stream_id: &str, after: u64) -> Vec<(String, String, String)> {
    let res = app
        .client
        .get(app.url(&format!("/api/streams/{stream_id}")))
        .header("x-anon-id", ANON)
        .header("last-event-id", after.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    read_sse(res).await
}

fn text_of(events: &[(String, String, String)]) -> String {
    events
        .iter()
        .filter_map(
            |(_, _, data)| match serde_json::from_str::<ServerEvent>(data).unwrap() {
                ServerEvent::Delta { text } => Some(text),
                _ => None,
            },
        )
        .collect()
}

#[tokio::test]
async fn every_event_carries_its_seq_and_the_stream_id() {
    let app = spawn_app().await;
    let entry = start(
        &app.state.generator,
        &anon(),
        generation("Tell me about gardens and rain"),
    );
    let events = read_from(&app, &entry.id, 0).await;
    assert!(events.len() > 3);
    for (i, (name, id, data)) in events.iter().enumerate() {
        let v: Value = serde_json::from_str(data).unwrap();
        assert_eq!(v["seq"], (i + 1) as u64);
        assert_eq!(id, &(i + 1).to_string());
        assert_eq!(v["stream_id"], entry.id.as_str());
        assert_eq!(v["type"], name.as_str(), "SSE name equals the JSON type");
    }
    let last: ServerEvent = serde_json::from_str(&events.last().unwrap().2).unwrap();
    match last {
        ServerEvent::Done {
            text,
            status,
            usage,
        } => {
            assert_eq!(status, FinishStatus::Completed);
            assert_eq!(text, text_of(&events));
            assert_eq!(
                usage.completion_tokens,
                chorus_server::engine::approx_tokens(&text)
            );
        }
        other => panic!("{other:?}"),
    }
    let saved = app
        .state
        .store
        .generation(&entry.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (saved.status.as_str(), saved.text),
        ("completed", text_of(&events))
    );
}

#[tokio::test]
async fn resuming_from_every_position_gives_the_rest_exactly_once() {
    let app = spawn_app().await;
    let entry = start(
        &app.state.generator,
        &anon(),
        generation("How do rivers shape valleys?"),
    );
    let all = read_from(&app, &entry.id, 0).await;
    let full = text_of(&all);
    for after in 0..=all.len() as u64 {
        let rest = read_from(&app, &entry.id, after).await;
        let ids: Vec<String> = rest.iter().map(|(_, id, _)| id.clone()).collect();
        let want: Vec<String> = ((after + 1)..=all.len() as u64)
            .map(|n| n.to_string())
            .collect();
        assert_eq!(ids, want, "after {after}");
        let before = text_of(&all[..after as usize]);
        assert_eq!(format!("{before}{}", text_of(&rest)), full, "after {after}");
    }
    // ?after= says the same as Last-Event-ID.
    let res = get_as_owner(&app, &format!("/api/streams/{}?after=2", entry.id)).await;
    assert_eq!(read_sse(res).await.first().unwrap().1, "3");
}

#[tokio::test]
async fn a_reader_that_joins_mid_stream_gets_the_live_tail() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(20)).await;
    let entry = start(
        &app.state.generator,
        &anon(),
        generation("Explain compilers, parsers and tokens"),
    );
    let res = get_as_owner(&app, &format!("/api/streams/{}", entry.id)).await;
    let mut events = eventsource_stream::Eventsource::eventsource(res.bytes_stream());
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first.id, "1");
    let mut rest = vec![];
    while let Some(ev) = events.next().await {
        rest.push(ev.unwrap());
    }
    let ids: Vec<u64> = rest.iter().map(|e| e.id.parse().unwrap()).collect();
    assert_eq!(
        ids,
        (2..=ids.len() as u64 + 1).collect::<Vec<_>>(),
        "in order, none twice"
    );
    assert_eq!(rest.last().unwrap().event, "done");
}

#[tokio::test]
async fn stop_mid_stream_saves_the_partial_text_as_stopped() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(100)).await;
    let entry = start(
        &app.state.generator,
        &anon(),
        generation("Describe the history of mathematics in detail"),
    );
    let res = get_as_owner(&app, &format!("/api/streams/{}", entry.id)).await;
    let mut events = eventsource_stream::Eventsource::eventsource(res.bytes_stream());
    let mut got = String::new();
    for _ in 0..2 {
        let ev = events.next().await.unwrap().unwrap();
        if let ServerEvent::Delta { text } = serde_json::from_str(&ev.data).unwrap() {
            got.push_str(&text);
        }
    }
    let res = app
        .client
        .post(app.url(&format!("/api/streams/{}/stop", entry.id)))
        .header("x-anon-id", ANON)
        .send()
        .await
        .unwrap();
    let stop: StopResponse = json(res).await;
    assert_eq!(stop.status, "stopping");
    let mut done = None;
    while let Some(ev) = events.next().await {
        match serde_json::from_str(&ev.unwrap().data).unwrap() {
            ServerEvent::Delta { text } => got.push_str(&text),
            d @ ServerEvent::Done { .. } => done = Some(d),
            ServerEvent::Error { .. } => {}
        }
    }
    let Some(ServerEvent::Done { text, status, .. }) = done else {
        panic!("no final event")
    };
    assert_eq!(status, FinishStatus::Stopped);
    assert_eq!(text, got, "the final event holds exactly what was streamed");
    let full = chorus_server::engine::offline::compose(
        &generation("Describe the history of mathematics in detail").request,
    );
    assert!(text.len() < full.len(), "stopped before the end");
    let saved = app
        .state
        .store
        .generation(&entry.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (saved.status.as_str(), saved.text.as_str()),
        ("stopped", text.as_str())
    );
    // Stopping again says it has finished.
    let res = app
        .client
        .post(app.url(&format!("/api/streams/{}/stop", entry.id)))
        .header("x-anon-id", ANON)
        .send()
        .await
        .unwrap();
    assert_eq!(json::<StopResponse>(res).await.status, "finished");
}

#[tokio::test]
async fn a_disconnect_is_not_a_stop() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(10)).await;
    let entry = start(
        &app.state.generator,
        &anon(),
        generation("What makes bread rise?"),
    );
    let res = get_as_owner(&app, &format!("/api/streams/{}", entry.id)).await;
    let mut events = eventsource_stream::Eventsource::eventsource(res.bytes_stream());
    events.next().await.unwrap().unwrap();
    drop(events);
    // The generation runs on and is saved as completed.
    let mut saved = None;
    for _ in 0..500 {
        saved = app.state.store.generation(&entry.id).await.unwrap();
        if saved.as_ref().is_some_and(|g| g.status != "running") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let saved = saved.unwrap();
    assert_eq!(saved.status, "completed");
    assert_eq!(
        saved.text,
        chorus_server::engine::offline::compose(&generation("What makes bread rise?").request)
    );
}

#[tokio::test]
async fn only_the_owner_may_resume_or_stop() {
    let app = spawn_app().await;
    let entry = start(&app.state.generator, &anon(), generation("Hello there"));
    for req in [
        app.client
            .get(app.url(&format!("/api/streams/{}", entry.id))),
        app.client
            .post(app.url(&format!("/api/streams/{}/stop", entry.id))),
    ] {
        let res = req
            .header("x-anon-id", "someone-else-1")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(json::<ApiError>(res).await.code, ErrorCode::Forbidden);
    }
    let res = app.get(&format!("/api/streams/{}", entry.id)).await;
    assert_eq!(res.status(), 401, "no identity at all");
}

#[tokio::test]
async fn unknown_and_expired_streams_answer_stream_expired_with_the_saved_text() {
    let app = spawn_app_with(|c| c.stream_ttl_secs = 0).await;
    let res = get_as_owner(&app, "/api/streams/st_nope").await;
    assert_eq!(res.status(), 410);
    let err: ApiError = json(res).await;
    assert_eq!((err.code, err.details), (ErrorCode::StreamExpired, None));

    let entry = start(
        &app.state.generator,
        &anon(),
        generation("Tell me about owls"),
    );
    // With no replay time, the stream is gone as soon as it has finished.
    for _ in 0..1000 {
        if app.state.generator.streams.get(&entry.id).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let res = get_as_owner(&app, &format!("/api/streams/{}", entry.id)).await;
    assert_eq!(res.status(), 410);
    let err: ApiError = json(res).await;
    assert_eq!(err.code, ErrorCode::StreamExpired);
    let text = chorus_server::engine::offline::compose(&generation("Tell me about owls").request);
    assert_eq!(
        err.details.unwrap(),
        json!({"text": text, "status": "completed"})
    );
    // Someone else learns nothing about it.
    let res = app
        .client
        .get(app.url(&format!("/api/streams/{}", entry.id)))
        .header("x-anon-id", "someone-else-1")
        .send()
        .await
        .unwrap();
    assert_eq!(json::<ApiError>(res).await.details, None);
}

#[tokio::test]
async fn generations_spend_the_callers_quota() {
    let app = spawn_app().await;
    let token = app.register("quota_user").await;
    let user = app
        .state
        .store
        .user_by_name("quota_user")
        .await
        .unwrap()
        .unwrap();
    let who = Identity::User(user.id.clone());
    let mut g = generation("Tell me about the sea");
    g.ticket = Some(app.state.generator.quota.begin(&who, 1000).await.unwrap());
    let entry = start(&app.state.generator, &who, g);
    let res = app
        .get_with_token(&format!("/api/streams/{}", entry.id), &token)
        .await;
    let events = read_sse(res).await;
    let tokens = chorus_server::engine::approx_tokens(&text_of(&events)) as i64;
    assert_eq!(
        app.state.store.balance(&user.id).await.unwrap(),
        Some(2000 - tokens)
    );

    let anon_who = anon();
    let mut g = generation("Tell me about the sky");
    g.ticket = Some(
        app.state
            .generator
            .quota
            .begin(&anon_who, 1000)
            .await
            .unwrap(),
    );
    let entry = start(&app.state.generator, &anon_who, g);
    read_from(&app, &entry.id, 0).await;
    assert_eq!(
        app.state
            .generator
            .quota
            .usage(&anon_who)
            .await
            .unwrap()
            .used,
        1
    );
}

#[tokio::test]
async fn websocket_resume_and_stop_follow_the_same_rules() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(20)).await;
    let entry = start(
        &app.state.generator,
        &anon(),
        generation("Why do cats purr so much?"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url(&format!("/ws?anon_id={ANON}")))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap(); // greeting
    ws.send(Message::text(
        json!({"type":"resume","data":{"stream_id": entry.id, "after_seq": 1}}).to_string(),
    ))
    .await
    .unwrap();
    let mut seqs = vec![];
    let mut stopped = false;
    loop {
        let Message::Text(t) = ws.next().await.unwrap().unwrap() else {
            continue;
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        seqs.push(v["seq"].as_u64().unwrap());
        if !stopped {
            ws.send(Message::text(
                json!({"type":"stop","data":{"stream_id": entry.id}}).to_string(),
            ))
            .await
            .unwrap();
            stopped = true;
        }
        if v["type"] == "done" {
            assert_eq!(v["status"], "stopped");
            break;
        }
    }
    assert_eq!(seqs.first(), Some(&2), "resumed after seq 1");
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "in order, nothing twice: {seqs:?}"
    );

    // Someone else's stream, or none: an in-band error, and the socket stays.
    let (mut other, _) = tokio_tungstenite::connect_async(app.ws_url("/ws?anon_id=someone-else-1"))
        .await
        .unwrap();
    other.next().await.unwrap().unwrap();
    other
        .send(Message::text(
            json!({"type":"resume","data":{"stream_id": entry.id}}).to_string(),
        ))
        .await
        .unwrap();
    let Message::Text(t) = other.next().await.unwrap().unwrap() else {
        panic!()
    };
    let v: Value = serde_json::from_str(t.as_str()).unwrap();
    assert_eq!(
        (v["type"].as_str(), v["code"].as_str()),
        (Some("error"), Some("FORBIDDEN"))
    );
}

#[tokio::test]
async fn a_bad_token_is_refused_at_the_websocket_upgrade() {
    let app = spawn_app().await;
    let err = tokio_tungstenite::connect_async(app.ws_url("/ws?token=not-a-token"))
        .await
        .unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(res) => assert_eq!(res.status(), 401),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_websocket_client_that_stops_reading_is_cut_off_and_can_resume() {
    use chorus_server::socket::WRITE_BATCH;
    let app = spawn_app_with(|c| c.ws_stall_timeout_ms = 200).await;
    // A finished stream with many more events than one write takes.
    let entry = app.state.generator.streams.create(&anon().owner_key());
    let total = WRITE_BATCH * 12;
    for i in 0..total {
        entry
            .push(
                Some("delta"),
                json!({"type": "delta", "text": format!("{i} ")}),
            )
            .unwrap();
    }
    entry.finish();

    // The client's socket takes the greeting, then is never read again.
    let (in_tx, in_rx) = tokio::sync::mpsc::channel(8);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel(1);
    let socket = crate::helpers::FakeSocket {
        incoming: in_rx,
        outgoing: tokio_util::sync::PollSender::new(out_tx),
    };
    let session = tokio::spawn(chorus_server::ws::session(
        socket,
        app.state.clone(),
        anon(),
    ));
    let resume = json!({"type": "resume", "data": {"stream_id": entry.id, "after_seq": 0}});
    in_tx
        .send(axum::extract::ws::Message::Text(resume.to_string().into()))
        .await
        .unwrap();
    // The server gives up on it by itself (the guard only keeps a broken
    // build from hanging the suite).
    tokio::time::timeout(Duration::from_secs(60), session)
        .await
        .expect("the slow client is cut off")
        .unwrap();
    // Nothing beyond what the socket accepted was written (the greeting):
    // the events waited in the stream's log, not in a copy for this client.
    let mut written = vec![];
    while let Some(m) = out_rx.recv().await {
        written.push(m);
    }
    assert_eq!(written.len(), 1, "only the greeting reached the socket");

    // It comes back and resumes from the start: every event, once, in order.
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url(&format!("/ws?anon_id={ANON}")))
        .await
        .unwrap();
    ws.next().await.unwrap().unwrap();
    ws.send(Message::text(resume.to_string())).await.unwrap();
    for want in 1..=total as u64 {
        let Message::Text(t) = ws.next().await.unwrap().unwrap() else {
            panic!()
        };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        assert_eq!(v["seq"], want);
    }
}

#[tokio::test]
async fn generations_saved_together_are_each_kept_with_their_own_outcome() {
    for db in crate::helpers::test_databases().await {
        let app = crate::helpers::spawn_app_on(&db).await;
        let store = app.state.store.clone();
        // Starts and ends of many streams at once, in every mix the group
        // commit meets: queued start then end (one row), awaited start then
        // end (a row, then an update), and a start that never ends.
        let tasks: Vec<_> = (0..300)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let id = format!("st_group_{i}");
                    match i % 3 {
                        0 => store.queue_generation_started(&id, "user:g"),
                        1 => store.generation_started(&id, "user:g").await.unwrap(),
                        _ => {
                            store.generation_started(&id, "user:g").await.unwrap();
                            return;
                        }
                    }
                    store
                        .generation_finished(&id, "completed", &format!("text {i}"), 1, i)
                        .await
                        .unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        for i in 0..300i64 {
            let saved = store
                .generation(&format!("st_group_{i}"))
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("st_group_{i} missing on {db}"));
            let (status, text) = match i % 3 {
                2 => ("running".to_owned(), String::new()),
                _ => ("completed".to_owned(), format!("text {i}")),
            };
            assert_eq!((saved.status, saved.text), (status, text), "{db}");
            assert_eq!(saved.owner, "user:g");
        }
        // A duplicate start fails alone, and says so to its caller.
        assert!(
            store
                .generation_started("st_group_1", "user:g")
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn a_cursor_past_the_end_is_a_typed_error_not_an_empty_stream() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(200)).await;
    let live = start(
        &app.state.generator,
        &anon(),
        generation("Tell me about tides"),
    );
    let done = start(&app.state.generator, &anon(), generation("Hi"));
    let last = read_from(&app, &done.id, 0).await.len() as u64;
    for (entry, after, status, code) in [
        (&done, last + 1, 410, ErrorCode::StreamExpired),
        (&live, 10_000, 400, ErrorCode::BadRequest),
    ] {
        let res = app
            .client
            .get(app.url(&format!("/api/streams/{}", entry.id)))
            .header("x-anon-id", ANON)
            .header("last-event-id", after.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status);
        let err: ApiError = json(res).await;
        assert_eq!(err.code, code);
        assert!(err.details.unwrap()["last_seq"].is_u64());
    }
    live.cancel.cancel();
}
