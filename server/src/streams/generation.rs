//! The one generation runner: every feature's model calls run here.
//!
//! [`start`] opens a stream for the caller and runs a single-call
//! generation in its own task, so a client that disconnects does not stop
//! it: the text is saved either way. [`start_job`] does the same for a job
//! that calls the model several times on one stream (role-card layers).
//! Every model call is a [`Call`]: the engine's deltas, re-chunked and
//! paced, read under one `select!` with the stream's stop, the server's
//! shutdown and an optional deadline, so a stop is noticed while waiting on
//! the provider too (dropping the call cancels the provider and closes the
//! upstream connection). BooksWriter's agents run their calls as [`Call`]s
//! too, under their session's stop and the agent timeout.
//!
//! A stopped generation saves its partial text as `stopped` and ends the
//! stream with a final event saying so; server shutdown stops running
//! generations the same way, and adds a last `stopped` event with reason
//! `shutdown` ([`shutdown_event`]). The caller's quota ticket is settled
//! with the output tokens.
//!
//! Nothing is lost to a crash: the text is saved while it streams
//! ([`Checkpoint`], at most [`CHECKPOINT_EVERY`] apart), and the generation's
//! record holds the ticket's reservation until it is settled (see
//! `Store::recover_interrupted`). Every generation task is tracked
//! ([`Generator::tasks`]), so shutdown waits for the last save before the
//! database closes ([`Generator::drain`]).
//!
//! A [`Render`] turns the moments of a generation into the events of a
//! protocol (the persona protocol's `chunk`, the hybrid chat's
//! `assistant_delta` …): it gets the stream id at the start and finishes
//! asynchronously (saving what the protocol keeps before the final events).

use super::registry::Streams;
use super::registry::{Entry, PushError};
use crate::auth::identity::Identity;
use crate::engine::chunker::Rechunker;
use crate::engine::{Engine, EngineError, GenEvent, GenRequest, GenStream};
use crate::error::AppResult;
use crate::quota::{Quota, Ticket};
use crate::store::Store;
use serde_json::Value;
use shared::ErrorCode;
use shared::stream::{FinishStatus, TokenUsage};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

/// Longest a running generation's saved text lags behind what was streamed.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// What the features that stream generate with: a sub-state of the app's
/// state (`State<Generator>`), cheap to clone.
#[derive(Clone, Debug)]
pub struct Generator {
    /// The model provider.
    pub engine: Engine,
    /// The models clients may name, and their prices.
    pub models: crate::engine::models::Models,
    /// Live and replayable streams.
    pub streams: Streams,
    /// The cluster's Redis (`--redis-url`), where the streams of the other
    /// instances are read and stopped; `None` for a single instance.
    pub cluster: Option<crate::cluster::Cluster>,
    /// Who may generate, and what it costs.
    pub quota: Quota,
    /// Where generations are recorded (the app's store).
    pub store: Store,
    /// Pause between streamed chunks (`--chunk-delay-ms`).
    pub chunk_delay: Duration,
    /// Cancelled when the server shuts down: running generations stop.
    /// Cancelled before the sockets and SSE responses end (a child of the
    /// app's token), so their readers get the final events.
    pub shutdown: CancellationToken,
    /// Every running generation task, so shutdown can wait for their saves.
    pub tasks: TaskTracker,
}

impl Generator {
    /// Counts work that runs outside the generation tasks (a BooksWriter
    /// session's worker) as running until the token is dropped, so
    /// [`Generator::drain`] waits for it too.
    pub fn track(&self) -> tokio_util::task::task_tracker::TaskTrackerToken {
        self.tasks.token()
    }

    /// Stops every generation and waits, at most `within`, for their final
    /// saves and settlements; `false` if some were still running then.
    pub async fn drain(&self, within: Duration) -> bool {
        self.shutdown.cancel();
        self.tasks.close();
        tokio::time::timeout(within, self.tasks.wait())
            .await
            .is_ok()
    }
}

