//! The `/ws` scenarios: streaming replies (`ws-stream`) and idle
//! connections (`ws-idle`).

use crate::stats::{Errors, Samples};
use crate::{Mode, Report, ramp_offset, ws_base};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The persona protocol's persona ids, in catalog order (`multi_chat` takes the first K).
const PERSONAS: [&str; 4] = [
    "tech_enthusiast",
    "creative_writer",
    "data_scientist",
    "philosopher",
];

/// `ws-stream` flags.
#[derive(Debug, clap::Args)]
pub struct StreamArgs {
    /// Concurrent connections.
    #[arg(long, short = 'c', default_value_t = 200)]
    connections: usize,
    /// Seconds of measurement, after the ramp.
    #[arg(long, short = 'd', default_value_t = 15.0)]
    duration: f64,
    /// Seconds over which the connections open (not measured).
    #[arg(long, default_value_t = 2.0)]
    ramp: f64,
    /// `chat` (one persona) or `multi` (`multi_chat`).
    #[arg(long, value_enum, default_value_t = Mode::Chat)]
    mode: Mode,
    /// Personas per `multi_chat` (1–4).
    #[arg(long, short = 'k', default_value_t = 3)]
    personas: usize,
    /// The message each request sends.
    #[arg(long, default_value = "What's your favorite programming language?")]
    message: String,
    /// The server's pacing between chunks, in ms: lateness (gap past it) is
    /// reported too.
    #[arg(long, default_value_t = 0)]
    expect_gap_ms: u64,
    /// The server's process id (a server on this machine): its CPU time
    /// over the run gives chunks per CPU-second, a figure that holds up on
    /// a busy machine.
    #[arg(long)]
    pid: Option<u32>,
    /// The replies come from `chorus-bench provider`: read its `[t=…]`
    /// marks and report the latency added between the provider writing a
    /// delta and this client reading it.
    #[arg(long)]
    stamps: bool,
}

/// `ws-idle` flags.
#[derive(Debug, clap::Args)]
pub struct IdleArgs {
    /// Connections to open and hold.
    #[arg(long, short = 'c', default_value_t = 1000)]
    connections: usize,
    /// The server's process id, to read its RSS (a server on this machine).
    #[arg(long)]
    pid: Option<u32>,
    /// Seconds over which the connections open.
    #[arg(long, default_value_t = 2.0)]
    ramp: f64,
    /// Seconds to hold them once open (the RSS is read after the first second).
    #[arg(long, default_value_t = 3.0)]
    hold: f64,
}

/// The fields of a server message the generator looks at; the rest is
/// skipped without being allocated.
#[derive(Debug, Deserialize)]
struct Incoming<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    chunk: Option<Cow<'a, str>>,
    #[serde(default)]
    is_final: bool,
    #[serde(borrow, default)]
    persona_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stream_id: Option<Cow<'a, str>>,
}

/// One connection's figures.
#[derive(Default)]
struct Tally {
    chunks: u64,
    replies: u64,
    errors: Errors,
    ttfc: Samples,
    /// From the request to its final `response`.
    reply: Samples,
    gaps: Samples,
    lateness: Samples,
    /// From the provider writing a delta to its text arriving here.
    added: Samples,
    connected: bool,
}

impl Tally {
    fn error(&mut self, what: impl Into<String>) {
        self.errors.record(what);
    }
}

fn client_config() -> WebSocketConfig {
    // Small buffers: ten thousand client sockets must fit beside the server.
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
}

async fn connect(url: &str) -> Result<Socket, String> {
    let (mut socket, _) =
        tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true)
            .await
            .map_err(|e| format!("connect: {e}"))?;
    // The greeting (`connection`).
    match socket.next().await {
        Some(Ok(Message::Text(_))) => Ok(socket),
        other => Err(format!("no greeting: {other:?}")),
    }
}

