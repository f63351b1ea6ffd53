//! The built-in offline generator: the default provider, so Chorus works with
//! no key and no network.
//!
//! It writes a reply from the request itself: who it speaks as (the first
//! line of the system prompt), what it is asked to do (the rest of the
//! system prompt), and the user's own words (the key terms of the last
//! message), with phrasing picked by a seeded generator. The same request and
//! seed always give the same text; a different message gives a different
//! one. Length follows `max_tokens` (about 4 characters a token, at most ~900
//! characters, the size of a typical chat reply). Responses get an id, and
//! `previous_response_id` carries the conversation on.
//!
//! The features' own offline writers live here too, sharing [`text`]'s
//! generator, hash and `capitalise`: [`books`] (BooksWriter's outlines)
//! and [`rolecard`] (role cards from the memories' words).

pub mod books;
pub mod rolecard;
pub mod text;

use super::{GenEvent, GenRequest, GenStream, approx_tokens};
use futures_util::StreamExt;
use shared::stream::TokenUsage;
use text::{Fnv, Rng, capitalise};

/// Longest reply, in characters.
const MAX_REPLY_CHARS: usize = 900;

#[derive(Clone, Debug, Default)]
pub struct Offline;

impl Offline {
    pub fn generate(&self, req: GenRequest) -> GenStream {
        let text = compose(&req);
        stream_text(text, &req)
    }
}

/// `text` as a generation of `req`: word-sized deltas, then the usage. For
/// features that write their own offline text (BooksWriter's outlines).
pub fn stream_text(text: String, req: &GenRequest) -> GenStream {
    let usage = TokenUsage {
        prompt_tokens: req.prompt_tokens(),
        completion_tokens: approx_tokens(&text),
    };
    let response_id = format!("resp_offline_{:016x}", fingerprint(req));
    // Word-sized deltas, as a model would send them.
    let mut deltas: Vec<_> = split_words(&text)
        .into_iter()
        .map(|w| Ok(GenEvent::Delta(w)))
        .collect();
    deltas.push(Ok(GenEvent::Finish {
        usage,
        response_id: Some(response_id),
    }));
    futures_util::stream::iter(deltas).boxed()
}

