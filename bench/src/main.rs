//! `chorus-bench`: a load generator that speaks Chorus's real protocols
//! against any base URL, so the same figures can be taken from another
//! implementation of the seeds.
//!
//! - `ws-stream`: N WebSocket connections to `/ws`, each sending the persona protocol
//!   `chat` (or `multi_chat` with K personas) requests in a loop: chunks/s,
//!   replies/s, time to first chunk, chunk-to-chunk gap (and lateness past
//!   an expected pacing), errors.
//! - `ws-idle`: N idle connections held; the server's RSS before and after
//!   (from `/proc/<pid>/status` when the server runs here) and the cost of
//!   one connection.
//! - `sse-stream`: N concurrent SSE streams on a GET endpoint (the hybrid chat protocol's
//!   test-sse by default), looped: events/s, time to first event, gaps.
//!
//! - `relay`: not a load but a server: a bare tokio-tungstenite relay that
//!   sends a real Chorus reply's frames, measured by `ws-stream` in the same
//!   run as Chorus (`make bench` prints the ratio).
//!
//! Runs are bounded: connections open over `--ramp` seconds, then figures
//! are taken for `--duration` seconds. Output is a table, or JSON with
//! `--json` (and `--json-out FILE` writes it beside the table).

mod cpu;
mod provider;
mod relay;
mod sse;
mod stats;
mod ws;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;

/// Load generator for Chorus's WebSocket and SSE streams.
#[derive(Debug, Parser)]
#[command(name = "chorus-bench", version, about)]
struct Cli {
    /// Base URL of the server under test.
    #[arg(long, global = true, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Print the result as JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Also write the JSON result to this file.
    #[arg(long, global = true)]
    json_out: Option<PathBuf>,
    /// A name for this run, copied into the result.
    #[arg(long, global = true)]
    label: Option<String>,
    #[command(subcommand)]
    command: Scenario,
}

/// Which load to generate.
#[derive(Debug, Subcommand)]
enum Scenario {
    /// Streaming replies over `/ws` (the persona protocol), requests in a loop.
    WsStream(ws::StreamArgs),
    /// Idle WebSocket connections held open; the server's memory per connection.
    WsIdle(ws::IdleArgs),
    /// Concurrent SSE streams, requested in a loop.
    SseStream(sse::Args),
    /// A bare tokio-tungstenite server answering `/ws` `chat` requests with
    /// a real Chorus reply's frames: the comparison target.
    Relay(relay::Args),
    /// A scripted OpenAI-compatible model whose deltas carry the moment
    /// they were written (for `ws-stream --stamps`).
    Provider(provider::Args),
    /// One table of earlier results (`--json-out` files).
    Summary {
        /// The JSON files, in the order to show them.
        files: Vec<PathBuf>,
    },
}

/// The persona protocol's request kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// `chat`: one persona, one stream per request.
    Chat,
    /// `multi_chat`: `--personas` streams per request.
    Multi,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every connection is a file descriptor.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("chorus-bench: could not raise the open-file limit: {e}");
    }
    let result = match &cli.command {
        Scenario::WsStream(a) => ws::stream(&cli.url, a).await,
        Scenario::WsIdle(a) => ws::idle(&cli.url, a).await,
        Scenario::SseStream(a) => sse::stream(&cli.url, a).await,
        Scenario::Relay(a) => relay::serve(a).await,
        Scenario::Provider(a) => provider::serve(a).await,
        Scenario::Summary { files } => {
            print!("{}", summary(files));
            return ExitCode::SUCCESS;
        }
    };
    let mut report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chorus-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let (Some(label), Value::Object(map)) = (&cli.label, &mut report.json) {
        map.insert("label".into(), Value::String(label.clone()));
    }
    if let Some(path) = &cli.json_out {
        let text = serde_json::to_string_pretty(&report.json).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("chorus-bench: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if cli.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.json).unwrap_or_default()
        );
    } else {
        print!("{}", report.table);
    }
    ExitCode::SUCCESS
}

/// A scenario's result: a table for people, JSON for scripts.
pub struct Report {
    pub table: String,
    pub json: Value,
}

