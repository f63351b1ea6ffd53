//! The lexicon's small pattern language, over a clause's words.
//!
//! A pattern is segments separated by gaps:
//! - a segment is phrases separated by `|`: `want to die|wish i was dead`;
//!   each word of a phrase may end in `*` (any word that starts so: `cut*`)
//!   or `?` (optional: `my own? life`);
//! - `_3` between segments skips up to three words (fewest first); `_0`
//!   just separates two segments;
//! - `!on|for` is a look-ahead: the next word is none of these (or the
//!   clause has ended); it takes no word;
//! - a leading `^` anchors the pattern at the start of the clause;
//! - `$` is the end of the clause, also as one of a segment's phrases
//!   (`tonight|$`).

/// One word of a phrase.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    prefix: bool,
    optional: bool,
}

impl Word {
    fn parse(s: &str) -> Self {
        let (s, optional) = match s.strip_suffix('?') {
            Some(s) => (s, true),
            None => (s, false),
        };
        let (s, prefix) = match s.strip_suffix('*') {
            Some(s) => (s, true),
            None => (s, false),
        };
        Self {
            text: s.to_owned(),
            prefix,
            optional,
        }
    }

    /// `$` as a phrase: the end of the clause.
    fn is_end(&self) -> bool {
        self.text == "$"
    }

    fn matches(&self, word: &str) -> bool {
        if self.prefix {
            word.starts_with(&self.text)
        } else {
            word == self.text
        }
    }
}

/// One element of a compiled pattern.
#[derive(Debug, Clone)]
enum Element {
    /// Any one of these phrases.
    Phrases(Vec<Vec<Word>>),
    Gap(usize),
    NotNext(Vec<Word>),
    End,
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    elements: Vec<Element>,
    /// `^`: only at the start of the clause.
    anchored: bool,
    /// The words a match can start with, looked up before trying one
    /// (`None`: any word, when a first phrase starts with an optional word).
    starts: Option<Starts>,
}

/// FNV-1a: the words looked up are short, and SipHash's protection
/// against chosen collisions is not needed for a constant lexicon (it was
/// a third of the time spent assessing a message). The model hashes its
/// features with it too.
#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The first words of a pattern's first phrases.
#[derive(Debug, Clone, Default)]
struct Starts {
    words: std::collections::HashSet<String, std::hash::BuildHasherDefault<Fnv>>,
    prefixes: Vec<String>,
}

impl Starts {
    fn of(elements: &[Element]) -> Option<Self> {
        let Some(Element::Phrases(phrases)) = elements.first() else {
            return None;
        };
        let mut starts = Self::default();
        for phrase in phrases {
            let first = phrase.first()?;
            if first.optional || first.is_end() {
                return None;
            }
            if first.prefix {
                starts.prefixes.push(first.text.clone());
            } else {
                starts.words.insert(first.text.clone());
            }
        }
        Some(starts)
    }

    fn admit(&self, word: &str) -> bool {
        self.words.contains(word) || self.prefixes.iter().any(|p| word.starts_with(p.as_str()))
    }
}

