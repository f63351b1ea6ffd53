//! BooksWriter (the BooksWriter protocol) on `/ws/{session_id}` and
//! `/api/books/{session_id}/artifacts`.

use crate::helpers::{
    TestApp, WsClient, json, spawn_app, spawn_app_on, spawn_app_with, test_databases,
};
use chorus_server::db::Db;
use chorus_server::store::Store;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shared::books::{
    ArtifactKind, ArtifactList, Entry, ORCHESTRATOR, ServerMessage, ToolStatus, Transcript,
};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The seed's own message.
fn request(content: &str) -> Value {
    json!({
        "type": "message",
        "content": content,
        "user_id": "user123",
        "timestamp": "2025-01-28T10:30:00Z",
        "options": {"stream": true, "model": "gemini-2.0-flash-exp"}
    })
}

/// A request with no model of its own (the session's or the server's).
pub(crate) fn bare(content: &str) -> Value {
    json!({"type": "message", "content": content, "timestamp": "2025-01-28T10:30:00Z"})
}

fn sid() -> String {
    format!(
        "session-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

pub(crate) async fn next(ws: &mut WsClient) -> ServerMessage {
    let v = ws.next_json().await;
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"))
}

/// Reads until a request ends (completion, or an error event of the
/// session rather than of the connection).
pub(crate) async fn read_request(ws: &mut WsClient) -> Vec<ServerMessage> {
    let mut out = Vec::new();
    loop {
        let m = next(ws).await;
        let end = matches!(m, ServerMessage::Completion { .. })
            || matches!(&m, ServerMessage::Error { error_code, .. } if error_code.as_str() != "VALIDATION_ERROR" && error_code.as_str() != "RATE_LIMITED");
        out.push(m);
        if end {
            return out;
        }
    }
}

fn kinds(events: &[ServerMessage]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            ServerMessage::StreamChunk { .. } => "stream_chunk",
            ServerMessage::AgentSwitch { .. } => "agent_switch",
            ServerMessage::ToolExecution { .. } => "tool_execution",
            ServerMessage::Error { .. } => "error",
            ServerMessage::Completion { .. } => "completion",
            ServerMessage::Pong { .. } => "pong",
            ServerMessage::SessionRestored { .. } => "session_restored",
            ServerMessage::MessageReceived { .. } => "message_received",
            ServerMessage::ModelSwitched { .. } => "model_switched",
        })
        .collect()
}

/// Consecutive duplicates collapsed: the shape of a request.
fn shape(events: &[ServerMessage]) -> Vec<&'static str> {
    let mut k = kinds(events);
    k.dedup();
    k
}

async fn artifacts(app: &TestApp, session: &str, query: &str) -> reqwest::Response {
    app.get(&format!("/api/books/{session}/artifacts{query}"))
        .await
}