/// An event to push: its SSE name (if the protocol uses names) and payload.
pub type Out = (Option<&'static str>, super::registry::Payload);

/// How a generation ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub text: String,
    pub status: FinishStatus,
    pub usage: TokenUsage,
    /// The provider's response id (for `previous_response_id`).
    pub response_id: Option<String>,
    /// Why it failed, when it did: the code and a sentence for people.
    pub error: Option<(ErrorCode, String)>,
    /// Seconds to wait before trying again (a rate-limited provider).
    pub retry_after: Option<u64>,
}

impl Outcome {
    /// What the caller pays: the output tokens, or nothing at all
    /// (`None`, everything given back) for a failure that produced no text.
    pub fn charge(&self) -> Option<i64> {
        if self.text.is_empty() && self.status == FinishStatus::Failed {
            None
        } else {
            Some(self.usage.completion_tokens as i64)
        }
    }

    fn new() -> Self {
        Self {
            text: String::new(),
            status: FinishStatus::Completed,
            usage: TokenUsage::default(),
            response_id: None,
            error: None,
            retry_after: None,
        }
    }

    /// Ends as failed because of `e` (its text so far is kept).
    fn fail(&mut self, e: &EngineError) {
        self.status = FinishStatus::Failed;
        self.error = Some((e.code(), e.to_string()));
        self.retry_after = e.retry_after();
    }
}

/// A protocol's view of a generation.
pub trait Render: Send + 'static {
    /// Events before the first chunk; `stream_id` is the stream's, which is
    /// open from here on.
    fn start(&mut self, _stream_id: &str) -> Vec<Out> {
        Vec::new()
    }
    /// One chunk of text.
    fn chunk(&mut self, text: &str) -> Vec<Out>;
    /// The end (completed, stopped or failed): saves what the protocol
    /// keeps first, so a reader who sees the end and reloads finds it
    /// saved, then gives the final events.
    fn finish(&mut self, outcome: &Outcome) -> impl Future<Output = Vec<Out>> + Send;
}

/// What to run, and how to show it.
pub struct Generation<R: Render> {
    pub request: GenRequest,
    /// Characters per chunk (the persona protocol: 50 for `openai_chat`,
    /// 30 for personas).
    pub chunk_chars: usize,
    pub render: R,
    /// Admission from the quota; settled with the output tokens.
    pub ticket: Option<Ticket>,
}

/// One step of a [`Call`].
#[derive(Debug)]
pub enum Step {
    /// A chunk of text.
    Delta(String),
    /// The provider finished.
    Finish {
        usage: TokenUsage,
        response_id: Option<String>,
    },
    /// The provider failed.
    Failed(EngineError),
    /// Stopped, or the server is shutting down.
    Stopped,
    /// Past the call's deadline.
    TimedOut,
    /// The provider's stream ended without a `Finish`.
    End,
}

/// One model call: the engine's deltas, re-chunked and paced, read under
/// the stop, the server's shutdown and an optional deadline. Dropping it
/// cancels the provider.
pub struct Call {
    deltas: Rechunker,
    /// How the call is ending (stopped, timed out): set once the stop is
    /// seen, returned after the text already received has gone out.
    ending: Option<Step>,
    // Made once, polled on every chunk (cheaper than a new waiter each time).
    stop: Pin<Box<WaitForCancellationFutureOwned>>,
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// When the call began and whether a chunk came yet, for the metrics.
    started: std::time::Instant,
    chunked: bool,
}

impl Call {
    /// `generation` in `chunk_chars`-character pieces `delay` apart.
    pub fn new(
        generation: GenStream,
        chunk_chars: usize,
        delay: Duration,
        stop: &CancellationToken,
        shutdown: &CancellationToken,
    ) -> Self {
        Self {
            deltas: Rechunker::new(generation, chunk_chars, delay),
            ending: None,
            stop: Box::pin(stop.clone().cancelled_owned()),
            shutdown: Box::pin(shutdown.clone().cancelled_owned()),
            deadline: None,
            started: std::time::Instant::now(),
            chunked: false,
        }
    }

    /// Ends the call with [`Step::TimedOut`] at `deadline`.
    pub fn with_deadline(mut self, deadline: tokio::time::Instant) -> Self {
        self.deadline = Some(Box::pin(tokio::time::sleep_until(deadline)));
        self
    }

