//! Re-chunks a generation's deltas into pieces of at most N characters,
//! with an optional pause between pieces: the persona protocol streams
//! 50-character chunks for `openai_chat` and 30 for personas, 0.1 s apart.
//! Characters, not bytes: a chunk never splits a UTF-8 sequence.
//!
//! Text is never held back: a partial chunk goes out as soon as the provider
//! has nothing more ready (a model's delta reaches the client at once, not
//! when the next one fills the chunk), and [`Rechunker::take_unsent`] hands
//! over everything received but not yet sent (a stopped reply saves every
//! character). With pacing, text that arrives before the next chunk is due
//! joins it (up to N characters), so pacing does not multiply the chunks.
//! The `Finish` event passes through after the last piece.

use super::{EngineError, GenEvent, GenStream};
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// `stream`, re-chunked into deltas of at most `chars` characters, `delay`
/// apart.
pub fn rechunk(stream: GenStream, chars: usize, delay: Duration) -> GenStream {
    futures_util::stream::unfold(Rechunker::new(stream, chars, delay), |mut r| async move {
        let item = r.next().await?;
        Some((item, r))
    })
    .boxed()
}

/// The re-chunking state; [`Rechunker::next`] is cancel-safe (a caller
/// may drop it in a `select!` and call again without losing text).
pub struct Rechunker {
    inner: Option<GenStream>,
    /// Received text not yet made a chunk.
    buffer: String,
    /// Characters in `buffer` (fewer than `chars`).
    buffered_chars: usize,
    /// Chunks (and the end) ready to hand out.
    ready: VecDeque<Result<GenEvent, EngineError>>,
    chars: usize,
    delay: Duration,
    /// When the last chunk went out (the next waits `delay` after it).
    last_sent: Option<Instant>,
}

impl Rechunker {
    pub fn new(stream: GenStream, chars: usize, delay: Duration) -> Self {
        Self {
            inner: Some(stream),
            buffer: String::new(),
            buffered_chars: 0,
            ready: VecDeque::new(),
            chars: chars.max(1),
            delay,
            last_sent: None,
        }
    }

    /// When the next chunk may go out (`None`: now).
    fn due(&self) -> Option<Instant> {
        if self.delay.is_zero() {
            return None;
        }
        self.last_sent
            .map(|last| last + self.delay)
            .filter(|&at| at > Instant::now())
    }

    /// The next chunk, the end, or `None` after it.
    pub async fn next(&mut self) -> Option<Result<GenEvent, EngineError>> {
        loop {
            if let Some(front) = self.ready.front() {
                let is_delta = matches!(front, Ok(GenEvent::Delta(_)));
                if is_delta && let Some(at) = self.due() {
                    // A deadline, not a fresh sleep: cancelling and calling
                    // again waits for the same moment.
                    tokio::time::sleep_until(at).await;
                }
                let item = self.ready.pop_front();
                // Without pacing, no clock read per chunk.
                if is_delta && !self.delay.is_zero() {
                    self.last_sent = Some(Instant::now());
                }
                return item;
            }
            let due = self.due();
            let inner = self.inner.as_mut()?;
            let next = if self.buffer.is_empty() {
                inner.next().await
            } else if let Some(at) = due {
                // Paced, and the next chunk is not due yet: what arrives
                // until then joins the partial chunk.
                tokio::select! {
                    next = inner.next() => next,
                    () = tokio::time::sleep_until(at) => continue,
                }
            } else {
                match futures_util::poll!(inner.next()) {
                    std::task::Poll::Ready(next) => next,
                    std::task::Poll::Pending => {
                        // Nothing more ready now: send what there is.
                        self.flush();
                        continue;
                    }
                }
            };
            match next {
                Some(Ok(GenEvent::Delta(text))) => self.add(&text),
                Some(Ok(finish @ GenEvent::Finish { .. })) => {
                    self.flush();
                    self.ready.push_back(Ok(finish));
                    self.inner = None;
                }
                Some(Err(e)) => {
                    self.flush();
                    self.ready.push_back(Err(e));
                    self.inner = None;
                }
                None => {
                    self.flush();
                    self.inner = None;
                }
            }
        }
    }

    /// The next piece (at most `chars` characters) of the text received
    /// but not yet handed out, without waiting; `None` when all is out.
    pub fn take_unsent(&mut self) -> Option<String> {
        self.flush();
        let at = self
            .ready
            .iter()
            .position(|i| matches!(i, Ok(GenEvent::Delta(_))))?;
        match self.ready.remove(at) {
            Some(Ok(GenEvent::Delta(text))) => Some(text),
            _ => None,
        }
    }

    /// Appends received text, moving every full chunk to `ready`: one pass
    /// over the text, counting characters once.
    fn add(&mut self, mut text: &str) {
        while !text.is_empty() {
            let room = self.chars - self.buffered_chars;
            match text.char_indices().nth(room) {
                // More than fills the chunk: cut it at `room` characters.
                Some((cut, _)) => {
                    self.buffer.push_str(&text[..cut]);
                    self.buffered_chars = self.chars;
                    text = &text[cut..];
                }
                None => {
                    self.buffer.push_str(text);
                    self.buffered_chars += text.chars().count();
                    text = "";
                }
            }
            // Exactly `chars` characters also makes a full chunk.
            if self.buffered_chars == self.chars {
                self.flush();
            }
        }
    }