#[tokio::test]
async fn a_dragon_novel_request_switches_streams_saves_a_plot_and_completes() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let session = sid();
        // The seed's client: no identity at all.
        let mut ws = WsClient::open(&app, &format!("/ws/{session}")).await;
        ws.send_json(request("Create a fantasy novel with dragons and magic"))
            .await;
        let events = read_request(&mut ws).await;
        assert_eq!(
            shape(&events),
            [
                "message_received",
                "agent_switch",
                "stream_chunk",
                "tool_execution",
                "completion"
            ],
            "{events:#?}"
        );
        let seqs: Vec<u64> = events.iter().map(ServerMessage::seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "seq counts up: {seqs:?}"
        );

        let ServerMessage::AgentSwitch {
            from_agent,
            to_agent,
            reason,
            ..
        } = &events[1]
        else {
            unreachable!()
        };
        assert_eq!(
            (from_agent.as_str(), to_agent.as_str()),
            (ORCHESTRATOR, "PlotGeneratorAgent")
        );
        assert!(reason.contains("plot"));

        let chunks: Vec<(u64, String)> = events
            .iter()
            .filter_map(|e| match e {
                ServerMessage::StreamChunk {
                    content,
                    agent,
                    chunk_id,
                    total_chunks,
                    ..
                } => {
                    assert_eq!(agent, "PlotGeneratorAgent");
                    assert_eq!(*total_chunks, None);
                    assert!(content.chars().count() <= 40);
                    Some((*chunk_id, content.clone()))
                }
                _ => None,
            })
            .collect();
        assert!(chunks.len() > 3);
        assert!(
            chunks
                .iter()
                .enumerate()
                .all(|(i, (id, _))| *id == i as u64 + 1)
        );
        let text: String = chunks.iter().map(|(_, c)| c.as_str()).collect();

        let tools: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ServerMessage::ToolExecution {
                    tool_name,
                    status,
                    progress,
                    ..
                } => Some((tool_name.as_str(), *status, *progress)),
                _ => None,
            })
            .collect();
        assert_eq!(
            tools,
            [
                ("save_plot", ToolStatus::Executing, 0.5),
                ("save_plot", ToolStatus::Completed, 1.0)
            ]
        );

        let ServerMessage::Completion {
            message, results, ..
        } = events.last().unwrap()
        else {
            unreachable!()
        };
        assert_eq!(message, "Plot generation completed successfully");
        assert_eq!(results.agents_used, [ORCHESTRATOR, "PlotGeneratorAgent"]);
        let plot_id = results.plot_id.clone().expect("plot_id");
        let title = results.title.clone().expect("title");
        assert!(title.contains("Dragon"), "{title}");

        // The stored plot, through the REST endpoint (same caller: same IP).
        let list: ArtifactList = json(artifacts(&app, &session, "").await).await;
        assert_eq!(list.artifacts.len(), 1);
        let plot = &list.artifacts[0];
        assert_eq!(
            (plot.id.as_str(), plot.kind, plot.title.as_str()),
            (plot_id.as_str(), ArtifactKind::Plot, title.as_str())
        );
        assert_eq!(plot.content, text, "the artifact holds what was streamed");
        assert_eq!(plot.fields["genre"], "Fantasy");
        assert_eq!(plot.status, "complete");
        app.shut_down().await.unwrap();
    }
}

