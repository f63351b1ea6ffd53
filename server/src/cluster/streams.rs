//! Every stream readable on every instance: each instance mirrors its
//! streams' events into Redis, and a reader on another instance reads them
//! there.
//!
//! Keys, for stream `st_…` (in braces: a Redis Cluster hash tag, so a
//! stream's two keys share a slot):
//!
//! - `chorus:stream:{st_…}:ev`: a Redis Stream of its events, entry id
//!   `{seq}-0`, fields `n` (the SSE `event:` name, empty for none) and `j`
//!   (the JSON exactly as the owner's readers get it), trimmed to about
//!   [`MAX_EVENTS`];
//! - `chorus:stream:{st_…}`: a hash of `owner` (who may read it), `instance`
//!   (who runs it), `last` (its last seq) and `done` (`1` once finished).
//!
//! Both expire `--stream-ttl-secs` after their last write.
//!
//! - [`Mirror`], the registry's [`Tap`]: `Entry::push` hands it each event
//!   (an `Arc`, no copy) through a bounded channel, never waiting; one task
//!   per instance writes what is queued in one pipeline per batch. When
//!   Redis is down or the queue is full, events are counted as lost
//!   (`chorus_cluster_events_lost`) and streams go on locally; once Redis
//!   answers again, the task writes every stream it still holds again from
//!   its first event, so readers elsewhere miss nothing after all. At a
//!   graceful shutdown, [`Mirror::flush`] waits (bounded) until everything
//!   queued before it is written, so readers elsewhere get every event and
//!   the stream's end before the process exits.
//! - [`Remote`]: a stream of another instance, found by [`lookup`]; its
//!   [`Remote::subscribe`] reads the events after a cursor with `XREAD
//!   BLOCK` on a connection of its own, until the stream's last event, or
//!   ends with `STREAM_INTERRUPTED` (and the text saved so far) when the
//!   stream's instance lost its lease.

use super::Cluster;
use super::instances;
use crate::store::Store;
use crate::streams::registry::{Entry, Event, Streams, Tap};
use futures_util::Stream;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// About the most events kept in Redis per stream (`XADD MAXLEN ~`).
pub const MAX_EVENTS: usize = 50_000;

/// Events (and ends) waiting for the mirror task; past it they are lost
/// (and written again once the task catches up).
pub const QUEUE: usize = 65_536;

/// Most operations written in one pipeline.
const BATCH: usize = 1024;

/// How long a remote reader's `XREAD` blocks before it looks at the
/// stream's end and its instance's lease.
const BLOCK: Duration = Duration::from_millis(1000);

/// How long a stream's instance must be without its lease before its
/// readers elsewhere are told the stream was interrupted: longer than an
/// instance takes to take its lease again after a Redis restart.
pub const INTERRUPTED_AFTER: Duration = Duration::from_secs(3);

/// How long a remote reader waits for Redis to answer again, or for
/// events it misses (a gap, while the owner writes its streams again),
/// before it ends with `STREAM_INTERRUPTED`.
const GIVE_UP_AFTER: Duration = Duration::from_secs(30);

/// The events key of stream `id`: `chorus:stream:{st_…}:ev`, the id in
/// braces (a Redis Cluster hash tag: a stream's keys share a slot).
pub fn events_key(id: &str) -> String {
    Cluster::key(&["stream", &format!("{{{id}}}"), "ev"])
}

/// The metadata key of stream `id`: `chorus:stream:{st_…}`.
pub fn meta_key(id: &str) -> String {
    Cluster::key(&["stream", &format!("{{{id}}}")])
}