fn request(args: &StreamArgs) -> String {
    match args.mode {
        Mode::Chat => json!({"type": "chat", "data": {
            "message": args.message, "persona_id": PERSONAS[0]}}),
        Mode::Multi => json!({"type": "multi_chat", "data": {
            "message": args.message,
            "persona_ids": PERSONAS[..args.personas.clamp(1, PERSONAS.len())]}}),
    }
    .to_string()
}

/// `ws-stream`.
pub async fn stream(base: &str, args: &StreamArgs) -> Result<Report, String> {
    let url = format!("{}/ws", ws_base(base));
    let start = Instant::now() + Duration::from_millis(100);
    let ramp = Duration::from_secs_f64(args.ramp.max(0.0));
    let measure_from = start + ramp;
    let deadline = measure_from + Duration::from_secs_f64(args.duration.max(0.1));
    let req = request(args);
    let expect = Duration::from_millis(args.expect_gap_ms);
    let cpu = crate::cpu::Window::start(args.pid, measure_from, deadline);
    let tasks: Vec<_> = (0..args.connections)
        .map(|i| {
            let url = url.clone();
            let req = req.clone();
            let at = start + ramp_offset(i, args.connections, ramp);
            let stamps = args.stamps;
            tokio::spawn(async move {
                sleep_until(at).await;
                run_connection(&url, &req, measure_from, deadline, expect, stamps).await
            })
        })
        .collect();
    let mut total = Tally::default();
    let mut connected = 0usize;
    for t in tasks {
        let t = t.await.map_err(|e| e.to_string())?;
        connected += usize::from(t.connected);
        total.chunks += t.chunks;
        total.replies += t.replies;
        total.errors.merge(t.errors);
        total.ttfc.extend(t.ttfc);
        total.reply.extend(t.reply);
        total.gaps.extend(t.gaps);
        total.lateness.extend(t.lateness);
        total.added.extend(t.added);
    }
    let secs = args.duration.max(0.1);
    let cpu = cpu.finish().await;
    let ttfc = total.ttfc.summary();
    let reply = total.reply.summary();
    let gaps = total.gaps.summary();
    let late = (!expect.is_zero()).then(|| total.lateness.summary());
    let added = args.stamps.then(|| total.added.summary());
    let chunks_per_sec = total.chunks as f64 / secs;
    let replies_per_sec = total.replies as f64 / secs;
    let mut table = String::new();
    let mode = match args.mode {
        Mode::Chat => "chat".to_owned(),
        Mode::Multi => format!("multi_chat k={}", args.personas),
    };
    let _ = writeln!(
        table,
        "ws-stream  {url}  {mode}  connections {connected}/{}  {secs:.0} s",
        args.connections
    );
    let _ = writeln!(table, "  chunks/s          {chunks_per_sec:>12.0}");
    let _ = writeln!(table, "  replies/s         {replies_per_sec:>12.0}");
    if let Some(c) = &cpu {
        let _ = writeln!(
            table,
            "  server CPU        {:>12.2} cores  ({:.0} chunks per CPU-second; client {:.2} cores)",
            c.server_cores,
            total.chunks as f64 / (c.server_cores * secs).max(1e-9),
            c.client_cores
        );
    }
    let _ = writeln!(table, "  first chunk       {ttfc}");
    let _ = writeln!(table, "  whole reply       {reply}");
    let _ = writeln!(table, "  chunk gap         {gaps}");
    if let Some(l) = &late {
        let _ = writeln!(table, "  lateness (>{} ms) {l}", args.expect_gap_ms);
    }
    if let Some(a) = &added {
        let _ = writeln!(table, "  added latency     {a}");
    }
    total.errors.write(&mut table);
    let json = json!({
        "scenario": "ws-stream",
        "url": url,
        "mode": mode,
        "connections": args.connections,
        "connected": connected,
        "duration_s": secs,
        "chunks": total.chunks,
        "chunks_per_sec": chunks_per_sec,
        "replies_per_sec": replies_per_sec,
        "ttfc_ms": ttfc,
        "reply_ms": reply,
        "gap_ms": gaps,
        "lateness_ms": late,
        "added_ms": added,
        "expect_gap_ms": args.expect_gap_ms,
        "server_cores": cpu.map(|c| c.server_cores),
        "client_cores": cpu.map(|c| c.client_cores),
        "chunks_per_server_cpu_sec": cpu.map(|c| total.chunks as f64 / (c.server_cores * secs).max(1e-9)),
        "load_avg_1m": crate::cpu::load_avg(),
        "errors": total.errors.count,
        "first_errors": total.errors.first,
    });
    Ok(Report { table, json })
}