#[tokio::test]
async fn a_request_for_several_things_runs_the_specialists_in_turn_and_builds_on_earlier_work() {
    let app = spawn_app().await;
    let session = sid();
    let mut ws = WsClient::open(&app, &format!("/ws/{session}")).await;
    ws.send_json(request("Build a world of floating islands"))
        .await;
    let first = read_request(&mut ws).await;
    let ServerMessage::Completion { results, .. } = first.last().unwrap() else {
        panic!("{first:#?}")
    };
    let world_id = results.world_id.clone().expect("world_id");

    ws.send_json(request("Now a hero and a story set there"))
        .await;
    let events = read_request(&mut ws).await;
    let switches: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match e {
            ServerMessage::AgentSwitch {
                from_agent,
                to_agent,
                ..
            } => Some((from_agent.clone(), to_agent.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        switches,
        [
            (
                "WorldBuilderAgent".to_owned(),
                "CharacterCreatorAgent".to_owned()
            ),
            (
                "CharacterCreatorAgent".to_owned(),
                "PlotGeneratorAgent".to_owned()
            ),
        ],
        "the session's current agent hands over"
    );
    let saved: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ServerMessage::ToolExecution {
                tool_name,
                status: ToolStatus::Completed,
                ..
            } => Some(tool_name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(saved, ["save_character", "save_plot"]);
    let ServerMessage::Completion { results, .. } = events.last().unwrap() else {
        panic!()
    };
    assert_eq!(
        results.agents_used,
        [ORCHESTRATOR, "CharacterCreatorAgent", "PlotGeneratorAgent"]
    );
    let plot_id = results.plot_id.clone().unwrap();
    let character_id = results.character_id.clone().unwrap();

    let list: ArtifactList = json(artifacts(&app, &session, "").await).await;
    let world = list.artifacts.iter().find(|a| a.id == world_id).unwrap();
    let character = list
        .artifacts
        .iter()
        .find(|a| a.id == character_id)
        .unwrap();
    let plot = list.artifacts.iter().find(|a| a.id == plot_id).unwrap();
    assert_eq!(character.builds_on, std::slice::from_ref(&world_id));
    assert_eq!(plot.builds_on, [world_id.clone(), character_id.clone()]);
    assert_eq!(
        plot.fields["setting"],
        world.title.as_str(),
        "the plot is set in the session's world"
    );
    assert_eq!(plot.fields["protagonist"], character.title.as_str());
}

#[tokio::test]
async fn with_stream_false_each_agent_sends_its_text_as_one_chunk() {
    let app = spawn_app().await;
    let mut ws = WsClient::open(&app, &format!("/ws/{}", sid())).await;
    let mut msg = request("Build a world of ice");
    msg["options"]["stream"] = json!(false);
    ws.send_json(msg).await;
    let events = read_request(&mut ws).await;
    let chunks: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ServerMessage::StreamChunk {
                content,
                chunk_id,
                total_chunks,
                ..
            } => Some((content.clone(), *chunk_id, *total_chunks)),
            _ => None,
        })
        .collect();
    assert_eq!(chunks.len(), 1);
    assert_eq!((chunks[0].1, chunks[0].2), (1, Some(1)));
    assert!(
        chunks[0].0.starts_with("Title: ") && chunks[0].0.contains("the ice"),
        "{}",
        chunks[0].0
    );
}

#[tokio::test]
async fn a_request_no_specialist_fits_is_answered_by_the_orchestrator() {
    let app = spawn_app().await;
    let mut ws = WsClient::open(&app, &format!("/ws/{}", sid())).await;
    ws.send_json(request("hello there")).await;
    let events = read_request(&mut ws).await;
    assert_eq!(
        shape(&events),
        ["message_received", "stream_chunk", "completion"]
    );
    assert!(
        events.iter().all(
            |e| !matches!(e, ServerMessage::StreamChunk { agent, .. } if agent != ORCHESTRATOR)
        )
    );
}

#[tokio::test]
async fn bad_messages_get_the_seeds_validation_errors_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let session = sid();
    let mut ws = WsClient::open(&app, &format!("/ws/{session}")).await;
    let ts = "2025-01-28T10:30:00Z";
    let cases = [
        (
            json!({"content": "x", "timestamp": ts}),
            "Missing required field: type",
        ),
        (
            json!({"type": "message", "timestamp": ts}),
            "Missing required field: content",
        ),
        (
            json!({"type": "message", "content": "x"}),
            "Missing required field: timestamp",
        ),
        (
            json!({"type": "dance", "content": "x", "timestamp": ts}),
            "Invalid message type: dance",
        ),
        (
            json!({"type": "message", "content": "x".repeat(10_001), "timestamp": ts}),
            "Message content too long",
        ),
        (
            json!({"type": "message", "content": "x", "timestamp": "not a date"}),
            "Invalid timestamp format",
        ),
    ];
    for (msg, expected) in cases {
        ws.send_json(msg).await;
        match next(&mut ws).await {
            ServerMessage::Error {
                error_code,
                message,
                ..
            } => {
                assert_eq!(
                    (error_code.as_str(), message.as_str()),
                    ("VALIDATION_ERROR", expected)
                );
            }
            other => panic!("{other:?}"),
        }
    }
    ws.socket.send(Message::text("{not json")).await.unwrap();
    assert!(
        matches!(next(&mut ws).await, ServerMessage::Error { error_code, .. } if error_code.as_str() == "VALIDATION_ERROR")
    );
    ws.send_json(json!({"type": "ping"})).await;
    assert!(
        matches!(next(&mut ws).await, ServerMessage::Pong { .. }),
        "still open"
    );
    // Nothing reached the agents.
    assert!(
        json::<ArtifactList>(artifacts(&app, &session, "").await)
            .await
            .artifacts
            .is_empty()
    );
}

