//! Several instances, one service (`--redis-url`): chat news, the socket
//! caps, BooksWriter's rate window, the anonymous per-address budget and
//! `previous_response_id` context hold across instances. Each test starts
//! two or three in-process instances on one PostgreSQL database and one
//! Redis; they run when `TEST_REDIS_URL` and `TEST_POSTGRES_URL` are set
//! and say why they skip otherwise.

use crate::books::{assert_rate_limited, bare, fold, next, read_request};
use crate::chat::manage;
use crate::helpers::{SocketIo, TestApp, WsClient, spawn_app_with, test_databases};
use crate::identity::one_reply_at;
use chorus_server::cluster::Cluster;
use chorus_server::cluster::limits::{SLOT_TTL, SharedSlots};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use shared::books::{ServerMessage as BooksMessage, Transcript};
use shared::chat::ServerMessage;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Redis' URL when the cluster tests can run; prints why not otherwise.
fn redis_url(test: &str) -> Option<String> {
    match (
        std::env::var("TEST_REDIS_URL"),
        std::env::var("TEST_POSTGRES_URL"),
    ) {
        (Ok(redis), Ok(_)) => Some(redis),
        _ => {
            eprintln!(
                "skipping {test}: set TEST_REDIS_URL and TEST_POSTGRES_URL to run the cluster tests (scripts/test.sh does)"
            );
            None
        }
    }
}