    /// The next step. After `Stopped`, `TimedOut`, `Failed`, `Finish` or
    /// `End`, drop the call. A stop or deadline first hands out, at once,
    /// the text already received (so it is shown and saved), then ends.
    pub async fn next(&mut self) -> Step {
        let step = self.step().await;
        let metrics = crate::metrics::get();
        // The clock is read for the first chunk and the end only.
        let elapsed = || self.started.elapsed().as_secs_f64();
        match &step {
            Step::Delta(_) => {
                metrics.chunks_sent.inc();
                if !self.chunked {
                    metrics.first_chunk_seconds.observe(elapsed());
                    self.chunked = true;
                }
            }
            Step::Finish { .. } | Step::End => metrics.reply_seconds.observe(elapsed()),
            _ => {}
        }
        step
    }

    async fn step(&mut self) -> Step {
        if let Some(ending) = self.ending.take() {
            return match self.deltas.take_unsent() {
                Some(text) => {
                    self.ending = Some(ending);
                    Step::Delta(text)
                }
                None => ending,
            };
        }
        let Self {
            deltas,
            stop,
            shutdown,
            deadline,
            ending,
            ..
        } = self;
        let timed = deadline.is_some();
        let deadline = async {
            if let Some(d) = deadline {
                d.as_mut().await
            }
        };
        let end = tokio::select! {
            _ = stop.as_mut() => Step::Stopped,
            _ = shutdown.as_mut() => Step::Stopped,
            _ = deadline, if timed => Step::TimedOut,
            n = deltas.next() => return match n {
                Some(Ok(GenEvent::Delta(text))) => Step::Delta(text),
                Some(Ok(GenEvent::Finish { usage, response_id })) => Step::Finish { usage, response_id },
                Some(Err(e)) => Step::Failed(e),
                None => Step::End,
            },
        };
        *ending = Some(end);
        match self.deltas.take_unsent() {
            Some(text) => Step::Delta(text),
            None => self.ending.take().unwrap_or(Step::Stopped),
        }
    }
}

/// Opens a stream for `who` and runs `generation` into it in the
/// background. Returns the stream at once, its first events already in.
pub fn start<R: Render>(
    generator: &Generator,
    who: &Identity,
    mut generation: Generation<R>,
) -> Arc<Entry> {
    let entry = generator.streams.create(&who.owner_key());
    crate::metrics::stream_started();
    let price = generator.models.price(generation.request.model.as_deref());
    generation.ticket = generation.ticket.map(|t| t.priced(price));
    if let Some(cap) = generation.ticket.as_ref().and_then(Ticket::max_tokens) {
        generation.request.max_tokens = generation.request.max_tokens.min(cap.max(1) as u32);
    }
    if let Some(ticket) = generation.ticket.as_mut() {
        ticket.bind(&entry.id);
    }
    for (name, payload) in generation.render.start(&entry.id) {
        let _ = entry.push(name, payload);
    }
    // Boxed: the generation's future is about 4 KB, and spawning it and
    // wrapping it in the request's context would copy it three times.
    generator.tasks.spawn(crate::request_id::carry(Box::pin(run(
        generator.clone(),
        entry.clone(),
        generation,
    ))));
    entry
}