#[tokio::test]
async fn the_61st_message_in_a_minute_is_rate_limited_with_a_retry_time() {
    let app = spawn_app().await;
    let mut ws = WsClient::open(&app, &format!("/ws/{}", sid())).await;
    for _ in 0..60 {
        ws.send_json(json!({"type": "ping"})).await;
    }
    for _ in 0..60 {
        assert!(matches!(next(&mut ws).await, ServerMessage::Pong { .. }));
    }
    ws.send_json(json!({"type": "ping"})).await;
    assert_rate_limited(next(&mut ws).await);
}

/// The refusal of a message past the 60-a-minute window, with its wait.
pub(crate) fn assert_rate_limited(refused: ServerMessage) {
    match refused {
        ServerMessage::Error {
            error_code,
            details,
            ..
        } => {
            assert_eq!(error_code.as_str(), "RATE_LIMITED");
            let ms = details.retry_after_ms.unwrap();
            assert!(ms > 0 && ms <= 60_000, "{ms}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_batch_is_handled_message_by_message() {
    let app = spawn_app().await;
    let mut ws = WsClient::open(&app, &format!("/ws/{}", sid())).await;
    ws.send_json(json!({"type": "batch", "messages": [
        {"type": "ping"}, {"type": "shout"}, {"type": "model_switch", "model": "llama3"}
    ], "timestamp": "2025-01-28T10:30:00Z"}))
        .await;
    assert!(matches!(next(&mut ws).await, ServerMessage::Pong { .. }));
    assert!(
        matches!(next(&mut ws).await, ServerMessage::Error { message, .. } if message == "Invalid message type: shout")
    );
    assert!(
        matches!(next(&mut ws).await, ServerMessage::ModelSwitched { model, .. } if model == "llama3")
    );
    // The seed's ConnectionManager heartbeat: sendMessage('ping').
    ws.send_json(request("ping")).await;
    assert!(matches!(next(&mut ws).await, ServerMessage::Pong { .. }));
}

#[tokio::test]
async fn an_agent_past_its_timeout_ends_with_agent_timeout_and_its_partial_work_saved() {
    let app = spawn_app_with(|c| {
        c.agent_timeout = Duration::from_millis(300);
        c.chunk_delay_ms = Some(50);
    })
    .await;
    let session = sid();
    let mut ws = WsClient::open(&app, &format!("/ws/{session}")).await;
    ws.send_json(request("Create a fantasy novel with dragons"))
        .await;
    let events = read_request(&mut ws).await;
    let ServerMessage::Error {
        error_code,
        message,
        details,
        ..
    } = events.last().unwrap()
    else {
        panic!("{events:#?}")
    };
    assert_eq!(error_code.as_str(), "AGENT_TIMEOUT");
    assert_eq!(message, "Agent processing timed out after 1 seconds");
    assert_eq!(details.agent.as_deref(), Some("PlotGeneratorAgent"));
    assert_eq!(details.timeout_duration, Some(300));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ServerMessage::Completion { .. }))
    );
    let list: ArtifactList = json(artifacts(&app, &session, "").await).await;
    assert_eq!(list.artifacts.len(), 1);
    assert_eq!(list.artifacts[0].status, "partial");
    let streamed: String = events
        .iter()
        .filter_map(|e| match e {
            ServerMessage::StreamChunk { content, .. } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    assert!(!streamed.is_empty());
    assert_eq!(list.artifacts[0].content, streamed);
}

#[tokio::test]
async fn stop_ends_the_request_with_its_work_saved() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(30)).await;
    let session = sid();
    let mut ws = WsClient::open(&app, &format!("/ws/{session}")).await;
    ws.send_json(request("Create a fantasy novel with dragons"))
        .await;
    loop {
        if matches!(next(&mut ws).await, ServerMessage::StreamChunk { .. }) {
            break;
        }
    }
    ws.send_json(json!({"type": "stop"})).await;
    let events = read_request(&mut ws).await;
    let ServerMessage::Completion { results, .. } = events.last().unwrap() else {
        panic!("{events:#?}")
    };
    assert!(results.stopped);
    let list: ArtifactList = json(artifacts(&app, &session, "").await).await;
    assert_eq!(list.artifacts[0].status, "partial");
    ws.send_json(json!({"type": "stop"})).await;
    assert!(
        matches!(next(&mut ws).await, ServerMessage::Error { error_code, .. } if error_code.as_str() == "BAD_REQUEST")
    );
}