impl Pattern {
    /// Compiles the pattern language above; panics on a malformed pattern
    /// (the lexicon is a constant, and a test compiles all of it).
    pub(crate) fn compile(source: &str) -> Self {
        let (source_words, anchored) = match source.strip_prefix("^ ") {
            Some(rest) => (rest, true),
            None => (source, false),
        };
        let mut elements = Vec::new();
        let mut segment: Vec<&str> = Vec::new();
        let flush = |segment: &mut Vec<&str>, elements: &mut Vec<Element>| {
            if segment.is_empty() {
                return;
            }
            let text = segment.join(" ");
            segment.clear();
            let phrases = text
                .split('|')
                .map(|p| p.split_whitespace().map(Word::parse).collect::<Vec<_>>())
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>();
            assert!(!phrases.is_empty(), "an empty segment in {source:?}");
            elements.push(Element::Phrases(phrases));
        };
        for token in source_words.split_whitespace() {
            if token == "$" {
                flush(&mut segment, &mut elements);
                elements.push(Element::End);
            } else if let Some(n) = token
                .strip_prefix('_')
                .filter(|n| n.parse::<usize>().is_ok())
            {
                flush(&mut segment, &mut elements);
                elements.push(Element::Gap(n.parse().unwrap_or(0)));
            } else if let Some(rest) = token.strip_prefix('!') {
                flush(&mut segment, &mut elements);
                elements.push(Element::NotNext(rest.split('|').map(Word::parse).collect()));
            } else {
                segment.push(token);
            }
        }
        flush(&mut segment, &mut elements);
        assert!(
            matches!(elements.first(), Some(Element::Phrases(_))),
            "a pattern starts with words: {source:?}"
        );
        assert!(
            elements
                .iter()
                .rev()
                .skip(1)
                .all(|e| !matches!(e, Element::NotNext(_))),
            "a look-ahead ends the pattern: {source:?}"
        );
        let starts = Starts::of(&elements);
        Self {
            elements,
            anchored,
            starts,
        }
    }

    /// Every match in the clause, as (first word, one past the last word);
    /// at most one per starting word, the shortest.
    pub(crate) fn find(&self, words: &[String]) -> Vec<(usize, usize)> {
        let starts = if self.anchored {
            0..words.len().min(1)
        } else {
            0..words.len()
        };
        starts
            .filter(|&start| self.starts.as_ref().is_none_or(|s| s.admit(&words[start])))
            .filter_map(|start| match_from(&self.elements, words, start).map(|end| (start, end)))
            .filter(|(start, end)| end > start)
            .collect()
    }
}

/// Where a match of `elements` starting at word `at` ends, if it does.
fn match_from(elements: &[Element], words: &[String], at: usize) -> Option<usize> {
    let Some((first, rest)) = elements.split_first() else {
        return Some(at);
    };
    match first {
        Element::End => (at == words.len()).then_some(at),
        Element::NotNext(alts) => match words.get(at) {
            Some(w) if alts.iter().any(|a| a.matches(w)) => None,
            _ => match_from(rest, words, at),
        },
        Element::Gap(n) => (0..=*n)
            .take_while(|skip| at + skip <= words.len())
            .find_map(|skip| match_from(rest, words, at + skip)),
        Element::Phrases(phrases) => phrases.iter().find_map(|phrase| {
            phrase_then(phrase, words, at, &mut |end| match_from(rest, words, end))
        }),
    }
}

/// Matches a phrase starting at `at`, then `then` from each place it can
/// end (several, with optional words: the longest first); the first
/// success.
fn phrase_then(
    phrase: &[Word],
    words: &[String],
    at: usize,
    then: &mut dyn FnMut(usize) -> Option<usize>,
) -> Option<usize> {
    let Some((first, rest)) = phrase.split_first() else {
        return then(at);
    };
    if first.is_end() {
        return if at == words.len() {
            phrase_then(rest, words, at, then)
        } else {
            None
        };
    }
    if words.get(at).is_some_and(|w| first.matches(w))
        && let Some(end) = phrase_then(rest, words, at + 1, then)
    {
        return Some(end);
    }
    if first.optional {
        return phrase_then(rest, words, at, then);
    }
    None
}

/// Many patterns, indexed by the words their matches can start with: a
/// clause tries only the patterns one of its words can start.
#[derive(Debug)]
pub(crate) struct PatternSet {
    patterns: Vec<Pattern>,
    by_word: std::collections::HashMap<String, Vec<usize>, std::hash::BuildHasherDefault<Fnv>>,
    by_prefix: Vec<(String, usize)>,
    /// Patterns that can start with any word.
    anywhere: Vec<usize>,
}

