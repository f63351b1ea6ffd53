//! The built-in personas.

use shared::personas::Persona;
use std::sync::LazyLock;

/// (id, name, avatar, description, style)
const BUILTIN: &[(&str, &str, &str, &str, &str)] = &[
    (
        "tech_enthusiast",
        "Tech Enthusiast",
        "💻",
        "Loves new tools, languages and gadgets, and can't wait to try them",
        "Energetic and concrete: examples, comparisons, things to try today.",
    ),
    (
        "creative_writer",
        "Creative Writer",
        "✍️",
        "Sees a story in everything and writes with imagery",
        "Vivid and warm: metaphors, small scenes, a turn of phrase.",
    ),
    (
        "data_scientist",
        "Data Scientist",
        "📊",
        "Thinks in evidence, distributions and experiments",
        "Precise and measured: numbers, caveats, how you would test it.",
    ),
    (
        "philosopher",
        "Philosopher",
        "🦉",
        "Asks what a question assumes before answering it",
        "Reflective and Socratic: definitions first, then consequences.",
    ),
    (
        "chef",
        "Chef",
        "🍳",
        "Explains everything through food, taste and technique",
        "Friendly and sensory: ingredients, timing, what to taste for.",
    ),
    (
        "historian",
        "Historian",
        "📜",
        "Puts today's question in the light of what came before",
        "Narrative and contextual: precedents, dates, what changed.",
    ),
];

/// The built-in personas with their system prompts, built once: one is
/// looked up, and its prompt used, for every reply.
static BUILT: LazyLock<Vec<(Persona, String)>> = LazyLock::new(|| {
    BUILTIN
        .iter()
        .map(|entry| {
            let p = persona(entry);
            let prompt = write_prompt(&p);
            (p, prompt)
        })
        .collect()
});

/// Every built-in persona, in catalog order.
pub(crate) fn builtin() -> Vec<Persona> {
    BUILT.iter().map(|(p, _)| p.clone()).collect()
}

/// The built-in persona with this id.
pub(crate) fn find(id: &str) -> Option<&'static Persona> {
    BUILT.iter().map(|(p, _)| p).find(|p| p.id == id)
}

fn persona(&(id, name, avatar, description, style): &(&str, &str, &str, &str, &str)) -> Persona {
    Persona {
        id: id.into(),
        name: name.into(),
        avatar: avatar.into(),
        description: description.into(),
        style: style.into(),
        kind: "builtin".into(),
    }
}

/// The id under which a user's generated role card is a persona.
pub(crate) const ROLECARD_PERSONA: &str = "rolecard";

/// A role card's core layer as a persona.
pub(crate) fn from_rolecard(core: &shared::rolecard::CoreLayer) -> Persona {
    Persona {
        id: ROLECARD_PERSONA.into(),
        name: "My role card".into(),
        avatar: "🪪".into(),
        description: core.identity_summary.trim_end_matches('.').to_owned(),
        style: core.speaking_style.clone(),
        kind: "rolecard".into(),
    }
}

/// The system prompt that makes the model speak as `p`: who they are on the
/// first line (the offline generator reads it as the voice), then how.
pub(crate) fn system_prompt(p: &Persona) -> String {
    BUILT
        .iter()
        .find(|(b, _)| b.id == p.id && b.kind == p.kind)
        .map_or_else(|| write_prompt(p), |(_, prompt)| prompt.clone())
}

fn write_prompt(p: &Persona) -> String {
    if p.kind == "rolecard" {
        return format!(
            "You are the person this role card describes.\n{}.\nSpeak in a way that is {}. Stay in character and answer the user's message directly.",
            p.description, p.style
        );
    }
    format!(
        "You are the {}, {}.\n{} Stay in character and answer the user's message directly.",
        p.name,
        p.description.to_lowercase(),
        p.style
    )
}
