//! From a message to clauses of normalised words.
//!
//! Lower case; emoji that carry meaning become words (💊 → `pills`) and
//! laughter becomes one word, [`LAUGH`]; contractions and texting shorthand
//! are written out (`im` → `i am`, `wanna` → `want to`, `kms` → `kill
//! myself`, `rn` → `right now`); repeated letters are squeezed (`dieee`);
//! misspellings of the words the lexicon reads are corrected by edit
//! distance (`sucide`, `myslef`). Clauses end at sentence punctuation,
//! line breaks, quotation marks and the words that turn a sentence (`but`,
//! `though`): negation and tense are read within a clause.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The word that stands for laughter (`lol`, `haha`, 😂, 💀 …).
pub(crate) const LAUGH: &str = "_laugh_";

/// One clause: its words, in order, and whether it was inside quotation
/// marks (reported speech: "she said \"I won't be around\"").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Clause {
    pub(crate) words: Vec<String>,
    pub(crate) quoted: bool,
    /// The positions of the words a comma comes before: "it doesn't, I'm
    /// going to end it" is one clause, but the negation stops at the comma.
    pub(crate) commas: Vec<usize>,
}

impl Clause {
    /// Whether a comma separates the word at `a` from the word at `b`
    /// (`a` before `b`).
    pub(crate) fn comma_between(&self, a: usize, b: usize) -> bool {
        self.commas.iter().any(|&c| c > a && c <= b)
    }
}

impl std::ops::Deref for Clause {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.words
    }
}

impl std::ops::DerefMut for Clause {
    fn deref_mut(&mut self) -> &mut Vec<String> {
        &mut self.words
    }
}

/// Words that end a clause before them (they start the next one).
const TURNS: &[&str] = &["but", "though", "although", "however", "except", "tho"];

/// Emoji and symbols that mean something here.
const EMOJI: &[(&str, &str)] = &[
    ("😂", LAUGH),
    ("🤣", LAUGH),
    ("💀", LAUGH),
    ("☠", LAUGH),
    ("😹", LAUGH),
    ("😆", LAUGH),
    ("😅", LAUGH),
    ("💊", " pills "),
    ("🔪", " knife "),
    ("🗡", " knife "),
    ("🔫", " gun "),
    ("🪢", " rope "),
    ("🪦", " grave "),
    ("⚰", " coffin "),
    ("🩸", " blood "),
    ("🌉", " bridge "),
    ("🚆", " train "),
    ("🚂", " train "),
    ("🚄", " train "),
    ("🚇", " train "),
    ("👋", " bye "),
    ("🫡", " bye "),
];