/// One thing for the mirror task to write.
#[derive(Debug)]
enum Op {
    Event {
        stream: String,
        /// Only with a stream's first event (seq 1), which names it.
        owner: Option<String>,
        event: Arc<Event>,
    },
    Finished {
        stream: String,
    },
    /// Answered once everything queued before it is written (or lost).
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The registry's tap that mirrors every stream into Redis.
#[derive(Debug)]
pub struct Mirror {
    queue: mpsc::Sender<Op>,
    /// Streams with an operation that could not be queued (the task was
    /// behind): the task writes them again from their start.
    overflowed: Arc<Overflowed>,
    /// The registry, to read the streams again from (set once built).
    streams: Arc<OnceLock<Streams>>,
}

impl Mirror {
    /// The mirror, its task started (it ends when the registry is dropped).
    pub fn start(cluster: &Cluster, ttl: Duration) -> Arc<Self> {
        let (queue, rx) = mpsc::channel(QUEUE);
        let mirror = Arc::new(Self {
            queue,
            overflowed: Arc::default(),
            streams: Arc::default(),
        });
        let task = Task {
            cluster: cluster.clone(),
            ttl_secs: ttl.as_secs().max(1) as i64,
            streams: mirror.streams.clone(),
            overflowed: mirror.overflowed.clone(),
            known: HashMap::new(),
            degraded: false,
            lost: 0,
        };
        tokio::spawn(task.run(rx));
        mirror
    }

    /// The registry whose streams this mirrors.
    pub fn attach(&self, streams: &Streams) {
        let _ = self.streams.set(streams.clone());
    }

    fn send(&self, op: Op) {
        if let Err(e) = self.queue.try_send(op) {
            let (Op::Event { stream, .. } | Op::Finished { stream }) = e.into_inner() else {
                return;
            };
            crate::metrics::get().cluster_events_lost.inc();
            self.overflowed.add(stream);
        }
    }

    /// Waits until every event queued so far is written to Redis (or
    /// counted lost), at most `wait`; whether it was.
    pub async fn flush(&self, wait: Duration) -> bool {
        let (done, written) = tokio::sync::oneshot::channel();
        let flushed =
            async { self.queue.send(Op::Flush(done)).await.is_ok() && written.await.is_ok() };
        tokio::time::timeout(wait, flushed).await.unwrap_or(false)
    }
}

/// The streams whose operations were dropped, to write again.
#[derive(Debug, Default)]
struct Overflowed {
    any: AtomicBool,
    streams: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Overflowed {
    fn add(&self, stream: String) {
        self.streams.lock().expect("overflow lock").insert(stream);
        self.any.store(true, Ordering::Release);
    }

    fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    fn take(&self) -> Vec<String> {
        self.any.store(false, Ordering::Release);
        self.streams
            .lock()
            .expect("overflow lock")
            .drain()
            .collect()
    }
}

/// Pipelines written at once on the multiplexed connection (in order).
const IN_FLIGHT: usize = 4;

impl Tap for Mirror {
    fn event(&self, entry: &Entry, event: &Arc<Event>) {
        self.send(Op::Event {
            stream: entry.id.clone(),
            owner: (event.seq == 1).then(|| entry.owner.clone()),
            event: event.clone(),
        });
    }