/// Folds events into a transcript from the start of a session.
pub(crate) fn fold(events: &[ServerMessage]) -> Transcript {
    let mut t = Transcript::default();
    for e in events {
        t.apply(e);
    }
    t
}

#[tokio::test]
async fn a_restore_mid_request_plus_the_live_tail_equals_the_whole_conversation() {
    let app = spawn_app_with(|c| c.chunk_delay_ms = Some(15)).await;
    let session = sid();
    let path = format!("/ws/{session}");
    let mut a = WsClient::open(&app, &path).await;
    a.send_json(request("Create a fantasy novel with dragons"))
        .await;
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|e| matches!(e, ServerMessage::StreamChunk { .. }))
        .count()
        < 3
    {
        seen.push(next(&mut a).await);
    }
    // A second tab (or the page after a refresh) restores mid-stream.
    let mut b = WsClient::open(&app, &path).await;
    b.send_json(json!({"type": "session_restore"})).await;
    let ServerMessage::SessionRestored {
        messages,
        current_agent,
        seq,
        ..
    } = next(&mut b).await
    else {
        panic!()
    };
    assert_eq!(current_agent, "PlotGeneratorAgent");
    assert!(
        matches!(
            messages.last(),
            Some(Entry::Agent {
                streaming: true,
                ..
            })
        ),
        "{messages:#?}"
    );
    let mut restored = Transcript::restored(messages, current_agent, seq);
    let tail = read_request(&mut b).await;
    assert_eq!(
        tail[0].seq(),
        seq + 1,
        "the live tail starts right after the snapshot"
    );
    for e in &tail {
        restored.apply(e);
    }
    seen.extend(read_request(&mut a).await);
    assert_eq!(restored, fold(&seen), "nothing missing, nothing twice");

    // A later restore is the same conversation, finished.
    let mut c = WsClient::open(&app, &path).await;
    c.send_json(json!({"type": "session_restore"})).await;
    let ServerMessage::SessionRestored {
        messages,
        artifacts,
        ..
    } = next(&mut c).await
    else {
        panic!()
    };
    assert_eq!(messages, fold(&seen).entries);
    assert_eq!(artifacts.len(), 1);
}

#[tokio::test]
async fn resume_replays_exactly_the_events_after_a_seq() {
    let app = spawn_app().await;
    let session = sid();
    let path = format!("/ws/{session}");
    let mut a = WsClient::open(&app, &path).await;
    a.send_json(request("Create a character for my story"))
        .await;
    let events = read_request(&mut a).await;
    drop(a);
    let from = events[3].seq();
    let mut b = WsClient::open(&app, &path).await;
    b.send_json(json!({"type": "resume", "after_seq": from}))
        .await;
    let mut replay = Vec::new();
    while replay.len() < events.len() - 4 {
        replay.push(next(&mut b).await);
    }
    assert_eq!(replay, events[4..]);
    // A seq from before the log (or from another life) gets the whole
    // conversation instead.
    let mut c = WsClient::open(&app, &path).await;
    c.send_json(json!({"type": "resume", "after_seq": 1_000_000}))
        .await;
    assert!(matches!(
        next(&mut c).await,
        ServerMessage::SessionRestored { .. }
    ));
}

