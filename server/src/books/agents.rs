//! One request, from the orchestrator to the completion.
//!
//! The `OrchestratorAgent` routes the request ([`outline::route`]) to the
//! specialists it needs, in working order. Each specialist gets an
//! `agent_switch`, streams its text as `stream_chunk`s, then runs its tool
//! (`save_plot` …): `tool_execution` executing → completed, with the
//! artifact stored. The request ends with a `completion` naming what was
//! made and who made it. A specialist past `--agent-timeout` saves its
//! partial work and ends the request with `AGENT_TIMEOUT`; a `stop` (or the
//! server shutting down) saves it and ends with a stopped completion.
//! Whatever the request added to the conversation is then saved.
//!
//! A request is a generation like every other feature's
//! ([`Recorded`]): what it holds from its owner's quota is on its record
//! until it is settled, and its text is saved while it streams, the
//! conversation with it, so a crash loses neither credits nor more than
//! the last second of text (start-up recovery settles it as
//! `interrupted`). The session's worker counts as a running generation
//! ([`Generator::track`]): shutdown stops the request, and waits for its
//! work to be saved and its completion pushed before the database closes.
//!
//! [`Generator::track`]: crate::streams::generation::Generator::track

use super::hub::{Request, Session};
use super::outline::{self, Context, Made};
use crate::clock::now_rfc3339 as now;
use crate::engine::offline::text::capitalise;
use crate::engine::{ChatMessage, GenRequest};
use crate::state::AppState;
use crate::store::Store;
use crate::streams::generation::{Call, Recorded, Step};
use shared::ErrorCode;
use shared::books::{
    ArtifactKind, ArtifactRef, CompletionResults, ErrorDetails, ORCHESTRATOR, ServerMessage,
    ToolStatus,
};
use shared::stream::FinishStatus;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Characters per `stream_chunk`.
pub(crate) const CHUNK_CHARS: usize = 40;

/// Output tokens one specialist may use.
const TOKENS_PER_AGENT: i64 = 600;

/// How a specialist's work ended.
enum Ended {
    Done,
    Stopped,
    TimedOut,
    /// The code, the sentence, and the provider's `Retry-After` (ms).
    Failed(ErrorCode, String, Option<u64>),
}

/// Runs the session's requests one after another until none is left;
/// shutdown waits for it (a request it stops still saves and completes).
pub(crate) async fn work(state: AppState, session: Arc<Session>) {
    let _running = state.generator.track();
    while let Some((request, stop)) = session.next_request() {
        run(&state, &session, request, stop).await;
    }
}

/// Runs one request to its end.
pub(crate) async fn run(
    state: &AppState,
    session: &Arc<Session>,
    request: Request,
    stop: CancellationToken,
) {
    let job = Job {
        state,
        session,
        request: &request,
        stop: &stop,
        started_at: session.last_seq(),
    };
    let plan = outline::route(&request.content);
    if plan.is_empty() {
        orchestrator_answer(session);
    } else {
        specialists(&job, &plan).await;
    }
    save(&state.store, session, job.started_at).await;
}

/// One request being worked on.
struct Job<'a> {
    state: &'a AppState,
    session: &'a Arc<Session>,
    request: &'a Request,
    /// Stops the request (`stop`; the server's shutdown stops it too).
    stop: &'a CancellationToken,
    /// The session's last seq before the request: what came after is the
    /// request's part of the conversation.
    started_at: u64,
}

/// No specialist fits: the orchestrator says what it can do.
fn orchestrator_answer(session: &Session) {
    let text = "I can create plots, worlds, characters and authors for your book. \
                Try \"Create a fantasy novel with dragons\", \"Build a world of floating islands\", \
                \"Create a villain for my story\" or \"Invent an author for this plot\".";
    for (i, piece) in chunks(text).enumerate() {
        session.push(ServerMessage::StreamChunk {
            content: piece,
            agent: ORCHESTRATOR.into(),
            chunk_id: i as u64 + 1,
            total_chunks: None,
            timestamp: now(),
            seq: 0,
        });
    }
    session.push(ServerMessage::Completion {
        message: "Answered by the orchestrator".into(),
        results: CompletionResults {
            agents_used: vec![ORCHESTRATOR.into()],
            ..CompletionResults::default()
        },
        timestamp: now(),
        seq: 0,
    });
}

