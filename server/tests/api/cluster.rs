//! Several instances, one service (`--redis-url`): two apps in this process
//! share one Redis (`TEST_REDIS_URL`, database 9; the Redis tests skip,
//! saying so, without it) and a stream started on one is resumed and
//! stopped on the other. Recovery of a dead instance's generations needs no
//! Redis. The whole topology (HAProxy, `kill -9`, a Redis restart) is
//! `e2e/cluster.test.mjs`.

use crate::helpers::{TestApp, read_sse, spawn_app_with};
use chorus_server::store::Store;
use futures_util::StreamExt;
use shared::health::{Check, Readiness};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "cluster-test-secret-of-sufficient-length-0123";

fn redis_url() -> Option<String> {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) => Some(format!("{}/9", url.trim_end_matches('/'))),
        Err(_) => {
            eprintln!("skipped: TEST_REDIS_URL is not set (scripts/test.sh sets it)");
            None
        }
    }
}

/// A long reply's SSE events, each well-formed.
type Events = std::pin::Pin<Box<dyn futures_util::Stream<Item = eventsource_stream::Event> + Send>>;

/// Two instances on `redis`, a user of them, and a long reply started on
/// the first: (first, second, token, stream id, its events).
async fn reply_on_one_of_two(
    redis: &str,
    username: &str,
) -> (TestApp, TestApp, String, String, Events) {
    let (a, b) = (instance(redis).await, instance(redis).await);
    let token = a.register(username).await;
    let (id, events) =
        crate::helpers::long_chat_reply(&a.client, &format!("http://{}", a.addr), &token).await;
    let events: Events = Box::pin(events.map(|e| e.expect("well-formed SSE")));
    (a, b, token, id, events)
}

/// `GET /api/streams/{id}` on `app` as `token`, after `last` (`Last-Event-ID`).
async fn resume_on(app: &TestApp, id: &str, token: &str, last: u64) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/api/streams/{id}")))
        .bearer_auth(token)
        .header("last-event-id", last.to_string())
        .send()
        .await
        .unwrap()
}

async fn instance(redis: &str) -> TestApp {
    let redis = redis.to_owned();
    spawn_app_with(move |c| {
        c.redis_url = Some(redis);
        c.jwt_secret = Some(SECRET.into());
        c.chunk_delay_ms = Some(40);
    })
    .await
}

