//! Running a generation into a stream.
//!
//! [`start`] opens a stream for the caller and runs the generation in its
//! own task, so a client that disconnects does not stop it: the text is
//! saved either way. A stop cancels the provider (dropping its stream closes
//! the upstream connection), saves the partial text as `stopped`, and ends
//! the stream with a final event saying so. Server shutdown stops running
//! generations the same way. The caller's quota ticket is settled with the
//! output tokens.
//!
//! A [`Render`] turns the moments of a generation into the events of a
//! protocol (seed 001's `chunk`, seed 003's `assistant_delta` …).

use super::registry::{Entry, PushError};
use crate::auth::identity::Identity;
use crate::engine::chunker::rechunk;
use crate::engine::{GenEvent, GenRequest};
use crate::state::AppState;
use crate::usage::Ticket;
use futures_util::StreamExt;
use serde_json::Value;
use shared::ErrorCode;
use shared::stream::{FinishStatus, TokenUsage};
use std::sync::Arc;

/// An event to push: its SSE name (if the protocol uses names) and payload.
pub type Out = (Option<&'static str>, Value);

/// How a generation ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub text: String,
    pub status: FinishStatus,
    pub usage: TokenUsage,
    /// The provider's response id (for `previous_response_id`).
    pub response_id: Option<String>,
    /// Why it failed, when it did.
    pub error: Option<(ErrorCode, String)>,
}

/// A protocol's view of a generation.
pub trait Render: Send + 'static {
    /// Events before the first chunk.
    fn start(&mut self) -> Vec<Out> {
        Vec::new()
    }
    /// One chunk of text.
    fn chunk(&mut self, text: &str) -> Vec<Out>;
    /// Work to finish before the final events go out (saving the reply
    /// where the protocol keeps it), so a reader who sees the end and
    /// reloads finds it saved.
    fn save(&mut self, _outcome: &Outcome) -> Option<futures_util::future::BoxFuture<'static, ()>> {
        None
    }
    /// The end (completed, stopped or failed).
    fn finish(&mut self, outcome: &Outcome) -> Vec<Out>;
}

/// What to run, and how to show it.
pub struct Generation<R: Render> {
    pub request: GenRequest,
    /// Characters per chunk (seed 001: 50 for openai_chat, 30 for personas).
    pub chunk_chars: usize,
    pub render: R,
    /// Admission from the quota; settled with the output tokens.
    pub ticket: Option<Ticket>,
}

/// Opens a stream for `who` and runs `generation` into it in the
/// background. Returns the stream at once.
pub fn start<R: Render>(
    state: &AppState,
    who: &Identity,
    mut generation: Generation<R>,
) -> Arc<Entry> {
    let entry = state.streams.create(&who.owner_key());
    if let Some(cap) = generation.ticket.as_ref().and_then(Ticket::max_tokens) {
        generation.request.max_tokens = generation.request.max_tokens.min(cap.max(1) as u32);
    }
    tokio::spawn(run(state.clone(), entry.clone(), generation));
    entry
}