/// The reply's text for `req`.
pub fn compose(req: &GenRequest) -> String {
    let mut rng = Rng::new(fingerprint(req));
    if req.system.starts_with("You are a supportive listener") {
        return compose_supportive(req, &mut rng);
    }
    let message = req.last_user_message();
    let terms = key_terms(message);
    let (voice, manner) = persona_of(&req.system);
    let budget = (req.max_tokens as usize * 4).clamp(40, MAX_REPLY_CHARS);
    let earlier = req.messages.len() > 1;

    let topic = match terms.as_slice() {
        [] => "what you asked".to_owned(),
        [a] => a.clone(),
        [a, b] => format!("{a} and {b}"),
        [a, b, c, ..] => format!("{a}, {b} and {c}"),
    };
    let mut parts: Vec<String> = Vec::new();
    parts.push(match rng.below(4) {
        0 => format!("You're asking about {topic}."),
        1 => format!("Good question on {topic}."),
        2 => format!("Let's talk about {topic}."),
        _ => format!("Here's how I see {topic}."),
    });
    if earlier {
        let step = rng.pick(&[
            "let me go one step further.",
            "here is the next piece.",
            "I'll pick up the thread.",
        ]);
        parts.push(format!("Building on what we said before, {step}"));
    }
    if let Some(v) = &voice {
        let stance = rng.pick(&[
            "here's my honest take",
            "this is what I actually think",
            "here's my angle on it",
            "let me give you the practical version",
        ]);
        match &manner {
            Some(m) => parts.push(format!(
                "Speaking as the {v}, and keeping it {m}, {stance}."
            )),
            None => parts.push(format!("Speaking as the {v}, {stance}.")),
        }
    }
    let frames = [
        "the heart of {t} is simpler than it looks.",
        "when it comes to {t}, start from what you already know.",
        "people often overlook how {t} connects to everything around it.",
        "a useful way into {t} is to ask what problem it solves.",
        "with {t}, the small details tend to matter most.",
        "I'd look at {t} from two sides: what it gives and what it costs.",
        "the best part of {t} is how it changes with practice.",
        "if {t} feels unclear, try one concrete example first.",
        "most disagreements about {t} come from different starting points.",
        "what surprises people about {t} is how old the core idea is.",
        "a year from now, {t} will look different again.",
        "the honest answer on {t} is: it depends on what you want from it.",
    ];
    // Each frame at most once, in a seeded order.
    let mut order: Vec<usize> = (0..frames.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let fallback = "it".to_owned();
    // The length the parts would join to, with a space after each.
    let mut length: usize = parts.iter().map(|p| p.len() + 1).sum();
    for (i, f) in order.into_iter().enumerate() {
        if length >= budget.saturating_sub(80) {
            break;
        }
        let t = terms.get(i % terms.len().max(1)).unwrap_or(&fallback);
        let part = capitalise(&frames[f].replace("{t}", t));
        length += part.len() + 1;
        parts.push(part);
    }
    parts.push(match rng.below(3) {
        0 => format!("What matters most to you about {topic}?"),
        1 => "Which part should we dig into next?".to_owned(),
        _ => "Does that match what you had in mind?".to_owned(),
    });
    let mut text = parts.join(" ");
    if text.chars().count() > budget {
        text = text.chars().take(budget).collect::<String>();
        if let Some(cut) = text.rfind(' ') {
            text.truncate(cut);
        }
        text.push('…');
    }
    text
}

/// A supportive reply, shaped by the `Reply intent:` line of the system
/// prompt (see `support::system_prompt`).
fn compose_supportive(req: &GenRequest, rng: &mut Rng) -> String {
    let intent = req
        .system
        .lines()
        .find_map(|l| l.strip_prefix("Reply intent: "))
        .unwrap_or("encourage")
        .trim();
    let message = req.last_user_message().to_lowercase();
    let feeling = [
        "anxious",
        "overwhelmed",
        "lonely",
        "hopeless",
        "sad",
        "stressed",
        "scared",
        "exhausted",
        "tired",
        "worthless",
        "empty",
        "depressed",
    ]
    .into_iter()
    .find(|f| message.contains(f));
    let topic = key_terms(req.last_user_message()).into_iter().next();
    if req.system.lines().any(|l| l == "About: someone else") {
        return format!(
            "{} It's hard to carry worry for someone you care about. You can help: stay with \
             them or keep in touch, ask them directly whether they are thinking about suicide \
             (asking does not put the idea in their head), and if it is safe, help put away \
             anything they could use to hurt themselves. You can call or text 988 together, and \
             988 also helps people who are worried about someone else. If they are in immediate \
             danger, call your local emergency number. How are you holding up?",
            rng.pick(&[
                "Thank you for looking out for them.",
                "I'm glad they have you."
            ])
        );
    }
    match intent {
        "escalate" => format!(
            "{} I'm really glad you told me, and I'm taking what you said seriously. \
             Your safety matters most right now. Please call or text 988 now (in the US), \
             or text HOME to 741741, or call your local emergency number if you are in \
             immediate danger. You don't have to go through this alone: I'm here, and we can \
             keep talking. Is there someone you trust who could be with you right now?",
            rng.pick(&["Thank you for trusting me with this.", "I hear you."])
        ),
        "explore" => format!(
            "{} It sounds like things feel really heavy right now. Can you tell me more about \
             what has been making you feel this way? If those thoughts get stronger, you can \
             call or text 988 any time, day or night.",
            rng.pick(&[
                "Thank you for telling me that.",
                "I'm glad you said it out loud."
            ])
        ),
        "validate" => match feeling {
            Some(f) => format!(
                "That sounds really hard, and it makes sense that you feel {f}. {} \
                 What has been weighing on you the most?",
                rng.pick(&[
                    "You don't have to have it all figured out today.",
                    "Feelings like this can be exhausting on their own.",
                ])
            ),
            None => "That sounds really hard, and what you feel makes sense. \
                     What has been weighing on you the most?"
                .to_owned(),
        },
        "inform" => format!(
            "Here are a few gentle things that often help{}: keep a steady routine, get some \
             daylight and movement, write down what is on your mind, and reach out to someone \
             you trust. Which of these feels doable for you this week?",
            topic.map(|t| format!(" with {t}")).unwrap_or_default()
        ),
        _ => format!(
            "{} I'm here to listen. What would you like to talk about today?",
            rng.pick(&["It's good to hear from you.", "Thanks for checking in."])
        ),
    }
}

/// From a system prompt like "You are the Chef, a cook.\nFriendly and
/// sensory: …": the persona's name ("Chef") and manner ("friendly and
/// sensory"), when there are any.
fn persona_of(system: &str) -> (Option<String>, Option<String>) {
    let mut lines = system.lines();
    let first = lines.next().unwrap_or("").trim();
    let voice = first
        .strip_prefix("You are ")
        .or_else(|| first.strip_prefix("you are "))
        .map(|rest| rest.trim_start_matches("the "))
        .map(|rest| {
            rest.split([',', '.'])
                .next()
                .unwrap_or(rest)
                .trim()
                .to_owned()
        })
        .filter(|v| !v.is_empty() && v.len() <= 60);
    let manner = lines
        .next()
        .and_then(|l| l.split([':', '.']).next())
        .map(|m| m.trim().to_lowercase())
        .filter(|m| !m.is_empty() && m.split_whitespace().count() <= 5);
    (voice, manner)
}

/// Up to three distinctive words of the message, in their order.
pub fn key_terms(message: &str) -> Vec<String> {
    const STOP: &[&str] = &[
        "about",
        "after",
        "again",
        "also",
        "because",
        "been",
        "being",
        "could",
        "does",
        "doing",
        "from",
        "have",
        "having",
        "here",
        "into",
        "just",
        "like",
        "more",
        "most",
        "much",
        "should",
        "some",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "think",
        "this",
        "those",
        "very",
        "what",
        "when",
        "where",
        "which",
        "while",
        "with",
        "would",
        "your",
        "you're",
        "favorite",
        "favourite",
        "please",
        "tell",
    ];
    let mut out: Vec<String> = Vec::new();
    for raw in message.split(|c: char| !c.is_alphanumeric() && c != '-' && c != '\'') {
        let raw = raw.trim_matches(|c: char| c == '-' || c == '\'');
        // Acronyms (AI, SQL) count however short; other words from 4 letters.
        let acronym = raw.len() >= 2 && raw.chars().all(|c| c.is_ascii_uppercase());
        let w = if acronym {
            raw.to_owned()
        } else {
            raw.to_lowercase()
        };
        if (!acronym && w.chars().count() < 4) || STOP.contains(&w.as_str()) || out.contains(&w) {
            continue;
        }
        out.push(w);
        if out.len() == 3 {
            break;
        }
    }
    out
}

/// Splits into words keeping their trailing spaces, so they join back exactly.
fn split_words(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_owned).collect()
}

