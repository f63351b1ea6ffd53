//! The `sse-stream` scenario: N concurrent SSE streams on a GET endpoint,
//! each requested again when it ends.

use crate::stats::{Errors, Samples};
use crate::{Report, ramp_offset};
use futures_util::StreamExt;
use serde_json::json;
use std::fmt::Write as _;
use std::time::Duration;
use tokio::time::{Instant, sleep_until, timeout_at};

/// `sse-stream` flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Concurrent streams.
    #[arg(long, short = 'c', default_value_t = 100)]
    connections: usize,
    /// Seconds of measurement, after the ramp.
    #[arg(long, short = 'd', default_value_t = 15.0)]
    duration: f64,
    /// Seconds over which the streams open (not measured).
    #[arg(long, default_value_t = 2.0)]
    ramp: f64,
    /// The endpoint (path and query) to stream from.
    #[arg(long, default_value = "/api/v1/messages/test-sse?interval_ms=0")]
    path: String,
    /// The server's pacing between events, in ms: lateness is reported too.
    #[arg(long, default_value_t = 0)]
    expect_gap_ms: u64,
}

/// Splits a byte stream into SSE events (blocks ended by a blank line).
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    /// Feeds bytes; returns how many events with a `data:` line ended.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        self.buf.extend_from_slice(bytes);
        let mut events = 0;
        loop {
            let Some(end) = find_blank_line(&self.buf) else {
                return events;
            };
            let block = &self.buf[..end.0];
            // A comment-only block (keep-alive) is not an event.
            if block
                .split(|b| *b == b'\n')
                .any(|line| line.starts_with(b"data:"))
            {
                events += 1;
            }
            self.buf.drain(..end.1);
        }
    }
}

/// The end of the first block: (block length, length with its blank line).
fn find_blank_line(buf: &[u8]) -> Option<(usize, usize)> {
    let lf = buf
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[derive(Default)]
struct Tally {
    events: u64,
    streams: u64,
    errors: Errors,
    ttfe: Samples,
    gaps: Samples,
    lateness: Samples,
}

impl Tally {
    fn error(&mut self, what: String) {
        self.errors.record(what);
    }
}

/// `sse-stream`.
pub async fn stream(base: &str, args: &Args) -> Result<Report, String> {
    let url = format!("{}{}", base.trim_end_matches('/'), args.path);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| e.to_string())?;
    let start = Instant::now() + Duration::from_millis(100);
    let ramp = Duration::from_secs_f64(args.ramp.max(0.0));
    let measure_from = start + ramp;
    let deadline = measure_from + Duration::from_secs_f64(args.duration.max(0.1));
    let expect = Duration::from_millis(args.expect_gap_ms);
    let open = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..args.connections)
        .map(|i| {
            let (client, url) = (client.clone(), url.clone());
            let (open, peak) = (open.clone(), peak.clone());
            let at = start + ramp_offset(i, args.connections, ramp);
            tokio::spawn(async move {
                sleep_until(at).await;
                let mut t = Tally::default();
                while Instant::now() < deadline {
                    let counters = (&*open, &*peak);
                    one_stream(
                        &client,
                        &url,
                        measure_from,
                        deadline,
                        expect,
                        counters,
                        &mut t,
                    )
                    .await;
                }
                t
            })
        })
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        let t = task.await.map_err(|e| e.to_string())?;
        total.events += t.events;
        total.streams += t.streams;
        total.errors.merge(t.errors);
        total.ttfe.extend(t.ttfe);
        total.gaps.extend(t.gaps);
        total.lateness.extend(t.lateness);
    }
    let secs = args.duration.max(0.1);
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    let events_per_sec = total.events as f64 / secs;
    let ttfe = total.ttfe.summary();
    let gaps = total.gaps.summary();
    let late = (!expect.is_zero()).then(|| total.lateness.summary());
    let mut table = String::new();
    let _ = writeln!(
        table,
        "sse-stream  {url}  streams {}  (peak open {peak})  {secs:.0} s",
        args.connections
    );
    let _ = writeln!(table, "  events/s          {events_per_sec:>12.0}");
    let _ = writeln!(
        table,
        "  streams/s         {:>12.0}",
        total.streams as f64 / secs
    );
    let _ = writeln!(table, "  first event       {ttfe}");
    let _ = writeln!(table, "  event gap         {gaps}");
    if let Some(l) = &late {
        let _ = writeln!(table, "  lateness (>{} ms) {l}", args.expect_gap_ms);
    }
    total.errors.write(&mut table);
    let json = json!({
        "scenario": "sse-stream",
        "url": url,
        "connections": args.connections,
        "peak_open": peak,
        "duration_s": secs,
        "events": total.events,
        "events_per_sec": events_per_sec,
        "streams_per_sec": total.streams as f64 / secs,
        "ttfe_ms": ttfe,
        "gap_ms": gaps,
        "lateness_ms": late,
        "expect_gap_ms": args.expect_gap_ms,
        "errors": total.errors.count,
        "first_errors": total.errors.first,
    });
    Ok(Report { table, json })
}

/// One request, read to its end (or the deadline).
async fn one_stream(
    client: &reqwest::Client,
    url: &str,
    measure_from: Instant,
    deadline: Instant,
    expect: Duration,
    (open, peak): (
        &std::sync::atomic::AtomicUsize,
        &std::sync::atomic::AtomicUsize,
    ),
    t: &mut Tally,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let sent = Instant::now();
    let res = match timeout_at(deadline, client.get(url).send()).await {
        Err(_) => return,
        Ok(Err(e)) => {
            t.error(format!("request: {e}"));
            tokio::time::sleep(Duration::from_millis(50)).await;
            return;
        }
        Ok(Ok(r)) => r,
    };
    if !res.status().is_success() {
        t.error(format!("status {}", res.status()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        return;
    }
    let now_open = open.fetch_add(1, Relaxed) + 1;
    peak.fetch_max(now_open, Relaxed);
    let mut body = res.bytes_stream();
    let mut framer = Framer::default();
    let mut last: Option<Instant> = None;
    loop {
        let bytes = match timeout_at(deadline, body.next()).await {
            Err(_) => break,
            Ok(None) => {
                if Instant::now() >= measure_from {
                    t.streams += 1;
                }
                break;
            }
            Ok(Some(Err(e))) => {
                t.error(format!("read: {e}"));
                break;
            }
            Ok(Some(Ok(b))) => b,
        };
        let now = Instant::now();
        let n = framer.feed(&bytes);
        if n == 0 || now < measure_from {
            last = if n > 0 { Some(now) } else { last };
            continue;
        }
        t.events += n as u64;
        match last {
            None => t.ttfe.push(now - sent),
            Some(at) => {
                let gap = now - at;
                t.gaps.push(gap);
                if !expect.is_zero() {
                    t.lateness.push(gap.saturating_sub(expect));
                }
            }
        }
        // Events read together arrived together: gaps of zero.
        for _ in 1..n {
            t.gaps.push(Duration::ZERO);
        }
        last = Some(now);
    }
    open.fetch_sub(1, Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_framer_counts_events_across_reads_and_skips_comments() {
        let mut f = Framer::default();
        assert_eq!(f.feed(b"event: test_message\nid: 1\ndata: {\"a\""), 0);
        assert_eq!(f.feed(b":1}\n\n: keep-alive\n\ndata: x\n\nda"), 2);
        assert_eq!(f.feed(b"ta: y\r\n\r\n"), 1);
    }
}
