//! The stream registry: every stream's events, replayable by `seq`.
//!
//! A stream is an append-only log of events (seq 1, 2, 3 …) and the wakers
//! of the readers waiting for more, under one lock. A push wakes the
//! readers that wait and forgets them: the pushes that follow before a
//! reader runs wake nobody, and the reader takes them all in one go.
//! Readers keep only a cursor, so a slow or absent reader costs nothing;
//! the log itself is bounded in bytes. Finished
//! streams stay replayable for the configured time, then are forgotten (their
//! outcome stays in the database).

use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio_util::bytes::{BufMut, BytesMut};
use tokio_util::sync::CancellationToken;

/// Most bytes of events one stream keeps (its replay buffer).
pub const MAX_STREAM_BYTES: usize = 4 * 1024 * 1024;

/// A stream's stop token, the registry's map and sweep slots, and the
/// allocator's headers of its small allocations, in bytes (estimated; see
/// [`Entry::footprint`]).
const ENTRY_SLOTS: usize = 256;

/// Most events a reader takes from the log at once.
const READ_BATCH: usize = 64;

pub use super::log::Event;
use super::log::ReplayLog;

/// What else hears of every stream: a cluster's mirror of the streams in
/// Redis (`crate::cluster::streams`). Called under the stream's lock, in
/// order, so it must only queue (never wait).
pub trait Tap: Send + Sync + std::fmt::Debug {
    /// An event was appended to `entry`.
    fn event(&self, entry: &Entry, event: &Arc<Event>);
    /// `entry` finished at `last_seq`.
    fn finished(&self, entry: &Entry, last_seq: u64);
}

/// All live and recently finished streams.
#[derive(Clone, Debug)]
pub struct Streams {
    inner: Arc<Mutex<Inner>>,
    ttl: Duration,
    /// Bytes held by every stream in the registry: its events and what
    /// indexes them ([`ReplayLog::held`]), and the stream itself
    /// ([`Entry::footprint`]).
    retained: Arc<AtomicUsize>,
    /// Past this many retained bytes, finished streams are forgotten
    /// before their time, oldest first (their outcome stays saved).
    retained_limit: usize,
    /// Hears every stream's events (a cluster's mirror), if set.
    tap: Option<Arc<dyn Tap>>,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Arc<Entry>>,
    /// Stream ids in creation order, for the sweep.
    order: VecDeque<String>,
    last_sweep: Option<Instant>,
}

/// Most streams one sweep looks at (it holds the registry's lock).
const SWEEP_MAX: usize = 4096;

/// Time between sweeps.
const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// One stream.
#[derive(Debug)]
pub struct Entry {
    pub id: String,
    /// `Identity::owner_key` of who started it.
    pub owner: String,
    /// Cancelled by an explicit stop.
    pub cancel: CancellationToken,
    log: Mutex<Log>,
    /// The registry's count of retained bytes, which this stream adds to.
    retained: Arc<AtomicUsize>,
    /// The registry's [`Tap`], if any.
    tap: Option<Arc<dyn Tap>>,
}

#[derive(Debug, Default)]
struct Log {
    /// Never trimmed: bounded in bytes instead ([`MAX_STREAM_BYTES`]).
    replay: ReplayLog,
    done: bool,
    finished_at: Option<Instant>,
    /// Readers waiting for the next event (each once).
    waiting: Vec<Waker>,
}

impl Log {
    /// Wakes the waiting readers (they are scheduled, not run: the lock is
    /// free again long before they look), keeping the list's room.
    fn wake_waiting(&mut self) {
        self.waiting.drain(..).for_each(Waker::wake);
    }
}

/// An event's JSON before its stream adds `stream_id` and `seq`.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Any JSON value; an object's fields are written in `serde_json`'s
    /// map order (sorted keys), then `stream_id` and `seq`.
    Value(Value),
    /// An object's fields already written as JSON, without the braces, in
    /// the order [`Payload::Value`] would write them and without
    /// `stream_id` or `seq`: an event rendered straight to bytes, with no
    /// map in between (see [`Fields`]). `Fields(b"")` is `{}`.
    Fields(Vec<u8>),
}

impl From<Value> for Payload {
    fn from(v: Value) -> Self {
        Payload::Value(v)
    }
}