fn chunks(text: &str) -> impl Iterator<Item = String> + '_ {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len().div_ceil(CHUNK_CHARS);
    (0..n).map(move |i| {
        chars[i * CHUNK_CHARS..((i + 1) * CHUNK_CHARS).min(chars.len())]
            .iter()
            .collect()
    })
}

async fn specialists(job: &Job<'_>, plan: &[ArtifactKind]) {
    let Job {
        state,
        session,
        request,
        ..
    } = *job;
    let quota = &state.generator.quota;
    let ticket = match quota
        .begin(&session.who, TOKENS_PER_AGENT * plan.len() as i64)
        .await
    {
        // Priced as the model the agents will ask (`--model-price`).
        Ok(t) => {
            let model = request.model.clone().or_else(|| session.model());
            t.priced(state.generator.models.price(model.as_deref()))
        }
        Err(e) => {
            let (_, body) = e.to_api_error();
            push_error(session, body.code, body.error, ErrorDetails::default());
            return;
        }
    };
    let mut record = Recorded::begin(&state.generator, "books", &session.owner, ticket).await;
    let per_agent = record
        .max_tokens()
        .map_or(TOKENS_PER_AGENT, |cap| (cap / plan.len() as i64).max(1));
    let mut context = match load_context(&state.store, session).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(session = %session.id, error = %e, "could not read artifacts");
            push_error(
                session,
                ErrorCode::Internal,
                "could not read this session's artifacts".into(),
                ErrorDetails::default(),
            );
            record.end(FinishStatus::Failed, 0, "books").await;
            return;
        }
    };
    let mut results = CompletionResults {
        agents_used: vec![ORCHESTRATOR.into()],
        ..CompletionResults::default()
    };
    let mut output_tokens = 0i64;
    let mut ended = Ended::Done;
    for &kind in plan {
        let agent = kind.agent();
        session.push(ServerMessage::AgentSwitch {
            from_agent: session.current_agent(),
            to_agent: agent.into(),
            reason: format!("Routing request to {} generation specialist", kind.as_str()),
            timestamp: now(),
            seq: 0,
        });
        results.agents_used.push(agent.into());
        let (text, tokens, how) = stream_agent(job, &mut record, kind, &context, per_agent).await;
        output_tokens += tokens;
        let keep = !text.trim().is_empty();
        if keep {
            let status = if matches!(how, Ended::Done) {
                "complete"
            } else {
                "partial"
            };
            let builds_on = context.ids_for(kind);
            match save_artifact(
                &state.store,
                session,
                kind,
                &text,
                &request.content,
                status,
                &builds_on,
            )
            .await
            {
                Some(saved) => {
                    let summary: String = text
                        .lines()
                        .skip(1)
                        .collect::<Vec<_>>()
                        .join(" ")
                        .chars()
                        .take(300)
                        .collect();
                    context.record(
                        kind,
                        Made {
                            id: saved.id.clone(),
                            title: saved.title.clone(),
                            summary,
                        },
                    );
                    let id = Some(saved.id.clone());
                    match kind {
                        ArtifactKind::World => results.world_id = id,
                        ArtifactKind::Character => results.character_id = id,
                        ArtifactKind::Plot => results.plot_id = id,
                        ArtifactKind::Author => results.author_id = id,
                    }
                    results.title = Some(saved.title.clone());
                    results.artifacts.push(saved);
                }
                None => {
                    ended =
                        Ended::Failed(ErrorCode::Internal, "could not save the work".into(), None);
                    break;
                }
            }
        }
        match how {
            Ended::Done => {}
            Ended::TimedOut => {
                let ms = state.config.agent_timeout.as_millis() as u64;
                push_error(
                    session,
                    ErrorCode::AgentTimeout,
                    format!(
                        "Agent processing timed out after {} seconds",
                        ms.div_ceil(1000)
                    ),
                    ErrorDetails {
                        agent: Some(agent.into()),
                        timeout_duration: Some(ms),
                        partial_saved: Some(keep),
                        ..ErrorDetails::default()
                    },
                );
                ended = Ended::TimedOut;
                break;
            }
            other => {
                ended = other;
                break;
            }
        }
    }
    let status = match ended {
        Ended::Done => FinishStatus::Completed,
        Ended::Stopped | Ended::TimedOut => FinishStatus::Stopped,
        Ended::Failed(..) => FinishStatus::Failed,
    };
    record.end(status, output_tokens, "books").await;
    match ended {
        Ended::Done => session.push(ServerMessage::Completion {
            message: completion_message(&results),
            results,
            timestamp: now(),
            seq: 0,
        }),
        Ended::Stopped => session.push(ServerMessage::Completion {
            message: "Stopped: the work so far is saved".into(),
            results: CompletionResults {
                stopped: true,
                ..results
            },
            timestamp: now(),
            seq: 0,
        }),
        Ended::TimedOut => 0,
        Ended::Failed(code, message, retry_after_ms) => push_error(
            session,
            code,
            message,
            ErrorDetails {
                retry_after_ms,
                ..ErrorDetails::default()
            },
        ),
    };
}

