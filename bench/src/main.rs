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
//! Runs are bounded: connections open over `--ramp` seconds, then figures
//! are taken for `--duration` seconds. Output is a table, or JSON with
//! `--json` (and `--json-out FILE` writes it beside the table).

mod cpu;
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

/// One row per result file: the figures the targets are about.
fn summary(files: &[PathBuf]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>12} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "run", "conns", "per second", "first p50", "first p99", "gap p99", "late p99", "errors"
    );
    let ms = |v: &Value| v.as_f64().map_or("-".to_owned(), |x| format!("{x:.2}"));
    for f in files {
        let Some(v) = std::fs::read_to_string(f)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        else {
            let _ = writeln!(out, "{:<28} (unreadable: {})", "?", f.display());
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
                "{label:<28} {:>6} {:>12} {:>39} {:>7}",
                v["held"],
                "-",
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
        let rate = v["chunks_per_sec"]
            .as_f64()
            .or(v["events_per_sec"].as_f64())
            .unwrap_or(0.0);
        let first = if v["ttfc_ms"].is_object() {
            &v["ttfc_ms"]
        } else {
            &v["ttfe_ms"]
        };
        let _ = writeln!(
            out,
            "{label:<28} {:>6} {:>12.0} {:>9} {:>9} {:>9} {:>9} {:>7}",
            v["connections"],
            rate,
            ms(&first["p50"]),
            ms(&first["p99"]),
            ms(&v["gap_ms"]["p99"]),
            ms(&v["lateness_ms"]["p99"]),
            v["errors"]
        );
    }
    out
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
    fn connections_open_evenly_over_the_ramp() {
        let ramp = Duration::from_secs(2);
        assert_eq!(ramp_offset(0, 4, ramp), Duration::ZERO);
        assert_eq!(ramp_offset(2, 4, ramp), Duration::from_secs(1));
        assert_eq!(ramp_offset(0, 1, ramp), Duration::ZERO);
    }
}