/// Whole-word rewrites: contractions, shorthand, texting spellings.
const REWRITES: &[(&str, &str)] = &[
    ("im", "i am"),
    ("i'm", "i am"),
    ("ima", "i am going to"),
    ("imma", "i am going to"),
    ("i'ma", "i am going to"),
    ("ive", "i have"),
    ("i've", "i have"),
    ("i'll", "i will"),
    ("i'd", "i would"),
    ("id", "i would"),
    ("cant", "can not"),
    // Jamaican and Caribbean English, Nigerian Pidgin: the words whose
    // reading is not in doubt ("mi" is read in context, below).
    ("cyaan", "can not"),
    ("kyaan", "can not"),
    ("cyan", "can not"),
    ("waan", "want"),
    ("nuh", "not"),
    ("neva", "never"),
    ("wid", "with"),
    ("inna", "in the"),
    ("di", "the"),
    ("dis", "this"),
    ("tek", "take"),
    ("fi", "to"),
    ("mawnin", "morning"),
    ("nutten", "nothing"),
    ("nuttin", "nothing"),
    ("gwan", "going to"),
    ("gwine", "going to"),
    ("wan", "want"),
    ("dey", "am"),
    // Dropped g's: "thinkin bout takin", "endin it".
    ("thinkin", "thinking"),
    ("takin", "taking"),
    ("endin", "ending"),
    ("runnin", "running"),
    ("pullin", "pulling"),
    ("yankin", "yanking"),
    ("goin", "going"),
    ("doin", "doing"),
    ("nothin", "nothing"),
    ("somethin", "something"),
    ("tryin", "trying"),
    ("cuttin", "cutting"),
    ("sittin", "sitting"),
    ("feelin", "feeling"),
    ("livin", "living"),
    ("dyin", "dying"),
    ("killin", "killing"),
    ("hurtin", "hurting"),
    ("jumpin", "jumping"),
    ("plannin", "planning"),
    ("savin", "saving"),
    ("hidin", "hiding"),
    ("drivin", "driving"),
    ("gettin", "getting"),
    ("sleepin", "sleeping"),
    ("wakin", "waking"),
    ("stayin", "staying"),
    ("can't", "can not"),
    ("cannot", "can not"),
    ("cnt", "can not"),
    ("dont", "do not"),
    ("don't", "do not"),
    ("dnt", "do not"),
    ("doesnt", "does not"),
    ("didnt", "did not"),
    ("wont", "will not"),
    ("won't", "will not"),
    ("wouldnt", "would not"),
    ("couldnt", "could not"),
    ("shouldnt", "should not"),
    ("isnt", "is not"),
    ("wasnt", "was not"),
    ("werent", "were not"),
    ("arent", "are not"),
    ("aint", "am not"),
    ("ain't", "am not"),
    ("havent", "have not"),
    ("hasnt", "has not"),
    ("hadnt", "had not"),
    ("wanna", "want to"),
    ("wana", "want to"),
    ("wantto", "want to"),
    ("gonna", "going to"),
    ("gona", "going to"),
    ("finna", "going to"),
    ("gotta", "got to"),
    ("hafta", "have to"),
    ("kinda", "kind of"),
    ("tryna", "trying to"),
    ("bout", "about"),
    ("lemme", "let me"),
    ("youre", "you are"),
    ("you're", "you are"),
    ("theyre", "they are"),
    ("they're", "they are"),
    ("thats", "that is"),
    ("that's", "that is"),
    ("whats", "what is"),
    ("what's", "what is"),
    ("theres", "there is"),
    ("there's", "there is"),
    ("it's", "it is"),
    ("hes", "he is"),
    ("he's", "he is"),
    ("she's", "she is"),
    ("u", "you"),
    ("ur", "your"),
    ("r", "are"),
    ("n", "and"),
    ("ppl", "people"),
    ("abt", "about"),
    ("bc", "because"),
    ("bcs", "because"),
    ("bcuz", "because"),
    ("cuz", "because"),
    ("coz", "because"),
    ("cos", "because"),
    ("rn", "right now"),
    ("tn", "tonight"),
    ("tonite", "tonight"),
    ("2nite", "tonight"),
    ("2night", "tonight"),
    ("tmrw", "tomorrow"),
    ("tmr", "tomorrow"),
    ("tmw", "tomorrow"),
    ("tomoz", "tomorrow"),
    ("2moro", "tomorrow"),
    ("2morrow", "tomorrow"),
    ("wknd", "weekend"),
    ("idk", "i do not know"),
    ("idc", "i do not care"),
    ("ngl", "honestly"),
    ("tbh", "honestly"),
    ("tbf", "honestly"),
    ("fr", "for real"),
    ("frfr", "for real"),
    ("deadass", "for real"),
    ("istg", "i swear"),
    ("jk", "joking"),
    ("jking", "joking"),
    ("no1", "no one"),
    ("noone", "no one"),
    ("nobody's", "nobody"),
    ("every1", "everyone"),
    ("some1", "someone"),
    ("any1", "anyone"),
    ("smth", "something"),
    ("sth", "something"),
    ("nothin", "nothing"),
    ("anymore", "anymore"),
    ("any more", "anymore"),
    ("bf", "boyfriend"),
    ("gf", "girlfriend"),
    ("bff", "friend"),
    ("bestie", "friend"),
    ("mum", "mom"),
    ("mam", "mom"),
    ("ma", "mom"),
    ("thru", "through"),
    ("w", "with"),
    ("wo", "without"),
    ("kms", "kill myself"),
    ("kmn", "kill me now"),
    ("kys", "kill yourself"),
    ("unalive", "kill"),
    ("unaliving", "killing"),
    ("unalived", "killed"),
    ("sewerslide", "suicide"),
    ("suicide's", "suicide"),
    ("suicidial", "suicidal"),
    ("selfharm", "selfharm"),
    ("sh", "selfharm"),
    ("s/h", "selfharm"),
    ("shing", "selfharming"),
    ("sh'd", "selfharmed"),
    ("shed", "shed"),
    ("od", "overdose"),
    ("oding", "overdosing"),
    ("od'd", "overdosed"),
    ("odd", "odd"),
    ("ded", "dead"),
    ("kil", "kill"),
    ("kll", "kill"),
    ("killl", "kill"),
    ("dieing", "dying"),
    ("cutt", "cut"),
    ("cuting", "cutting"),
    ("cuttin", "cutting"),
    ("agian", "again"),
    ("agan", "again"),
    ("agin", "again"),
    ("mysefl", "myself"),
    ("tonigt", "tonight"),
    ("tonihgt", "tonight"),
    ("killin", "killing"),
    ("dyeing", "dying"),
    ("dyin", "dying"),
    ("tryin", "trying"),
    ("goin", "going"),
    ("livin", "living"),
    ("thinkin", "thinking"),
    ("nothing's", "nothing"),
    ("everyone's", "everyone"),
    ("everybody's", "everyone"),
    ("everybody", "everyone"),
    ("somebody", "someone"),
    ("lol", LAUGH),
    ("lolol", LAUGH),
    ("lool", LAUGH),
    ("lmao", LAUGH),
    ("lmfao", LAUGH),
    ("lmaoo", LAUGH),
    ("rofl", LAUGH),
    ("xd", LAUGH),
    ("haha", LAUGH),
    ("hahaha", LAUGH),
    ("hehe", LAUGH),
    ("jaja", LAUGH),
    ("kek", LAUGH),
];