fn completion_message(results: &CompletionResults) -> String {
    match results.artifacts.as_slice() {
        [one] => format!(
            "{} generation completed successfully",
            capitalise(one.kind.as_str())
        ),
        many => {
            let names: Vec<&str> = many.iter().map(|a| a.kind.as_str()).collect();
            format!("Created {} ({} artifacts)", names.join(", "), many.len())
        }
    }
}

/// Streams one specialist's text; returns it, its output tokens, and how
/// it ended.
async fn stream_agent(
    job: &Job<'_>,
    record: &mut Recorded,
    kind: ArtifactKind,
    context: &Context,
    max_tokens: i64,
) -> (String, i64, Ended) {
    let Job {
        state,
        session,
        request,
        stop,
        started_at,
    } = *job;
    let agent = kind.agent();
    let mut gen_request = GenRequest::new(request.content.clone());
    gen_request.system = outline::system_prompt(kind, context);
    gen_request.messages = vec![ChatMessage::user(request.content.clone())];
    gen_request.model = request.model.clone().or_else(|| session.model());
    gen_request.max_tokens = max_tokens.clamp(1, u32::MAX as i64) as u32;
    gen_request.seed = session.last_seq();
    let seed = gen_request.seed;
    let generation = state.generator.engine.generate_or(gen_request, |_| {
        crate::engine::offline::books::compose(kind, &request.content, &context.titles(), seed)
    });
    let mut call = Call::new(
        generation,
        CHUNK_CHARS,
        state.config.chunk_delay(),
        stop,
        &state.generator.shutdown,
    )
    .with_deadline(tokio::time::Instant::now() + state.config.agent_timeout);
    let mut text = String::new();
    let mut chunk_id = 0u64;
    let mut tokens = None;
    let ended = loop {
        match call.next().await {
            Step::Stopped => break Ended::Stopped,
            Step::TimedOut => break Ended::TimedOut,
            Step::Delta(piece) => {
                text.push_str(&piece);
                let checkpoint = record.wrote(&piece);
                if !request.stream {
                    continue;
                }
                chunk_id += 1;
                session.push(ServerMessage::StreamChunk {
                    content: piece,
                    agent: agent.into(),
                    chunk_id,
                    total_chunks: None,
                    timestamp: now(),
                    seq: 0,
                });
                // The conversation so far, with the record's text: after a
                // crash the session reopens with this much of the reply.
                if checkpoint {
                    save(&state.store, session, started_at).await;
                }
            }
            Step::Finish { usage, .. } => {
                tokens = Some(usage.completion_tokens as i64);
            }
            Step::Failed(e) => {
                tracing::warn!(error = %e, detail = e.detail(), "an agent's model call failed");
                let retry_after_ms = e.retry_after().map(|s| s * 1000);
                break Ended::Failed(e.code(), e.to_string(), retry_after_ms);
            }
            Step::End if tokens.is_some() => break Ended::Done,
            // Only a finish says the text is whole.
            Step::End => {
                let e = crate::engine::EngineError::Incomplete;
                break Ended::Failed(e.code(), e.to_string(), None);
            }
        }
    };
    drop(call);
    if !request.stream && !text.is_empty() {
        session.push(ServerMessage::StreamChunk {
            content: text.clone(),
            agent: agent.into(),
            chunk_id: 1,
            total_chunks: Some(1),
            timestamp: now(),
            seq: 0,
        });
    }
    let tokens = tokens.unwrap_or_else(|| crate::engine::approx_tokens(&text) as i64);
    (text, tokens, ended)
}

