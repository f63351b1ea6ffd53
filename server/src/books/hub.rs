//! Live BooksWriter sessions: each one's event log, transcript, request
//! queue and rate window, shared by every connection to it.
//!
//! A session's events get one seq sequence. They go into a bounded log that
//! connections read with a cursor (so a slow reader holds nothing), and into
//! the [`Transcript`] that `session_restore` answers with. Requests run one
//! at a time, in the order they came, on a worker task
//! ([`super::agents::work`]) that exists only while there is work. Sessions
//! with no connection and no work are dropped from memory after a while;
//! the database keeps them.

use crate::auth::identity::Identity;
use crate::cluster::books::BooksLeases;
use crate::cluster::{Cluster, limits};
use crate::store::Store;
use crate::streams::log::{Event, Gap, ReplayLog};
use shared::books::{Entry, ServerMessage, Transcript};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Events a session keeps for `resume`; older ones are answered with a
/// `session_restored` instead.
pub const LOG_EVENTS: usize = 4096;

/// The seed's RateLimiter: messages per window, per session.
pub const RATE_MAX: usize = 60;
pub const RATE_WINDOW: Duration = Duration::from_secs(60);

/// Requests that may wait behind the running one.
pub const QUEUE_MAX: usize = 20;

/// How long a session with no connection and no work stays in memory.
const KEEP_IDLE: Duration = Duration::from_secs(600);

/// A request waiting for the agents.
#[derive(Debug, Clone)]
pub struct Request {
    pub content: String,
    pub model: Option<String>,
    /// `options.stream` (default true); `false` sends each agent's text as
    /// one `stream_chunk` when it is done.
    pub stream: bool,
}

/// What became of a submitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// Queued behind the running one.
    Queued,
    /// Queued, and no worker runs: start one.
    StartWorker,
    /// The queue is full: refused.
    Full,
}

/// Why a session could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// Someone else owns it.
    Forbidden,
    Database(sqlx::Error),
}

/// All sessions live in this process.
#[derive(Clone, Debug, Default)]
pub struct Books {
    sessions: Arc<Mutex<HashMap<String, Arc<Session>>>>,
    /// In a cluster: the leases of the sessions live here.
    leases: Option<BooksLeases>,
}

impl Books {
    /// Sessions that, in a cluster, live on one instance at a time.
    pub fn new(cluster: Option<Cluster>) -> Self {
        Self {
            sessions: Arc::default(),
            leases: cluster.map(BooksLeases::new),
        }
    }

    /// The cluster's leases, if this instance is one of a cluster.
    pub fn leases(&self) -> Option<&BooksLeases> {
        self.leases.as_ref()
    }

    /// The session `id` for `who`: from memory, or loaded (or created) from
    /// the database. `Forbidden` when it belongs to someone else.
    pub async fn open(
        &self,
        store: &Store,
        id: &str,
        who: &Identity,
    ) -> Result<Arc<Session>, OpenError> {
        let opened = self.open_here(store, id, who).await?;
        if let Some(leases) = &self.leases {
            leases.hold(&opened);
        }
        Ok(opened)
    }

    async fn open_here(
        &self,
        store: &Store,
        id: &str,
        who: &Identity,
    ) -> Result<Arc<Session>, OpenError> {
        let owner = who.owner_key();
        if let Some(s) = self.get(id) {
            return if s.owner == owner {
                Ok(s)
            } else {
                Err(OpenError::Forbidden)
            };
        }
        let row = store
            .claim_books_session(id, &owner, shared::books::ORCHESTRATOR)
            .await
            .map_err(OpenError::Database)?;
        if row.owner != owner {
            return Err(OpenError::Forbidden);
        }
        let entries = store.books_entries(id).await.map_err(OpenError::Database)?;
        let last_seq = row
            .last_seq
            .max(entries.iter().map(Entry::id).max().unwrap_or(0));
        let mut transcript = Transcript::restored(entries, row.current_agent, last_seq);
        // A request cut by a crash left its text open; it is not coming back.
        transcript.end_streaming();
        let (latest, _) = watch::channel(last_seq);
        let fresh = Arc::new(Session {
            id: id.to_owned(),
            owner,
            who: who.clone(),
            inner: Mutex::new(Inner::new(last_seq, transcript, row.model)),
            latest,
        });
        let mut map = self.sessions.lock().expect("books lock");
        map.retain(|_, s| !s.forgettable());
        // Another connection may have loaded it meanwhile: keep theirs.
        Ok(map.entry(id.to_owned()).or_insert(fresh).clone())
    }