async fn run<R: Render>(state: AppState, entry: Arc<Entry>, generation: Generation<R>) {
    let Generation {
        request,
        chunk_chars,
        mut render,
        ticket,
    } = generation;
    // Not waited for: the record of the end is written after it, and
    // readers wait for that one (group commit, see `store::generations`).
    state
        .store
        .queue_generation_started(&entry.id, &entry.owner);
    for (name, payload) in render.start() {
        let _ = entry.push(name, payload);
    }
    let delay = state.config.chunk_delay();
    let mut deltas = rechunk(state.engine.generate(request), chunk_chars, delay);
    let mut outcome = Outcome {
        text: String::new(),
        status: FinishStatus::Completed,
        usage: TokenUsage::default(),
        response_id: None,
        error: None,
    };
    // Made once, polled on every chunk (cheaper than a new waiter each time).
    let stopped = entry.cancel.cancelled();
    let shutdown = state.shutdown.cancelled();
    tokio::pin!(stopped, shutdown);
    loop {
        let next = tokio::select! {
            // A stop, or the server shutting down, ends the generation here;
            // dropping `deltas` cancels the provider.
            _ = &mut stopped => { outcome.status = FinishStatus::Stopped; break; }
            _ = &mut shutdown => { outcome.status = FinishStatus::Stopped; break; }
            n = deltas.next() => n,
        };
        match next {
            Some(Ok(GenEvent::Delta(text))) => {
                let events = render.chunk(&text);
                outcome.text.push_str(&text);
                if push_all(&entry, events) == Err(PushError::Full) {
                    outcome.status = FinishStatus::Failed;
                    outcome.error = Some((
                        ErrorCode::PayloadTooLarge,
                        "the reply outgrew the stream's buffer".into(),
                    ));
                    break;
                }
            }
            Some(Ok(GenEvent::Finish { usage, response_id })) => {
                outcome.usage = usage;
                outcome.response_id = response_id;
                break;
            }
            Some(Err(e)) => {
                tracing::warn!(stream = %entry.id, error = %e, "generation failed");
                outcome.status = FinishStatus::Failed;
                outcome.error = Some((e.code(), e.to_string()));
                break;
            }
            None => break,
        }
    }
    drop(deltas);
    if outcome.usage.completion_tokens == 0 {
        outcome.usage.completion_tokens = crate::engine::approx_tokens(&outcome.text);
    }
    let status = match outcome.status {
        FinishStatus::Completed => "completed",
        FinishStatus::Stopped => "stopped",
        FinishStatus::Failed => "failed",
    };
    if let Err(e) = state
        .store
        .generation_finished(
            &entry.id,
            status,
            &outcome.text,
            outcome.usage.prompt_tokens as i64,
            outcome.usage.completion_tokens as i64,
        )
        .await
    {
        tracing::error!(stream = %entry.id, error = %e, "could not save the generation");
    }
    if let Some(ticket) = ticket {
        let quota = state.quota();
        let settled = if outcome.text.is_empty() && outcome.status == FinishStatus::Failed {
            quota.cancel(ticket).await
        } else {
            quota
                .finish(ticket, outcome.usage.completion_tokens as i64, "generation")
                .await
        };
        if let Err(e) = settled {
            tracing::error!(stream = %entry.id, error = %e, "could not settle usage");
        }
    }
    if let Some(save) = render.save(&outcome) {
        save.await;
    }
    // The final events go in even past the buffer bound: they are small and
    // readers need to see the end.
    for (name, payload) in render.finish(&outcome) {
        let _ = entry.push_final(name, payload);
    }
    entry.finish();
}

fn push_all(entry: &Entry, events: Vec<Out>) -> Result<(), PushError> {
    for (name, payload) in events {
        entry.push(name, payload)?;
    }
    Ok(())
}

/// The engine's own event set (`shared::stream::ServerEvent`), with SSE
/// names: `delta`, then `done` or `error`.
#[derive(Debug, Default)]
pub struct EngineEvents;

impl Render for EngineEvents {
    fn chunk(&mut self, text: &str) -> Vec<Out> {
        vec![event(shared::stream::ServerEvent::Delta {
            text: text.to_owned(),
        })]
    }

    fn finish(&mut self, o: &Outcome) -> Vec<Out> {
        let mut out = Vec::new();
        if let Some((code, error)) = &o.error {
            out.push(event(shared::stream::ServerEvent::Error {
                error: error.clone(),
                code: *code,
            }));
        }
        out.push(event(shared::stream::ServerEvent::Done {
            text: o.text.clone(),
            status: o.status,
            usage: o.usage,
        }));
        out
    }
}

fn event(e: shared::stream::ServerEvent) -> Out {
    (
        Some(e.name()),
        serde_json::to_value(&e).unwrap_or(Value::Null),
    )
}