async fn run<R: Render>(g: Generator, entry: Arc<Entry>, generation: Generation<R>) {
    let Generation {
        request,
        chunk_chars,
        mut render,
        ticket,
    } = generation;
    // Not waited for: the record of the end is written after it, and
    // readers wait for that one (group commit, see `store::generations`).
    let held = ticket.as_ref().map_or(0, Ticket::held);
    g.store
        .queue_generation_holding(&entry.id, &entry.owner, held);
    let mut checkpoint = Checkpoint::new();
    let mut call = Call::new(
        g.engine.generate(request),
        chunk_chars,
        g.chunk_delay,
        &entry.cancel,
        &g.shutdown,
    );
    let mut outcome = Outcome::new();
    loop {
        match call.next().await {
            Step::Delta(text) => {
                let events = render.chunk(&text);
                outcome.text.push_str(&text);
                checkpoint.maybe_save(&g.store, &entry.id, &outcome.text);
                if push_all(&entry, events) == Err(PushError::Full) {
                    outcome.status = FinishStatus::Failed;
                    outcome.error = Some((
                        ErrorCode::PayloadTooLarge,
                        "the reply outgrew the stream's buffer".into(),
                    ));
                    break;
                }
            }
            Step::Finish { usage, response_id } => {
                outcome.usage = usage;
                outcome.response_id = response_id;
                break;
            }
            Step::Failed(e) => {
                tracing::warn!(stream = %entry.id, error = %e, detail = e.detail(), "generation failed");
                outcome.fail(&e);
                break;
            }
            Step::Stopped | Step::TimedOut => {
                outcome.status = FinishStatus::Stopped;
                break;
            }
            // Only a finish says the text is whole.
            Step::End => {
                outcome.fail(&EngineError::Incomplete);
                break;
            }
        }
    }
    drop(call);
    if outcome.usage.completion_tokens == 0 {
        outcome.usage.completion_tokens = crate::engine::approx_tokens(&outcome.text);
    }
    save(&g.store, &entry, &outcome).await;
    if let Some(ticket) = ticket {
        // A failed reply gives an anonymous visitor their free reply back,
        // whatever text arrived; a user pays only for text they got.
        let failed = outcome.status == FinishStatus::Failed;
        let charge = if failed && ticket.is_anonymous() {
            None
        } else {
            outcome.charge()
        };
        g.quota.settle(ticket, charge, "generation").await;
    }
    // The final events go in even past the buffer bound: they are small and
    // readers need to see the end.
    for (name, payload) in render.finish(&outcome).await {
        let _ = entry.push_final(name, payload);
    }
    end_for_shutdown(&g, &entry);
    entry.finish();
}

/// Saves a running generation's text every [`CHECKPOINT_EVERY`] at most,
/// when it has grown (queued, not waited for: streaming does not slow).
#[derive(Debug)]
struct Checkpoint {
    at: Instant,
    saved: usize,
}

impl Checkpoint {
    fn new() -> Self {
        Self {
            at: Instant::now(),
            saved: 0,
        }
    }

    /// `true` when it saved now.
    fn maybe_save(&mut self, store: &Store, stream_id: &str, text: &str) -> bool {
        if text.len() > self.saved && self.at.elapsed() >= CHECKPOINT_EVERY {
            store.queue_generation_text(stream_id, text);
            self.at = Instant::now();
            self.saved = text.len();
            return true;
        }
        false
    }
}

/// The server is shutting down: after the protocol's own final events, a
/// last `stopped` event with reason `shutdown`, so every reader (SSE or
/// socket) knows why the stream ends before its connection closes.
fn end_for_shutdown(g: &Generator, entry: &Entry) {
    if g.shutdown.is_cancelled() {
        let (name, payload) = shutdown_event(&entry.id);
        let _ = entry.push_final(name, payload);
    }
}

/// `event: stopped`, `{"type":"stopped","reason":"shutdown","stream_id":…}`:
/// clients that do not know it ignore it (an SSE event name nobody listens
/// for, a socket message type they do not handle).
pub fn shutdown_event(stream_id: &str) -> Out {
    let ending = shared::stream::Ending::Stopped {
        reason: shared::stream::StopReason::Shutdown,
        stream_id: stream_id.to_owned(),
    };
    (
        Some("stopped"),
        serde_json::to_value(&ending).unwrap_or(Value::Null).into(),
    )
}

/// Records how the stream's generation ended.
async fn save(store: &Store, entry: &Entry, outcome: &Outcome) {
    let status = match outcome.status {
        FinishStatus::Completed => "completed",
        FinishStatus::Stopped => "stopped",
        FinishStatus::Failed => "failed",
    };
    crate::metrics::stream_finished(status, outcome.usage.completion_tokens);
    if let Err(e) = store
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
}

fn push_all(entry: &Entry, events: Vec<Out>) -> Result<(), PushError> {
    for (name, payload) in events {
        entry.push(name, payload)?;
    }
    Ok(())
}