/// Runs the specialist's save tool, reporting it; the saved artifact, or
/// `None` (reported as failed) when the database refused.
async fn save_artifact(
    store: &Store,
    session: &Session,
    kind: ArtifactKind,
    text: &str,
    request: &str,
    status: &str,
    builds_on: &[String],
) -> Option<ArtifactRef> {
    let tool = kind.tool();
    session.push(ServerMessage::ToolExecution {
        tool_name: tool.into(),
        status: ToolStatus::Executing,
        message: format!("Saving {} to database...", kind.as_str()),
        progress: 0.5,
        timestamp: now(),
        seq: 0,
    });
    let (title, fields) = outline::parse(kind, text, request);
    match store
        .save_artifact(&session.id, kind, &title, &fields, text, status, builds_on)
        .await
    {
        Ok(a) => {
            let partial = if status == "partial" {
                " (partial)"
            } else {
                ""
            };
            session.push(ServerMessage::ToolExecution {
                tool_name: tool.into(),
                status: ToolStatus::Completed,
                message: format!("Saved {} \"{}\"{partial}", kind.as_str(), a.title),
                progress: 1.0,
                timestamp: now(),
                seq: 0,
            });
            Some(ArtifactRef {
                id: a.id,
                kind,
                title: a.title,
            })
        }
        Err(e) => {
            tracing::error!(session = %session.id, error = %e, "could not save an artifact");
            session.push(ServerMessage::ToolExecution {
                tool_name: tool.into(),
                status: ToolStatus::Failed,
                message: format!("Could not save the {}", kind.as_str()),
                progress: 1.0,
                timestamp: now(),
                seq: 0,
            });
            None
        }
    }
}

/// The latest world, character and plot of the session.
async fn load_context(store: &Store, session: &Session) -> Result<Context, sqlx::Error> {
    let mut context = Context::default();
    for a in store.artifacts(&session.id).await? {
        let summary: String = a
            .fields
            .values()
            .filter_map(|v| v.as_str())
            .take(3)
            .collect::<Vec<_>>()
            .join("; ");
        let made = Made {
            id: a.id,
            title: a.title,
            summary: summary.chars().take(300).collect(),
        };
        context.record(a.kind, made);
    }
    Ok(context)
}

/// An `error` event in the session.
pub(crate) fn push_error(
    session: &Session,
    code: ErrorCode,
    message: String,
    details: ErrorDetails,
) -> u64 {
    session.push(ServerMessage::Error {
        error_code: code,
        message,
        details,
        timestamp: now(),
        seq: 0,
    })
}

/// Saves what the request added to the conversation, and where the session
/// stands.
async fn save(store: &Store, session: &Session, started_at: u64) {
    let entries = session.entries_after(started_at);
    let result = async {
        store.save_books_entries(&session.id, &entries).await?;
        store
            .update_books_session(
                &session.id,
                session.model().as_deref(),
                &session.current_agent(),
                session.last_seq(),
            )
            .await
    }
    .await;
    if let Err(e) = result {
        tracing::error!(session = %session.id, error = %e, "could not save the conversation");
    }
}
