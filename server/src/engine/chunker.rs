//! Re-chunks a generation's deltas into pieces of at most N characters,
//! with an optional pause between pieces: the persona protocol streams
//! 50-character chunks for `openai_chat` and 30 for personas, 0.1 s apart.
//! Characters, not bytes: a chunk never splits a UTF-8 sequence.
//!
//! Text is never held back: a partial chunk goes out when the provider has
//! been silent for [`IDLE_FLUSH`] (a slow local model's first words show at
//! once), and [`Rechunker::take_unsent`] hands over everything received but
//! not yet sent (a stopped reply saves every character). The `Finish` event
//! passes through after the last piece.

use super::{EngineError, GenEvent, GenStream};
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// How long the provider may be silent before a partial chunk is sent.
pub const IDLE_FLUSH: Duration = Duration::from_millis(30);

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
            ready: VecDeque::new(),
            chars: chars.max(1),
            delay,
            last_sent: None,
        }
    }

    /// The next chunk, the end, or `None` after it.
    pub async fn next(&mut self) -> Option<Result<GenEvent, EngineError>> {
        loop {
            if let Some(front) = self.ready.front() {
                let is_delta = matches!(front, Ok(GenEvent::Delta(_)));
                if is_delta
                    && !self.delay.is_zero()
                    && let Some(last) = self.last_sent
                {
                    // A deadline, not a fresh sleep: cancelling and calling
                    // again waits for the same moment.
                    tokio::time::sleep_until(last + self.delay).await;
                }
                let item = self.ready.pop_front();
                if is_delta {
                    self.last_sent = Some(Instant::now());
                }
                return item;
            }
            let inner = self.inner.as_mut()?;
            let next = if self.buffer.is_empty() {
                inner.next().await
            } else {
                match tokio::time::timeout(IDLE_FLUSH, inner.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        // The provider is slow: send what there is.
                        self.flush();
                        continue;
                    }
                }
            };
            match next {
                Some(Ok(GenEvent::Delta(text))) => {
                    self.buffer.push_str(&text);
                    self.split_full();
                }
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

    /// Moves every full chunk from the buffer to `ready`.
    fn split_full(&mut self) {
        while let Some((cut, _)) = self.buffer.char_indices().nth(self.chars) {
            let rest = self.buffer.split_off(cut);
            let chunk = std::mem::replace(&mut self.buffer, rest);
            self.ready.push_back(Ok(GenEvent::Delta(chunk)));
        }
        // Exactly `chars` characters left also makes a full chunk.
        if self.buffer.chars().count() == self.chars {
            self.flush();
        }
    }

    /// Sends what is left, however short.
    fn flush(&mut self) {
        if !self.buffer.is_empty() {
            let chunk = std::mem::take(&mut self.buffer);
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
    async fn a_slow_providers_words_are_sent_after_a_short_silence() {
        let start = tokio::time::Instant::now();
        let mut r = Rechunker::new(
            trickle(&["Hi", " th", "ere"], Duration::from_millis(500)),
            30,
            Duration::ZERO,
        );
        let first = r.next().await.unwrap().unwrap();
        assert_eq!(first, GenEvent::Delta("Hi".into()));
        // The first word arrives at 500 ms and goes out one idle flush later,
        // not when 30 characters have gathered.
        assert_eq!(start.elapsed(), Duration::from_millis(500) + IDLE_FLUSH);
        let mut rest = Vec::new();
        while let Some(Ok(GenEvent::Delta(d))) = r.next().await {
            rest.push(d);
        }
        assert_eq!(rest, [" th", "ere"], "chunks stay within the maximum");
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