    /// Lets go of session `id` if nobody uses it here, so the next open
    /// loads it from the database (in a cluster, after another instance
    /// may have had it).
    pub fn forget_unused(&self, id: &str) {
        self.sessions
            .lock()
            .expect("books lock")
            .retain(|sid, s| sid != id || !s.unused());
    }

    fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions.lock().expect("books lock").get(id).cloned()
    }

    /// Lets go of every session `owner` (an owner key) has in memory, so
    /// the next connection loads it from the database with its new owner
    /// (after a visitor's books moved into an account). Connections still
    /// open keep theirs until they close.
    pub fn forget_owner(&self, owner: &str) {
        self.sessions
            .lock()
            .expect("books lock")
            .retain(|_, s| s.owner != owner);
    }

    /// Sessions held in memory.
    pub fn len(&self) -> usize {
        self.sessions.lock().expect("books lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One session.
#[derive(Debug)]
pub struct Session {
    pub id: String,
    /// `Identity::owner_key` of its owner.
    pub owner: String,
    /// Its owner, for quota.
    pub who: Identity,
    inner: Mutex<Inner>,
    /// The last seq pushed; connections wait on it.
    latest: watch::Sender<u64>,
}

#[derive(Debug)]
struct Inner {
    /// The session's events, read with each connection's cursor.
    log: ReplayLog,
    transcript: Transcript,
    /// The model chosen with `model_switch` (`None`: the server's).
    model: Option<String>,
    /// When the recent messages came (the rate window).
    window: VecDeque<Instant>,
    queue: VecDeque<Request>,
    /// A worker task is running requests.
    working: bool,
    /// Stops the running request.
    running: Option<CancellationToken>,
    connections: usize,
    idle_since: Instant,
}

impl Inner {
    fn new(last_seq: u64, transcript: Transcript, model: Option<String>) -> Self {
        Self {
            log: ReplayLog::after(last_seq),
            transcript,
            model,
            window: VecDeque::new(),
            queue: VecDeque::new(),
            working: false,
            running: None,
            connections: 0,
            idle_since: Instant::now(),
        }
    }
}

/// What `session_restored` carries.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub entries: Vec<Entry>,
    pub current_agent: String,
    pub model: Option<String>,
    pub seq: u64,
}

impl Session {
    /// Appends an event: gives it the next seq, folds it into the
    /// transcript, and wakes the connections. Returns the seq.
    pub fn push(&self, mut msg: ServerMessage) -> u64 {
        let mut inner = self.inner.lock().expect("session lock");
        let seq = inner.log.next_seq();
        msg.set_seq(seq);
        let json = serde_json::to_string(&msg).expect("books messages serialise");
        inner.transcript.apply(&msg);
        inner.log.append(None, json);
        inner.log.keep_last(LOG_EVENTS);
        drop(inner);
        self.latest.send_replace(seq);
        seq
    }

    /// Waits for events past what the receiver has seen.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }

    /// The seq of the last event.
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().expect("session lock").log.last_seq()
    }

    /// Up to `max` events after `cursor`, appended to `out`; [`Gap`] when
    /// the cursor is older than the log (or from another life of the
    /// session): the reader needs a `session_restored`.
    pub fn read_after(
        &self,
        cursor: u64,
        max: usize,
        out: &mut Vec<Arc<Event>>,
    ) -> Result<(), Gap> {
        let inner = self.inner.lock().expect("session lock");
        inner.log.read_after(cursor, max, out)
    }

    /// The conversation so far and the seq it reaches.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.inner.lock().expect("session lock");
        Snapshot {
            entries: inner.transcript.entries.clone(),
            current_agent: inner.transcript.current_agent.clone(),
            model: inner.model.clone(),
            seq: inner.log.last_seq(),
        }
    }

    /// Lines that began after `seq` (to save what a request added).
    pub fn entries_after(&self, seq: u64) -> Vec<Entry> {
        let inner = self.inner.lock().expect("session lock");
        inner
            .transcript
            .entries
            .iter()
            .filter(|e| e.id() > seq)
            .cloned()
            .collect()
    }

    /// The agent the conversation is with.
    pub fn current_agent(&self) -> String {
        self.inner
            .lock()
            .expect("session lock")
            .transcript
            .current_agent
            .clone()
    }

    pub fn model(&self) -> Option<String> {
        self.inner.lock().expect("session lock").model.clone()
    }

    pub fn set_model(&self, model: String) {
        self.inner.lock().expect("session lock").model = Some(model);
    }

    /// Counts one message against the seed's 60-a-minute window; the wait
    /// until the next would be allowed when it is full.
    pub fn take_rate(&self, now: Instant) -> Result<(), Duration> {
        let mut inner = self.inner.lock().expect("session lock");
        while inner
            .window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= RATE_WINDOW)
        {
            inner.window.pop_front();
        }
        if inner.window.len() >= RATE_MAX {
            let oldest = *inner.window.front().expect("a full window");
            return Err(RATE_WINDOW.saturating_sub(now.saturating_duration_since(oldest)));
        }
        inner.window.push_back(now);
        Ok(())
    }

    /// [`Session::take_rate`], counted across the cluster's instances when
    /// there is one (`chorus:window:books:{session_id}`); locally when
    /// Redis cannot be asked (logged).
    pub async fn take_rate_in(&self, cluster: Option<&Cluster>) -> Result<(), Duration> {
        if let Some(cluster) = cluster {
            match limits::take_in_window(cluster, &["books", &self.id], RATE_MAX, RATE_WINDOW).await
            {
                Ok(None) => return Ok(()),
                Ok(Some(wait)) => return Err(wait),
                Err(e) => {
                    tracing::warn!(error = %e, "Redis cannot count a session's rate window; counting this instance's only");
                }
            }
        }
        self.take_rate(Instant::now())
    }

    /// Queues a request: [`Submitted::StartWorker`] when no worker runs
    /// (the caller starts one), `Full` when the queue is full.
    pub fn submit(&self, request: Request) -> Submitted {
        let mut inner = self.inner.lock().expect("session lock");
        if inner.queue.len() >= QUEUE_MAX {
            return Submitted::Full;
        }
        inner.queue.push_back(request);
        if inner.working {
            Submitted::Queued
        } else {
            inner.working = true;
            Submitted::StartWorker
        }
    }

    /// Stops the running request; `false` when none runs.
    pub fn stop(&self) -> bool {
        let inner = self.inner.lock().expect("session lock");
        match &inner.running {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// A connection opened; dropping the guard closes it.
    pub fn connect(self: &Arc<Self>) -> ConnectionGuard {
        self.inner.lock().expect("session lock").connections += 1;
        ConnectionGuard(self.clone())
    }

    /// No connection and no work.
    pub(crate) fn unused(&self) -> bool {
        let inner = self.inner.lock().expect("session lock");
        inner.connections == 0 && !inner.working
    }

    /// Unused for a while: memory may let it go.
    pub(crate) fn forgettable(&self) -> bool {
        let inner = self.inner.lock().expect("session lock");
        inner.connections == 0 && !inner.working && inner.idle_since.elapsed() > KEEP_IDLE
    }

    /// The next queued request, marking it running; `None` (and the worker
    /// ends) when the queue is empty.
    pub fn next_request(&self) -> Option<(Request, CancellationToken)> {
        let mut inner = self.inner.lock().expect("session lock");
        match inner.queue.pop_front() {
            Some(r) => {
                let token = CancellationToken::new();
                inner.running = Some(token.clone());
                Some((r, token))
            }
            None => {
                inner.working = false;
                inner.running = None;
                inner.idle_since = Instant::now();
                None
            }
        }
    }
}

/// Holds a session's connection count.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<Session>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut inner = self.0.inner.lock().expect("session lock");
        inner.connections = inner.connections.saturating_sub(1);
        inner.idle_since = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let (latest, _) = watch::channel(0);
        Session {
            id: "s".into(),
            owner: "anon:x".into(),
            who: Identity::Anonymous("x".into()),
            inner: Mutex::new(Inner::new(0, Transcript::default(), None)),
            latest,
        }
    }

    fn event() -> ServerMessage {
        ServerMessage::Error {
            error_code: shared::ErrorCode::Internal,
            message: "m".into(),
            details: Default::default(),
            timestamp: "t".into(),
            seq: 0,
        }
    }

    #[test]
    fn a_session_keeps_its_newest_events_for_resume() {
        let s = session();
        for _ in 0..(LOG_EVENTS + 10) {
            s.push(event());
        }
        let last = s.last_seq();
        assert_eq!(last, LOG_EVENTS as u64 + 10);
        let mut out = Vec::new();
        s.read_after(last - 3, 100, &mut out).unwrap();
        assert_eq!(
            out.iter().map(|f| f.seq).collect::<Vec<_>>(),
            [last - 2, last - 1, last]
        );
        assert_eq!(s.read_after(3, 100, &mut out), Err(Gap), "dropped");
    }

    #[test]
    fn the_rate_window_allows_sixty_a_minute() {
        let s = session();
        let t0 = Instant::now();
        for i in 0..RATE_MAX {
            assert!(s.take_rate(t0 + Duration::from_millis(i as u64)).is_ok());
        }
        let wait = s.take_rate(t0 + Duration::from_secs(1)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(59));
        assert!(
            s.take_rate(t0 + Duration::from_secs(60)).is_ok(),
            "the first one left the window"
        );
    }
}