/// Words the lexicon reads that people misspell; a word within one edit
/// (two for nine letters or more) of one of these is read as it.
const SPELLED: &[&str] = &[
    "suicide",
    "suicidal",
    "myself",
    "overdose",
    "overdosing",
    "anymore",
    "tonight",
    "goodbye",
    "everyone",
    "everything",
    "disappear",
    "worthless",
    "hopeless",
    "forever",
    "tomorrow",
    "without",
    "existing",
    "wrists",
    "yourself",
    "himself",
    "herself",
    "themselves",
    "nobody",
    "someone",
    "depressed",
    "anxious",
    "exhausted",
    "because",
    "really",
    "breathing",
    "medication",
    "paracetamol",
    "ibuprofen",
    "sleeping",
    "pointless",
    "miserable",
    "lonely",
    "burden",
    "better",
];

/// Turns a message into clauses of normalised words.
pub(crate) fn clauses(message: &str) -> Vec<Clause> {
    let mut text = message.to_lowercase();
    for (from, to) in [("’", "'"), ("‘", "'"), ("`", "'"), ("´", "'")] {
        text = text.replace(from, to);
    }
    for (emoji, word) in EMOJI {
        if text.contains(emoji) {
            text = text.replace(emoji, &format!(" {word} "));
        }
    }
    // "self-harm", "self harm", "self harming" are one word.
    for (from, to) in [
        ("self-harm", "selfharm"),
        ("self harm", "selfharm"),
        ("self-injur", "selfinjur"),
        ("self injur", "selfinjur"),
        ("self-delet", "selfdelet"),
        ("self delet", "selfdelet"),
        ("sewer slide", "suicide"),
        ("no-one", "no one"),
        ("any more", "anymore"),
        ("s/h", " selfharm "),
    ] {
        text = text.replace(from, to);
    }
    let mut out: Vec<Clause> = Vec::new();
    let mut clause = Clause::default();
    let mut quoted = false;
    let mut word = String::new();
    let flush_word = |word: &mut String, clause: &mut Clause, out: &mut Vec<Clause>| {
        if word.is_empty() {
            return;
        }
        let w = std::mem::take(word);
        push_word(&w, clause, out);
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' || c == '_' || (c == '/' && word == "s") {
            word.push(c);
        } else if matches!(c, '"' | '“' | '”' | '«' | '»') {
            flush_word(&mut word, &mut clause, &mut out);
            end_clause(&mut clause, &mut out);
            quoted = !quoted;
            clause.quoted = quoted;
        } else {
            flush_word(&mut word, &mut clause, &mut out);
            if c == ',' && !clause.is_empty() && clause.commas.last() != Some(&clause.len()) {
                clause.commas.push(clause.len());
            }
            if matches!(
                c,
                '.' | '!' | '?' | ';' | ':' | '\n' | '…' | '—' | '–' | '(' | ')'
            ) {
                end_clause(&mut clause, &mut out);
            }
        }
    }
    flush_word(&mut word, &mut clause, &mut out);
    end_clause(&mut clause, &mut out);
    out
}