impl From<Fields> for Payload {
    fn from(f: Fields) -> Self {
        Payload::Fields(f.json)
    }
}

/// An object's fields written straight to JSON for [`Payload::Fields`], in
/// the order [`Payload::Value`] writes them (sorted keys, checked in debug
/// builds): an event rendered without a map in between. Each value is
/// written by `serde_json`; a value that is an object is added with
/// [`Fields::object`], its own fields in the same order.
#[derive(Debug, Default)]
pub struct Fields {
    json: Vec<u8>,
    last: &'static str,
}

impl Fields {
    /// Room for `bytes` of JSON.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            json: Vec::with_capacity(bytes),
            last: "",
        }
    }

    /// Adds `key` with a string, number, boolean or unit enum (an object
    /// goes through [`Fields::object`]: `serde_json` would write its
    /// fields in their declared order).
    pub fn field(mut self, key: &'static str, value: &impl serde::Serialize) -> Self {
        self.key(key);
        let _ = serde_json::to_writer(&mut self.json, value);
        self
    }

    /// [`Fields::field`] when `value` is `Some` (a field skipped when
    /// `None`).
    pub fn some(self, key: &'static str, value: Option<&impl serde::Serialize>) -> Self {
        match value {
            Some(v) => self.field(key, v),
            None => self,
        }
    }

    /// Adds `key` with the object of `fields`.
    pub fn object(mut self, key: &'static str, fields: Fields) -> Self {
        self.key(key);
        self.json.push(b'{');
        self.json.extend_from_slice(&fields.json);
        self.json.push(b'}');
        self
    }

    fn key(&mut self, key: &'static str) {
        debug_assert!(
            self.last < key,
            "{key:?} after {:?}: keys go sorted",
            self.last
        );
        if !self.json.is_empty() {
            self.json.push(b',');
        }
        // Keys are the protocol's field names: nothing to escape.
        self.json.push(b'"');
        self.json.extend_from_slice(key.as_bytes());
        self.json.extend_from_slice(b"\":");
        self.last = key;
    }
}

/// Why an event was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The stream's buffer is full ([`MAX_STREAM_BYTES`]).
    Full,
    /// The stream has finished.
    Finished,
}

impl Streams {
    pub fn new(ttl: Duration) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner::default())),
            ttl,
            retained: Arc::new(AtomicUsize::new(0)),
            retained_limit: usize::MAX,
            tap: None,
        }
    }

    /// Every stream's events and ends also go to `tap`.
    pub fn with_tap(mut self, tap: Arc<dyn Tap>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Bounds the bytes finished streams may hold: past `bytes`, the oldest
    /// finished streams are forgotten before the replay time is up (a
    /// resume then gets `STREAM_EXPIRED` with the saved text). Under heavy
    /// streaming the replay logs of five minutes of replies would
    /// otherwise grow without bound.
    pub fn with_retained_limit(mut self, bytes: usize) -> Self {
        self.retained_limit = bytes;
        self
    }

    /// Bytes of events held by the streams in the registry.
    pub fn retained_bytes(&self) -> usize {
        self.retained.load(Ordering::Relaxed)
    }

    /// Opens a new stream for `owner`.
    pub fn create(&self, owner: &str) -> Arc<Entry> {
        let id = format!("st_{}", new_stream_uuid().simple());
        let entry = Arc::new(Entry {
            id: id.clone(),
            owner: owner.to_owned(),
            cancel: CancellationToken::new(),
            log: Mutex::new(Log::default()),
            retained: self.retained.clone(),
            tap: self.tap.clone(),
        });
        self.retained
            .fetch_add(entry.footprint(), Ordering::Relaxed);
        let mut inner = self.inner.lock().expect("streams lock");
        self.sweep(&mut inner);
        inner.order.push_back(id.clone());
        inner.map.insert(id, entry.clone());
        entry
    }

    /// The stream, if it is live or finished within the replay time.
    pub fn get(&self, id: &str) -> Option<Arc<Entry>> {
        let mut inner = self.inner.lock().expect("streams lock");
        let entry = inner.map.get(id)?.clone();
        if entry.expired(self.ttl) {
            inner.map.remove(id);
            self.forget(&entry);
            return None;
        }
        Some(entry)
    }

    /// How many streams are held (live or replayable).
    pub fn len(&self) -> usize {
        self.inner.lock().expect("streams lock").map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A stream left the registry: its bytes no longer count.
    fn forget(&self, entry: &Entry) {
        let bytes = entry.held_bytes();
        let _ = self
            .retained
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(bytes))
            });
    }

    /// Drops expired streams (and, past the retained limit, the oldest
    /// finished ones), at most every [`SWEEP_EVERY`]. Streams are looked at
    /// oldest first and the sweep stops at the first one finished but not
    /// yet expired (those behind it finished later, give or take how long
    /// they ran), so it costs what it frees, not the size of the registry;
    /// running streams go to the back to be looked at again. (Once it
    /// walked every stream, holding the lock for milliseconds under load.)
    fn sweep(&self, inner: &mut Inner) {
        let now = Instant::now();
        if inner.last_sweep.is_some_and(|t| now - t < SWEEP_EVERY) {
            return;
        }
        inner.last_sweep = Some(now);
        let Inner { map, order, .. } = inner;
        for _ in 0..order.len().min(SWEEP_MAX) {
            let Some(id) = order.pop_front() else { break };
            let Some(entry) = map.get(&id) else { continue };
            let (done, expired) = {
                let log = entry.log.lock().expect("stream log lock");
                let expired = log.finished_at.is_some_and(|t| t.elapsed() > self.ttl);
                (log.done, expired)
            };
            let over_limit = self.retained.load(Ordering::Relaxed) > self.retained_limit;
            if expired || (done && over_limit) {
                if let Some(entry) = map.remove(&id) {
                    self.forget(&entry);
                }
            } else if done {
                order.push_front(id);
                break;
            } else {
                order.push_back(id);
            }
        }
    }
}