impl PatternSet {
    pub(crate) fn compile<'a>(sources: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = Self {
            patterns: Vec::new(),
            by_word: Default::default(),
            by_prefix: Vec::new(),
            anywhere: Vec::new(),
        };
        for (i, source) in sources.into_iter().enumerate() {
            let pattern = Pattern::compile(source);
            match &pattern.starts {
                None => set.anywhere.push(i),
                Some(starts) => {
                    for word in &starts.words {
                        set.by_word.entry(word.clone()).or_default().push(i);
                    }
                    for prefix in &starts.prefixes {
                        set.by_prefix.push((prefix.clone(), i));
                    }
                }
            }
            set.patterns.push(pattern);
        }
        set
    }

    /// Every pattern's matches in the clause (as `Pattern::find`), by
    /// pattern.
    pub(crate) fn find_all(&self, words: &[String]) -> Vec<Vec<(usize, usize)>> {
        let mut tried = vec![false; self.patterns.len()];
        for &i in &self.anywhere {
            tried[i] = true;
        }
        for word in words {
            if let Some(ids) = self.by_word.get(word.as_str()) {
                for &i in ids {
                    tried[i] = true;
                }
            }
        }
        for (prefix, i) in &self.by_prefix {
            if !tried[*i] && words.iter().any(|w| w.starts_with(prefix.as_str())) {
                tried[*i] = true;
            }
        }
        self.patterns
            .iter()
            .zip(tried)
            .map(|(pattern, tried)| {
                if tried {
                    pattern.find(words)
                } else {
                    Vec::new()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn words_alternatives_gaps_lookahead_and_end() {
        let p = Pattern::compile("want|wish _0 to? die|to? be dead");
        assert_eq!(p.find(&words("i want to die")), vec![(1, 4)]);
        assert_eq!(p.find(&words("i wish die")), vec![(1, 3)]);
        assert_eq!(p.find(&words("i want to be dead")), vec![(1, 5)]);
        let p = Pattern::compile("want _1 dead");
        assert_eq!(p.find(&words("i want really dead")), vec![(1, 4)]);
        assert!(p.find(&words("i want to go")).is_empty());
        let p = Pattern::compile("end my own? life|kill myself");
        assert_eq!(p.find(&words("i will end my life")), vec![(2, 5)]);
        assert_eq!(p.find(&words("end my own life")), vec![(0, 4)]);
        assert_eq!(p.find(&words("kill myself")), vec![(0, 2)]);
        let p = Pattern::compile("do it _2 tonight|$");
        assert_eq!(p.find(&words("i will do it")), vec![(2, 4)]);
        assert_eq!(p.find(&words("do it so tonight")), vec![(0, 4)]);
        assert!(p.find(&words("do it at the gym")).is_empty());
        let p = Pattern::compile("i am _2 done $");
        assert_eq!(p.find(&words("i am so done")), vec![(0, 4)]);
        assert!(p.find(&words("i am done with homework")).is_empty());
        let p = Pattern::compile("overdos* !on|of");
        assert_eq!(p.find(&words("i overdosed")), vec![(1, 2)]);
        assert!(p.find(&words("i overdosed on coffee")).is_empty());
    }
}

#[cfg(test)]
mod set_tests {
    use super::*;

    /// The index only skips patterns that cannot match: every pattern's
    /// matches through the set are its matches alone.
    #[test]
    fn a_set_finds_what_each_pattern_finds() {
        let sources = [
            "want|wish _0 to? die|to? be dead",
            "overdos* !on|of",
            "^ rope|noose $",
            "my? own life",
            "do it _2 tonight|$",
            "i am _2 done $",
            "cut* _1 my _0 arm|arms",
        ];
        let set = PatternSet::compile(sources);
        for clause in [
            "i want to die",
            "i overdosed on coffee",
            "i overdosed",
            "rope",
            "a rope",
            "end my own life",
            "own life",
            "i will do it so tonight",
            "i am so done",
            "cutting up my arms",
            "nothing here at all",
            "",
        ] {
            let words: Vec<String> = clause.split_whitespace().map(str::to_owned).collect();
            let all = set.find_all(&words);
            for (source, found) in sources.iter().zip(&all) {
                assert_eq!(
                    found,
                    &Pattern::compile(source).find(&words),
                    "{source:?} in {clause:?}"
                );
            }
        }
    }
}
