//! `provider`: a scripted OpenAI-compatible model for the added-latency
//! benchmark. Every streamed delta starts with the moment it was written,
//! `[t=<unix ns>]`; `ws-stream --stamps` reads those marks in the chunks it
//! receives, so the difference is the time between the provider writing a
//! delta and the client reading it: what Chorus adds (plus two loopback
//! hops). Both run on this machine and read the same clock.

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::post;
use futures_util::stream;
use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `provider` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Where to listen; give Chorus `--openai-base-url http://<bind>/v1`.
    #[arg(long, default_value = "127.0.0.1:3919")]
    bind: String,
    /// Deltas per reply.
    #[arg(long, default_value_t = 40)]
    deltas: usize,
    /// Pause between deltas, in ms (a model writing about 50 tokens a second).
    #[arg(long, default_value_t = 20)]
    interval_ms: u64,
}

/// Now, in ns since the Unix epoch.
pub fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// The moments marked in `text` from byte `from` on: each mark's time and
/// where the text after it starts.
pub fn marks(text: &str, mut from: usize) -> (Vec<u128>, usize) {
    let mut found = Vec::new();
    while let Some(start) = text[from..].find("[t=") {
        let at = from + start + 3;
        let Some(len) = text[at..].find(']') else {
            // Cut between two chunks: read it when the rest arrives.
            return (found, from + start);
        };
        if let Ok(ns) = text[at..at + len].parse() {
            found.push(ns);
        }
        from = at + len + 1;
    }
    (found, from)
}

/// `provider`: serves until killed.
pub async fn serve(args: &Args) -> Result<crate::Report, String> {
    let listener = tokio::net::TcpListener::bind(&args.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let a = args.clone();
    let app = Router::new().route(
        "/v1/chat/completions",
        post(move || reply(a.deltas, Duration::from_millis(a.interval_ms))),
    );
    eprintln!("provider: listening on http://{}/v1", args.bind);
    // Each delta leaves when it is written, as a streaming model's server
    // sends it: with Nagle, a delta could wait for the ACK of the one
    // before (delayed by the receiver up to 40 ms), and that wait would
    // be counted as latency Chorus adds.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .await
        .map_err(|e| e.to_string())?;
    Err("provider stopped".into())
}

async fn reply(deltas: usize, interval: Duration) -> Response {
    let body = stream::unfold(0usize, move |i| async move {
        if i > deltas {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(interval).await;
        }
        let data = if i == deltas {
            concat!(
                r#"data: {"choices":[{"delta":{},"finish_reason":"stop"}],"#,
                r#""usage":{"prompt_tokens":10,"completion_tokens":200}}"#,
                "\n\ndata: [DONE]\n\n"
            )
            .to_owned()
        } else {
            format!(
                "data: {{\"choices\":[{{\"delta\":{{\"content\":\"[t={}] word \"}}}}]}}\n\n",
                now_ns()
            )
        };
        Some((Ok::<_, Infallible>(data), i + 1))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_read_across_chunk_boundaries() {
        let (m, at) = marks("[t=5] word [t=7] word [t=1", 0);
        assert_eq!(m, [5, 7]);
        let text = "[t=5] word [t=7] word [t=12] word ";
        let (m, at) = marks(text, at);
        assert_eq!(m, [12]);
        assert_eq!(at, text.len() - " word ".len());
    }
}