#[tokio::test]
async fn a_session_belongs_to_whoever_used_it_first() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let session = sid();
    let mut a = WsClient::open(&app, &format!("/ws/{session}?token={alice}")).await;
    a.send_json(request("Build a world of glass")).await;
    read_request(&mut a).await;

    let mut b = WsClient::open(&app, &format!("/ws/{session}?token={bob}")).await;
    match next(&mut b).await {
        ServerMessage::Error { error_code, .. } => {
            assert_eq!(error_code.as_str(), "SESSION_FORBIDDEN")
        }
        other => panic!("{other:?}"),
    }
    let close = tokio::time::timeout(Duration::from_secs(5), b.socket.next())
        .await
        .unwrap();
    assert!(
        matches!(&close, Some(Ok(Message::Close(Some(f)))) if u16::from(f.code) == 1008),
        "{close:?}"
    );
    // Anonymous visitors are someone else too.
    let mut anon = WsClient::open(&app, &format!("/ws/{session}?anon_id=visitor-123")).await;
    assert!(
        matches!(next(&mut anon).await, ServerMessage::Error { error_code, .. } if error_code.as_str() == "SESSION_FORBIDDEN")
    );

    let mine = app
        .get_with_token(&format!("/api/books/{session}/artifacts"), &alice)
        .await;
    assert_eq!(mine.status(), 200);
    assert_eq!(json::<ArtifactList>(mine).await.artifacts.len(), 1);
    let theirs = app
        .get_with_token(&format!("/api/books/{session}/artifacts"), &bob)
        .await;
    assert_eq!(theirs.status(), 404);
    let unknown = app
        .get_with_token("/api/books/no-such-session/artifacts", &bob)
        .await;
    assert_eq!(unknown.status(), 404);
    let body: Value = json(theirs).await;
    assert_eq!(body["code"], "SESSION_NOT_FOUND");
}

