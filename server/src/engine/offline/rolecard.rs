//! The offline role card: derived from the memories' own words, so that
//! different memories give a different card. Traits, values and interests
//! come from small lexicons; each trait keeps the memories that show it as
//! evidence; relation layers come from the memories that name the person.

use shared::rolecard::{CoreLayer, Memory, Relation, RelationLayer, Trait};

/// (trait, words that show it)
const TRAITS: &[(&str, &[&str])] = &[
    (
        "curious",
        &[
            "learn", "explore", "wonder", "read", "curious", "question", "discover", "books",
            "museum",
        ],
    ),
    (
        "caring",
        &[
            "help",
            "care",
            "kind",
            "support",
            "listen",
            "hug",
            "looked after",
            "cooked for",
            "visit",
        ],
    ),
    (
        "adventurous",
        &[
            "travel",
            "hike",
            "climb",
            "adventure",
            "trip",
            "camping",
            "mountain",
            "sail",
            "abroad",
        ],
    ),
    (
        "creative",
        &[
            "paint", "draw", "write", "music", "guitar", "piano", "sing", "craft", "design", "poem",
        ],
    ),
    (
        "hardworking",
        &[
            "work", "late", "project", "deadline", "effort", "practice", "train", "study", "shift",
        ],
    ),
    (
        "funny",
        &[
            "laugh", "joke", "funny", "silly", "prank", "humor", "humour", "teased",
        ],
    ),
    (
        "organised",
        &[
            "plan", "list", "schedule", "organi", "tidy", "routine", "calendar",
        ],
    ),
    (
        "calm",
        &[
            "calm", "patient", "quiet", "peace", "relax", "gentle", "slow",
        ],
    ),
    (
        "loyal",
        &[
            "always there",
            "never forgot",
            "promise",
            "loyal",
            "trust",
            "every week",
            "every sunday",
        ],
    ),
    (
        "competitive",
        &[
            "win",
            "compete",
            "race",
            "match",
            "beat",
            "trophy",
            "tournament",
        ],
    ),
];

const VALUES: &[(&str, &[&str])] = &[
    (
        "family",
        &[
            "family", "mother", "father", "mom", "dad", "sister", "brother", "kids", "grand",
        ],
    ),
    ("honesty", &["honest", "truth", "lie", "straight"]),
    ("friendship", &["friend", "friends", "buddy", "pal"]),
    (
        "learning",
        &["learn", "study", "school", "read", "books", "teach"],
    ),
    ("kindness", &["kind", "help", "gave", "share", "volunteer"]),
    ("hard work", &["work", "effort", "practice", "shift", "job"]),
    (
        "nature",
        &[
            "garden", "forest", "mountain", "sea", "beach", "park", "birds",
        ],
    ),
    ("freedom", &["free", "travel", "road", "independent"]),
];

const INTERESTS: &[(&str, &[&str])] = &[
    (
        "cooking",
        &["cook", "bake", "recipe", "kitchen", "bread", "soup"],
    ),
    (
        "music",
        &[
            "music", "guitar", "piano", "sing", "song", "concert", "band",
        ],
    ),
    ("hiking", &["hike", "hiking", "trail", "mountain", "climb"]),
    ("reading", &["read", "book", "novel", "library"]),
    ("football", &["football", "soccer"]),
    (
        "gardening",
        &["garden", "plants", "flowers", "roses", "tomatoes"],
    ),
    ("travel", &["travel", "trip", "abroad", "flight", "journey"]),
    ("photography", &["photo", "camera", "picture"]),
    ("games", &["chess", "game", "cards", "puzzle"]),
    ("art", &["paint", "draw", "museum", "gallery"]),
    ("movies", &["movie", "film", "cinema"]),
];

fn has(text: &str, word: &str) -> bool {
    text.contains(word)
}