/// One row per result file: the figures the targets are about; then, when
/// both were run, Chorus beside the bare relay with the ratio.
fn summary(files: &[PathBuf]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>6} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "run",
        "conns",
        "per second",
        "per CPU-s",
        "first p50",
        "first p99",
        "gap p99",
        "late p99",
        "added p99",
        "errors"
    );
    let ms = |v: &Value| v.as_f64().map_or("-".to_owned(), |x| format!("{x:.2}"));
    let count = |v: &Value| v.as_f64().map_or("-".to_owned(), |x| format!("{x:.0}"));
    let mut results: Vec<(String, Value)> = Vec::new();
    for f in files {
        let Some(v) = std::fs::read_to_string(f)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        else {
            let _ = writeln!(out, "{:<16} (unreadable: {})", "?", f.display());
            continue;
        };
        let label = v["label"]
            .as_str()
            .or(v["scenario"].as_str())
            .unwrap_or("?")
            .to_owned();
        if v["scenario"] == "ws-idle" {
            let _ = writeln!(
                out,
                "{label:<16} {:>6} {:>70} {:>7}",
                v["held"],
                format!(
                    "{} KiB per connection",
                    v["kib_per_connection"]
                        .as_f64()
                        .map_or("-".to_owned(), |x| format!("{x:.1}"))
                ),
                v["errors"]
            );
            continue;
        }
        let first = if v["ttfc_ms"].is_object() {
            &v["ttfc_ms"]
        } else {
            &v["ttfe_ms"]
        };
        let _ = writeln!(
            out,
            "{label:<16} {:>6} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
            v["connections"],
            count(&rate(&v)),
            count(&v["chunks_per_server_cpu_sec"]),
            ms(&first["p50"]),
            ms(&first["p99"]),
            ms(&v["gap_ms"]["p99"]),
            ms(&v["lateness_ms"]["p99"]),
            ms(&v["added_ms"]["p99"]),
            v["errors"]
        );
        results.push((label, v));
    }
    let find = |name: &str| results.iter().find(|(l, _)| l == name).map(|(_, v)| v);
    if let (Some(ours), Some(relay)) = (find("ws-chat"), find("relay-ws-chat")) {
        let _ = writeln!(
            out,
            "\n/ws chat, 200 connections, zero pacing: Chorus vs a bare tokio-tungstenite relay (same run)"
        );
        let _ = writeln!(
            out,
            "{:<24} {:>12} {:>12} {:>8}",
            "", "Chorus", "relay", "ratio"
        );
        for (what, a, b, lower_is_better) in [
            ("chunks/s", rate(ours), rate(relay), false),
            (
                "chunks per CPU-second",
                ours["chunks_per_server_cpu_sec"].clone(),
                relay["chunks_per_server_cpu_sec"].clone(),
                false,
            ),
            (
                "first chunk p99 (ms)",
                ours["ttfc_ms"]["p99"].clone(),
                relay["ttfc_ms"]["p99"].clone(),
                true,
            ),
        ] {
            let ratio = match (a.as_f64(), b.as_f64()) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
                _ => "-".to_owned(),
            };
            let fmt = |v: &Value| {
                v.as_f64().map_or("-".to_owned(), |x| {
                    if lower_is_better {
                        format!("{x:.2}")
                    } else {
                        format!("{x:.0}")
                    }
                })
            };
            let _ = writeln!(
                out,
                "{what:<24} {:>12} {:>12} {:>8}",
                fmt(&a),
                fmt(&b),
                ratio
            );
        }
    }
    out
}

/// A result's rate: chunks (WebSocket) or events (SSE) per second.
fn rate(v: &Value) -> Value {
    v.get("chunks_per_sec")
        .filter(|r| r.is_number())
        .or(v.get("events_per_sec"))
        .cloned()
        .unwrap_or(Value::Null)
}

/// `http://h:p/x` → `ws://h:p/x`.
pub fn ws_base(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url.to_owned()
    }
}

/// The moment connection `i` of `n` opens, spread evenly over `ramp`.
pub fn ramp_offset(i: usize, n: usize, ramp: std::time::Duration) -> std::time::Duration {
    if n <= 1 {
        return std::time::Duration::ZERO;
    }
    ramp.mul_f64(i as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn http_urls_become_websocket_urls() {
        assert_eq!(ws_base("http://127.0.0.1:3000/"), "ws://127.0.0.1:3000");
        assert_eq!(ws_base("https://chorus.example"), "wss://chorus.example");
    }

    #[test]
    fn the_summary_puts_chorus_beside_the_relay() {
        let dir = std::env::temp_dir().join(format!("chorus-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, rate: f64, cpu: f64| {
            let path = dir.join(format!("{name}.json"));
            let v = serde_json::json!({"scenario": "ws-stream", "label": name, "connections": 200,
                "chunks_per_sec": rate, "chunks_per_server_cpu_sec": cpu,
                "ttfc_ms": {"p50": 1.0, "p99": 4.0}, "errors": 0});
            std::fs::write(&path, v.to_string()).unwrap();
            path
        };
        let files = [
            write("ws-chat", 300000.0, 200000.0),
            write("relay-ws-chat", 600000.0, 800000.0),
        ];
        let table = summary(&files);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            table.contains("Chorus vs a bare tokio-tungstenite relay"),
            "{table}"
        );
        let row = |what: &str| {
            table
                .lines()
                .find(|l| l.starts_with(what))
                .unwrap()
                .to_owned()
        };
        assert!(row("chunks/s").ends_with("0.50x"), "{table}");
        assert!(row("chunks per CPU-second").ends_with("0.25x"), "{table}");
        assert!(row("first chunk p99").ends_with("1.00x"), "{table}");
    }

    #[test]
    fn connections_open_evenly_over_the_ramp() {
        let ramp = Duration::from_secs(2);
        assert_eq!(ramp_offset(0, 4, ramp), Duration::ZERO);
        assert_eq!(ramp_offset(2, 4, ramp), Duration::from_secs(1));
        assert_eq!(ramp_offset(0, 1, ramp), Duration::ZERO);
    }
}
