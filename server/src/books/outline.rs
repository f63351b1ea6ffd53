//! What the specialists write, and how their text becomes an artifact.
//!
//! Every specialist answers in `Key: value` lines, starting with `Title:`
//! (or `Name:`), so a model's text and the offline writer's text are read
//! the same way by [`parse`]. [`route`] decides which specialists a request
//! needs; [`compose`] is the offline writer: deterministic outlines built
//! from the request's own words and the artifacts it builds on.

use shared::books::ArtifactKind;

/// Which specialists a request needs, in the order they work: a world
/// first, then the people in it, then the plot, then who writes it.
pub fn route(content: &str) -> Vec<ArtifactKind> {
    const WORDS: [(ArtifactKind, &[&str]); 4] = [
        (
            ArtifactKind::World,
            &[
                "world",
                "setting",
                "realm",
                "kingdom",
                "planet",
                "universe",
                "map",
                "continent",
                "empire",
            ],
        ),
        (
            ArtifactKind::Character,
            &[
                "character",
                "hero",
                "heroine",
                "villain",
                "protagonist",
                "antagonist",
                "sidekick",
                "cast",
            ],
        ),
        (
            ArtifactKind::Plot,
            &[
                "plot",
                "story",
                "novel",
                "book",
                "outline",
                "storyline",
                "saga",
                "narrative",
                "tale",
                "chapter",
                "trilogy",
                "novella",
            ],
        ),
        (
            ArtifactKind::Author,
            &[
                "author",
                "writer",
                "novelist",
                "pen-name",
                "penname",
                "biography",
            ],
        ),
    ];
    let lower = content.to_lowercase().replace("pen name", "pen-name");
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .collect();
    // "for my story", "this plot": work that exists already, not a request.
    const EXISTING: &[&str] = &["my", "this", "our", "that", "existing", "current"];
    let asked = |keys: &[&str]| {
        words.iter().enumerate().any(|(i, w)| {
            keys.iter()
                .any(|k| *w == *k || w.strip_suffix('s') == Some(k))
                && !(i > 0 && EXISTING.contains(&words[i - 1]))
        })
    };
    WORDS
        .into_iter()
        .filter(|(_, keys)| asked(keys))
        .map(|(kind, _)| kind)
        .collect()
}

/// The lines each kind answers with, after the title.
pub fn keys(kind: ArtifactKind) -> &'static [&'static str] {
    match kind {
        ArtifactKind::Plot => &[
            "Genre",
            "Premise",
            "Setting",
            "Protagonist",
            "Act I",
            "Act II",
            "Act III",
            "Themes",
        ],
        ArtifactKind::World => &["Genre", "Geography", "Magic", "Peoples", "Conflict"],
        ArtifactKind::Character => &["Role", "Traits", "Backstory", "Goal", "Home"],
        ArtifactKind::Author => &["Voice", "Influences", "Biography", "Signature work"],
    }
}

/// An earlier artifact a piece of work can build on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Made {
    pub id: String,
    pub title: String,
    /// A few of its fields, for the prompt.
    pub summary: String,
}

/// What a piece of work builds on: the session's latest world, character
/// and plot.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub world: Option<Made>,
    pub character: Option<Made>,
    pub plot: Option<Made>,
}

impl Context {
    /// Remembers `made` as the latest of its kind (authors build nothing on).
    pub fn record(&mut self, kind: ArtifactKind, made: Made) {
        match kind {
            ArtifactKind::World => self.world = Some(made),
            ArtifactKind::Character => self.character = Some(made),
            ArtifactKind::Plot => self.plot = Some(made),
            ArtifactKind::Author => {}
        }
    }

