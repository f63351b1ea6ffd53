//! The safety classifier: a risk level for every user message, and the
//! intent of the reply.
//!
//! Rule-based and explainable: the message is normalised (lower case,
//! shorthand such as "kms" and "wanna" expanded, misspellings of the key
//! words corrected by edit distance), then matched against phrase lists for
//! each level. A match preceded by a negation ("not", "never", "don't") does
//! not count, and idioms ("killing me", "kill for", "to die for") are not in
//! the lists. The highest level matched wins.
//!
//! Limits (also in the README): it reads words, not meaning; it knows
//! English only; sarcasm, new slang, and risk stated very indirectly can
//! pass it; hyperbole about others ("I'm going to kill him") is flagged.
//! With a real model configured, the model's judgement may raise the level
//! (never lower a high one). The labelled set in `testset.tsv` measures it.

use shared::support::{Intent, RiskLevel};

/// Phrases that mean high risk: intent or plan to die, self-harm, or harm
/// to others.
const HIGH: &[&str] = &[
    "kill myself",
    "killing myself",
    "end my life",
    "ending my life",
    "end it all",
    "take my own life",
    "take my life",
    "suicide",
    "suicidal",
    "want to die",
    "going to die tonight",
    "hang myself",
    "shoot myself",
    "jump off",
    "overdose",
    "slit my wrists",
    "cut myself",
    "cutting myself",
    "hurt myself",
    "harm myself",
    "hurting myself",
    "self harm",
    "self harming",
    "pills saved",
    "take them all",
    "suicide note",
    "kill him",
    "kill her",
    "kill them",
    "kill you",
    "kill my",
    "kill someone",
    "kill everyone",
    "hurt someone",
    "hurt him",
    "hurt her",
    "hurt them",
    "bring a gun",
    "shoot up",
    "stab him",
    "stab her",
    "stab someone",
];

/// Passive wishes to be dead or gone, hopelessness about living.
const MEDIUM: &[&str] = &[
    "better off without me",
    "better off dead",
    "wish i was dead",
    "wish i were dead",
    "wish i could disappear",
    "do not want to wake up",
    "do not want to be here",
    "no reason to live",
    "point of living",
    "point in living",
    "cannot go on",
    "tired of living",
    "not worth living",
    "isn't worth living",
    "is not worth living",
    "would miss me",
    "do not want to live",
    "give up on life",
    "disappear forever",
];

/// Distress without signs of danger.
const LOW: &[&str] = &[
    "hopeless",
    "worthless",
    "depressed",
    "depression",
    "anxious",
    "anxiety",
    "panic",
    "cannot cope",
    "overwhelmed",
    "lonely",
    "crying",
    "cannot sleep",
    "exhausted",
    "stressed",
    "scared",
    "sad",
    "empty",
    "numb",
    "grief",
    "tired",
];

/// Words that cancel a match that follows them closely.
const NEGATIONS: &[&str] = &["not", "never", "no", "without"];

/// Phrases that contain a risk phrase but are not risk.
const SAFE: &[&str] = &[
    "suicide prevention",
    "self care",
    "to die for",
    "die of embarrassment",
];

/// Shorthand, expanded before matching.
const SHORTHAND: &[(&str, &str)] = &[
    ("kms", "kill myself"),
    ("wanna", "want to"),
    ("gonna", "going to"),
    ("im", "i am"),
    ("i'm", "i am"),
    ("ive", "i have"),
    ("i've", "i have"),
    ("dont", "do not"),
    ("don't", "do not"),
    ("cant", "cannot"),
    ("can't", "cannot"),
    ("won't", "will not"),
    ("wont", "will not"),
    ("isnt", "is not"),
    ("unalive", "kill"),
    ("selfharm", "self harm"),
];

/// Words whose misspellings are corrected (edit distance 1, or 2 for long
/// words).
const KEY_WORDS: &[&str] = &[
    "suicide", "suicidal", "myself", "overdose", "killing", "harming",
];

/// The risk level of a user message.
pub fn classify(message: &str) -> RiskLevel {
    let text = normalise(message);
    let padded = format!(" {text} ");
    let safe_spans: Vec<(usize, usize)> = SAFE
        .iter()
        .flat_map(|s| {
            find_all(&padded, s)
                .into_iter()
                .map(move |i| (i, i + s.len()))
        })
        .collect();
    for (level, phrases) in [
        (RiskLevel::High, HIGH),
        (RiskLevel::Medium, MEDIUM),
        (RiskLevel::Low, LOW),
    ] {
        for phrase in phrases {
            for at in find_all(&padded, phrase) {
                let inside_safe = safe_spans.iter().any(|(a, b)| at >= *a && at < *b);
                if !inside_safe && !negated(&padded[..at]) {
                    return level;
                }
            }
        }
    }
    RiskLevel::None
}

/// What the reply should do, given the message's risk.
pub fn intent_for(risk: RiskLevel, message: &str) -> Intent {
    match risk {
        RiskLevel::High => Intent::Escalate,
        RiskLevel::Medium => Intent::Explore,
        RiskLevel::Low => Intent::Validate,
        RiskLevel::None => {
            let t = normalise(message);
            if t.contains("how") || t.contains("what") || t.contains('?') {
                Intent::Inform
            } else {
                Intent::Encourage
            }
        }
    }
}