/// A stream's id: a UUID v7, its first 48 bits the time in milliseconds
/// and 74 random bits after them (no counter: nothing shared between
/// threads). Every generation's record is keyed by it (`generations`'s
/// primary key), and ids that grow with time put each new record at the
/// end of that index: with random ids (v4) every insert wrote a page
/// anywhere in it, so each group commit wrote and checkpointed about one
/// index page per row.
fn new_stream_uuid() -> uuid::Uuid {
    uuid::Uuid::new_v7(uuid::Timestamp::now(uuid::NoContext))
}

impl Entry {
    /// Appends an event: adds `stream_id` and `seq` to the payload (an
    /// object) and wakes the readers. Returns its seq.
    pub fn push(
        &self,
        name: Option<&'static str>,
        payload: impl Into<Payload>,
    ) -> Result<u64, PushError> {
        self.push_inner(name, payload.into(), true)
    }

    /// Like [`Entry::push`], past the byte bound: for the small final events
    /// that tell readers how the stream ended.
    pub fn push_final(
        &self,
        name: Option<&'static str>,
        payload: impl Into<Payload>,
    ) -> Result<u64, PushError> {
        self.push_inner(name, payload.into(), false)
    }

    fn push_inner(
        &self,
        name: Option<&'static str>,
        payload: Payload,
        bounded: bool,
    ) -> Result<u64, PushError> {
        let mut log = self.log.lock().expect("stream log lock");
        if log.done {
            return Err(PushError::Finished);
        }
        let seq = log.replay.next_seq();
        let max = if bounded {
            MAX_STREAM_BYTES
        } else {
            usize::MAX
        };
        let before = log.replay.held();
        log.replay
            .append_with(name, max, |out| self.serialise(payload, seq, out))
            .ok_or(PushError::Full)?;
        self.count(before, log.replay.held());
        if let (Some(tap), Some(event)) = (&self.tap, log.replay.last()) {
            tap.event(self, event);
        }
        log.wake_waiting();
        Ok(seq)
    }