fn end_clause(clause: &mut Clause, out: &mut Vec<Clause>) {
    let quoted = clause.quoted;
    // "got rid of all me stuff", "cut up me hand", "me mum": "me" before
    // what one has is "my" (British, Irish and Caribbean English).
    for k in 0..clause.words.len() {
        let owned = clause
            .words
            .get(k + 1)
            .is_some_and(|n| POSSESSED.contains(&n.as_str()));
        let before = k == 0
            || matches!(
                clause.words[k - 1].as_str(),
                "all"
                    | "of"
                    | "in"
                    | "on"
                    | "with"
                    | "up"
                    | "at"
                    | "from"
                    | "into"
                    | "about"
                    | "cut"
                    | "hurt"
                    | "slit"
                    | "burn"
                    | "burned"
                    | "burnt"
                    | "scratched"
            );
        if clause.words[k] == "me" && owned && before {
            clause.words[k] = "my".to_owned();
        }
    }
    clause.commas.retain(|&c| c < clause.words.len());
    if !clause.is_empty() {
        out.push(std::mem::take(clause));
    }
    clause.commas.clear();
    clause.quoted = quoted;
}

/// Adds one raw word (after rewriting) to the clause; a turning word starts
/// a new clause.
fn push_word(raw: &str, clause: &mut Clause, out: &mut Vec<Clause>) {
    let raw = raw.trim_matches('\'');
    if raw.is_empty() {
        return;
    }
    if is_laughter(raw) {
        clause.push(LAUGH.to_owned());
        return;
    }
    let raw = squeeze(&unleet(raw));
    let rewritten: String = if let Some((_, to)) = REWRITES.iter().find(|(from, _)| *from == raw) {
        (*to).to_owned()
    } else if let Some(base) = raw.strip_suffix("n't") {
        format!("{base} not")
    } else if let Some(base) = raw.strip_suffix("'s") {
        base.to_owned()
    } else if let Some(base) = raw.strip_suffix("'re") {
        format!("{base} are")
    } else if let Some(base) = raw.strip_suffix("'ve") {
        format!("{base} have")
    } else if let Some(base) = raw.strip_suffix("'ll") {
        format!("{base} will")
    } else if let Some(base) = raw.strip_suffix("'d") {
        format!("{base} would")
    } else {
        respell(&raw.replace('\'', ""))
    };
    for w in rewritten.split(' ').filter(|w| !w.is_empty()) {
        let w = match w {
            // "ill" is "I'll" unless someone is ill.
            "ill"
                if !clause
                    .last()
                    .is_some_and(|p| ILL_BEFORE.contains(&p.as_str())) =>
            {
                clause.push("i".into());
                "will"
            }
            // Jamaican "mi" is I, me or my: I where a sentence starts.
            "mi" => {
                let starts = clause.last().is_none_or(|p| {
                    matches!(
                        p.as_str(),
                        "and"
                            | "an"
                            | "but"
                            | "seh"
                            | "so"
                            | "cause"
                            | "cuz"
                            | "because"
                            | "when"
                            | "if"
                            | "then"
                            | "now"
                            | "that"
                            | "dat"
                    )
                });
                if starts { "i" } else { "me" }
            }
            // ... and "him" after "seh" (says) is he: "mi breda seh him waan dead".
            "him" if clause.last().is_some_and(|p| p == "seh") => "he",
            "2" => "to",
            "4" => "for",
            other => other,
        };
        // "to just end it", "to finally die": the adverb between "to" and
        // its verb says nothing of who or when.
        if FILLERS.contains(&w) && clause.last().is_some_and(|p| p == "to") {
            continue;
        }
        if TURNS.contains(&w) && !clause.is_empty() {
            end_clause(clause, out);
        }
        clause.push(w.to_owned());
    }
}