#[tokio::test]
async fn bad_session_ids_are_refused_at_the_upgrade() {
    let app = spawn_app().await;
    for id in ["a".repeat(65), "bad%20id".to_owned(), "bad.id".to_owned()] {
        let err = tokio_tungstenite::connect_async(app.ws_url(&format!("/ws/{id}")))
            .await
            .expect_err(&id);
        match err {
            tokio_tungstenite::tungstenite::Error::Http(res) => {
                assert_eq!(res.status(), 400, "{id}")
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    assert_eq!(artifacts(&app, "bad.id", "").await.status(), 400);
}

#[tokio::test]
async fn anonymous_visitors_meet_their_limit_as_an_error_event() {
    let app = spawn_app_with(|c| c.anon_message_limit = 1).await;
    let mut ws = WsClient::open(&app, &format!("/ws/{}?anon_id=visitor-123", sid())).await;
    ws.send_json(request("Build a world of ice")).await;
    assert!(matches!(
        read_request(&mut ws).await.last(),
        Some(ServerMessage::Completion { .. })
    ));
    ws.send_json(request("Build a world of fire")).await;
    let events = read_request(&mut ws).await;
    assert!(
        matches!(events.last(), Some(ServerMessage::Error { error_code, .. }) if error_code.as_str() == "ANON_LIMIT_REACHED"),
        "{events:#?}"
    );
}

#[tokio::test]
async fn an_idle_connection_is_closed_and_the_conversation_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("books.db").display());
    let session = sid();
    let path = format!("/ws/{session}");
    let first_seq;
    {
        let app = {
            let url = url.clone();
            spawn_app_with(move |c| {
                c.database_url = url;
                c.books_idle_timeout = Duration::from_millis(400);
            })
            .await
        };
        let mut ws = WsClient::open(&app, &path).await;
        ws.send_json(json!({"type": "model_switch", "model": "llama3"}))
            .await;
        assert!(matches!(
            next(&mut ws).await,
            ServerMessage::ModelSwitched { .. }
        ));
        ws.send_json(request("Invent an author")).await;
        let events = read_request(&mut ws).await;
        first_seq = events.last().unwrap().seq();
        let close = tokio::time::timeout(Duration::from_secs(5), ws.socket.next())
            .await
            .unwrap();
        assert!(
            matches!(&close, Some(Ok(Message::Close(Some(f)))) if u16::from(f.code) == 1000),
            "{close:?}"
        );
        app.shut_down().await.unwrap();
    }
    let app = spawn_app_on(&url).await;
    let mut ws = WsClient::open(&app, &path).await;
    ws.send_json(json!({"type": "session_restore"})).await;
    let ServerMessage::SessionRestored {
        messages,
        current_agent,
        artifacts,
        model,
        seq,
        ..
    } = next(&mut ws).await
    else {
        panic!()
    };
    assert_eq!(seq, first_seq);
    assert_eq!(current_agent, "AuthorGeneratorAgent");
    assert_eq!(model.as_deref(), Some("llama3"));
    assert_eq!(artifacts.len(), 1);
    assert!(matches!(&messages[0], Entry::User { content, .. } if content == "Invent an author"));
    assert!(matches!(messages.last(), Some(Entry::Completion { .. })));
    ws.send_json(request("Now a world")).await;
    let events = read_request(&mut ws).await;
    assert_eq!(
        events[0].seq(),
        first_seq + 1,
        "seq keeps growing after a restart"
    );
}

#[tokio::test]
async fn sockets_are_off_when_websockets_are_disabled() {
    let app = spawn_app_with(|c| c.enable_websocket = false).await;
    let err = tokio_tungstenite::connect_async(app.ws_url(&format!("/ws/{}", sid())))
        .await
        .expect_err("503");
    assert!(matches!(err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 503));
}

#[tokio::test]
async fn with_a_model_each_specialist_asks_for_key_value_lines_and_the_tool_reads_them() {
    let (base, script) = crate::openai::scripted().await;
    // The operator offers "outline" besides the default.
    let app = crate::openai::on_models(&base, "not-scripted", &["outline"]).await;
    let session = sid();
    let mut ws = WsClient::open(&app, &format!("/ws/{session}")).await;
    ws.send_json(json!({"type": "model_switch", "model": "outline"}))
        .await;
    assert!(matches!(
        next(&mut ws).await,
        ServerMessage::ModelSwitched { .. }
    ));
    ws.send_json(bare("A mystery novel")).await;
    let events = read_request(&mut ws).await;
    let ServerMessage::Completion { results, .. } = events.last().unwrap() else {
        panic!("{events:#?}")
    };
    assert_eq!(results.title.as_deref(), Some("Glassdeep"));
    let list: ArtifactList = json(artifacts(&app, &session, "").await).await;
    assert_eq!(list.artifacts[0].fields["genre"], "Mystery");
    assert_eq!(list.artifacts[0].fields["setting"], "flooded caves");
    let calls = script.calls.lock().unwrap().clone();
    let (model, body, _) = calls.last().unwrap();
    assert_eq!(model, "outline", "the session's model");
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("PlotGeneratorAgent") && system.contains("Title, Genre, Premise"),
        "{system}"
    );
}

#[tokio::test]
async fn a_provider_that_never_answers_times_the_agent_out() {
    let (base, _script) = crate::openai::scripted().await;
    let app = spawn_app_with(move |c| {
        c.llm = chorus_server::config::LlmKind::Openai;
        c.openai_base_url = base;
        c.model = "hang".into();
        c.agent_timeout = Duration::from_millis(300);
    })
    .await;
    let session = sid();
    let mut ws = WsClient::open(&app, &format!("/ws/{session}")).await;
    ws.send_json(bare("Build a world of salt")).await;
    let events = read_request(&mut ws).await;
    assert!(
        matches!(events.last(), Some(ServerMessage::Error { error_code, details, .. })
        if error_code.as_str() == "AGENT_TIMEOUT" && details.partial_saved == Some(false)),
        "{events:#?}"
    );
    assert!(
        json::<ArtifactList>(artifacts(&app, &session, "").await)
            .await
            .artifacts
            .is_empty()
    );
}