#[tokio::test]
async fn a_stream_started_on_one_instance_resumes_on_another_byte_for_byte() {
    let Some(redis) = redis_url() else { return };
    let (a, b, token, id, mut events) = reply_on_one_of_two(&redis, "cluster_resume").await;
    for _ in 0..3 {
        events.next().await.unwrap();
    }
    let remote = resume_on(&b, &id, &token, 3).await;
    assert_eq!(remote.status(), 200);
    let remote = read_sse(remote).await;
    let owner = a
        .client
        .get(a.url(&format!("/api/streams/{id}?after=3")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let owner = read_sse(owner).await;
    assert!(owner.len() > 3, "{owner:?}");
    assert_eq!(remote, owner);
    assert_eq!(owner.last().unwrap().0, "usage_info");
}

#[tokio::test]
async fn a_stop_asked_on_another_instance_stops_the_generation_where_it_runs() {
    let Some(redis) = redis_url() else { return };
    let (a, b, token, id, mut events) = reply_on_one_of_two(&redis, "cluster_stop").await;
    events.next().await.unwrap();
    // The stream's first events reach Redis in a moment.
    let mut answer = serde_json::Value::Null;
    for _ in 0..50 {
        let res = b
            .client
            .post(b.url(&format!("/api/streams/{id}/stop")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            answer = res.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        answer,
        serde_json::json!({"stream_id": id, "status": "stopping"})
    );
    let mut status = None;
    while let Some(ev) = events.next().await {
        if ev.event == "assistant_complete" {
            let v: serde_json::Value = serde_json::from_str(&ev.data).unwrap();
            status = v["status"].as_str().map(str::to_owned);
        }
    }
    assert_eq!(status.as_deref(), Some("stopped"));
    let saved = a.state.store.generation(&id).await.unwrap().unwrap();
    assert_eq!(saved.status, "stopped");
}

#[tokio::test]
async fn someone_elses_stream_on_another_instance_is_forbidden() {
    let Some(redis) = redis_url() else { return };
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let owner = a.register("cluster_owner").await;
    let other = b.register("cluster_other").await;
    let (id, _events) =
        crate::helpers::long_chat_reply(&a.client, &format!("http://{}", a.addr), &owner).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let res = b
        .get_with_token(&format!("/api/streams/{id}"), &other)
        .await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn recovering_a_dead_instance_leaves_the_others_generations_running() {
    for url in crate::helpers::test_databases().await {
        let db = chorus_server::db::Db::connect(&url).await.unwrap();
        let dead = Store::new(db.clone()).with_instance("in_dead");
        let live = Store::new(db.clone()).with_instance("in_live");
        dead.generation_started("st_dead", "user:1").await.unwrap();
        live.generation_started("st_live", "user:1").await.unwrap();
        let mut instances = live.instances_with_unsettled().await.unwrap();
        instances.sort();
        assert_eq!(instances, ["in_dead", "in_live"]);
        assert_eq!(
            live.recover_instance("in_dead", |_| 0).await.unwrap(),
            (1, 0)
        );
        let status = |s: &str| {
            let store = live.clone();
            let s = s.to_owned();
            async move { store.generation(&s).await.unwrap().unwrap().status }
        };
        assert_eq!(status("st_dead").await, "interrupted");
        assert_eq!(status("st_live").await, "running");
        assert_eq!(live.instances_with_unsettled().await.unwrap(), ["in_live"]);
    }
}

#[tokio::test]
async fn readers_of_a_stream_whose_instance_died_get_stream_interrupted_with_the_saved_text() {
    let Some(redis) = redis_url() else { return };
    let b = instance(&redis).await;
    let token = b.register("cluster_orphan").await;
    let me: shared::auth::Me =
        crate::helpers::json(b.get_with_token("/api/auth/me", &token).await).await;
    let owner = format!("user:{}", me.id);
    // What an instance that was killed left: two events, no end, no lease,
    // and its saved text in the shared database.
    let id = format!("st_{}", uuid::Uuid::new_v4().simple());
    let dead = b.state.store.clone().with_instance("in_killed");
    dead.generation_started(&id, &owner).await.unwrap();
    dead.queue_generation_text(&id, "Once upon");
    let mut conn = redis::Client::open(redis.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    for seq in 1..=2u64 {
        let json = format!(r#"{{"type":"delta","text":"x","stream_id":"{id}","seq":{seq}}}"#);
        let _: String = redis::cmd("XADD")
            .arg(format!("chorus:stream:{{{id}}}:ev"))
            .arg(format!("{seq}-0"))
            .arg("n")
            .arg("delta")
            .arg("j")
            .arg(json)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let _: i64 = redis::cmd("HSET")
        .arg(format!("chorus:stream:{{{id}}}"))
        .arg("owner")
        .arg(&owner)
        .arg("instance")
        .arg("in_killed")
        .arg("last")
        .arg(2)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("EXPIRE")
        .arg(format!("chorus:stream:{{{id}}}"))
        .arg(60)
        .query_async(&mut conn)
        .await
        .unwrap();
    let res = resume_on(&b, &id, &token, 1).await;
    assert_eq!(res.status(), 200);
    let events = tokio::time::timeout(std::time::Duration::from_secs(20), read_sse(res))
        .await
        .expect("the reader is not left waiting");
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!((events[0].0.as_str(), events[0].1.as_str()), ("delta", "2"));
    let (name, seq, data) = &events[1];
    assert_eq!((name.as_str(), seq.as_str()), ("error", "3"));
    let err: shared::stream::Interrupted = serde_json::from_str(data).unwrap();
    assert_eq!(err.code, shared::ErrorCode::StreamInterrupted);
    assert_eq!((err.text.as_str(), err.seq), ("Once upon", 3));
    assert_eq!(err.stream_id, id);
}

/// A TCP relay to `redis` that holds every byte `delay` each way (a Redis
/// far away), until `cut` is cancelled (then Redis cannot be reached: its
/// connections close, new ones are refused).
async fn relay(redis: &str, delay: std::time::Duration, cut: CancellationToken) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let target = redis
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let db = redis.rsplit_once('/').map(|(_, d)| d.to_owned()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    async fn pump(
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        delay: std::time::Duration,
        cut: CancellationToken,
    ) {
        let (tx, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
        let writer = cut.clone();
        tokio::spawn(writer.run_until_cancelled_owned(async move {
            while let Some((due, bytes)) = rx.recv().await {
                tokio::time::sleep_until(due).await;
                if to.write_all(&bytes).await.is_err() {
                    break;
                }
            }
        }));
        let mut buf = vec![0; 64 * 1024];
        while let Some(Ok(n)) = cut.run_until_cancelled(from.read(&mut buf)).await {
            if n == 0
                || tx
                    .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
            {
                break;
            }
        }
    }
    tokio::spawn(cut.clone().run_until_cancelled_owned(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pump(cr, sw, delay, cut.clone()));
            tokio::spawn(pump(sr, cw, delay, cut.clone()));
        }
    }));
    format!("redis://{addr}/{db}")
}

#[tokio::test]
async fn ready_names_redis_and_is_not_ready_while_redis_cannot_be_reached() {
    let Some(redis) = redis_url() else { return };
    let cut = CancellationToken::new();
    let a = instance(&relay(&redis, std::time::Duration::ZERO, cut.clone()).await).await;
    let res = a.get("/api/ready").await;
    assert_eq!(res.status(), 200);
    let ready: Readiness = crate::helpers::json(res).await;
    assert_eq!(ready.status, "ready");
    let redis_check = |r: &Readiness| r.checks.iter().find(|c| c.name == "redis").cloned();
    assert_eq!(
        redis_check(&ready),
        Some(Check {
            name: "redis".into(),
            ok: true,
            detail: "answers".into()
        }),
        "{ready:?}"
    );
    cut.cancel();
    let mut down = None;
    for _ in 0..50 {
        let res = a.get("/api/ready").await;
        if res.status() == 503 {
            down = Some(crate::helpers::json::<Readiness>(res).await);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let down = down.expect("not ready once Redis cannot be reached");
    assert_eq!(down.status, "not_ready");
    assert_eq!(
        redis_check(&down),
        Some(Check {
            name: "redis".into(),
            ok: false,
            detail: "unreachable".into()
        })
    );
    assert!(
        down.checks.iter().any(|c| c.name == "database" && c.ok),
        "{down:?}"
    );
    // Alive all the same.
    assert_eq!(a.get("/api/health").await.status(), 200);
}

#[tokio::test]
async fn a_graceful_shutdown_writes_every_queued_stream_event_to_redis_before_it_returns() {
    let Some(redis) = redis_url() else { return };
    let slow = relay(
        &redis,
        std::time::Duration::from_millis(300),
        CancellationToken::new(),
    )
    .await;
    let a = instance(&slow).await;
    let token = a.register("cluster_leaving").await;
    let (id, events) =
        crate::helpers::long_chat_reply(&a.client, &format!("http://{}", a.addr), &token).await;
    let mut events = std::pin::pin!(events);
    let mut last = 0u64;
    while let Some(Ok(ev)) = events.next().await {
        last = ev.id.parse().unwrap();
        if ev.event == "assistant_delta" && last >= 3 {
            break;
        }
    }
    let server = tokio::spawn(a.shut_down());
    while let Some(Ok(ev)) = events.next().await {
        last = ev.id.parse().unwrap();
    }
    server.await.unwrap().expect("run returns cleanly");
    // The process could exit now: Redis already has the whole stream.
    let mut conn = redis::Client::open(redis.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let meta: std::collections::HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("chorus:stream:{{{id}}}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(meta.get("done").map(String::as_str), Some("1"), "{meta:?}");
    assert_eq!(meta.get("last"), Some(&last.to_string()), "{meta:?}");
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(format!("chorus:stream:{{{id}}}:ev"))
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let seqs: Vec<String> = entries.ids.iter().map(|e| e.id.clone()).collect();
    let every: Vec<String> = (1..=last).map(|s| format!("{s}-0")).collect();
    assert_eq!(seqs, every, "every event, through the owner's last");
}
