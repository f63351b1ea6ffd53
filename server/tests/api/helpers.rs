//! Starting the real server for a test, and small clients for it.

use chorus_server::{AppState, Config, run};
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The inline loader script of the test index page (its hash must be in the CSP).
pub const INLINE_SCRIPT: &str = "import init from '/app-0123456789abcdef.js'; init();";

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The server's state, for tests that look inside (the database, streams).
    #[allow(dead_code)]
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    _dist: TempDir,
}

/// Starts the server with a temporary `dist/` and an in-memory database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The databases the store tests run on: an in-memory SQLite always, and a
/// fresh PostgreSQL database when `TEST_POSTGRES_URL` is set.
pub async fn test_databases() -> Vec<String> {
    let mut urls = vec!["sqlite::memory:".to_owned()];
    urls.extend(crate::databases::fresh_postgres().await);
    urls
}

/// Starts the server on the database at `url`.
pub async fn spawn_app_on(url: &str) -> TestApp {
    let url = url.to_owned();
    spawn_app_with(move |c| c.database_url = url).await
}

/// Like [`spawn_app`], with the configuration adjusted first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dist = tempfile::tempdir().expect("temp dist");
    std::fs::write(
        dist.path().join("index.html"),
        format!(
            "<!doctype html><html><head><title>Chorus</title>\
             <script type=\"module\">{INLINE_SCRIPT}</script></head>\
             <body></body></html>"
        ),
    )
    .unwrap();
    std::fs::write(
        dist.path().join("app-0123456789abcdef.js"),
        "x".repeat(4096),
    )
    .unwrap();
    let mut config = Config::for_tests(dist.path().to_path_buf());
    adjust(&mut config);
    let state = AppState::new(config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(run(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::builder().no_gzip().build().unwrap(),
        state,
        shutdown: Some(tx),
        handle: Some(handle),
        _dist: dist,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Registers `username` and returns the token.
    pub async fn register(&self, username: &str) -> String {
        let res = self
            .post_json(
                "/api/auth/register",
                &serde_json::json!({"username": username, "password": "correct horse"}),
            )
            .await;
        assert_eq!(res.status(), 201, "register {username}");
        json::<shared::auth::AuthResponse>(res).await.token
    }

    /// `GET path` with a bearer token.
    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Sends the shutdown signal and waits for `run` to return.
    pub async fn shut_down(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.take().unwrap().await.unwrap()
    }
}

/// Asks the hybrid chat at `base` (`http://host:port`) for a long reply as
/// the user of `token`: the stream's id and its SSE events.
#[allow(dead_code)]
pub async fn long_chat_reply(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> (
    String,
    impl futures_util::Stream<
        Item = Result<
            eventsource_stream::Event,
            eventsource_stream::EventStreamError<reqwest::Error>,
        >,
    > + use<>,
) {
    use eventsource_stream::Eventsource;
    let res = client
        .post(format!("{base}/api/v1/messages/send"))
        .bearer_auth(token)
        .json(&serde_json::json!({"model": "gpt-4o-mini", "content": "Tell me a long story"}))
        .send()
        .await
        .unwrap();
    let stream_id = res.headers()["x-stream-id"].to_str().unwrap().to_owned();
    (stream_id, res.bytes_stream().eventsource())
}

/// Decodes a JSON body, with the body in the panic message when it is not.
pub async fn json<T: DeserializeOwned>(res: reqwest::Response) -> T {
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Reads an SSE response into (event name, id, data) triples until it ends.
pub async fn read_sse(res: reqwest::Response) -> Vec<(String, String, String)> {
    use eventsource_stream::Eventsource;
    let mut events = res.bytes_stream().eventsource();
    let mut out = Vec::new();
    while let Some(ev) = events.next().await {
        let ev = ev.expect("well-formed SSE");
        out.push((ev.event, ev.id, ev.data));
    }
    out
}

/// A WebSocket client for tests: JSON in, JSON out.
pub struct WsClient {
    pub socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl WsClient {
    /// Connects to `path` (e.g. `/ws?anon_id=…`) and reads the greeting.
    pub async fn connect(app: &TestApp, path: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(app.ws_url(path))
            .await
            .unwrap();
        let mut c = Self { socket };
        let greeting = c.next_json().await;
        assert_eq!(greeting["type"], "connection");
        c
    }

    /// Connects to `path` on a socket with no greeting (`/ws/{session_id}`).
    #[allow(dead_code)]
    pub async fn open(app: &TestApp, path: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(app.ws_url(path))
            .await
            .unwrap();
        Self { socket }
    }

    pub async fn send_json(&mut self, v: serde_json::Value) {
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::text(v.to_string()))
            .await
            .unwrap();
    }

    /// The next text frame, as JSON.
    pub async fn next_json(&mut self) -> serde_json::Value {
        loop {
            let frame =
                tokio::time::timeout(std::time::Duration::from_secs(60), self.socket.next())
                    .await
                    .expect("a message within a minute")
                    .expect("socket open")
                    .expect("frame");
            if let tokio_tungstenite::tungstenite::Message::Text(t) = frame {
                return serde_json::from_str(t.as_str()).unwrap();
            }
        }
    }

    /// Reads until the server closes the socket: the close code and reason.
    #[allow(dead_code)]
    pub async fn closed(&mut self) -> (u16, String) {
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let frame =
                tokio::time::timeout(std::time::Duration::from_secs(30), self.socket.next())
                    .await
                    .expect("closed within 30 s")
                    .expect("a close frame before the end");
            match frame {
                Ok(Message::Close(Some(f))) => return (u16::from(f.code), f.reason.to_string()),
                Ok(Message::Close(None)) => panic!("closed without a code"),
                Ok(_) => continue,
                Err(e) => panic!("the connection dropped without a close frame: {e}"),
            }
        }
    }

    /// Reads until `done` says so, returning everything read.
    pub async fn read_until(
        &mut self,
        mut done: impl FnMut(&serde_json::Value) -> bool,
    ) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        loop {
            let v = self.next_json().await;
            let stop = done(&v);
            out.push(v);
            if stop {
                return out;
            }
        }
    }
}

/// A socket.io client of the `/chats` namespace, spoken by hand (Engine.IO
/// 4 over a WebSocket).
pub struct SocketIo {
    pub socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl SocketIo {
    /// Connects as the visitor `anon` (`auth: {anonId}`).
    pub async fn connect(app: &TestApp, anon: &str) -> Self {
        Self::connect_with(app, serde_json::json!({"anonId": anon})).await
    }

    /// Connects with `auth` (`{token}` or `{anonId}`) and reads the welcome.
    pub async fn connect_with(app: &TestApp, auth: serde_json::Value) -> Self {
        let (socket, _) =
            tokio_tungstenite::connect_async(app.ws_url("/socket.io/?EIO=4&transport=websocket"))
                .await
                .unwrap();
        let mut s = Self { socket };
        let open = s.frame().await;
        assert!(open.starts_with('0'), "engine.io open: {open}");
        s.socket
            .send(tokio_tungstenite::tungstenite::Message::text(format!(
                "40/chats,{auth}"
            )))
            .await
            .unwrap();
        let connected = s.frame().await;
        assert!(connected.starts_with("40/chats,"), "{connected}");
        let (name, _) = s.event().await;
        assert_eq!(name, "usage_info");
        s
    }

    /// The next text frame, answering the server's pings.
    pub async fn frame(&mut self) -> String {
        loop {
            let frame =
                tokio::time::timeout(std::time::Duration::from_secs(30), self.socket.next())
                    .await
                    .expect("a frame within 30 s")
                    .expect("socket open")
                    .expect("frame");
            if let tokio_tungstenite::tungstenite::Message::Text(t) = frame {
                if t.as_str() == "2" {
                    self.socket
                        .send(tokio_tungstenite::tungstenite::Message::text("3"))
                        .await
                        .unwrap();
                    continue;
                }
                return t.as_str().to_owned();
            }
        }
    }

    /// The next event of the namespace: its name and data.
    pub async fn event(&mut self) -> (String, serde_json::Value) {
        loop {
            let f = self.frame().await;
            if let Some(body) = f.strip_prefix("42/chats,") {
                let v: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
                return (v[0].as_str().unwrap().to_owned(), v[1].clone());
            }
        }
    }
}

/// A socket made of channels: what the test sends comes in; what the server
/// writes goes to a channel the test may never read.
pub struct FakeSocket {
    pub incoming: tokio::sync::mpsc::Receiver<axum::extract::ws::Message>,
    pub outgoing: tokio_util::sync::PollSender<axum::extract::ws::Message>,
}

impl futures_util::Stream for FakeSocket {
    type Item = Result<axum::extract::ws::Message, std::io::Error>;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.get_mut().incoming.poll_recv(cx).map(|m| m.map(Ok))
    }
}

impl futures_util::Sink<axum::extract::ws::Message> for FakeSocket {
    type Error = tokio_util::sync::PollSendError<axum::extract::ws::Message>;
    fn poll_ready(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::pin::Pin::new(&mut self.get_mut().outgoing).poll_ready(cx)
    }
    fn start_send(
        self: std::pin::Pin<&mut Self>,
        item: axum::extract::ws::Message,
    ) -> Result<(), Self::Error> {
        std::pin::Pin::new(&mut self.get_mut().outgoing).start_send(item)
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::pin::Pin::new(&mut self.get_mut().outgoing).poll_flush(cx)
    }
    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::pin::Pin::new(&mut self.get_mut().outgoing).poll_close(cx)
    }
}