/// Digits written for letters inside a word: `su1c1d4l`, `k1ll`, `s3lf`.
/// Only a digit with a letter on each side is read as a letter, so `mp3`,
/// `b4` and `2nite` keep theirs.
fn unleet(w: &str) -> std::borrow::Cow<'_, str> {
    let chars: Vec<char> = w.chars().collect();
    let letter = |i: usize| chars.get(i).is_some_and(|c| c.is_alphabetic());
    let leet = |i: usize| {
        let c = match chars[i] {
            '0' => 'o',
            '1' => 'i',
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '7' => 't',
            _ => return None,
        };
        (i > 0 && letter(i - 1) && letter(i + 1)).then_some(c)
    };
    if !(0..chars.len()).any(|i| leet(i).is_some()) {
        return std::borrow::Cow::Borrowed(w);
    }
    (0..chars.len())
        .map(|i| leet(i).unwrap_or(chars[i]))
        .collect::<String>()
        .into()
}

/// What "me" before it makes the writer's ("me mum", "me stuff").
const POSSESSED: &[&str] = &[
    "stuff", "things", "life", "room", "meds", "pills", "tablets", "hand", "hands", "arm", "arms",
    "wrist", "wrists", "leg", "legs", "thigh", "thighs", "head", "skin", "body", "mum", "mam",
    "ma", "dad", "da", "kids", "family", "granny", "nan", "brother", "sister", "wife", "husband",
    "car", "house", "flat", "bed", "bedroom", "will", "letters", "note", "dog", "cat",
];

/// Adverbs dropped between "to" and its verb.
const FILLERS: &[&str] = &[
    "just",
    "really",
    "literally",
    "actually",
    "simply",
    "finally",
    "quietly",
    "kinda",
    "lowkey",
];

/// Words after which "ill" means sick.
const ILL_BEFORE: &[&str] = &[
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "feel",
    "feeling",
    "felt",
    "so",
    "very",
    "really",
    "mentally",
    "terminally",
    "got",
    "get",
    "getting",
    "fell",
    "too",
];

/// `lol`, `haha`, `hahahaha`, `lmaooo`, `ahaha`.
fn is_laughter(w: &str) -> bool {
    let w = w.trim_matches('\'');
    if w.len() >= 4 && w.chars().all(|c| matches!(c, 'h' | 'a' | 'e')) && w.contains("ha") {
        return true;
    }
    if w.starts_with("lmao") || w.starts_with("lmfao") || w.starts_with("lolol") {
        return true;
    }
    matches!(
        w,
        "lol" | "lool" | "loool" | "rofl" | "xd" | "hehe" | "hehehe"
    )
}