/// One connection: requests in a loop until the deadline.
async fn run_connection(
    url: &str,
    req: &str,
    measure_from: Instant,
    deadline: Instant,
    expect: Duration,
    stamps: bool,
) -> Tally {
    let mut t = Tally::default();
    let mut socket = match timeout_at(deadline, connect(url)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            t.error(e);
            return t;
        }
        Err(_) => {
            t.error("connect: timed out");
            return t;
        }
    };
    t.connected = true;
    // The last chunk's time per persona (a `multi_chat` interleaves streams).
    let mut last: Vec<(String, Instant)> = Vec::new();
    'requests: while Instant::now() < deadline {
        if let Err(e) = socket.send(Message::Text(req.into())).await {
            t.error(format!("send: {e}"));
            break;
        }
        let sent = Instant::now();
        let mut first = true;
        last.clear();
        // The reply's text so far, and where its unread marks start.
        let (mut text_so_far, mut unread) = (String::new(), 0);
        loop {
            let msg = match timeout_at(deadline, socket.next()).await {
                Err(_) => break 'requests,
                Ok(None) => {
                    t.error("closed by the server");
                    break 'requests;
                }
                Ok(Some(Err(e))) => {
                    t.error(format!("read: {e}"));
                    break 'requests;
                }
                Ok(Some(Ok(m))) => m,
            };
            let now = Instant::now();
            let text = match &msg {
                Message::Text(text) => text.as_str(),
                Message::Close(c) => {
                    t.error(format!("closed by the server: {c:?}"));
                    break 'requests;
                }
                _ => continue,
            };
            let Ok(m) = serde_json::from_str::<Incoming>(text) else {
                t.error(format!("not a server message: {text:.80}"));
                continue;
            };
            let measured = now >= measure_from;
            match m.kind.as_ref() {
                "chunk" if !m.is_final && m.chunk.as_deref().is_some_and(|c| !c.is_empty()) => {
                    if measured {
                        t.chunks += 1;
                    }
                    if stamps && let Some(chunk) = m.chunk.as_deref() {
                        let read_at = crate::provider::now_ns();
                        text_so_far.push_str(chunk);
                        let (written, next) = crate::provider::marks(&text_so_far, unread);
                        unread = next;
                        if measured {
                            for ns in written {
                                let ns = read_at.saturating_sub(ns).min(u128::from(u64::MAX));
                                t.added.push(Duration::from_nanos(ns as u64));
                            }
                        }
                    }
                    if first {
                        first = false;
                        if measured {
                            t.ttfc.push(now - sent);
                        }
                    }
                    let key = m.persona_id.as_deref().unwrap_or("");
                    match last.iter_mut().find(|(k, _)| k == key) {
                        Some((_, at)) => {
                            let gap = now - *at;
                            *at = now;
                            if measured {
                                t.gaps.push(gap);
                                if !expect.is_zero() {
                                    t.lateness.push(gap.saturating_sub(expect));
                                }
                            }
                        }
                        None => last.push((key.to_owned(), now)),
                    }
                }
                // The end of a `chat`, and of a `multi_chat`'s panel.
                "response" => {
                    if measured {
                        t.replies += 1;
                        t.reply.push(now - sent);
                    }
                    continue 'requests;
                }
                "error" => {
                    t.error(format!("error message: {text:.160}"));
                    // A refusal has no stream: the request is over.
                    if m.stream_id.is_none() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue 'requests;
                    }
                }
                _ => {}
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_millis(200), socket.close(None)).await;
    t
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `ws-idle`.
pub async fn idle(base: &str, args: &IdleArgs) -> Result<Report, String> {
    let url = format!("{}/ws", ws_base(base));
    let before = args.pid.and_then(rss_kib);
    if args.pid.is_some() && before.is_none() {
        return Err("cannot read the server's RSS from /proc (is --pid right?)".into());
    }
    let start = Instant::now();
    let ramp = Duration::from_secs_f64(args.ramp.max(0.0));
    let tasks: Vec<_> = (0..args.connections)
        .map(|i| {
            let url = url.clone();
            let at = start + ramp_offset(i, args.connections, ramp);
            tokio::spawn(async move {
                sleep_until(at).await;
                connect(&url).await
            })
        })
        .collect();
    let mut held = Vec::with_capacity(args.connections);
    let mut errors = Vec::new();
    for t in tasks {
        match t.await.map_err(|e| e.to_string())? {
            Ok(s) => held.push(s),
            Err(e) => errors.push(e),
        }
    }
    let opened_in = start.elapsed();
    // Let the server settle (tasks parked, buffers returned) before reading.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = args.pid.and_then(rss_kib);
    tokio::time::sleep(Duration::from_secs_f64((args.hold - 1.0).max(0.0))).await;
    let open = held.len();
    for mut s in held {
        let _ = tokio::time::timeout(Duration::from_millis(50), s.close(None)).await;
    }
    let per_conn = match (before, after) {
        (Some(b), Some(a)) if open > 0 => Some(a.saturating_sub(b) as f64 / open as f64),
        _ => None,
    };
    let mut table = String::new();
    let _ = writeln!(
        table,
        "ws-idle  {url}  held {open}/{}  (opened in {:.1} s)",
        args.connections,
        opened_in.as_secs_f64()
    );
    match (before, after, per_conn) {
        (Some(b), Some(a), Some(p)) => {
            let _ = writeln!(table, "  server RSS before {:>10} KiB", b);
            let _ = writeln!(table, "  server RSS after  {:>10} KiB", a);
            let _ = writeln!(table, "  per connection    {:>10.1} KiB", p);
        }
        _ => {
            let _ = writeln!(table, "  server RSS: pass --pid of a local server");
        }
    }
    let _ = writeln!(table, "  errors            {}", errors.len());
    for e in errors.iter().take(3) {
        let _ = writeln!(table, "    {e}");
    }
    let json = json!({
        "scenario": "ws-idle",
        "url": url,
        "connections": args.connections,
        "held": open,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_connection": per_conn,
        "errors": errors.len(),
        "first_errors": errors.iter().take(3).collect::<Vec<_>>(),
    });
    Ok(Report { table, json })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_parse_without_the_fields_we_skip() {
        let m: Incoming = serde_json::from_str(
            r#"{"type":"chunk","chunk":"a \"quoted\" bit","is_final":false,
                "persona_id":"philosopher","stream_id":"st_1","seq":4,"extra":{"x":[1]}}"#,
        )
        .unwrap();
        assert_eq!(m.kind, "chunk");
        assert_eq!(m.chunk.as_deref(), Some("a \"quoted\" bit"));
        assert_eq!(m.persona_id.as_deref(), Some("philosopher"));
        let e: Incoming =
            serde_json::from_str(r#"{"type":"error","status":"error","message":"no"}"#).unwrap();
        assert!(e.stream_id.is_none() && !e.is_final);
    }

    #[test]
    fn requests_are_persona_protocol_messages() {
        let args = StreamArgs {
            connections: 1,
            duration: 1.0,
            ramp: 0.0,
            mode: Mode::Multi,
            personas: 2,
            message: "hi".into(),
            expect_gap_ms: 0,
            pid: None,
            stamps: false,
        };
        let v: serde_json::Value = serde_json::from_str(&request(&args)).unwrap();
        assert_eq!(v["type"], "multi_chat");
        assert_eq!(
            v["data"]["persona_ids"],
            json!(["tech_enthusiast", "creative_writer"])
        );
    }
}
