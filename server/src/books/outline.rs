//! What the specialists write, and how their text becomes an artifact.
//!
//! Every specialist answers in `Key: value` lines, starting with `Title:`
//! (or `Name:`), so a model's text and the offline writer's text are read
//! the same way by [`parse`]. [`route`] decides which specialists a request
//! needs. The offline writer is `engine::offline::books`.

use crate::engine::offline::books::{BuildsOn, motif};
use shared::books::ArtifactKind;

/// Which specialists a request needs, in the order they work: a world
/// first, then the people in it, then the plot, then who writes it.
pub(crate) fn route(content: &str) -> Vec<ArtifactKind> {
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
pub(crate) fn keys(kind: ArtifactKind) -> &'static [&'static str] {
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
pub(crate) struct Made {
    pub id: String,
    pub title: String,
    /// A few of its fields, for the prompt.
    pub summary: String,
}

/// What a piece of work builds on: the session's latest world, character
/// and plot.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub world: Option<Made>,
    pub character: Option<Made>,
    pub plot: Option<Made>,
}

impl Context {
    /// Remembers `made` as the latest of its kind (authors build nothing on).
    pub(crate) fn record(&mut self, kind: ArtifactKind, made: Made) {
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

    /// The titles the offline writer builds on.
    pub(crate) fn titles(&self) -> BuildsOn {
        let title = |m: &Option<Made>| m.as_ref().map(|m| m.title.clone());
        BuildsOn {
            world: title(&self.world),
            character: title(&self.character),
            plot: title(&self.plot),
        }
    }

    /// The ids used, for `builds_on`.
    pub(crate) fn ids_for(&self, kind: ArtifactKind) -> Vec<String> {
        self.used_by(kind)
            .into_iter()
            .map(|(_, m)| m.id.clone())
            .collect()
    }

    /// Prompt lines about what this kind builds on.
    pub(crate) fn prompt_for(&self, kind: ArtifactKind) -> String {
        self.used_by(kind)
            .into_iter()
            .map(|(label, m)| format!("Use the session's {label} \"{}\": {}\n", m.title, m.summary))
            .collect()
    }
}

/// The system prompt of a specialist.
pub(crate) fn system_prompt(kind: ArtifactKind, context: &Context) -> String {
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
pub(crate) fn parse(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::offline::books::compose;

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
            &BuildsOn::default(),
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
                &BuildsOn::default(),
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
        let text = compose(
            ArtifactKind::Plot,
            "a story about lighthouses",
            &context.titles(),
            2,
        );
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