/// Runs of three or more of one letter: kept as two when that spells a
/// word the lexicon knows ("alll" → "all"), else as one ("dieee" → "die").
fn squeeze(w: &str) -> String {
    let chars: Vec<char> = w.chars().collect();
    let has_run = chars.windows(3).any(|r| r[0] == r[1] && r[1] == r[2]);
    if !has_run {
        return w.to_owned();
    }
    let squeeze_to = |keep: usize| {
        let mut out = String::new();
        let mut run = 0;
        let mut last = None;
        for &c in &chars {
            if Some(c) == last {
                run += 1;
            } else {
                run = 1;
                last = Some(c);
            }
            if run <= keep {
                out.push(c);
            }
        }
        out
    };
    let two = squeeze_to(2);
    if known_words().contains(two.as_str()) {
        two
    } else {
        squeeze_to(1)
    }
}

/// Every word of the lexicon, for [`squeeze`].
fn known_words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        let mut set: HashSet<&'static str> = crate::lexicon::RULES
            .iter()
            .flat_map(|r| r.pattern.split([' ', '|']))
            .map(|w| w.trim_end_matches(['*', '?']))
            .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()))
            .collect();
        set.extend(SPELLED.iter().copied());
        set.extend(["all", "too", "good", "soon", "feel", "need", "see", "been"]);
        set
    })
}

/// Short words the lexicon reads that fast typing swaps two letters of
/// (`dei`, `wnat`); only a swap is corrected, as one edit of a short word
/// is often another word.
const SWAPPED: &[&str] = &[
    "die", "dead", "want", "kill", "hurt", "pills", "knife", "rope", "gone", "life",
];

/// A misspelling of a word the lexicon reads, corrected.
fn respell(w: &str) -> String {
    if known_words().contains(w) {
        return w.to_owned();
    }
    let chars: Vec<char> = w.chars().collect();
    if chars.len() < 6 {
        for key in SWAPPED {
            let k: Vec<char> = key.chars().collect();
            if k.len() == chars.len() {
                let diff: Vec<usize> = (0..k.len()).filter(|&i| k[i] != chars[i]).collect();
                if let [a, b] = diff.as_slice()
                    && *b == a + 1
                    && k[*a] == chars[*b]
                    && k[*b] == chars[*a]
                {
                    return (*key).to_owned();
                }
            }
        }
        return w.to_owned();
    }
    for key in SPELLED {
        let k: Vec<char> = key.chars().collect();
        if chars.len().abs_diff(k.len()) > 2 {
            continue;
        }
        let limit = if k.len() >= 9 { 2 } else { 1 };
        if distance(&chars, &k) <= limit {
            return (*key).to_owned();
        }
    }
    w.to_owned()
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

    fn flat(s: &str) -> String {
        clauses(s)
            .iter()
            .map(|c| c.words.join(" "))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    #[test]
    fn digits_inside_a_word_are_letters_and_others_are_kept() {
        let words = |m: &str| clauses(m).remove(0).words;
        assert_eq!(words("su1c1d4l k1ll"), ["suicidal", "kill"]);
        assert_eq!(words("my mp3 at 2am"), ["my", "mp3", "at", "2am"]);
    }

    #[test]
    fn shorthand_contractions_and_misspellings_are_written_out() {
        assert_eq!(flat("I'm SUCIDAL!!"), "i am suicidal");
        assert_eq!(flat("kms"), "kill myself");
        assert_eq!(flat("i wanna unalive myslef"), "i want to kill myself");
        assert_eq!(flat("cant do this anymoreee"), "can not do this anymore");
        assert_eq!(
            flat("i dont wanna be here tn"),
            "i do not want to be here tonight"
        );
        assert_eq!(flat("ill do it"), "i will do it");
        assert_eq!(flat("i feel ill"), "i feel ill");
    }

    #[test]
    fn clauses_end_at_punctuation_and_turning_words() {
        assert_eq!(
            flat("I used to cut, but I've been clean for two years"),
            "i used to cut | but i have been clean for two years"
        );
        assert_eq!(flat("im fine lol"), format!("i am fine {LAUGH}"));
        assert_eq!(flat("💊💊 tonight"), "pills pills tonight");
        assert_eq!(flat("i'm dead 💀"), format!("i am dead {LAUGH}"));
    }
}