    fn finished(&self, entry: &Entry, _last: u64) {
        self.send(Op::Finished {
            stream: entry.id.clone(),
        });
    }
}

/// What the task knows of a stream it mirrors.
#[derive(Debug, Default)]
struct Known {
    owner: Option<String>,
    /// The last seq written to Redis.
    written: u64,
    done: bool,
}

struct Task {
    cluster: Cluster,
    ttl_secs: i64,
    streams: Arc<OnceLock<Streams>>,
    overflowed: Arc<Overflowed>,
    /// Streams mirrored and still in the registry (pruned as they leave).
    known: HashMap<String, Known>,
    /// Redis failed: streams go on locally until it answers again.
    degraded: bool,
    /// Events not written during the current outage.
    lost: u64,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Op>) {
        use futures_util::StreamExt;
        let mut batch = Vec::with_capacity(BATCH);
        let mut retry = tokio::time::interval(Duration::from_secs(1));
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prune = Instant::now();
        // Pipelines sent and not yet answered, with their events' count.
        let mut in_flight = futures_util::stream::FuturesOrdered::new();
        // Events in those pipelines.
        let mut pending: u64 = 0;
        loop {
            tokio::select! {
                n = rx.recv_many(&mut batch, BATCH), if in_flight.len() < IN_FLIGHT => {
                    if n == 0 { break }
                }
                Some((result, events)) = in_flight.next(), if !in_flight.is_empty() => {
                    pending -= events;
                    self.settle(result, events);
                    continue;
                }
                _ = retry.tick(), if self.degraded || self.overflowed.any() => {}
            }
            // Flushes answer once what came before them is written.
            let mut flushes = Vec::new();
            if batch.iter().any(|op| matches!(op, Op::Flush(_))) {
                batch = std::mem::take(&mut batch)
                    .into_iter()
                    .filter_map(|op| match op {
                        Op::Flush(done) => {
                            flushes.push(done);
                            None
                        }
                        op => Some(op),
                    })
                    .collect();
            }
            if self.degraded {
                let lost = self.note(&batch);
                crate::metrics::get().cluster_events_lost.inc_by(lost);
                self.lost += lost;
                batch.clear();
                if in_flight.is_empty() {
                    self.recover().await;
                }
                continue;
            }
            if !batch.is_empty() {
                let (pipe, events) = self.pipeline(&batch);
                batch.clear();
                let mut conn = self.cluster.conn();
                pending += events;
                in_flight.push_back(async move { (pipe.query_async(&mut conn).await, events) });
            }
            if self.overflowed.any() {
                self.repair().await;
            }
            if !flushes.is_empty() {
                let flushing = pending;
                while let Some((result, events)) = in_flight.next().await {
                    pending -= events;
                    self.settle(result, events);
                }
                if !self.degraded {
                    crate::metrics::get()
                        .cluster_events_flushed
                        .inc_by(flushing);
                }
                for done in flushes {
                    let _ = done.send(());
                }
            }
            if prune.elapsed() > Duration::from_secs(30) {
                prune = Instant::now();
                self.prune();
            }
        }
    }

    /// Counts a pipeline's answer: its events mirrored, or lost (and the
    /// mirror degraded until Redis answers again).
    fn settle(&mut self, result: redis::RedisResult<()>, events: u64) {
        match result {
            Ok(()) => {
                crate::metrics::get().cluster_events_mirrored.inc_by(events);
            }
            Err(e) => {
                if !self.degraded {
                    tracing::warn!(error = %e, "could not write stream events to Redis; streams go on locally");
                }
                self.degraded = true;
                crate::metrics::get().cluster_redis_errors.inc();
                crate::metrics::get().cluster_events_lost.inc_by(events);
                self.lost += events;
            }
        }
    }

    /// The streams whose operations were dropped (the task was behind) are
    /// written again from their start.
    async fn repair(&mut self) {
        let ids = self.overflowed.take();
        let Some(streams) = self.streams.get().cloned() else {
            return;
        };
        tracing::warn!(
            streams = ids.len(),
            "the stream mirror fell behind: writing those streams to Redis again"
        );
        for id in ids {
            if let Some(entry) = streams.get(&id)
                && let Err(e) = self.rewrite(&entry).await
            {
                tracing::warn!(error = %e, "could not write stream events to Redis; streams go on locally");
                self.degraded = true;
                return;
            }
        }
    }

    /// Remembers what `ops` say about their streams without writing them;
    /// returns how many events they held.
    fn note(&mut self, ops: &[Op]) -> u64 {
        let mut events = 0;
        for op in ops {
            match op {
                Op::Event { stream, owner, .. } => {
                    events += 1;
                    let known = self.known.entry(stream.clone()).or_default();
                    if owner.is_some() {
                        known.owner.clone_from(owner);
                    }
                }
                Op::Finished { stream } => {
                    self.known.entry(stream.clone()).or_default().done = true
                }
                Op::Flush(_) => {}
            }
        }
        events
    }