/// The store on SQLite and PostgreSQL.
#[tokio::test]
async fn a_session_belongs_to_its_first_user_and_keeps_its_lines_and_artifacts() {
    for url in test_databases().await {
        let store = Store::new(Db::connect(&url).await.unwrap());
        let sid = format!("s-{}", uuid::Uuid::new_v4());
        let s = store
            .claim_books_session(&sid, "u:alice", "OrchestratorAgent")
            .await
            .unwrap();
        assert_eq!(s.owner, "u:alice");
        let again = store
            .claim_books_session(&sid, "u:bob", "OrchestratorAgent")
            .await
            .unwrap();
        assert_eq!(again.owner, "u:alice", "the first owner keeps it");

        let line = |content: &str| Entry::Agent {
            id: 3,
            agent: "PlotGeneratorAgent".into(),
            content: content.into(),
            streaming: false,
            timestamp: "t".into(),
        };
        store.save_books_entries(&sid, &[line("Ti")]).await.unwrap();
        store
            .save_books_entries(&sid, &[line("Title")])
            .await
            .unwrap();
        assert_eq!(
            store.books_entries(&sid).await.unwrap(),
            vec![line("Title")]
        );

        store
            .update_books_session(&sid, Some("m"), "PlotGeneratorAgent", 9)
            .await
            .unwrap();
        let s = store.books_session(&sid).await.unwrap().unwrap();
        assert_eq!((s.model.as_deref(), s.last_seq), (Some("m"), 9));

        let mut fields = serde_json::Map::new();
        fields.insert("genre".into(), "fantasy".into());
        let world = store
            .save_artifact(
                &sid,
                ArtifactKind::World,
                "Emberreach",
                &fields,
                "text",
                "complete",
                &[],
            )
            .await
            .unwrap();
        let plot = store
            .save_artifact(
                &sid,
                ArtifactKind::Plot,
                "The Last Stand",
                &fields,
                "t",
                "partial",
                std::slice::from_ref(&world.id),
            )
            .await
            .unwrap();
        let all = store.artifacts(&sid).await.unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.contains(&plot) && all.contains(&world));
        assert!(store.artifacts("other").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_books_list_holds_the_callers_books_most_recent_first() {
    use shared::books::BookList;
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        // A session opened and never asked anything is not a book.
        let unused = sid();
        let mut u = WsClient::open(&app, &format!("/ws/{unused}?token={alice}")).await;
        u.send_json(json!({"type": "ping"})).await;
        assert!(matches!(next(&mut u).await, ServerMessage::Pong { .. }));

        let world = sid();
        let mut a = WsClient::open(&app, &format!("/ws/{world}?token={alice}")).await;
        a.send_json(request("Build a world of glass")).await;
        read_request(&mut a).await;
        // Later by a second: the list's order is by the last work.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let chat = sid();
        let mut b = WsClient::open(&app, &format!("/ws/{chat}?token={alice}")).await;
        b.send_json(request("hello there")).await;
        read_request(&mut b).await;

        let mut books = Vec::new();
        for _ in 0..50 {
            let res = app.get_with_token("/api/books", &alice).await;
            assert_eq!(res.status(), 200);
            books = json::<BookList>(res).await.books;
            if books.len() == 2 && books[1].artifacts == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let ids: Vec<&str> = books.iter().map(|b| b.session_id.as_str()).collect();
        assert_eq!(ids, [chat.as_str(), world.as_str()], "{db}");
        assert_eq!(
            (books[0].title.as_str(), books[0].artifacts),
            ("hello there", 0),
            "titled by its request when nothing is saved: {db}"
        );
        let saved = json::<ArtifactList>(
            app.get_with_token(&format!("/api/books/{world}/artifacts"), &alice)
                .await,
        )
        .await;
        assert_eq!(books[1].title, saved.artifacts[0].title, "{db}");
        assert_eq!(books[1].artifacts, 1, "{db}");
        assert!(books[0].updated_at > books[1].updated_at, "{db}");

        // Nobody else sees them.
        let theirs = app.get_with_token("/api/books", &bob).await;
        assert_eq!(json::<BookList>(theirs).await.books, [], "{db}");
        let anon = app
            .client
            .get(app.url("/api/books"))
            .header("x-anon-id", "visitor-books-1")
            .send()
            .await
            .unwrap();
        assert_eq!(json::<BookList>(anon).await.books, [], "{db}");
    }
}
