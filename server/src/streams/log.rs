//! The one replay log with cursor readers, under every stream of the
//! registry and every BooksWriter session.
//!
//! Events get consecutive seqs (1, 2, 3 …) and are serialised once for
//! every reader, as shared bytes: a socket's frame is the log's bytes, not
//! a copy. A log written with [`ReplayLog::append_with`] keeps its events'
//! JSON in a few blocks of [`BLOCK`] bytes (one allocation for many
//! events, freed when the last event in it goes), not one allocation each;
//! a log that takes no more events is packed ([`ReplayLog::pack`]): its
//! JSON back to back in one buffer of the exact size and a small index, so
//! what a finished stream keeps for its replay time is little more than
//! its bytes.
//! A reader keeps only its cursor (the last seq it has) and asks for what
//! follows; a log that drops its oldest events (a session's) answers a
//! cursor it no longer covers with [`Gap`], and the reader restores from
//! elsewhere.

use axum::extract::ws::Utf8Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_util::bytes::{Bytes, BytesMut};

/// Bytes of the blocks a log writes its events' JSON into: a reply's events
/// (about 35 of 150 bytes) fit in one or two.
pub const BLOCK: usize = 4096;

/// One event, serialised once for every reader.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: u64,
    /// The SSE `event:` name, for protocols whose clients listen by name.
    pub name: Option<&'static str>,
    /// The JSON payload, with its `seq` inside; cloned into a frame
    /// without a copy.
    pub json: Utf8Bytes,
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
            json: json.into(),
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
    /// The block [`Self::append_with`] writes into; each event is split off
    /// its front (sharing the block), a new block is taken when it is full.
    block: BytesMut,
    /// The events before `events`, packed ([`Self::pack`]).
    packed: Option<Packed>,
}

/// Events packed into one buffer: what a finished stream holds.
#[derive(Debug)]
struct Packed {
    /// Every event's JSON, back to back.
    json: Bytes,
    first_seq: u64,
    /// The first event's [`Event::order`]; the others' are kept from it.
    first_order: u64,
    /// The event names used (an event's `name` is its place here plus 1;
    /// 0 is none): a protocol has a handful.
    names: Vec<&'static str>,
    /// Per event, oldest first.
    index: Vec<PackedEvent>,
}

/// 12 bytes an event (it was 24 with the name and order whole).
#[derive(Debug)]
struct PackedEvent {
    /// Where its JSON ends in [`Packed::json`] (the next one starts there).
    end: u32,
    /// Its [`Event::order`] after the first event's (at most `u32::MAX`:
    /// only the order among streams read at once matters, and a stream
    /// whose events are four billion appends apart reads as in order).
    order: u32,
    /// Its name's place in [`Packed::names`] plus 1; 0: no name.
    name: u8,
}

impl Packed {
    /// Up to `max` events from the `skip`th, each made again (the JSON
    /// shared, not copied).
    fn events(&self, skip: usize, max: usize) -> impl Iterator<Item = Arc<Event>> + '_ {
        self.index
            .iter()
            .enumerate()
            .skip(skip)
            .take(max)
            .map(move |(i, e)| {
                let start = if i == 0 { 0 } else { self.index[i - 1].end };
                let bytes = self.json.slice(start as usize..e.end as usize);
                Arc::new(Event {
                    seq: self.first_seq + i as u64,
                    name: e.name.checked_sub(1).map(|n| self.names[usize::from(n)]),
                    json: Utf8Bytes::try_from(bytes).expect("packed events are whole strings"),
                    order: self.first_order + u64::from(e.order),
                })
            })
    }
}

