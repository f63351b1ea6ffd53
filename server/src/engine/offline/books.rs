//! BooksWriter's offline writer: deterministic outlines for each
//! specialist, built from the request's own words and the titles of what
//! the work builds on, in the `Key: value` lines every specialist answers
//! in.

use super::text::{Fnv, Rng, capitalise};
use shared::books::ArtifactKind;

/// The titles of the session's latest world, character and plot, which a
/// piece of work builds on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildsOn {
    pub world: Option<String>,
    pub character: Option<String>,
    pub plot: Option<String>,
}

/// The offline writer: an outline for `kind` from the request's words.
pub fn compose(kind: ArtifactKind, request: &str, context: &BuildsOn, seed: u64) -> String {
    let mut rng = Rng::new(
        Fnv::default().bytes(request.as_bytes()).finish()
            ^ seed
            ^ (kind as u64 + 1).wrapping_mul(0x9e37),
    );
    let genre = genre(request);
    let motif =
        motif(request).unwrap_or_else(|| rng.pick(&["Lantern", "Tide", "Crown", "Mirror"]).into());
    let world = context.world.clone();
    let hero = context.character.clone();
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
            let plot = context.plot.clone();
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
pub fn motif(request: &str) -> Option<String> {
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