    /// The payload as JSON with `stream_id` and `seq` added (an object),
    /// written straight after its fields (the map's sorted keys, then
    /// `stream_id`, then `seq`): inserting them into the map first cost two
    /// key and two value allocations per event. Written by `serde_json`
    /// into the log's block, where it stays.
    fn serialise(&self, payload: Payload, seq: u64, out: &mut BytesMut) {
        use std::io::Write as _;
        match payload {
            Payload::Value(Value::Object(mut map)) => {
                map.remove("stream_id");
                map.remove("seq");
                if map.is_empty() {
                    out.put_u8(b'{');
                } else {
                    let _ = serde_json::to_writer((&mut *out).writer(), &map);
                    out.truncate(out.len() - 1); // the closing brace
                    out.put_u8(b',');
                }
            }
            Payload::Value(other) => {
                let _ = serde_json::to_writer((&mut *out).writer(), &other);
                return;
            }
            Payload::Fields(fields) => {
                out.put_u8(b'{');
                if !fields.is_empty() {
                    out.put_slice(&fields);
                    out.put_u8(b',');
                }
            }
        }
        // Stream ids are `st_` and hex (see `create`): nothing to escape.
        out.put_slice(b"\"stream_id\":\"");
        out.put_slice(self.id.as_bytes());
        let _ = write!((&mut *out).writer(), "\",\"seq\":{seq}}}");
    }

    /// Marks the stream finished: readers end after the last event.
    pub fn finish(&self) {
        let mut log = self.log.lock().expect("stream log lock");
        log.done = true;
        log.finished_at = Some(Instant::now());
        // Kept for the replay time: as little as it can be.
        let before = log.replay.held();
        log.replay.pack();
        self.count(before, log.replay.held());
        let last = log.replay.last_seq();
        if let Some(tap) = &self.tap {
            tap.finished(self, last);
        }
        // Wake readers even if no new event came: they end.
        log.wake_waiting();
    }

    /// Whether it has finished.
    pub fn is_finished(&self) -> bool {
        self.log.lock().expect("stream log lock").done
    }

    /// The seq of the last event so far.
    pub fn last_seq(&self) -> u64 {
        self.log.lock().expect("stream log lock").replay.last_seq()
    }

    /// Bytes of JSON held in the replay buffer.
    pub fn buffered_bytes(&self) -> usize {
        self.log.lock().expect("stream log lock").replay.bytes()
    }

    /// Bytes it holds in all, as the registry counts them: its log
    /// ([`ReplayLog::held`]) and itself ([`Entry::footprint`]).
    pub fn held_bytes(&self) -> usize {
        self.log.lock().expect("stream log lock").replay.held() + self.footprint()
    }

    /// What a stream costs besides its log: the entry, its id three times
    /// (the entry's, the registry's map key and its sweep order), its
    /// owner, its stop token and the registry's slots for it. Measured: a
    /// reply's stream held about 2 KiB more than its events' JSON before
    /// this and the packed index were counted.
    fn footprint(&self) -> usize {
        std::mem::size_of::<Self>() + 3 * self.id.len() + self.owner.len() + ENTRY_SLOTS
    }

    /// Adds to (or takes from) the registry's count what the log's change
    /// from `before` to `after` bytes held.
    fn count(&self, before: usize, after: usize) {
        if after >= before {
            self.retained.fetch_add(after - before, Ordering::Relaxed);
        } else {
            self.retained.fetch_sub(before - after, Ordering::Relaxed);
        }
    }

    fn expired(&self, ttl: Duration) -> bool {
        let log = self.log.lock().expect("stream log lock");
        log.done && log.finished_at.is_some_and(|t| t.elapsed() > ttl)
    }

    /// The events after `after`, then the live tail, then the end. Each
    /// event exactly once, in order.
    pub fn subscribe(
        self: &Arc<Self>,
        after: u64,
    ) -> impl futures_util::Stream<Item = Arc<Event>> + Send + 'static {
        Reader {
            entry: self.clone(),
            cursor: after,
            pending: VecDeque::new(),
        }
    }
}

/// A cursor into a stream's log: takes up to [`READ_BATCH`] events at a
/// time under the lock, hands them out one by one, and waits (its waker in
/// the log) when it has read everything.
struct Reader {
    entry: Arc<Entry>,
    cursor: u64,
    pending: VecDeque<Arc<Event>>,
}