/// What a multi-call job works with: its stream, model calls under the
/// stream's stop and the server's shutdown, and the text it has written
/// (saved as the generation's text, counted for its tokens).
pub struct Run {
    pub generator: Generator,
    pub entry: Arc<Entry>,
    /// Everything streamed as text so far (add to it with [`Run::wrote`]).
    pub text: String,
    /// Saves `text` while the job runs.
    checkpoint: Checkpoint,
    /// Who runs the job.
    who: Identity,
    /// The job's admission, settled by the runner when the job ends.
    ticket: Option<Ticket>,
}

impl Run {
    /// Adds streamed text to the job's text, which is saved while the job
    /// runs (at most [`CHECKPOINT_EVERY`] behind, as every stream's).
    pub fn wrote(&mut self, text: &str) {
        self.text.push_str(text);
        self.checkpoint
            .maybe_save(&self.generator.store, &self.entry.id, &self.text);
    }

    /// Pushes an event within the stream's byte bound (`Err` once the
    /// stream holds `MAX_STREAM_BYTES`: the job should end, and say why
    /// with [`Run::push_final`]).
    pub fn push(&self, name: Option<&'static str>, payload: Value) -> Result<(), PushError> {
        self.entry.push(name, payload).map(|_| ())
    }

    /// Pushes an event that ends the job, past the byte bound.
    pub fn push_final(&self, name: Option<&'static str>, payload: Value) {
        let _ = self.entry.push_final(name, payload);
    }

    /// A model call of `request` under this job's stop.
    pub fn call(&self, request: GenRequest, chunk_chars: usize) -> Call {
        self.call_of(self.generator.engine.generate(request), chunk_chars)
    }

    /// A call of any generation (an offline writer's text).
    pub fn call_of(&self, generation: GenStream, chunk_chars: usize) -> Call {
        Call::new(
            generation,
            chunk_chars,
            self.generator.chunk_delay,
            &self.entry.cancel,
            &self.generator.shutdown,
        )
    }

    /// Admits the job's model calls, up to `max_tokens` output tokens (once
    /// a job knows it will call the model: a job refused before that costs
    /// nothing). The runner settles the ticket with the job's text when it
    /// ends.
    pub async fn admit(&mut self, max_tokens: i64) -> AppResult<()> {
        // A job's calls ask the default model: priced as it.
        let price = self.generator.models.price(None);
        let mut ticket = self
            .generator
            .quota
            .begin(&self.who, max_tokens)
            .await?
            .priced(price);
        if let Some(old) = self.ticket.take() {
            self.generator
                .quota
                .settle(old, Some(0), "generation")
                .await;
        }
        // On the job's record, so a crash settles it at the next start.
        let (store, id) = (&self.generator.store, &self.entry.id);
        match store.hold_generation(id, ticket.held()).await {
            Ok(()) => ticket.bind(id),
            Err(e) => tracing::error!(stream = %id, error = %e, "could not record a reservation"),
        }
        self.ticket = Some(ticket);
        Ok(())
    }

    /// The job was stopped, or the server is going away.
    pub fn stopped(&self) -> bool {
        self.entry.cancel.is_cancelled() || self.generator.shutdown.is_cancelled()
    }
}

