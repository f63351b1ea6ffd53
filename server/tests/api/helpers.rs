//! Starting the real server for a test, and small clients for it.

use chorus_server::{AppState, Config, run};
use futures_util::StreamExt;
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

    /// Sends the shutdown signal and waits for `run` to return.
    pub async fn shut_down(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.take().unwrap().await.unwrap()
    }
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