/// The core layer from the memories.
pub fn core_layer(memories: &[Memory]) -> CoreLayer {
    let lowered: Vec<String> = memories.iter().map(|m| m.content.to_lowercase()).collect();
    let mut traits: Vec<(usize, Trait)> = TRAITS
        .iter()
        .filter_map(|(name, words)| {
            let evidence: Vec<String> = memories
                .iter()
                .zip(&lowered)
                .filter(|(_, l)| words.iter().any(|w| has(l, w)))
                .map(|(m, _)| quote(&m.content))
                .collect();
            (!evidence.is_empty()).then(|| {
                let n = evidence.len();
                (
                    n,
                    Trait {
                        name: (*name).to_owned(),
                        evidence: evidence.into_iter().take(3).collect(),
                    },
                )
            })
        })
        .collect();
    traits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name.cmp(&b.1.name)));
    let traits: Vec<Trait> = traits.into_iter().take(5).map(|(_, t)| t).collect();
    let pick = |table: &[(&str, &[&str])]| -> Vec<String> {
        let mut found: Vec<(usize, String)> = table
            .iter()
            .map(|(name, words)| {
                let hits = lowered
                    .iter()
                    .filter(|l| words.iter().any(|w| has(l, w)))
                    .count();
                (hits, (*name).to_owned())
            })
            .filter(|(h, _)| *h > 0)
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        found.into_iter().take(4).map(|(_, n)| n).collect()
    };
    let values = pick(VALUES);
    let mut interests = pick(INTERESTS);
    if interests.is_empty() {
        let all = memories
            .iter()
            .map(|m| m.content.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        interests = crate::engine::offline::key_terms(&all);
    }
    let trait_names: Vec<&str> = traits.iter().map(|t| t.name.as_str()).collect();
    let identity_summary = format!(
        "Someone {}{}{}.",
        match trait_names.as_slice() {
            [] => "whose memories are still few".to_owned(),
            [a] => format!("who is {a}"),
            [a, b] => format!("who is {a} and {b}"),
            [a, b, rest @ ..] => format!("who is {a}, {b} and {}", rest[0]),
        },
        if values.is_empty() {
            String::new()
        } else {
            format!(", who cares about {}", join_and(&values))
        },
        if interests.is_empty() {
            String::new()
        } else {
            format!(", and who loves {}", join_and(&interests))
        },
    );
    CoreLayer {
        identity_summary,
        personality_traits: traits,
        values,
        speaking_style: speaking_style(memories),
        interests,
    }
}

/// A relation layer from the memories that mention them.
pub fn relation_layer(relation: &Relation, memories: &[Memory]) -> RelationLayer {
    let name = relation.name.to_lowercase();
    let first = name.split_whitespace().next().unwrap_or(&name).to_owned();
    let about: Vec<&Memory> = memories
        .iter()
        .filter(|m| {
            let l = m.content.to_lowercase();
            l.contains(&first) || l.contains(&relation.relationship.to_lowercase())
        })
        .collect();
    let traits = core_layer(&about.iter().map(|m| (*m).clone()).collect::<Vec<_>>());
    let how = match traits.personality_traits.first() {
        Some(t) => format!("With {} they are {}", relation.name, t.name),
        None => format!("They keep {} close", relation.name),
    };
    let how = if relation.notes.trim().is_empty() {
        format!("{how}.")
    } else {
        format!("{how}; {}.", relation.notes.trim().trim_end_matches('.'))
    };
    let shared_history = if about.is_empty() {
        format!("No memories mention {} yet.", relation.name)
    } else {
        about
            .iter()
            .take(2)
            .map(|m| quote(&m.content))
            .collect::<Vec<_>>()
            .join(" ")
    };
    RelationLayer {
        relation_id: relation.id.clone(),
        name: relation.name.clone(),
        relationship: relation.relationship.clone(),
        how_they_treat_them: how,
        shared_history,
        tone: tone_for(&relation.relationship).to_owned(),
    }
}