    /// What `kind` builds on, with the label the prompt gives it.
    fn used_by(&self, kind: ArtifactKind) -> Vec<(&'static str, &Made)> {
        let wanted: &[(&'static str, &Option<Made>)] = match kind {
            ArtifactKind::World => &[],
            ArtifactKind::Character => &[("world", &self.world)],
            ArtifactKind::Plot => &[("world", &self.world), ("character", &self.character)],
            ArtifactKind::Author => &[("plot", &self.plot)],
        };
        wanted
            .iter()
            .filter_map(|(label, made)| made.as_ref().map(|m| (*label, m)))
            .collect()
    }

    /// The ids used, for `builds_on`.
    pub fn ids_for(&self, kind: ArtifactKind) -> Vec<String> {
        self.used_by(kind)
            .into_iter()
            .map(|(_, m)| m.id.clone())
            .collect()
    }

    /// Prompt lines about what this kind builds on.
    pub fn prompt_for(&self, kind: ArtifactKind) -> String {
        self.used_by(kind)
            .into_iter()
            .map(|(label, m)| format!("Use the session's {label} \"{}\": {}\n", m.title, m.summary))
            .collect()
    }
}

/// The system prompt of a specialist.
pub fn system_prompt(kind: ArtifactKind, context: &Context) -> String {
    let first = if kind == ArtifactKind::Character || kind == ArtifactKind::Author {
        "Name"
    } else {
        "Title"
    };
    let lines: Vec<String> = std::iter::once(first.to_owned())
        .chain(keys(kind).iter().map(|k| (*k).to_owned()))
        .collect();
    format!(
        "You are the {agent} of BooksWriter, a team of writing agents.\n\
         Create one {kind} for the writer's request. Answer only with these lines, \
         each as `Key: value` on one line, in this order: {lines}.\n{context}",
        agent = kind.agent(),
        kind = kind.as_str(),
        lines = lines.join(", "),
        context = context.prompt_for(kind),
    )
}

/// A parsed answer: its title and fields (snake_case keys).
pub fn parse(
    kind: ArtifactKind,
    text: &str,
    request: &str,
) -> (String, serde_json::Map<String, serde_json::Value>) {
    let mut fields = serde_json::Map::new();
    let mut title = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = key.trim_matches(|c: char| c == '*' || c == '#' || c == '-' || c.is_whitespace());
        let value = value.trim_matches(|c: char| c == '*' || c.is_whitespace());
        if key.is_empty() || value.is_empty() || key.split_whitespace().count() > 3 {
            continue;
        }
        let snake: String = key
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("_");
        if (snake == "title" || snake == "name") && title.is_none() {
            title = Some(value.to_owned());
        } else {
            fields.insert(snake, serde_json::Value::String(value.to_owned()));
        }
    }
    let title = title
        .or_else(|| {
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(|l| l.chars().take(80).collect())
        })
        .unwrap_or_else(|| fallback_title(kind, request));
    (title, fields)
}

fn fallback_title(kind: ArtifactKind, request: &str) -> String {
    let motif = motif(request).unwrap_or_else(|| "Story".into());
    format!("Untitled {} of the {motif}", kind.as_str())
}