/// Positions where `phrase` starts as whole words in ` padded `.
fn find_all(padded: &str, phrase: &str) -> Vec<usize> {
    let needle = format!(" {phrase} ");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = padded[from..].find(&needle) {
        out.push(from + i + 1);
        from += i + 1;
    }
    out
}

/// Whether one of the three words before a match negates it.
fn negated(before: &str) -> bool {
    before
        .split_whitespace()
        .rev()
        .take(3)
        .any(|w| NEGATIONS.contains(&w))
}

/// Lower case, letters and apostrophes only, shorthand expanded, key words
/// respelled.
pub fn normalise(message: &str) -> String {
    let lower = message.to_lowercase().replace(['’', '‘'], "'");
    let cleaned: String = lower
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut words = Vec::new();
    for w in cleaned.split_whitespace() {
        let w = w.trim_matches('\'');
        if let Some((_, long)) = SHORTHAND.iter().find(|(s, _)| *s == w) {
            words.push((*long).to_owned());
        } else if let Some(k) = KEY_WORDS.iter().find(|k| close_to(w, k)) {
            words.push((*k).to_owned());
        } else {
            words.push(w.to_owned());
        }
    }
    words.join(" ")
}

/// Within one edit (two for words of eight letters or more), counting a
/// swap of neighbours as one.
fn close_to(word: &str, key: &str) -> bool {
    if word == key {
        return true;
    }
    let (a, b): (Vec<char>, Vec<char>) = (word.chars().collect(), key.chars().collect());
    if a.len() < 5 || a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    let limit = if b.len() >= 8 { 2 } else { 1 };
    distance(&a, &b) <= limit
}

/// Damerau–Levenshtein distance (optimal string alignment).
fn distance(a: &[char], b: &[char]) -> usize {
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testset() -> Vec<(RiskLevel, String)> {
        include_str!("testset.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (level, text) = l.split_once('\t').expect("level<TAB>text");
                (RiskLevel::parse(level).expect("a level"), text.to_owned())
            })
            .collect()
    }

    /// Precision and recall per level on the labelled set; prints the table
    /// (`make test` shows it) and holds the classifier to its figures.
    #[test]
    fn the_labelled_set_is_classified_with_the_reported_figures() {
        let set = testset();
        let results: Vec<(RiskLevel, RiskLevel, &str)> = set
            .iter()
            .map(|(want, text)| (*want, classify(text), text.as_str()))
            .collect();
        println!("safety classifier on {} labelled messages:", set.len());
        println!(
            "{:<8} {:>9} {:>7} {:>8}",
            "level", "precision", "recall", "support"
        );
        let mut figures = Vec::new();
        for level in [
            RiskLevel::High,
            RiskLevel::Medium,
            RiskLevel::Low,
            RiskLevel::None,
        ] {
            let tp = results
                .iter()
                .filter(|(w, g, _)| *w == level && *g == level)
                .count() as f64;
            let predicted = results.iter().filter(|(_, g, _)| *g == level).count() as f64;
            let actual = results.iter().filter(|(w, _, _)| *w == level).count() as f64;
            let precision = if predicted > 0.0 { tp / predicted } else { 1.0 };
            let recall = if actual > 0.0 { tp / actual } else { 1.0 };
            println!(
                "{:<8} {:>9.2} {:>7.2} {:>8}",
                level.as_str(),
                precision,
                recall,
                actual
            );
            figures.push((level, precision, recall));
        }
        for (want, got, text) in &results {
            if want != got {
                println!(
                    "  miss: {text:?} labelled {} got {}",
                    want.as_str(),
                    got.as_str()
                );
            }
        }
        // Every high-risk message is caught: missing one is the costly error.
        let (_, high_p, high_r) = figures[0];
        assert_eq!(high_r, 1.0, "high recall");
        assert!(high_p >= 0.95, "high precision {high_p}");
        // Nothing labelled none or low is escalated.
        assert!(
            results
                .iter()
                .filter(|(w, _, _)| *w <= RiskLevel::Low)
                .all(|(_, g, _)| *g < RiskLevel::High)
        );
        let accuracy =
            results.iter().filter(|(w, g, _)| w == g).count() as f64 / results.len() as f64;
        println!("accuracy {accuracy:.2}");
        assert!(accuracy >= 0.9, "accuracy {accuracy}");
    }

    #[test]
    fn idioms_and_negations_do_not_escalate() {
        for t in [
            "This traffic is killing me",
            "I'd kill for a coffee",
            "I'm not suicidal, just tired",
        ] {
            assert!(classify(t) < RiskLevel::Medium, "{t}");
        }
    }

    #[test]
    fn misspellings_and_shorthand_are_understood() {
        assert_eq!(normalise("I'm SUCIDAL!!"), "i am suicidal");
        assert_eq!(classify("kms"), RiskLevel::High);
        assert_eq!(classify("i wanna unalive myself"), RiskLevel::High);
    }

    #[test]
    fn the_reply_intent_follows_the_risk() {
        assert_eq!(intent_for(RiskLevel::High, ""), Intent::Escalate);
        assert_eq!(intent_for(RiskLevel::Low, ""), Intent::Validate);
        assert_eq!(
            intent_for(RiskLevel::None, "How do I sleep better?"),
            Intent::Inform
        );
    }
}
