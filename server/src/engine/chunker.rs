//! Re-chunks a generation's deltas into pieces of exactly N characters (the
//! last may be shorter), with an optional pause between pieces: the persona protocol
//! streams 50-character chunks for `openai_chat` and 30 for personas, 0.1 s
//! apart. Characters, not bytes: a chunk never splits a UTF-8 sequence.
//! The `Finish` event passes through after the last piece.

use super::{EngineError, GenEvent, GenStream};
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::time::Duration;

/// `stream`, re-chunked into `chars`-character deltas, `delay` apart.
pub fn rechunk(stream: GenStream, chars: usize, delay: Duration) -> GenStream {
    let chars = chars.max(1);
    let state = State {
        inner: Some(stream),
        buffer: String::new(),
        ready: VecDeque::new(),
        sent_any: false,
    };
    futures_util::stream::unfold(state, move |mut st| async move {
        loop {
            if let Some(item) = st.ready.pop_front() {
                if let Ok(GenEvent::Delta(_)) = &item {
                    if st.sent_any && !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    st.sent_any = true;
                }
                return Some((item, st));
            }
            let inner = st.inner.as_mut()?;
            match inner.next().await {
                Some(Ok(GenEvent::Delta(text))) => {
                    st.buffer.push_str(&text);
                    st.split_full(chars);
                }
                Some(Ok(finish @ GenEvent::Finish { .. })) => {
                    st.flush();
                    st.ready.push_back(Ok(finish));
                    st.inner = None;
                }
                Some(Err(e)) => {
                    st.flush();
                    st.ready.push_back(Err(e));
                    st.inner = None;
                }
                None => {
                    st.flush();
                    st.inner = None;
                }
            }
        }
    })
    .boxed()
}

struct State {
    inner: Option<GenStream>,
    buffer: String,
    ready: VecDeque<Result<GenEvent, EngineError>>,
    sent_any: bool,
}

impl State {
    /// Moves every full chunk from the buffer to `ready`.
    fn split_full(&mut self, chars: usize) {
        loop {
            let Some((cut, _)) = self.buffer.char_indices().nth(chars) else {
                // Exactly `chars` characters left also makes a full chunk.
                if self.buffer.chars().count() == chars {
                    let chunk = std::mem::take(&mut self.buffer);
                    self.ready.push_back(Ok(GenEvent::Delta(chunk)));
                }
                return;
            };
            let rest = self.buffer.split_off(cut);
            let chunk = std::mem::replace(&mut self.buffer, rest);
            self.ready.push_back(Ok(GenEvent::Delta(chunk)));
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
}