/// Bytes an event held one by one costs besides its JSON: the event, its
/// `Arc`'s counts and its place in the queue.
const EVENT_BYTES: usize = std::mem::size_of::<Event>() + 2 * std::mem::size_of::<usize>() + 8;

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

    /// Bytes held in all: the JSON, and what indexes it (an event held one
    /// by one, or a packed event's 12 bytes). What the registry counts
    /// against `--stream-memory-mb`.
    pub fn held(&self) -> usize {
        let index = match &self.packed {
            Some(p) => p.index.capacity() * std::mem::size_of::<PackedEvent>(),
            None => 0,
        };
        self.bytes + index + self.events.len() * EVENT_BYTES
    }

    /// Appends the next event (its `json` written for [`Self::next_seq`]).
    pub fn append(&mut self, name: Option<&'static str>, json: String) -> u64 {
        self.push(name, json.into())
    }

    /// Appends the next event, its JSON written by `write` (for
    /// [`Self::next_seq`]) into the log's current block, unless the log
    /// would then hold more than `max_bytes` of JSON or `write` did not
    /// write UTF-8 (`None`: nothing is appended).
    pub fn append_with(
        &mut self,
        name: Option<&'static str>,
        max_bytes: usize,
        write: impl FnOnce(&mut BytesMut),
    ) -> Option<u64> {
        if self.block.capacity() < BLOCK / 8 {
            // Most of a block used: the next event starts a fresh one
            // rather than being copied over when it outgrows the rest.
            self.block = BytesMut::with_capacity(BLOCK);
        }
        write(&mut self.block);
        if self.bytes + self.block.len() > max_bytes {
            self.block.clear();
            return None;
        }
        let json = Utf8Bytes::try_from(self.block.split().freeze()).ok()?;
        Some(self.push(name, json))
    }

    fn push(&mut self, name: Option<&'static str>, json: Utf8Bytes) -> u64 {
        self.unpack();
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

    /// The last event appended, if still held and the log is not packed.
    pub fn last(&self) -> Option<&Arc<Event>> {
        self.events.back()
    }

    /// Packs the events held into one buffer of their exact size (one copy
    /// of their JSON), for a log that takes no more events: what it holds
    /// then is its JSON and 32 bytes an event, where each event was an
    /// allocation of its own and a share of a block. Readers get the same
    /// events, made again as they read them. Appending again unpacks it.
    pub fn pack(&mut self) {
        if self.events.is_empty() || self.packed.is_some() {
            return;
        }
        let first_seq = self.events.front().map_or(0, |e| e.seq);
        let first_order = self.events.front().map_or(0, |e| e.order);
        let mut json = Vec::with_capacity(self.bytes);
        let mut index = Vec::with_capacity(self.events.len());
        let mut names: Vec<&'static str> = Vec::new();
        for e in std::mem::take(&mut self.events) {
            json.extend_from_slice(e.json.as_bytes());
            let name = match e.name {
                None => 0,
                Some(n) => match names.iter().position(|&k| k == n) {
                    Some(at) => at + 1,
                    None => {
                        names.push(n);
                        names.len()
                    }
                },
            };
            index.push(PackedEvent {
                end: json.len() as u32,
                order: u32::try_from(e.order.saturating_sub(first_order)).unwrap_or(u32::MAX),
                name: u8::try_from(name).expect("a protocol has fewer than 255 event names"),
            });
        }
        self.block = BytesMut::new();
        self.packed = Some(Packed {
            json: json.into(),
            first_seq,
            first_order,
            names,
            index,
        });
    }

    /// Back to one event each, to take more.
    fn unpack(&mut self) {
        if let Some(packed) = self.packed.take() {
            self.events = packed.events(0, usize::MAX).collect();
        }
    }

    /// Keeps at most `max` events, dropping the oldest.
    pub fn keep_last(&mut self, max: usize) {
        self.unpack();
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
        if let Some(packed) = &self.packed {
            if cursor + 1 < packed.first_seq {
                return Err(Gap);
            }
            let skip = (cursor + 1 - packed.first_seq) as usize;
            out.extend(packed.events(skip, max));
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

    #[test]
    fn events_written_in_place_share_a_block_and_read_back_whole() {
        let mut log = ReplayLog::default();
        for n in 0..100 {
            let seq = log.next_seq();
            log.append_with(None, usize::MAX, |b| {
                b.extend_from_slice(format!("{{\"n\":{n},\"seq\":{seq}}}").as_bytes())
            })
            .unwrap();
        }
        let mut out = Vec::new();
        log.read_after(0, 100, &mut out).unwrap();
        for (n, e) in out.iter().enumerate() {
            assert_eq!(e.json, format!("{{\"n\":{n},\"seq\":{}}}", n + 1));
        }
        // Neighbours in one block: the second starts where the first ends.
        let (a, b) = (out[0].json.as_ptr(), out[1].json.as_ptr());
        assert_eq!(b as usize - a as usize, out[0].json.len());
        let bad = log.append_with(None, usize::MAX, |b| b.extend_from_slice(&[0xff]));
        assert_eq!(bad, None, "bytes that are not UTF-8 are not appended");
        let held = log.bytes();
        let over = log.append_with(None, held + 3, |b| b.extend_from_slice(b"1234"));
        assert_eq!(over, None, "past the bound");
        assert!(
            log.append_with(None, held + 3, |b| b.extend_from_slice(b"123"))
                .is_some()
        );
        assert_eq!(log.last_seq(), 101);
    }

    #[test]
    fn a_packed_log_reads_back_the_same_events() {
        let mut log = ReplayLog::after(4);
        for n in 0..50 {
            let name = if n % 2 == 0 { Some("delta") } else { None };
            log.append_with(name, usize::MAX, |b| {
                b.extend_from_slice(format!("{{\"n\":\"é{n}\"}}").as_bytes())
            })
            .unwrap();
        }
        let all = |log: &ReplayLog, cursor| {
            let mut out = Vec::new();
            log.read_after(cursor, 1000, &mut out)
                .map(|()| out.iter().map(|e| Event::clone(e)).collect::<Vec<_>>())
        };
        let before: Vec<_> = (0..=60).map(|c| all(&log, c)).collect();
        let bytes = log.bytes();
        log.pack();
        assert!(log.packed.is_some() && log.events.is_empty());
        let after: Vec<_> = (0..=60).map(|c| all(&log, c)).collect();
        assert_eq!(before, after, "every cursor, gaps included");
        assert_eq!(log.bytes(), bytes);
        assert_eq!(
            log.held(),
            bytes + 50 * 12,
            "the JSON and 12 bytes an event"
        );
        let mut some = Vec::new();
        log.read_after(10, 3, &mut some).unwrap();
        assert_eq!(some.iter().map(|e| e.seq).collect::<Vec<_>>(), [11, 12, 13]);
        // More events unpack it: nothing lost, seqs go on.
        assert_eq!(log.append(None, "{}".into()), 55);
        assert_eq!(all(&log, 0).unwrap_err(), Gap);
        assert_eq!(all(&log, 4).unwrap().len(), 51);
    }
}