    /// Sends what is left, however short.
    fn flush(&mut self) {
        if !self.buffer.is_empty() {
            let chunk = std::mem::take(&mut self.buffer);
            self.buffered_chars = 0;
            self.ready.push_back(Ok(GenEvent::Delta(chunk)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::stream::TokenUsage;

    fn source(parts: &[&str]) -> GenStream {
        let mut items: Vec<Result<GenEvent, EngineError>> = parts
            .iter()
            .map(|p| Ok(GenEvent::Delta((*p).to_owned())))
            .collect();
        items.push(Ok(GenEvent::Finish {
            usage: TokenUsage::default(),
            response_id: None,
        }));
        futures_util::stream::iter(items).boxed()
    }

    async fn collect(s: GenStream) -> (Vec<String>, bool) {
        let items: Vec<_> = s.collect().await;
        let mut deltas = Vec::new();
        let mut finished = false;
        for i in items {
            match i.unwrap() {
                GenEvent::Delta(d) => {
                    assert!(!finished, "no delta after finish");
                    deltas.push(d)
                }
                GenEvent::Finish { .. } => finished = true,
            }
        }
        (deltas, finished)
    }

    #[tokio::test]
    async fn chunks_are_exactly_n_characters_but_the_last() {
        let (d, fin) = collect(rechunk(source(&["abcdefg", "hij", "k"]), 3, Duration::ZERO)).await;
        assert_eq!(d, ["abc", "def", "ghi", "jk"]);
        assert!(fin);
        let (d, _) = collect(rechunk(source(&["abcdef"]), 3, Duration::ZERO)).await;
        assert_eq!(d, ["abc", "def"]);
    }

    #[tokio::test]
    async fn chunks_never_split_a_character() {
        let (d, _) = collect(rechunk(source(&["héllo wörld ✓✓"]), 4, Duration::ZERO)).await;
        assert_eq!(d, ["héll", "o wö", "rld ", "✓✓"]);
        assert_eq!(d.concat(), "héllo wörld ✓✓");
    }

    #[tokio::test(start_paused = true)]
    async fn pacing_puts_the_delay_between_chunks() {
        let start = tokio::time::Instant::now();
        let (d, _) = collect(rechunk(
            source(&["aaaaaaaaa"]),
            3,
            Duration::from_millis(100),
        ))
        .await;
        assert_eq!(d.len(), 3);
        // Paused clock: exactly two pauses, measured in virtual time.
        assert_eq!(start.elapsed(), Duration::from_millis(200));
    }

    /// A provider that sends `parts` `gap` apart, then finishes.
    fn trickle(parts: &'static [&'static str], gap: Duration) -> GenStream {
        futures_util::stream::unfold(0, move |i| async move {
            if i > parts.len() {
                return None;
            }
            tokio::time::sleep(gap).await;
            let item = match parts.get(i) {
                Some(p) => GenEvent::Delta((*p).to_owned()),
                None => GenEvent::Finish {
                    usage: TokenUsage::default(),
                    response_id: None,
                },
            };
            Some((Ok(item), i + 1))
        })
        .boxed()
    }

    #[tokio::test(start_paused = true)]
    async fn a_delta_goes_out_as_soon_as_nothing_more_is_ready() {
        let start = tokio::time::Instant::now();
        let mut r = Rechunker::new(
            trickle(&["Hi", " th", "ere"], Duration::from_millis(500)),
            30,
            Duration::ZERO,
        );
        let first = r.next().await.unwrap().unwrap();
        assert_eq!(first, GenEvent::Delta("Hi".into()));
        // The first word arrives at 500 ms and goes out then, not when 30
        // characters have gathered nor after a silence.
        assert_eq!(start.elapsed(), Duration::from_millis(500));
        let mut rest = Vec::new();
        while let Some(Ok(GenEvent::Delta(d))) = r.next().await {
            rest.push(d);
        }
        assert_eq!(rest, [" th", "ere"], "chunks stay within the maximum");
        assert_eq!(start.elapsed(), Duration::from_millis(2000));
    }

    #[tokio::test(start_paused = true)]
    async fn with_pacing_text_that_arrives_before_the_next_chunk_is_due_joins_it() {
        let start = tokio::time::Instant::now();
        // A delta every 10 ms, a chunk due every 100 ms: each chunk after
        // the first takes what came meanwhile (up to 30 characters).
        let parts: &'static [&'static str] = &["ab", "cd", "ef", "gh", "ij", "kl", "mn", "op"];
        let mut r = Rechunker::new(
            trickle(parts, Duration::from_millis(10)),
            4,
            Duration::from_millis(100),
        );
        let mut chunks = Vec::new();
        let mut at = Vec::new();
        while let Some(Ok(GenEvent::Delta(d))) = r.next().await {
            chunks.push(d);
            at.push(start.elapsed().as_millis());
        }
        assert_eq!(chunks, ["ab", "cdef", "ghij", "klmn", "op"]);
        assert_eq!(at, [10, 110, 210, 310, 410]);
    }

    #[tokio::test]
    async fn nothing_received_is_held_back_from_take_unsent() {
        let mut r = Rechunker::new(source(&["abcdefgh"]), 3, Duration::from_secs(60));
        assert_eq!(
            r.next().await.unwrap().unwrap(),
            GenEvent::Delta("abc".into())
        );
        // The next chunk waits a minute; a stop takes the rest now.
        let mut unsent = Vec::new();
        while let Some(t) = r.take_unsent() {
            unsent.push(t);
        }
        assert_eq!(unsent, ["def", "gh"]);
        assert!(matches!(r.next().await, Some(Ok(GenEvent::Finish { .. }))));
    }
}
