//! Micro-benchmarks of the server's per-chunk work (divan):
//! `cargo bench -p chorus-bench --bench hot_paths`.
//!
//! - `chunk_event`: the persona protocol's `chunk` rendered and pushed into a stream's
//!   log (serialised once, with `stream_id` and `seq`).
//! - `replay`: a reader taking 30 events from the log.
//! - `sse_frame`: one log event framed as SSE (`id:`, `event:`, `data:`).
//! - `rechunk`: a 900-character reply cut into 30-character chunks.
//! - `offline_reply`: the offline generator writing one persona's reply
//!   (its text and word-sized deltas).

use chorus_server::engine::chunker::rechunk;
use chorus_server::engine::offline::Offline;
use chorus_server::engine::{GenEvent, GenRequest, GenStream};
use chorus_server::personas::render::{Kind, SeedRender};
use chorus_server::streams::generation::Render;
use chorus_server::streams::registry::Streams;
use divan::Bencher;
use futures_util::StreamExt;
use std::time::Duration;

fn main() {
    divan::main();
}

const CHUNK: &str = "the heart of Rust is simpler t";

#[divan::bench]
fn chunk_event(bencher: Bencher) {
    let streams = Streams::new(Duration::from_secs(60));
    let mut render = SeedRender::new(
        Some("tech_enthusiast".into()),
        "Tech Enthusiast".into(),
        Kind::Chat,
    );
    // The first chunk also announces `streaming`; measure the steady state.
    let _ = render.chunk(CHUNK);
    bencher
        .with_inputs(|| streams.create("bench"))
        .bench_local_values(|entry| {
            for (name, payload) in render.chunk(CHUNK) {
                let _ = entry.push(name, payload);
            }
            entry
        });
}

#[divan::bench]
fn replay_30_events(bencher: Bencher) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let streams = Streams::new(Duration::from_secs(60));
    let entry = streams.create("bench");
    let mut render = SeedRender::new(None, "Bench".into(), Kind::Chat);
    for _ in 0..30 {
        for (name, payload) in render.chunk(CHUNK) {
            let _ = entry.push(name, payload);
        }
    }
    entry.finish();
    bencher.bench_local(|| rt.block_on(entry.subscribe(0).count()));
}

#[divan::bench]
fn sse_frame(bencher: Bencher) {
    let streams = Streams::new(Duration::from_secs(60));
    let entry = streams.create("bench");
    let mut render = SeedRender::new(None, "Bench".into(), Kind::Chat);
    for (name, payload) in render.chunk(CHUNK) {
        let _ = entry.push(name.or(Some("chunk")), payload);
    }
    entry.finish();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let ev = rt
        .block_on(Box::pin(entry.subscribe(1)).next())
        .expect("an event");
    // What `streams::sse_of` builds for each event.
    bencher.bench_local(|| {
        let mut out = axum::response::sse::Event::default()
            .id(ev.seq.to_string())
            .data(ev.json.as_str());
        if let Some(name) = ev.name {
            out = out.event(name);
        }
        out
    });
}

#[divan::bench]
fn rechunk_900_chars(bencher: Bencher) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let reply: String = "word ".repeat(180);
    bencher.bench_local(|| {
        // The offline generator's pieces: a few words at a time.
        let pieces: Vec<_> = reply
            .split_inclusive(' ')
            .map(|w| Ok(GenEvent::Delta(w.to_owned())))
            .collect();
        let source: GenStream = futures_util::stream::iter(pieces).boxed();
        rt.block_on(rechunk(source, 30, Duration::ZERO).count())
    });
}

#[divan::bench]
fn offline_reply(bencher: Bencher) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut req = GenRequest::new("What's your favourite programming language, and why?");
    req.system = "You are the Tech Enthusiast, loves new tools, languages and gadgets, and \
                  can't wait to try them.\nEnergetic and concrete: examples, comparisons, \
                  things to try today. Stay in character and answer the user's message \
                  directly."
        .into();
    req.max_tokens = 300;
    bencher.bench_local(|| rt.block_on(Offline.generate(req.clone()).count()));
}