    /// One pipeline: each event appended (unless written already), each
    /// stream's metadata updated, both keys' expiry renewed; and how many
    /// events it holds.
    fn pipeline(&mut self, ops: &[Op]) -> (redis::Pipeline, u64) {
        let mut pipe = redis::pipe();
        let mut touched: Vec<&str> = Vec::new();
        // Each stream's key made once a batch, not once an event.
        let mut keys: HashMap<&str, String> = HashMap::new();
        let mut events = 0;
        for op in ops {
            match op {
                Op::Event {
                    stream,
                    owner,
                    event,
                } => {
                    let known = self.known.entry(stream.clone()).or_default();
                    if owner.is_some() {
                        known.owner.clone_from(owner);
                    }
                    if event.seq <= known.written {
                        continue;
                    }
                    known.written = event.seq;
                    events += 1;
                    let key = keys.entry(stream).or_insert_with(|| events_key(stream));
                    xadd(&mut pipe, key, event);
                    if touched.last() != Some(&stream.as_str()) {
                        touched.push(stream);
                    }
                }
                Op::Finished { stream } => {
                    self.known.entry(stream.clone()).or_default().done = true;
                    touched.push(stream);
                }
                Op::Flush(_) => {}
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for stream in touched {
            let known = &self.known[stream];
            self.meta(&mut pipe, stream, known);
        }
        (pipe, events)
    }

    fn meta(&self, pipe: &mut redis::Pipeline, stream: &str, known: &Known) {
        let meta = meta_key(stream);
        let cmd = pipe
            .cmd("HSET")
            .arg(&meta)
            .arg("instance")
            .arg(self.cluster.instance())
            .arg("last")
            .arg(known.written);
        if let Some(owner) = &known.owner {
            cmd.arg("owner").arg(owner);
        }
        if known.done {
            cmd.arg("done").arg(1);
        }
        cmd.ignore();
        pipe.cmd("EXPIRE").arg(&meta).arg(self.ttl_secs).ignore();
        pipe.cmd("EXPIRE")
            .arg(events_key(stream))
            .arg(self.ttl_secs)
            .ignore();
    }

    /// While degraded: once Redis answers, every stream still in the
    /// registry is written again from its first event (Redis may have
    /// restarted empty), then mirroring goes on.
    async fn recover(&mut self) {
        let mut conn = self.cluster.conn();
        if redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_err()
        {
            return;
        }
        self.prune();
        let Some(streams) = self.streams.get().cloned() else {
            return;
        };
        let ids: Vec<String> = self.known.keys().cloned().collect();
        let mut rewritten = 0;
        for id in ids {
            let Some(entry) = streams.get(&id) else {
                continue;
            };
            if let Err(e) = self.rewrite(&entry).await {
                tracing::warn!(error = %e, "Redis failed again while the streams were written again");
                return;
            }
            rewritten += 1;
        }
        tracing::warn!(
            lost = self.lost,
            rewritten,
            "Redis answers again: the streams it missed are written again from their start"
        );
        self.lost = 0;
        self.degraded = false;
    }

    /// Writes `entry` to Redis again, all of it.
    async fn rewrite(&mut self, entry: &Arc<Entry>) -> redis::RedisResult<()> {
        use futures_util::{FutureExt, StreamExt};
        let done = entry.is_finished();
        let mut events = Box::pin(entry.subscribe(0));
        let mut held = Vec::new();
        // What the log holds now: the reader waits only past its end.
        while let Some(Some(ev)) = events.next().now_or_never() {
            held.push(ev);
        }
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(events_key(&entry.id)).ignore();
        let key = events_key(&entry.id);
        for ev in &held {
            xadd(&mut pipe, &key, ev);
        }
        let known = Known {
            owner: Some(entry.owner.clone()),
            written: held.last().map_or(0, |e| e.seq),
            done: done && held.last().map(|e| e.seq) == Some(entry.last_seq()),
        };
        self.meta(&mut pipe, &entry.id, &known);
        pipe.query_async::<()>(&mut self.cluster.conn()).await?;
        crate::metrics::get()
            .cluster_events_mirrored
            .inc_by(held.len() as u64);
        self.known.insert(entry.id.clone(), known);
        Ok(())
    }

    /// Forgets the streams the registry has forgotten.
    fn prune(&mut self) {
        if let Some(streams) = self.streams.get() {
            self.known.retain(|id, _| streams.get(id).is_some());
        }
    }
}

fn xadd(pipe: &mut redis::Pipeline, key: &str, event: &Event) {
    pipe.cmd("XADD")
        .arg(key)
        .arg("MAXLEN")
        .arg("~")
        .arg(MAX_EVENTS)
        .arg(format!("{}-0", event.seq))
        .arg("n")
        .arg(event.name.unwrap_or(""))
        .arg("j")
        .arg(event.json.as_str())
        .ignore();
}

/// A stream's metadata in Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub owner: String,
    pub instance: String,
    pub last: u64,
    pub done: bool,
}

/// The metadata of stream `id`, if Redis has it.
pub async fn lookup(cluster: &Cluster, id: &str) -> redis::RedisResult<Option<Meta>> {
    let map: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(meta_key(id))
        .query_async(&mut cluster.conn())
        .await?;
    Ok(meta_of(&map))
}

fn meta_of(map: &HashMap<String, String>) -> Option<Meta> {
    Some(Meta {
        owner: map.get("owner")?.clone(),
        instance: map.get("instance")?.clone(),
        last: map.get("last").and_then(|l| l.parse().ok()).unwrap_or(0),
        done: map.get("done").is_some_and(|d| d == "1"),
    })
}

/// A stream another instance runs (or ran).
#[derive(Debug, Clone)]
pub struct Remote {
    pub id: String,
    pub meta: Meta,
    cluster: Cluster,
    store: Store,
}

/// The names of the SSE events (and their `type`) an event that is not
/// the stream's own may take: a protocol's error type.
pub type ErrorKind = &'static str;

impl Remote {
    pub fn new(cluster: &Cluster, store: &Store, id: &str, meta: Meta) -> Self {
        Self {
            id: id.to_owned(),
            meta,
            cluster: cluster.clone(),
            store: store.clone(),
        }
    }

