//! The one replay log with cursor readers, under every stream of the
//! registry and every BooksWriter session.
//!
//! Events get consecutive seqs (1, 2, 3 …) and are serialised once for
//! every reader. A reader keeps only its cursor (the last seq it has) and
//! asks for what follows; a log that drops its oldest events (a session's)
//! answers a cursor it no longer covers with [`Gap`], and the reader
//! restores from elsewhere.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One event, serialised once for every reader.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: u64,
    /// The SSE `event:` name, for protocols whose clients listen by name.
    pub name: Option<&'static str>,
    /// The JSON payload, with its `seq` inside.
    pub json: String,
    /// When it was appended, among every event of every log of this
    /// process: a socket that follows several streams writes what it finds
    /// ready in this order (a panel's end after its members' ends).
    pub order: u64,
}

/// The next [`Event::order`].
static ORDER: AtomicU64 = AtomicU64::new(0);

/// The [`Event::order`] the next event appended anywhere gets: every event
/// appended before now has a smaller one.
pub fn next_order() -> u64 {
    ORDER.load(Ordering::Relaxed)
}

impl Event {
    /// An event made outside a log (read back from another instance's
    /// stream, or an ending written for a reader): it takes its place in
    /// [`Event::order`] now, as if appended here.
    pub fn received(seq: u64, name: Option<&'static str>, json: String) -> Self {
        let order = ORDER.fetch_add(1, Ordering::Relaxed);
        Self {
            seq,
            name,
            json,
            order,
        }
    }
}

/// The events after a cursor are no longer all held (or the cursor is
/// ahead of the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap;

/// Events by seq, oldest first.
#[derive(Debug, Default)]
pub struct ReplayLog {
    events: VecDeque<Arc<Event>>,
    last_seq: u64,
    bytes: usize,
}

impl ReplayLog {
    /// An empty log whose next event is `last_seq + 1` (a session reloaded
    /// from the database goes on where it was).
    pub fn after(last_seq: u64) -> Self {
        Self {
            last_seq,
            ..Self::default()
        }
    }

    /// The seq of the last event appended.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The seq the next event gets.
    pub fn next_seq(&self) -> u64 {
        self.last_seq + 1
    }

    /// Bytes of JSON held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Appends the next event (its `json` written for [`Self::next_seq`]).
    pub fn append(&mut self, name: Option<&'static str>, json: String) -> u64 {
        let seq = self.next_seq();
        self.bytes += json.len();
        let order = ORDER.fetch_add(1, Ordering::Relaxed);
        self.events.push_back(Arc::new(Event {
            seq,
            name,
            json,
            order,
        }));
        self.last_seq = seq;
        seq
    }

    /// The last event appended, if still held.
    pub fn last(&self) -> Option<&Arc<Event>> {
        self.events.back()
    }

    /// Keeps at most `max` events, dropping the oldest.
    pub fn keep_last(&mut self, max: usize) {
        while self.events.len() > max {
            if let Some(e) = self.events.pop_front() {
                self.bytes -= e.json.len();
            }
        }
    }

    /// Up to `max` events after `cursor`, appended to `out`; [`Gap`] when
    /// some of them are gone or the cursor is ahead of the log.
    pub fn read_after(
        &self,
        cursor: u64,
        max: usize,
        out: &mut impl Extend<Arc<Event>>,
    ) -> Result<(), Gap> {
        if cursor > self.last_seq {
            return Err(Gap);
        }
        if cursor == self.last_seq {
            return Ok(());
        }
        let Some(first) = self.events.front().map(|e| e.seq) else {
            return Err(Gap);
        };
        if cursor + 1 < first {
            return Err(Gap);
        }
        let skip = (cursor + 1 - first) as usize;
        out.extend(self.events.range(skip..).take(max).cloned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(log: &ReplayLog, cursor: u64, max: usize) -> Result<Vec<u64>, Gap> {
        let mut out = Vec::new();
        log.read_after(cursor, max, &mut out)?;
        Ok(out.iter().map(|e| e.seq).collect())
    }

    #[test]
    fn readers_get_what_follows_their_cursor_or_a_gap() {
        let mut log = ReplayLog::after(10);
        for _ in 0..20 {
            let seq = log.next_seq();
            log.append(None, format!("{{\"seq\":{seq}}}"));
        }
        assert_eq!(log.last_seq(), 30);
        assert_eq!(seqs(&log, 27, 100), Ok(vec![28, 29, 30]));
        assert_eq!(seqs(&log, 10, 2), Ok(vec![11, 12]));
        assert_eq!(seqs(&log, 30, 100), Ok(vec![]));
        assert_eq!(seqs(&log, 31, 100), Err(Gap), "a cursor from the future");
        log.keep_last(5);
        assert_eq!(seqs(&log, 25, 100), Ok(vec![26, 27, 28, 29, 30]));
        assert_eq!(seqs(&log, 24, 100), Err(Gap), "dropped from the log");
        assert_eq!(log.bytes(), 5 * "{\"seq\":30}".len());
    }
}