/// `n` instances sharing one fresh PostgreSQL database, Redis and secret.
async fn instances(
    redis: &str,
    n: usize,
    adjust: impl Fn(&mut chorus_server::Config),
) -> Vec<TestApp> {
    let db = test_databases().await.pop().expect("a PostgreSQL database");
    let mut apps = Vec::new();
    for _ in 0..n {
        apps.push(
            spawn_app_with(|c| {
                c.database_url = db.clone();
                c.redis_url = Some(redis.to_owned());
                // Every test's visitors share 127.0.0.1, and Redis keeps
                // its budget between runs: only the budget's own test
                // has one (at an address of its own).
                c.anon_ip_message_limit = 0;
                adjust(c);
            })
            .await,
        );
    }
    apps
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// A chat of `anon`'s, made with one reply on `app`.
async fn new_chat(app: &TestApp, anon: &str) -> String {
    let res = app
        .client
        .post(app.url("/api/v1/messages/send"))
        .header("x-anon-id", anon)
        .json(&json!({"model": "m", "content": "hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let events = crate::helpers::read_sse(res).await;
    events
        .iter()
        .find_map(|(_, _, data)| {
            let v: Value = serde_json::from_str(data).unwrap();
            (v["type"] == "assistant_complete").then(|| v["chat_id"].as_str().unwrap().to_owned())
        })
        .expect("assistant_complete")
}

/// The next JSON message within `wait`, if any.
async fn within(c: &mut WsClient, wait: Duration) -> Option<Value> {
    tokio::time::timeout(wait, c.next_json()).await.ok()
}

#[tokio::test]
async fn a_rename_on_one_instance_reaches_the_owners_sockets_on_another() {
    let Some(redis) = redis_url("a_rename_on_one_instance_reaches_the_owners_sockets_on_another")
    else {
        return;
    };
    let apps = instances(&redis, 2, |_| {}).await;
    let anon = unique("cluster-news");
    let chat_id = new_chat(&apps[0], &anon).await;
    let mut tab1 = manage(&apps[0], &format!("anon_id={anon}")).await;
    let mut tab2 = manage(&apps[1], &format!("anon_id={anon}")).await;
    let mut io2 = SocketIo::connect(&apps[1], &anon).await;
    let mut stranger = manage(&apps[1], &format!("anon_id={}", unique("cluster-stranger"))).await;

    // The other instance subscribes at start; rename until its news comes
    // (each rename is answered, and each later one is news too).
    let mut heard = None;
    for attempt in 0..20 {
        let title = format!("Renamed {attempt}");
        tab1.send_json(json!({"type": "rename_chat", "chat_id": chat_id, "title": title}))
            .await;
        let answer: ServerMessage = serde_json::from_value(tab1.next_json().await).unwrap();
        assert!(matches!(&answer, ServerMessage::ChatRenamed { chat } if chat.title == title));
        if let Some(news) = within(&mut tab2, Duration::from_millis(500)).await {
            heard = Some((answer, news));
            break;
        }
    }
    let (answer, news) = heard.expect("the rename reached the other instance");
    let news: ServerMessage = serde_json::from_value(news).unwrap();
    assert_eq!(news, answer, "the plain socket on the other instance");
    // socket.io on the other instance: every rename since it connected, the
    // last one being the same news.
    loop {
        let (name, data) = io2.event().await;
        assert_eq!(name, "chat_renamed");
        if serde_json::from_value::<ServerMessage>(data).unwrap() == answer {
            break;
        }
    }
    // The renaming tab gets no echo of its own news, a stranger nothing.
    tab1.send_json(json!({"type": "get_usage"})).await;
    assert_eq!(tab1.next_json().await["type"], "usage_info");
    assert!(
        within(&mut stranger, Duration::from_millis(300))
            .await
            .is_none()
    );

    // A delete made on instance 2 reaches instance 1.
    tab2.send_json(json!({"type": "delete_chat", "chat_id": chat_id}))
        .await;
    assert_eq!(tab2.next_json().await["type"], "chat_deleted");
    let deleted: ServerMessage = serde_json::from_value(tab1.next_json().await).unwrap();
    assert_eq!(
        deleted,
        ServerMessage::ChatDeleted {
            chat_id: chat_id.clone()
        }
    );
}

impl SocketIo {
    /// The `chat_renamed` events titled `title` within `wait`.
    async fn renamed_to(&mut self, title: &str, wait: Duration) -> usize {
        let mut heard = 0;
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(frame) = tokio::time::timeout_at(deadline, self.frame()).await {
            if let Some(body) = frame.strip_prefix("42/chats,") {
                let v: Vec<Value> = serde_json::from_str(body).unwrap();
                if v[0] == "chat_renamed" && v[1]["chat"]["title"] == title {
                    heard += 1;
                }
            }
        }
        heard
    }
}

/// Two instances, a chat of a new visitor's made on the first, the
/// visitor's socket.io client and plain socket there and a plain socket on
/// the second: (apps, chat id, socket.io on the first, plain on the first,
/// plain on the second).
async fn a_chat_watched_from_two_instances(
    redis: &str,
    prefix: &str,
) -> (Vec<TestApp>, String, SocketIo, WsClient, WsClient) {
    let apps = instances(redis, 2, |_| {}).await;
    let anon = unique(prefix);
    let chat_id = new_chat(&apps[0], &anon).await;
    let io_a = SocketIo::connect(&apps[0], &anon).await;
    let tab_a = manage(&apps[0], &format!("anon_id={anon}")).await;
    let tab_b = manage(&apps[1], &format!("anon_id={anon}")).await;
    (apps, chat_id, io_a, tab_a, tab_b)
}

/// Renames `chat_id` through `tab`, and waits for the answer.
async fn rename(tab: &mut WsClient, chat_id: &str, title: &str) {
    tab.send_json(json!({"type": "rename_chat", "chat_id": chat_id, "title": title}))
        .await;
    assert_eq!(tab.next_json().await["type"], "chat_renamed");
}

#[tokio::test]
async fn socketio_news_crosses_instances_through_the_redis_adapter_exactly_once() {
    let Some(redis) =
        redis_url("socketio_news_crosses_instances_through_the_redis_adapter_exactly_once")
    else {
        return;
    };
    let (_apps, chat_id, mut io_a, mut tab_a, mut tab_b) =
        a_chat_watched_from_two_instances(&redis, "cluster-io").await;
    // What the adapter publishes for the namespace, read beside it.
    let mut adapter = redis::Client::open(redis.as_str())
        .unwrap()
        .get_async_pubsub()
        .await
        .unwrap();
    adapter
        .subscribe(format!(
            "{}-request#/chats#",
            chorus_server::cluster::socketio::CHANNEL_PREFIX
        ))
        .await
        .unwrap();
    let mut adapter = adapter.into_on_message();
    // The adapters subscribe as their instances start: rename until the
    // news comes through.
    let mut ready = false;
    for attempt in 0..20 {
        let title = format!("Warm-up {attempt}");
        rename(&mut tab_b, &chat_id, &title).await;
        if io_a.renamed_to(&title, Duration::from_millis(500)).await > 0 {
            ready = true;
            break;
        }
    }
    assert!(ready, "socket.io news reached the other instance");
    let title = unique("Final");
    rename(&mut tab_b, &chat_id, &title).await;
    assert_eq!(
        io_a.renamed_to(&title, Duration::from_millis(1500)).await,
        1,
        "the socket.io client on the other instance hears of the rename exactly once"
    );
    // It went through the adapter (a broadcast request naming the title)...
    let mut through_adapter = false;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(2), adapter.next()).await {
        let payload: Vec<u8> = msg.get_payload().unwrap();
        if payload.windows(title.len()).any(|w| w == title.as_bytes()) {
            through_adapter = true;
            break;
        }
    }
    assert!(
        through_adapter,
        "the news was broadcast by the Redis adapter"
    );
    // ...and the plain socket on the first instance still hears of it once.
    let mut plain = 0;
    while let Some(v) = within(&mut tab_a, Duration::from_millis(300)).await {
        if v["type"] == "chat_renamed" && v["chat"]["title"] == title.as_str() {
            plain += 1;
        }
    }
    assert_eq!(plain, 1, "the plain WebSocket on the first instance, once");
}

#[tokio::test]
async fn without_redis_socketio_news_reaches_the_owners_other_sockets_but_not_the_sender() {
    let app = crate::helpers::spawn_app().await;
    let anon = unique("local-io");
    let chat_id = new_chat(&app, &anon).await;
    let mut sender = SocketIo::connect(&app, &anon).await;
    let mut other = SocketIo::connect(&app, &anon).await;
    let mut stranger = SocketIo::connect(&app, &unique("local-stranger")).await;
    let title = unique("Local");
    let msg = json!(["rename_chat", {"chat_id": chat_id, "title": title}]);
    sender
        .socket
        .send(Message::text(format!("42/chats,{msg}")))
        .await
        .unwrap();
    let (name, answer) = sender.event().await;
    assert_eq!(
        (name.as_str(), &answer["chat"]["title"]),
        ("chat_renamed", &json!(title))
    );
    assert_eq!(
        other.renamed_to(&title, Duration::from_millis(800)).await,
        1
    );
    assert_eq!(
        sender.renamed_to(&title, Duration::from_millis(300)).await,
        0,
        "no echo"
    );
    assert_eq!(
        stranger
            .renamed_to(&title, Duration::from_millis(300))
            .await,
        0
    );
}

/// Upgrades to the chat management socket of `token` on `app`: the
/// socket, or the refusal's status.
async fn user_socket(app: &TestApp, token: &str) -> Result<WsClient, u16> {
    use tokio_tungstenite::tungstenite::Error;
    match tokio_tungstenite::connect_async(app.ws_url(&format!("/api/v1/chats/ws?token={token}")))
        .await
    {
        Ok((socket, _)) => Ok(WsClient { socket }),
        Err(Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn the_per_user_socket_cap_counts_every_instance() {
    let Some(redis) = redis_url("the_per_user_socket_cap_counts_every_instance") else {
        return;
    };
    let apps = instances(&redis, 3, |c| c.max_connections_per_user = 2).await;
    let token = apps[0].register(&unique("cap")[..12]).await;
    let first = user_socket(&apps[0], &token).await.expect("first socket");
    let _second = user_socket(&apps[1], &token).await.expect("second socket");
    assert_eq!(
        user_socket(&apps[2], &token).await.err(),
        Some(429),
        "a third socket anywhere is over the cap"
    );
    drop(first);
    // The closed socket's slot is given back (asynchronously).
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(s) = user_socket(&apps[2], &token).await {
            reopened = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed socket gives its slot back");
}

#[tokio::test]
async fn a_dead_instances_sockets_stop_counting_once_their_slots_lapse() {
    let Some(redis) = redis_url("a_dead_instances_sockets_stop_counting_once_their_slots_lapse")
    else {
        return;
    };
    let secret = Some("test-secret-of-sufficient-length-0123456789");
    let holder = unique("user:dead");
    // The instance that dies: short slots, then it stops renewing them
    // (its counter and renewal task go, the slots are never given back).
    let dying = Cluster::join(&redis, secret).await.unwrap();
    let ttl = Duration::from_millis(1500);
    let slots = SharedSlots::with_ttl(dying, ttl, Duration::from_millis(300));
    let a = slots.acquire(&holder, 2).await.unwrap().expect("slot");
    let b = slots.acquire(&holder, 2).await.unwrap().expect("slot");
    // Still held after several renewals.
    tokio::time::sleep(ttl * 2).await;
    let alive = Cluster::join(&redis, secret).await.unwrap();
    let other = SharedSlots::new(alive);
    assert!(
        other.acquire(&holder, 2).await.unwrap().is_none(),
        "renewed slots keep counting past their TTL"
    );
    // The instance dies: its slots are never given back and its renewal
    // stops with it.
    std::mem::forget((a, b));
    drop(slots);
    let mut freed = None;
    for _ in 0..100 {
        if let Some(slot) = other.acquire(&holder, 2).await.unwrap() {
            freed = Some(slot);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed.is_some(), "a dead instance's slots lapse");
    assert!(
        SLOT_TTL > ttl,
        "in production a slot lapses {SLOT_TTL:?} after its instance died"
    );
}

#[tokio::test]
async fn the_books_window_counts_messages_on_every_instance() {
    let Some(redis) = redis_url("the_books_window_counts_messages_on_every_instance") else {
        return;
    };
    let apps = instances(&redis, 2, |_| {}).await;
    let sid = unique("cluster-books");
    let mut on1 = WsClient::open(&apps[0], &format!("/ws/{sid}")).await;
    let mut on2 = WsClient::open(&apps[1], &format!("/ws/{sid}")).await;
    for (ws, n) in [(&mut on1, 30), (&mut on2, 30)] {
        for _ in 0..n {
            ws.send_json(json!({"type": "ping"})).await;
        }
        for _ in 0..n {
            assert_eq!(ws.next_json().await["type"], "pong");
        }
    }
    on1.send_json(json!({"type": "ping"})).await;
    assert_rate_limited(next(&mut on1).await);
}

#[tokio::test]
async fn previous_response_id_continues_on_another_instance_for_its_owner_only() {
    let Some(redis) =
        redis_url("previous_response_id_continues_on_another_instance_for_its_owner_only")
    else {
        return;
    };
    let apps = instances(&redis, 2, |_| {}).await;
    let anon = unique("cluster-ctx");
    let mut ws1 = WsClient::connect(&apps[0], &format!("/ws?anon_id={anon}")).await;
    ws1.send_json(json!({"type": "openai_chat", "data": {"input_text": "Hello, world!"}}))
        .await;
    let first = ws1.read_until(|v| v["type"] == "response").await;
    let response_id = first.last().unwrap()["data"]["response_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let follow_up = json!({"type": "openai_chat", "data": {"input_text": "And in one word?", "previous_response_id": response_id}});
    // Shared in the background: ask until it is there.
    let mut ws2 = WsClient::connect(&apps[1], &format!("/ws?anon_id={anon}")).await;
    let mut continued = None;
    for _ in 0..20 {
        ws2.send_json(follow_up.clone()).await;
        let first = ws2.next_json().await;
        if first["type"] == "error" {
            assert_eq!(first["code"], "NOT_FOUND");
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let rest = ws2.read_until(|v| v["type"] == "response").await;
        continued = Some(rest.last().unwrap()["data"]["output_text"].clone());
        break;
    }
    let continued = continued.expect("the context reached the other instance");
    // The same follow-up without context reads differently.
    ws2.send_json(json!({"type": "openai_chat", "data": {"input_text": "And in one word?"}}))
        .await;
    let fresh = ws2.read_until(|v| v["type"] == "response").await;
    assert_ne!(fresh.last().unwrap()["data"]["output_text"], continued);
    // Someone else may not continue it.
    let mut stranger = WsClient::connect(
        &apps[1],
        &format!("/ws?anon_id={}", unique("cluster-other")),
    )
    .await;
    stranger.send_json(follow_up).await;
    let err = stranger.next_json().await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("error"), Some("NOT_FOUND"))
    );
}

#[tokio::test]
async fn an_addresss_free_replies_are_counted_on_every_instance() {
    let Some(redis) = redis_url("an_addresss_free_replies_are_counted_on_every_instance") else {
        return;
    };
    let apps = instances(&redis, 2, |c| {
        c.anon_message_limit = 5;
        c.anon_ip_message_limit = 2;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    // An address of this test's own (documentation range, random).
    let ip = format!("2001:db8::{:x}:{:x}", rand_u16(), rand_u16());
    let r = one_reply_at(
        &apps[0],
        &format!("/ws?anon_id={}", unique("budget-a")),
        Some(&ip),
    )
    .await;
    assert_eq!(r["type"], "response", "{r}");
    let r = one_reply_at(
        &apps[1],
        &format!("/ws?anon_id={}", unique("budget-b")),
        Some(&ip),
    )
    .await;
    assert_eq!(r["type"], "response", "{r}");
    // A third id on either instance: the address's budget is spent.
    for app in &apps {
        let r = one_reply_at(
            app,
            &format!("/ws?anon_id={}", unique("budget-c")),
            Some(&ip),
        )
        .await;
        assert_eq!(r["code"], "ANON_LIMIT_REACHED", "{r}");
    }
}

fn rand_u16() -> u16 {
    let id = uuid::Uuid::new_v4();
    u16::from_be_bytes([id.as_bytes()[0], id.as_bytes()[1]])
}

/// `session_restore` on `ws`: the conversation and its seq.
async fn restore(ws: &mut WsClient) -> (Transcript, u64) {
    ws.send_json(json!({"type": "session_restore"})).await;
    match next(ws).await {
        BooksMessage::SessionRestored {
            messages,
            current_agent,
            seq,
            ..
        } => (Transcript::restored(messages, current_agent, seq), seq),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_bookswriter_socket_on_another_instance_sees_the_session_once_and_restores_exactly() {
    let Some(redis) = redis_url(
        "a_bookswriter_socket_on_another_instance_sees_the_session_once_and_restores_exactly",
    ) else {
        return;
    };
    let apps = instances(&redis, 2, |c| c.chunk_delay_ms = Some(15)).await;
    let path = format!("/ws/{}", unique("cluster-session"));
    let mut a = WsClient::open(&apps[0], &path).await;
    a.send_json(bare("Create a fantasy novel with dragons"))
        .await;
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|e| matches!(e, BooksMessage::StreamChunk { .. }))
        .count()
        < 3
    {
        seen.push(next(&mut a).await);
    }
    // A refresh that lands on the other instance restores mid-stream.
    let mut b = WsClient::open(&apps[1], &path).await;
    let (mut restored, seq) = restore(&mut b).await;
    let tail = read_request(&mut b).await;
    assert_eq!(
        tail[0].seq(),
        seq + 1,
        "the live tail starts after the snapshot"
    );
    for e in &tail {
        restored.apply(e);
    }
    seen.extend(read_request(&mut a).await);
    assert_eq!(restored, fold(&seen), "nothing missing, nothing twice");

    // A request sent on the other instance runs in the one session: both
    // sockets see the same events, once.
    b.send_json(bare("Create a character for my story")).await;
    let on_b = read_request(&mut b).await;
    let on_a = read_request(&mut a).await;
    assert_eq!(on_a, on_b);
    assert!(matches!(on_b[0], BooksMessage::MessageReceived { .. }));
    assert_eq!(on_b[0].seq(), seen.last().unwrap().seq() + 1);
    assert_eq!(
        apps[1].state.books.len(),
        0,
        "the session lives on its owner only"
    );

    // Resume on the other instance: exactly the events after a seq.
    let from = on_a[2].seq();
    let mut c = WsClient::open(&apps[1], &path).await;
    c.send_json(json!({"type": "resume", "after_seq": from}))
        .await;
    let mut replay = Vec::new();
    while replay.len() < on_a.len() - 3 {
        replay.push(next(&mut c).await);
    }
    assert_eq!(replay, on_a[3..]);
    seen.extend(on_a);
    let (whole, _) = restore(&mut c).await;
    assert_eq!(whole.entries, fold(&seen).entries);
}

#[tokio::test]
async fn a_bookswriter_session_is_taken_over_once_its_owner_is_gone() {
    let Some(redis) = redis_url("a_bookswriter_session_is_taken_over_once_its_owner_is_gone")
    else {
        return;
    };
    let mut apps = instances(&redis, 2, |_| {}).await;
    let path = format!("/ws/{}", unique("cluster-takeover"));
    let mut a = WsClient::open(&apps[0], &path).await;
    a.send_json(bare("Create a fantasy novel with dragons"))
        .await;
    let first = read_request(&mut a).await;
    let (before, seq) = restore(&mut a).await;
    // A socket relayed to the owner when it goes.
    let mut relayed = WsClient::open(&apps[1], &path).await;
    let (through_owner, _) = restore(&mut relayed).await;
    assert_eq!(through_owner, before);
    drop(a);
    let owner = apps.remove(0);
    owner.shut_down().await.unwrap();
    // The relayed socket is closed, to reconnect.
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(Ok(frame)) = relayed.socket.next().await {
            if let Message::Close(frame) = frame {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .expect("the relayed socket closes");
    assert!(matches!(closed, Some(1001 | 1012)), "{closed:?}");

    // Reconnecting: once the owner's lease lapses the session is taken
    // over from the database, whole.
    let survivor = &apps[0];
    let mut taken = None;
    for _ in 0..80 {
        let mut b = WsClient::open(survivor, &path).await;
        b.send_json(json!({"type": "session_restore"})).await;
        match tokio::time::timeout(Duration::from_secs(5), b.socket.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let m: BooksMessage = serde_json::from_str(t.as_str()).unwrap();
                let BooksMessage::SessionRestored {
                    messages,
                    current_agent,
                    seq,
                    ..
                } = m
                else {
                    panic!("{m:?}")
                };
                taken = Some((b, Transcript::restored(messages, current_agent, seq)));
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    let (mut b, after) = taken.expect("the session is taken over");
    assert_eq!(after.entries, before.entries, "restored from the database");
    assert_eq!(survivor.state.books.len(), 1, "the session lives here now");
    b.send_json(bare("Create a character for my story")).await;
    let next = read_request(&mut b).await;
    assert!(matches!(next.last(), Some(BooksMessage::Completion { .. })));
    assert!(
        next[0].seq() > seq,
        "seq goes on after the saved conversation"
    );
    assert!(first.len() > 3);
}

/// The process's metrics, as `/metrics` serves them.
async fn metrics() -> String {
    use tower::ServiceExt;
    let res = chorus_server::metrics::router()
        .oneshot(
            axum::http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The value of the sample `name` (with its labels, as written), 0 if absent.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn the_cluster_metrics_count_news_adapter_messages_relays_takeovers_and_slots() {
    let Some(redis) =
        redis_url("the_cluster_metrics_count_news_adapter_messages_relays_takeovers_and_slots")
    else {
        return;
    };
    // Metrics are the process's: other tests only add to these counters.
    let before = metrics().await;
    let (apps, chat_id, mut io_a, mut tab_a, mut tab_b) =
        a_chat_watched_from_two_instances(&redis, "cluster-metrics").await;
    let mut heard = false;
    for attempt in 0..20 {
        let title = format!("Counted {attempt}");
        rename(&mut tab_b, &chat_id, &title).await;
        if io_a.renamed_to(&title, Duration::from_millis(500)).await > 0
            && within(&mut tab_a, Duration::from_millis(500))
                .await
                .is_some()
        {
            heard = true;
            break;
        }
    }
    assert!(heard, "news crossed the instances");
    // A BooksWriter socket relayed to the session's instance.
    let path = format!("/ws/{}", unique("cluster-metrics-books"));
    let mut owner = WsClient::open(&apps[0], &path).await;
    owner.send_json(json!({"type": "ping"})).await;
    assert_eq!(owner.next_json().await["type"], "pong");
    let mut relayed = WsClient::open(&apps[1], &path).await;
    relayed.send_json(json!({"type": "ping"})).await;
    assert_eq!(relayed.next_json().await["type"], "pong");
    let after = metrics().await;
    for name in [
        "chorus_cluster_news_published_total",
        "chorus_cluster_news_received_total",
        "chorus_cluster_socketio_published_total",
        "chorus_cluster_socketio_received_total",
        "chorus_cluster_books_relayed_total{direction=\"to_owner\"}",
        "chorus_cluster_books_relayed_total{direction=\"to_socket\"}",
        "chorus_cluster_takeovers_total{kind=\"books_session\"}",
    ] {
        assert!(
            sample(&after, name) > sample(&before, name),
            "{name} counts: {after}"
        );
    }
    for name in [
        "chorus_cluster_redis_errors_total ",
        "chorus_cluster_events_flushed_total ",
    ] {
        assert!(
            after.lines().any(|l| l.starts_with(name)),
            "{name}: {after}"
        );
    }
    // The management sockets hold their slots in Redis meanwhile.
    assert!(
        sample(&after, "chorus_cluster_slots_held") >= 2.0,
        "{after}"
    );
}

#[tokio::test]
async fn a_logout_on_one_instance_closes_the_users_sockets_on_another() {
    let Some(redis) = redis_url("a_logout_on_one_instance_closes_the_users_sockets_on_another")
    else {
        return;
    };
    let apps = instances(&redis, 2, |_| {}).await;
    let name = unique("leaver").replace('-', "_")[..24].to_owned();
    let token = apps[0].register(&name).await;
    let mut there = WsClient::connect(&apps[1], &format!("/ws?token={token}")).await;
    let mut io = SocketIo::connect_with(&apps[1], json!({"token": token})).await;

    let res = apps[0]
        .client
        .post(apps[0].url("/api/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    let (code, reason) = there.closed().await;
    assert_eq!((code, reason.as_str()), (1008, "signed out: sign in again"));
    let (name, _) = io.event().await;
    assert_eq!(name, "error");
    assert_eq!(io.frame().await, "41/chats,");
}