    /// The cluster it is read from.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The events after `after`, then the live tail, until the last one;
    /// or, when the stream's instance is gone, a last `STREAM_INTERRUPTED`
    /// error (its `type` and SSE name `kind`) with the text saved so far.
    pub fn subscribe(
        &self,
        after: u64,
        kind: ErrorKind,
    ) -> impl Stream<Item = Arc<Event>> + Send + 'static {
        let reader = Reader {
            remote: self.clone(),
            kind,
            cursor: after,
            pending: VecDeque::new(),
            conn: None,
            trouble: None,
            missing: None,
            ended: false,
        };
        futures_util::stream::unfold(reader, |mut r| async move {
            let ev = r.next().await?;
            Some((ev, r))
        })
    }
}

struct Reader {
    remote: Remote,
    kind: ErrorKind,
    cursor: u64,
    pending: VecDeque<Arc<Event>>,
    /// Its own connection: `XREAD BLOCK` holds a connection while it waits.
    conn: Option<redis::aio::MultiplexedConnection>,
    /// Since when Redis has failed, or events were missing.
    trouble: Option<Instant>,
    /// Since when the stream's instance has had no lease.
    missing: Option<Instant>,
    ended: bool,
}

type Entries = Vec<(u64, Option<&'static str>, String)>;

impl Reader {
    async fn next(&mut self) -> Option<Arc<Event>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                self.cursor = ev.seq;
                return Some(ev);
            }
            if self.ended {
                return None;
            }
            match self.step().await {
                Ok(()) => {}
                Err(e) => {
                    tracing::debug!(stream = %self.remote.id, error = %e, "reading a stream from Redis");
                    self.conn = None;
                    let since = *self.trouble.get_or_insert_with(Instant::now);
                    if since.elapsed() > GIVE_UP_AFTER {
                        return Some(self.interrupted().await);
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// Reads what follows the cursor (waiting up to [`BLOCK`]); when
    /// nothing came, sees whether the stream ended or its instance died.
    async fn step(&mut self) -> redis::RedisResult<()> {
        let entries = self.read().await?;
        let caught_up = entries.len() < 256;
        for (seq, name, json) in entries {
            if seq != self.cursor + 1 + self.pending.len() as u64 {
                // Events Redis lost; the owner writes them again.
                let since = *self.trouble.get_or_insert_with(Instant::now);
                if since.elapsed() > GIVE_UP_AFTER {
                    let ev = self.interrupted().await;
                    self.pending.push_back(ev);
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                return Ok(());
            }
            self.pending
                .push_back(Arc::new(Event::received(seq, name, json)));
        }
        if !self.pending.is_empty() {
            self.trouble = None;
        }
        if !caught_up {
            return Ok(());
        }
        let read_to = self.cursor + self.pending.len() as u64;
        let cluster = &self.remote.cluster;
        let map: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(meta_key(&self.remote.id))
            .query_async(&mut cluster.conn())
            .await?;
        if let Some(meta) = meta_of(&map) {
            if meta.done && read_to >= meta.last {
                self.ended = true;
                return Ok(());
            }
            self.remote.meta.instance = meta.instance;
        }
        if self.pending.is_empty() {
            self.trouble = None;
            if instances::alive(cluster, &self.remote.meta.instance).await? {
                self.missing = None;
            } else {
                let since = *self.missing.get_or_insert_with(Instant::now);
                if since.elapsed() >= INTERRUPTED_AFTER {
                    let ev = self.interrupted().await;
                    self.pending.push_back(ev);
                }
            }
        }
        Ok(())
    }

    /// Up to 256 entries after the cursor, waiting up to [`BLOCK`].
    async fn read(&mut self) -> redis::RedisResult<Entries> {
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(Duration::from_secs(3)))
                    .set_response_timeout(Some(BLOCK + Duration::from_secs(3)));
                let c = self
                    .remote
                    .cluster
                    .client()
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?;
                self.conn.insert(c)
            }
        };
        let from = self.cursor + self.pending.len() as u64;
        let reply: Option<redis::streams::StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(256)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(events_key(&self.remote.id))
            .arg(format!("{from}-0"))
            .query_async(conn)
            .await?;
        let mut out = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for id in key.ids {
                let seq = id
                    .id
                    .split_once('-')
                    .and_then(|(s, _)| s.parse::<u64>().ok())
                    .unwrap_or(0);
                let name: String = id.get("n").unwrap_or_default();
                let json: String = id.get("j").unwrap_or_default();
                out.push((seq, event_name(&name), json));
            }
        }
        Ok(out)
    }

    /// The last event: the stream was interrupted, with its saved text.
    async fn interrupted(&mut self) -> Arc<Event> {
        self.ended = true;
        let text = match self.remote.store.generation(&self.remote.id).await {
            Ok(Some(g)) => g.text,
            _ => String::new(),
        };
        let last = self.cursor + self.pending.len() as u64;
        // Named like the stream's own events: protocols without SSE names
        // (the role-card protocol) read unnamed events only.
        let named = self.names_events().await;
        let ev = shared::stream::Interrupted::new(
            self.kind,
            &self.remote.id,
            last,
            text,
            crate::clock::now_rfc3339(),
        );
        tracing::warn!(stream = %self.remote.id, instance = %self.remote.meta.instance, "a stream's instance went away: its readers here get STREAM_INTERRUPTED");
        Arc::new(Event::received(
            last + 1,
            named.then_some(self.kind),
            serde_json::to_string(&ev).unwrap_or_default(),
        ))
    }
}

impl Reader {
    /// Whether the stream's last event has an SSE name (yes when unknown).
    async fn names_events(&self) -> bool {
        let last: redis::RedisResult<redis::streams::StreamRangeReply> = redis::cmd("XREVRANGE")
            .arg(events_key(&self.remote.id))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.remote.cluster.conn())
            .await;
        match last.ok().and_then(|r| r.ids.into_iter().next()) {
            Some(id) => id.get::<String>("n").is_some_and(|n| !n.is_empty()),
            None => true,
        }
    }
}

/// The `&'static` SSE name of a mirrored event: the protocols name their
/// events from a fixed set, so each distinct name is leaked once.
fn event_name(name: &str) -> Option<&'static str> {
    use std::sync::Mutex;
    static NAMES: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    if name.is_empty() {
        return None;
    }
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .expect("names lock");
    if let Some(n) = names.get(name) {
        return Some(n);
    }
    // A bound, so a corrupt Redis cannot grow it without end.
    if names.len() >= 1024 {
        return Some("message");
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(name.to_owned(), leaked);
    Some(leaked)
}
