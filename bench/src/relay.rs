//! `relay`: the comparison target of `make bench`. A bare
//! tokio-tungstenite server that answers `/ws` persona-protocol `chat`
//! requests with the very frames Chorus sends for the same request, learnt
//! from one real reply (`--sample`), and nothing else: no database, no
//! quota, no registry, no replay log.
//!
//! Per request a producer task frames each chunk (its text escaped into the
//! JSON, a fresh stream id and `seq`: the least a relay must do) into a
//! queue; the connection's writer feeds every queued frame and flushes when
//! the queue drains. Its figures, taken by the same `ws-stream` client in
//! the same run, are what the hardware and the WebSocket library allow;
//! Chorus's ratio to them is the cost of everything else.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// `relay` flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3918")]
    bind: String,
    /// A Chorus server (its base URL) to learn one reply from: the relay
    /// sends the same frames for every request.
    #[arg(long)]
    sample: String,
    /// The message the sample request sends (the `ws-stream` default).
    #[arg(long, default_value = "What's your favorite programming language?")]
    message: String,
}

/// One frame of the learnt reply.
#[derive(Debug, Clone)]
enum Frame {
    /// A `chunk` with text: framed anew per request.
    Chunk { text: String, persona: String },
    /// Anything else (`status`, the final chunk, `response`): sent as learnt.
    Raw(String),
}

/// The frames of one reply, and the greeting.
#[derive(Debug)]
struct Script {
    greeting: String,
    reply: Vec<Frame>,
}

/// `relay`: learns the reply, then serves until killed.
pub async fn serve(args: &Args) -> Result<crate::Report, String> {
    let script = Arc::new(learn(&args.sample, &args.message).await?);
    let listener = TcpListener::bind(&args.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    eprintln!(
        "relay: {} frames per reply ({} chunks), listening on ws://{}/ws",
        script.reply.len(),
        script
            .reply
            .iter()
            .filter(|f| matches!(f, Frame::Chunk { .. }))
            .count(),
        args.bind
    );
    let ids = Arc::new(AtomicU64::new(0));
    loop {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        tokio::spawn(connection(tcp, script.clone(), ids.clone()));
    }
}

async fn learn(base: &str, message: &str) -> Result<Script, String> {
    let url = format!("{}/ws", crate::ws_base(base));
    let (mut socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .map_err(|e| format!("sample: cannot connect to {url}: {e}"))?;
    let mut next = async || match socket.next().await {
        Some(Ok(Message::Text(t))) => Ok(t.as_str().to_owned()),
        other => Err(format!("sample: unexpected {other:?}")),
    };
    let greeting = next().await?;
    let request = serde_json::json!({"type": "chat", "data": {
        "message": message, "persona_id": "tech_enthusiast"}});
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .map_err(|e| format!("sample: {e}"))?;
    let mut reply = Vec::new();
    loop {
        let text = match socket.next().await {
            Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
            other => return Err(format!("sample: unexpected {other:?}")),
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("sample: {e}"))?;
        match (
            v["type"].as_str(),
            v["chunk"].as_str(),
            v["is_final"].as_bool(),
        ) {
            (Some("chunk"), Some(chunk), Some(false)) if !chunk.is_empty() => {
                reply.push(Frame::Chunk {
                    text: chunk.to_owned(),
                    persona: v["persona_id"].as_str().unwrap_or_default().to_owned(),
                })
            }
            (Some("response"), ..) => {
                reply.push(Frame::Raw(text));
                break;
            }
            (Some("error"), ..) => return Err(format!("sample: {text}")),
            _ => reply.push(Frame::Raw(text)),
        }
    }
    let _ = socket.close(None).await;
    Ok(Script { greeting, reply })
}

async fn connection(tcp: TcpStream, script: Arc<Script>, ids: Arc<AtomicU64>) {
    let Ok(socket) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Message>(1024);
    let greeting = script.greeting.clone();
    let writer = async move {
        if sink.send(Message::Text(greeting.into())).await.is_err() {
            return;
        }
        while let Some(first) = rx.recv().await {
            if sink.feed(first).await.is_err() {
                return;
            }
            while let Ok(more) = rx.try_recv() {
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    };
    let reader = async move {
        while let Some(Ok(msg)) = stream.next().await {
            match msg {
                Message::Text(_) => {
                    let id = ids.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(produce(script.clone(), id, tx.clone()));
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
    };
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
}

/// One reply into the connection's queue.
async fn produce(script: Arc<Script>, id: u64, tx: mpsc::Sender<Message>) {
    let stream_id = format!("st_relay{id}");
    for (seq, frame) in script.reply.iter().enumerate() {
        let text = match frame {
            Frame::Chunk { text, persona } => chunk_frame(text, persona, &stream_id, seq as u64),
            Frame::Raw(raw) => raw.clone(),
        };
        if tx.send(Message::Text(text.into())).await.is_err() {
            return;
        }
    }
}

/// A persona-protocol `chunk`, framed the way Chorus frames it.
fn chunk_frame(text: &str, persona: &str, stream_id: &str, seq: u64) -> String {
    let chunk = serde_json::to_string(text).unwrap_or_default();
    format!(
        r#"{{"type":"chunk","chunk":{chunk},"is_final":false,"persona_id":"{persona}","stream_id":"{stream_id}","seq":{seq}}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relayed_chunk_is_a_persona_protocol_chunk() {
        let v: Value =
            serde_json::from_str(&chunk_frame("a \"b\"\n", "philosopher", "st_1", 3)).unwrap();
        assert_eq!(v["type"], "chunk");
        assert_eq!(v["chunk"], "a \"b\"\n");
        assert_eq!(v["is_final"], false);
        assert_eq!(v["seq"], 3);
    }
}
