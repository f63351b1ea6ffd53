use crate::helpers::{read_sse, spawn_app};
use shared::test_sse::ServerEvent;

#[tokio::test]
async fn test_sse_sends_five_messages_then_complete_with_names_and_ids() {
    let app = spawn_app().await;
    for req in [
        app.client
            .get(app.url("/api/v1/messages/test-sse?interval_ms=0")),
        app.client
            .post(app.url("/api/v1/messages/test-sse?interval_ms=0")),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let events = read_sse(res).await;
        let mut expected: Vec<ServerEvent> = (1..=5)
            .map(|n| ServerEvent::TestMessage {
                counter: n,
                message: format!("Test message {n}"),
            })
            .collect();
        expected.push(ServerEvent::TestComplete {
            message: "SSE test completed".into(),
        });
        assert_eq!(events.len(), expected.len());
        for (i, ((name, id, data), want)) in events.iter().zip(&expected).enumerate() {
            let got: ServerEvent = serde_json::from_str(data).unwrap();
            assert_eq!(&got, want);
            assert_eq!(name, want.name());
            assert_eq!(id, &(i + 1).to_string());
        }
    }
}

#[tokio::test]
async fn test_sse_refuses_a_bad_interval_with_json() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/messages/test-sse?interval_ms=abc").await;
    assert_eq!(res.status(), 400);
    let res = app
        .get("/api/v1/messages/test-sse?interval_ms=999999")
        .await;
    assert_eq!(res.status(), 422);
}