/// Opens a stream for `who` and runs `job` on it in the background: the job
/// pushes its events and makes its calls through [`Run`]; its result (`Err`
/// with the reason it failed) and text are saved as the generation's
/// outcome, `stopped` when it was stopped; its admission ([`Run::admit`])
/// is settled with that text's tokens, as `reason`.
pub fn start_job<F, Fut>(
    generator: &Generator,
    who: &Identity,
    reason: &'static str,
    job: F,
) -> Arc<Entry>
where
    F: FnOnce(Run) -> Fut + Send + 'static,
    Fut: Future<Output = (Run, Result<(), String>)> + Send + 'static,
{
    let entry = generator.streams.create(&who.owner_key());
    crate::metrics::stream_started();
    let run = Run {
        generator: generator.clone(),
        entry: entry.clone(),
        text: String::new(),
        checkpoint: Checkpoint::new(),
        who: who.clone(),
        ticket: None,
    };
    let tasks = generator.tasks.clone();
    tasks.spawn(crate::request_id::carry(async move {
        let (store, entry) = (run.generator.store.clone(), run.entry.clone());
        if let Err(e) = store.generation_started(&entry.id, &entry.owner).await {
            tracing::error!(stream = %entry.id, error = %e, "could not record a generation");
        }
        let (mut run, result) = job(run).await;
        let mut outcome = Outcome::new();
        outcome.status = match &result {
            Ok(()) => FinishStatus::Completed,
            Err(_) if run.stopped() => FinishStatus::Stopped,
            Err(_) => FinishStatus::Failed,
        };
        outcome.usage.completion_tokens = crate::engine::approx_tokens(&run.text);
        outcome.text = std::mem::take(&mut run.text);
        save(&store, &entry, &outcome).await;
        if let Some(ticket) = run.ticket.take() {
            run.generator
                .quota
                .settle(ticket, outcome.charge(), reason)
                .await;
        }
        end_for_shutdown(&run.generator, &entry);
        entry.finish();
    }));
    entry
}

/// A generation that streams on its feature's own event log (a BooksWriter
/// session's), not on a registry stream, recorded like every other: its
/// record holds what its ticket holds until [`Recorded::end`] settles it in
/// the same transaction, and its text is saved while it runs (at most
/// [`CHECKPOINT_EVERY`] behind), so start-up recovery after a crash marks
/// it `interrupted` and gives back what it did not spend. The feature's
/// task holds a [`Generator::track`] token, so shutdown waits for its end.
#[derive(Debug)]
pub struct Recorded {
    generator: Generator,
    /// The record's id (`generations.stream_id`; no stream has it).
    id: String,
    ticket: Ticket,
    /// Everything written so far.
    text: String,
    checkpoint: Checkpoint,
}

impl Recorded {
    /// Records a generation of `owner` holding `ticket` (admitted and
    /// priced already), under a new id starting with `kind`.
    pub async fn begin(generator: &Generator, kind: &str, owner: &str, mut ticket: Ticket) -> Self {
        let id = format!("{kind}-{}", crate::store::new_id());
        match generator
            .store
            .generation_holding(&id, owner, ticket.held())
            .await
        {
            Ok(()) => ticket.bind(&id),
            Err(e) => {
                tracing::error!(generation = %id, error = %e, "could not record a generation")
            }
        }
        Self {
            generator: generator.clone(),
            id,
            ticket,
            text: String::new(),
            checkpoint: Checkpoint::new(),
        }
    }

    /// The most output tokens it may produce (see [`Ticket::max_tokens`]).
    pub fn max_tokens(&self) -> Option<i64> {
        self.ticket.max_tokens()
    }

    /// Adds streamed text; `true` when the text was just saved (a
    /// checkpoint: the feature may save what it keeps too).
    pub fn wrote(&mut self, text: &str) -> bool {
        self.text.push_str(text);
        self.checkpoint
            .maybe_save(&self.generator.store, &self.id, &self.text)
    }

    /// Saves how it ended with its text, then settles its ticket: the
    /// owner pays `output_tokens`, or nothing at all (everything given
    /// back, an anonymous visitor's free reply too) when nothing was
    /// written.
    pub async fn end(self, status: FinishStatus, output_tokens: i64, reason: &'static str) {
        let store = &self.generator.store;
        if let Err(e) = store
            .generation_finished(&self.id, status.as_str(), &self.text, 0, output_tokens)
            .await
        {
            tracing::error!(generation = %self.id, error = %e, "could not save the generation");
        }
        let charge = (!self.text.trim().is_empty()).then_some(output_tokens);
        self.generator
            .quota
            .settle(self.ticket, charge, reason)
            .await;
    }
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

    async fn finish(&mut self, o: &Outcome) -> Vec<Out> {
        let mut out = Vec::new();
        if let Some((code, error)) = &o.error {
            out.push(event(shared::stream::ServerEvent::Error {
                error: error.clone(),
                code: *code,
                retry_after: o.retry_after,
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
        serde_json::to_value(&e).unwrap_or(Value::Null).into(),
    )
}