/// The offline writer: an outline for `kind` from the request's words.
pub fn compose(kind: ArtifactKind, request: &str, context: &Context, seed: u64) -> String {
    let mut rng = Rng(fnv(request.as_bytes()) ^ seed ^ (kind as u64 + 1).wrapping_mul(0x9e37) | 1);
    let genre = genre(request);
    let motif =
        motif(request).unwrap_or_else(|| rng.pick(&["Lantern", "Tide", "Crown", "Mirror"]).into());
    let world = context.world.as_ref().map(|m| m.title.clone());
    let hero = context.character.as_ref().map(|m| m.title.clone());
    let place = world.clone().unwrap_or_else(|| {
        format!(
            "{}{}",
            rng.pick(&["Ember", "Frost", "Thorn", "Gloam", "Silver", "Hollow"]),
            rng.pick(&["reach", "mere", "vale", "hold", "march", "fall"])
        )
    });
    let name = format!(
        "{} {}",
        rng.pick(&[
            "Aria", "Tomas", "Ilse", "Kael", "Mira", "Oren", "Sable", "Wren"
        ]),
        rng.pick(&[
            "Vance", "Hale", "Marrow", "Ashdown", "Quill", "Thorne", "Calder"
        ])
    );
    let hero = hero.unwrap_or(name);
    let m = motif.to_lowercase();
    let lines: Vec<(String, String)> = match kind {
        ArtifactKind::Plot => {
            let title = match rng.below(4) {
                0 => format!("The {motif}'s Last Stand"),
                1 => format!("Ashes of the {motif}"),
                2 => format!("The {motif} of {place}"),
                _ => format!("When the {motif} Wakes"),
            };
            vec![
                ("Title".into(), title),
                ("Genre".into(), capitalise(&genre)),
                (
                    "Premise".into(),
                    format!(
                        "In {place}, the last {m} stirs after a century of silence, and {hero} is the only one who can reach it before the old war begins again."
                    ),
                ),
                ("Setting".into(), place.clone()),
                ("Protagonist".into(), hero.clone()),
                (
                    "Act I".into(),
                    format!(
                        "{hero} finds proof that the {m} survived and is hunted for knowing it."
                    ),
                ),
                (
                    "Act II".into(),
                    format!(
                        "Allies split over whether the {m} should be saved or silenced; {hero} loses the one place that was home."
                    ),
                ),
                (
                    "Act III".into(),
                    format!(
                        "At the heart of {place}, {hero} chooses between the {m} and the people who raised them, and the choice remakes the world."
                    ),
                ),
                (
                    "Themes".into(),
                    rng.pick(&[
                        "loyalty and its price",
                        "what we owe the past",
                        "power that cannot be shared",
                        "courage without certainty",
                    ])
                    .into(),
                ),
            ]
        }
        ArtifactKind::World => vec![
            ("Title".into(), place.clone()),
            ("Genre".into(), capitalise(&genre)),
            (
                "Geography".into(),
                format!(
                    "{place} is a land of {} where the old roads follow the paths of the {m}.",
                    rng.pick(&[
                        "broken mountains",
                        "drowned forests",
                        "salt flats",
                        "river cities"
                    ])
                ),
            ),
            (
                "Magic".into(),
                format!("Power comes from bargains with the {m}; every spell costs a memory."),
            ),
            (
                "Peoples".into(),
                format!(
                    "The {} of the lowlands and the {} who keep the high passes.",
                    rng.pick(&["river clans", "guild cities", "salt traders"]),
                    rng.pick(&["watchers", "pilgrims", "exiles"])
                ),
            ),
            (
                "Conflict".into(),
                format!("Who may speak for the {m} now that its last keeper is gone."),
            ),
        ],
        ArtifactKind::Character => vec![
            ("Name".into(), hero.clone()),
            (
                "Role".into(),
                rng.pick(&[
                    "reluctant hero",
                    "exiled scholar",
                    "the villain's heir",
                    "wandering healer",
                ])
                .into(),
            ),
            (
                "Traits".into(),
                rng.pick(&[
                    "stubborn, curious, quietly kind",
                    "sharp-tongued, loyal, afraid of the dark",
                    "patient, secretive, fiercely fair",
                ])
                .into(),
            ),
            (
                "Backstory".into(),
                format!(
                    "Raised in {place}, {hero} grew up on stories of the {m} and never believed them."
                ),
            ),
            (
                "Goal".into(),
                format!("To find out what really happened to the {m}, whatever it costs."),
            ),
            ("Home".into(), place.clone()),
        ],
        ArtifactKind::Author => {
            let plot = context.plot.as_ref().map(|m| m.title.clone());
            vec![
                (
                    "Name".into(),
                    format!(
                        "{} {}",
                        rng.pick(&["E. M.", "J. R.", "Celia", "Marcus", "Ada", "Rowan"]),
                        rng.pick(&["Blackwood", "Ferrante", "Lark", "Okafor", "Steel"])
                    ),
                ),
                (
                    "Voice".into(),
                    format!(
                        "{} prose for {genre}, close on its characters and patient with its {m}.",
                        rng.pick(&["Lyrical", "Spare", "Warm", "Wry"])
                    ),
                ),
                (
                    "Influences".into(),
                    rng.pick(&[
                        "Le Guin and Pratchett",
                        "Tolkien and Jemisin",
                        "Hobb and Gaiman",
                    ])
                    .into(),
                ),
                (
                    "Biography".into(),
                    "Taught literature for a decade before writing full time; lives by the sea."
                        .into(),
                ),
                (
                    "Signature work".into(),
                    plot.unwrap_or_else(|| format!("The {motif} Letters")),
                ),
            ]
        }
    };
    lines
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The request's genre word, or a default.
fn genre(request: &str) -> String {
    let lower = request.to_lowercase();
    for g in [
        "science fiction",
        "sci-fi",
        "fantasy",
        "mystery",
        "romance",
        "horror",
        "thriller",
        "historical",
        "western",
        "dystopian",
        "adventure",
    ] {
        if lower.contains(g) {
            return g.to_owned();
        }
    }
    "literary fiction".to_owned()
}

/// The request's most distinctive noun, singular and capitalised
/// ("dragons" → "Dragon").
fn motif(request: &str) -> Option<String> {
    // Three-letter words that are not a motif ("ice", "sea", "war" are).
    const SHORT_STOP: &[&str] = &[
        "the", "and", "for", "with", "new", "set", "now", "one", "two", "who", "its", "his", "her",
        "our", "you", "are", "was", "has", "had", "but", "not", "all", "any", "can", "get", "let",
        "out", "own", "big", "old", "way", "few", "how", "why", "yet", "too", "per",
    ];
    const SKIP: &[&str] = &[
        "create",
        "write",
        "make",
        "build",
        "novel",
        "book",
        "story",
        "plot",
        "world",
        "character",
        "author",
        "fantasy",
        "about",
        "with",
        "some",
        "magic",
        "please",
        "outline",
        "writer",
        "science",
        "fiction",
        "mystery",
        "romance",
        "horror",
        "thriller",
        "invent",
        "design",
        "generate",
        "give",
        "need",
        "want",
        "short",
        "long",
        "good",
        "great",
        "there",
        "story",
        "series",
        "setting",
        "hero",
        "villain",
        "character",
        "create",
    ];
    request
        .split(|c: char| !c.is_alphabetic())
        .map(str::to_lowercase)
        .find(|t| {
            let n = t.chars().count();
            (n >= 4 && !crate::engine::offline::key_terms(t).is_empty()
                || n == 3 && !SHORT_STOP.contains(&t.as_str()))
                && !SKIP
                    .iter()
                    .any(|s| t == s || t.strip_suffix('s') == Some(s))
        })
        .map(|t| {
            let single = if t.ends_with("ies") {
                format!("{}y", &t[..t.len() - 3])
            } else if t.ends_with('s') && !t.ends_with("ss") {
                t[..t.len() - 1].to_owned()
            } else {
                t
            };
            capitalise(&single)
        })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_route_to_the_specialists_they_need_in_working_order() {
        assert_eq!(
            route("Create a fantasy novel with dragons and magic"),
            [ArtifactKind::Plot]
        );
        assert_eq!(
            route("A plot set in a new world, with a villain"),
            [
                ArtifactKind::World,
                ArtifactKind::Character,
                ArtifactKind::Plot
            ]
        );
        assert_eq!(
            route("Create a villain for my story"),
            [ArtifactKind::Character]
        );
        assert_eq!(
            route("Invent an author for this plot"),
            [ArtifactKind::Author]
        );
        assert_eq!(
            route("Invent an author with a pen name"),
            [ArtifactKind::Author]
        );
        assert_eq!(route("Build two worlds"), [ArtifactKind::World]);
        assert_eq!(motif("Build a world of ice").as_deref(), Some("Ice"));
        assert_eq!(
            motif("a fantasy novel with dragons").as_deref(),
            Some("Dragon")
        );
        assert_eq!(motif("write the one for me"), None);
        assert!(route("hello there").is_empty());
    }

    #[test]
    fn the_offline_plot_is_an_outline_that_parses_back() {
        let text = compose(
            ArtifactKind::Plot,
            "a fantasy novel with dragons",
            &Context::default(),
            1,
        );
        let (title, fields) = parse(ArtifactKind::Plot, &text, "a fantasy novel with dragons");
        assert!(title.contains("Dragon"), "{title}");
        assert_eq!(fields["genre"], "Fantasy");
        for key in [
            "premise",
            "setting",
            "protagonist",
            "act_i",
            "act_ii",
            "act_iii",
            "themes",
        ] {
            assert!(fields.contains_key(key), "{key} in {fields:?}");
        }
        assert_eq!(
            text,
            compose(
                ArtifactKind::Plot,
                "a fantasy novel with dragons",
                &Context::default(),
                1
            )
        );
    }

    #[test]
    fn a_plot_builds_on_the_sessions_world() {
        let context = Context {
            world: Some(Made {
                id: "world-1".into(),
                title: "Saltmere".into(),
                summary: "a drowned land".into(),
            }),
            ..Context::default()
        };
        let text = compose(ArtifactKind::Plot, "a story about lighthouses", &context, 2);
        let (_, fields) = parse(ArtifactKind::Plot, &text, "");
        assert_eq!(fields["setting"], "Saltmere");
        assert!(system_prompt(ArtifactKind::Plot, &context).contains("\"Saltmere\""));
    }

    #[test]
    fn model_text_with_markdown_still_parses() {
        let (title, fields) = parse(
            ArtifactKind::World,
            "**Title:** Glassdeep\n- **Geography:** caves\nSome prose without a key.",
            "",
        );
        assert_eq!(title, "Glassdeep");
        assert_eq!(fields["geography"], "caves");
        let (title, _) = parse(ArtifactKind::World, "Just prose.", "worlds of ice");
        assert_eq!(title, "Just prose.");
    }
}