/// FNV-1a over everything that shapes the reply.
fn fingerprint(req: &GenRequest) -> u64 {
    let mut h = Fnv::default().field(req.system.as_bytes());
    for m in &req.messages {
        h = h
            .field(m.role.as_str().as_bytes())
            .field(m.content.as_bytes());
    }
    h.field(req.previous_response_id.as_deref().unwrap_or("").as_bytes())
        .field(&req.seed.to_le_bytes())
        .field(&req.max_tokens.to_le_bytes())
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ChatMessage;

    fn text_of(req: GenRequest) -> String {
        let items: Vec<_> = futures_executor_block(Offline.generate(req));
        items
            .into_iter()
            .filter_map(|e| match e.unwrap() {
                GenEvent::Delta(d) => Some(d),
                GenEvent::Finish { .. } => None,
            })
            .collect()
    }

    fn futures_executor_block(s: GenStream) -> Vec<Result<GenEvent, super::super::EngineError>> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(s.collect())
    }

    fn persona_req(msg: &str) -> GenRequest {
        let mut r = GenRequest::new(msg);
        r.system =
            "You are Ada, a tech enthusiast.\nEnergetic and concrete: examples first.".into();
        r
    }

    #[test]
    fn the_same_request_gives_the_same_text() {
        let a = text_of(persona_req("What's your favorite programming language?"));
        let b = text_of(persona_req("What's your favorite programming language?"));
        assert_eq!(a, b);
    }

    #[test]
    fn different_input_or_seed_gives_different_text() {
        let a = text_of(persona_req("What's your favorite programming language?"));
        let b = text_of(persona_req("How do gardens survive a dry summer?"));
        assert_ne!(a, b);
        let mut seeded = persona_req("What's your favorite programming language?");
        seeded.seed = 7;
        assert_ne!(a, text_of(seeded));
    }

    #[test]
    fn the_reply_uses_the_persona_and_the_users_words() {
        let t = text_of(persona_req("How do gardens survive a dry summer?"));
        assert!(t.contains("Ada"), "{t}");
        assert!(t.contains("gardens"), "{t}");
        assert!(t.contains("summer"), "{t}");
        assert!(t.len() > 200, "a real reply, not a word: {t}");
        assert!(t.contains("energetic and concrete"), "{t}");
    }

    #[test]
    fn acronyms_are_topics_and_no_sentence_repeats() {
        let t = text_of(persona_req("What do you think about AI?"));
        assert!(t.contains("AI"), "{t}");
        let sentences: Vec<&str> = t.split(". ").collect();
        let unique: std::collections::HashSet<&&str> = sentences.iter().collect();
        assert_eq!(unique.len(), sentences.len(), "{t}");
    }

    #[test]
    fn max_tokens_bounds_the_length_and_usage_counts_it() {
        let mut r = persona_req("Tell me about rivers and mountains");
        r.max_tokens = 20;
        let t = text_of(r.clone());
        assert!(t.chars().count() <= 81, "{} chars: {t}", t.chars().count());
        let events = futures_executor_block(Offline.generate(r));
        match events.last().unwrap().as_ref().unwrap() {
            GenEvent::Finish { usage, response_id } => {
                assert_eq!(usage.completion_tokens, approx_tokens(&t));
                assert!(response_id.as_deref().unwrap().starts_with("resp_offline_"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_continued_conversation_differs_from_a_fresh_one() {
        let mut r = GenRequest::new("and what about testing?");
        let fresh = text_of(r.clone());
        r.messages.insert(0, ChatMessage::user("I like Rust"));
        r.previous_response_id = Some("resp_offline_1".into());
        assert_ne!(fresh, text_of(r));
    }
}