impl futures_util::Stream for Reader {
    type Item = Arc<Event>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Arc<Event>>> {
        let r = self.get_mut();
        if r.pending.is_empty() {
            let mut log = r.entry.log.lock().expect("stream log lock");
            // A stream's log is never trimmed: a gap is only a cursor ahead
            // of it, with nothing to read yet.
            let _ = log.replay.read_after(r.cursor, READ_BATCH, &mut r.pending);
            if r.pending.is_empty() {
                if log.done {
                    return Poll::Ready(None);
                }
                // Under the lock: a push after this wakes us.
                if !log.waiting.iter().any(|w| w.will_wake(cx.waker())) {
                    log.waiting.push(cx.waker().clone());
                }
                return Poll::Pending;
            }
        }
        // A long replay never waits, so it spends the task's budget: past
        // it, the other tasks get their turn.
        let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        coop.made_progress();
        let ev = r.pending.pop_front().expect("an event read");
        r.cursor = ev.seq;
        Poll::Ready(Some(ev))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use serde_json::json;

    #[tokio::test]
    async fn events_carry_stream_id_and_seq_and_replay_from_any_point() {
        let streams = Streams::new(Duration::from_secs(60));
        let e = streams.create("user:1");
        for i in 0..5 {
            e.push(
                Some("delta"),
                json!({"type": "delta", "text": format!("{i}")}),
            )
            .unwrap();
        }
        e.finish();
        for after in 0..=5u64 {
            let seen: Vec<_> = e.subscribe(after).collect().await;
            let seqs: Vec<u64> = seen.iter().map(|ev| ev.seq).collect();
            assert_eq!(seqs, ((after + 1)..=5).collect::<Vec<_>>());
        }
        let first: Value =
            serde_json::from_str(&Box::pin(e.subscribe(0)).next().await.unwrap().json).unwrap();
        assert_eq!(first["seq"], 1);
        assert_eq!(first["stream_id"], e.id.as_str());
        assert!(streams.get(&e.id).is_some());
    }

    #[tokio::test]
    async fn stream_id_and_seq_replace_any_the_payload_had() {
        let streams = Streams::new(Duration::from_secs(60));
        let e = streams.create("user:1");
        e.push(
            None,
            json!({"type": "chunk", "chunk": "a \"b\"", "seq": null}),
        )
        .unwrap();
        e.push(None, json!({})).unwrap();
        e.push(None, json!("not an object")).unwrap();
        e.finish();
        let all: Vec<Value> = e
            .subscribe(0)
            .map(|ev| serde_json::from_str(&ev.json).unwrap())
            .collect()
            .await;
        assert_eq!(
            all,
            [
                json!({"type": "chunk", "chunk": "a \"b\"", "stream_id": e.id, "seq": 1}),
                json!({"stream_id": e.id, "seq": 2}),
                json!("not an object"),
            ]
        );
    }

    #[tokio::test]
    async fn a_reader_gets_the_live_tail_after_the_replay() {
        let streams = Streams::new(Duration::from_secs(60));
        let e = streams.create("anon:x");
        e.push(None, json!({"n": 1})).unwrap();
        let reader = tokio::spawn({
            let e = e.clone();
            async move { e.subscribe(0).map(|ev| ev.seq).collect::<Vec<_>>().await }
        });
        tokio::task::yield_now().await;
        for n in 2..=100 {
            e.push(None, json!({"n": n})).unwrap();
            if n % 10 == 0 {
                tokio::task::yield_now().await;
            }
        }
        e.finish();
        assert_eq!(reader.await.unwrap(), (1..=100).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn the_buffer_is_bounded_and_finished_streams_take_no_more() {
        let streams = Streams::new(Duration::from_secs(60));
        let e = streams.create("user:1");
        let big = "x".repeat(64 * 1024);
        let mut pushed = 0;
        while e.push(None, json!({"text": big})).is_ok() {
            pushed += 1;
        }
        assert!(e.buffered_bytes() <= MAX_STREAM_BYTES);
        assert!(
            pushed > 0 && pushed * big.len() <= MAX_STREAM_BYTES,
            "{pushed}"
        );
        e.finish();
        assert_eq!(e.push(None, json!({})), Err(PushError::Finished));
    }

    #[tokio::test]
    async fn the_sweep_frees_expired_streams_and_keeps_running_ones() {
        let streams = Streams::new(Duration::ZERO);
        let running = streams.create("user:1");
        let finished: Vec<_> = (0..5).map(|_| streams.create("user:1")).collect();
        for e in &finished {
            e.finish();
        }
        std::thread::sleep(Duration::from_millis(2));
        {
            let mut inner = streams.inner.lock().unwrap();
            inner.last_sweep = None;
            streams.sweep(&mut inner);
            assert_eq!(inner.map.len(), 1, "only the running stream is left");
            assert_eq!(inner.order.len(), 1);
        }
        assert!(streams.get(&running.id).is_some());
        assert!(finished.iter().all(|e| streams.get(&e.id).is_none()));
    }

    #[tokio::test]
    async fn past_the_retained_limit_the_oldest_finished_streams_go_first() {
        // What one finished stream of one 300-character event holds, as
        // counted: room for the running one and two finished ones.
        let one = {
            let e = Streams::new(Duration::from_secs(60)).create("user:1");
            e.push(None, json!({"text": "x".repeat(300)})).unwrap();
            e.finish();
            e.held_bytes()
        };
        let limit = 3 * one + 10;
        let streams = Streams::new(Duration::from_secs(60)).with_retained_limit(limit);
        let running = streams.create("user:1");
        running
            .push(None, json!({"text": "x".repeat(300)}))
            .unwrap();
        let finished: Vec<_> = (0..4)
            .map(|_| {
                let e = streams.create("user:1");
                e.push(None, json!({"text": "x".repeat(300)})).unwrap();
                e.finish();
                e
            })
            .collect();
        assert!(streams.retained_bytes() > 4 * one);
        {
            let mut inner = streams.inner.lock().unwrap();
            inner.last_sweep = None;
            streams.sweep(&mut inner);
        }
        assert!(
            streams.retained_bytes() <= limit,
            "{}",
            streams.retained_bytes()
        );
        assert!(streams.get(&running.id).is_some(), "running streams stay");
        assert!(streams.get(&finished[0].id).is_none(), "the oldest went");
        assert!(streams.get(&finished[3].id).is_some(), "the newest stayed");
    }

    #[tokio::test]
    async fn the_count_holds_what_streams_hold_and_returns_to_zero() {
        let streams = Streams::new(Duration::ZERO);
        let e = streams.create("user:1");
        assert_eq!(streams.retained_bytes(), e.held_bytes());
        for n in 0..40 {
            e.push(Some("delta"), json!({"text": format!("word {n}")}))
                .unwrap();
        }
        let live = streams.retained_bytes();
        assert_eq!(live, e.held_bytes());
        assert!(live > e.buffered_bytes() + 40 * 64, "each event's own cost");
        e.finish();
        assert_eq!(streams.retained_bytes(), e.held_bytes());
        assert!(streams.retained_bytes() < live, "packing holds less");
        std::thread::sleep(Duration::from_millis(2));
        assert!(streams.get(&e.id).is_none());
        assert_eq!(streams.retained_bytes(), 0);
    }

    #[tokio::test]
    async fn finished_streams_expire_after_the_ttl() {
        let streams = Streams::new(Duration::ZERO);
        let e = streams.create("user:1");
        assert!(streams.get(&e.id).is_some(), "running streams never expire");
        e.finish();
        std::thread::sleep(Duration::from_millis(2));
        assert!(streams.get(&e.id).is_none());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_long_replay_lets_other_tasks_run() {
        use std::sync::atomic::AtomicBool;
        let streams = Streams::new(Duration::from_secs(60));
        let e = streams.create("user:1");
        for _ in 0..5000 {
            e.push(Some("delta"), json!({"type": "delta", "text": "x"}))
                .unwrap();
        }
        e.finish();
        let other_ran = Arc::new(AtomicBool::new(false));
        let flag = other_ran.clone();
        // One thread: the replay and the other task take turns, or not.
        let replay = tokio::spawn(async move {
            let mut events = Box::pin(e.subscribe(0));
            let (mut n, mut seen_other_at) = (0, None);
            while events.next().await.is_some() {
                n += 1;
                if seen_other_at.is_none() && flag.load(Ordering::SeqCst) {
                    seen_other_at = Some(n);
                }
            }
            (n, seen_other_at)
        });
        tokio::spawn(async move { other_ran.store(true, Ordering::SeqCst) });
        let (n, seen_other_at) = replay.await.unwrap();
        assert_eq!(n, 5000);
        assert!(
            seen_other_at.is_some_and(|at| at < n),
            "the other task ran only after the replay: {seen_other_at:?}"
        );
    }
}