fn tone_for(relationship: &str) -> &'static str {
    let r = relationship.to_lowercase();
    if ["mother", "father", "mom", "dad", "parent", "grand"]
        .iter()
        .any(|w| r.contains(w))
    {
        "warm and respectful"
    } else if ["brother", "sister", "sibling", "cousin"]
        .iter()
        .any(|w| r.contains(w))
    {
        "teasing and loyal"
    } else if ["partner", "wife", "husband", "girlfriend", "boyfriend"]
        .iter()
        .any(|w| r.contains(w))
    {
        "affectionate and open"
    } else if ["boss", "colleague", "coworker", "manager", "teacher"]
        .iter()
        .any(|w| r.contains(w))
    {
        "friendly and professional"
    } else if r.contains("friend") {
        "relaxed and playful"
    } else {
        "friendly"
    }
}

fn speaking_style(memories: &[Memory]) -> String {
    let text: String = memories
        .iter()
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let sentences = text
        .split(['.', '!', '?'])
        .filter(|s| !s.trim().is_empty())
        .count()
        .max(1);
    let words = text.split_whitespace().count();
    let avg = words / sentences;
    let mut parts = vec![if avg <= 10 {
        "short and direct"
    } else {
        "unhurried and descriptive"
    }];
    if text.contains('!') {
        parts.push("enthusiastic");
    }
    if text.contains('"') || text.contains("says") || text.contains("said") {
        parts.push("with favourite sayings");
    }
    parts.join(", ")
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A memory as evidence: quoted, at most ~120 characters.
fn quote(content: &str) -> String {
    let short: String = content.chars().take(120).collect();
    if short.len() < content.len() {
        format!("\u{201c}{}…\u{201d}", short.trim_end())
    } else {
        format!("\u{201c}{}\u{201d}", short.trim_end())
    }
}

/// The layer as text, for the `data` events.
pub fn describe_core(c: &CoreLayer) -> String {
    let mut out = format!("Core layer. {} ", c.identity_summary);
    for t in &c.personality_traits {
        out.push_str(&format!("Trait: {} — {} ", t.name, t.evidence.join(" ")));
    }
    if !c.values.is_empty() {
        out.push_str(&format!("Values: {}. ", join_and(&c.values)));
    }
    out.push_str(&format!("Speaking style: {}. ", c.speaking_style));
    if !c.interests.is_empty() {
        out.push_str(&format!("Interests: {}. ", join_and(&c.interests)));
    }
    out
}

pub fn describe_relation(r: &RelationLayer) -> String {
    format!(
        "Relation layer for {} ({}). {} Shared history: {} Tone: {}. ",
        r.name, r.relationship, r.how_they_treat_them, r.shared_history, r.tone
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(s: &str) -> Memory {
        Memory {
            id: "m".into(),
            content: s.into(),
            created_at: String::new(),
        }
    }

    #[test]
    fn the_card_comes_from_the_memories_words() {
        let a = core_layer(&[
            mem("She bakes bread every Sunday for the whole family."),
            mem("She taught me to play piano and sing."),
            mem("She would help any neighbour who asked."),
        ]);
        assert!(a.interests.contains(&"cooking".to_owned()), "{a:?}");
        assert!(a.interests.contains(&"music".to_owned()), "{a:?}");
        assert!(a.values.contains(&"family".to_owned()));
        let caring = a
            .personality_traits
            .iter()
            .find(|t| t.name == "caring")
            .unwrap();
        assert!(caring.evidence[0].contains("neighbour"));
        let b = core_layer(&[mem(
            "He climbed mountains and travelled abroad every summer!",
        )]);
        assert_ne!(a, b);
        assert!(b.personality_traits.iter().any(|t| t.name == "adventurous"));
        assert!(b.speaking_style.contains("enthusiastic"));
    }

    #[test]
    fn relation_layers_quote_what_mentions_them() {
        let r = Relation {
            id: "r1".into(),
            name: "Sam".into(),
            relationship: "brother".into(),
            notes: "lives in Oslo".into(),
        };
        let l = relation_layer(
            &r,
            &[
                mem("Sam and I used to race bikes."),
                mem("Unrelated memory."),
            ],
        );
        assert!(l.shared_history.contains("race bikes"));
        assert_eq!(l.tone, "teasing and loyal");
        assert!(l.how_they_treat_them.contains("lives in Oslo"));
    }
}
