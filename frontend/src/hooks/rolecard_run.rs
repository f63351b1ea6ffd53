//! A role-card generation as the page shows it: progress, the stage's
//! message, the streamed text, and the card when it completes. Plain logic,
//! tested natively.

use crate::json::Json;
use shared::rolecard::{RoleCard, RoleCardResult, ServerEvent};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleCardRun {
    pub running: bool,
    pub progress: u8,
    pub message: String,
    /// The generated text so far (`data` events).
    pub text: String,
    pub error: Option<String>,
    /// The card as saved (updated by each completed layer).
    pub card: Option<RoleCard>,
    /// The last seq applied: anything at or below it is a repeat.
    pub last_seq: u64,
}

impl RoleCardRun {
    /// A new generation starts.
    pub fn begin(&mut self, message: &str) {
        self.running = true;
        self.progress = 0;
        self.message = message.to_owned();
        self.text.clear();
        self.error = None;
        self.last_seq = 0;
    }

    /// Applies one event (with its seq); `true` when the run ended.
    pub fn apply(&mut self, seq: Option<u64>, ev: &ServerEvent) -> bool {
        if let Some(seq) = seq {
            if seq <= self.last_seq {
                return false;
            }
            self.last_seq = seq;
        }
        match ev {
            ServerEvent::Progress {
                progress,
                message,
                stage,
            } => {
                self.progress = self.progress.max(*progress);
                self.message = message.clone().unwrap_or_else(|| stage.replace('_', " "));
                false
            }
            ServerEvent::Data { content } => {
                self.text.push_str(content);
                false
            }
            ServerEvent::DataRestart { discarded, .. } => {
                let keep = self.text.chars().count().saturating_sub(*discarded);
                self.text = self.text.chars().take(keep).collect();
                false
            }
            ServerEvent::LayerProgress { layer, progress } => {
                self.message = format!("Layer {layer}: {progress}%");
                false
            }
            ServerEvent::LayerComplete { .. } | ServerEvent::BatchStart { .. } => false,
            ServerEvent::Complete { result } | ServerEvent::BatchComplete { result } => {
                let mut card = self.card.clone().unwrap_or_default();
                match result {
                    RoleCardResult::RoleCard(full) => card = full.clone(),
                    RoleCardResult::CoreLayer(core) => card.core_layer = Some(core.clone()),
                    RoleCardResult::RelationLayer(l) => card.upsert_relation(l.clone()),
                }
                self.card = Some(card);
                self.progress = 100;
                self.running = false;
                self.message = "Done".into();
                true
            }
            ServerEvent::Error { error } => {
                self.error = Some(error.clone());
                self.running = false;
                true
            }
        }
    }
}

/// Whether an event ends a role-card stream.
pub fn is_last(event: &ServerEvent) -> bool {
    matches!(
        event,
        ServerEvent::Complete { .. }
            | ServerEvent::Error { .. }
            | ServerEvent::BatchComplete { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(v: serde_json::Value) -> ServerEvent {
        crate::json::wire::tests::same(&v)
    }

    #[test]
    fn progress_text_and_card_build_up_without_repeats() {
        let mut r = RoleCardRun::default();
        r.begin("Starting");
        r.apply(Some(1), &ev(json!({"type":"progress","stage":"analyzing_memories","progress":25,"message":"Analyzing"})));
        r.apply(
            Some(2),
            &ev(json!({"type":"data","content":"Core layer. "})),
        );
        r.apply(
            Some(2),
            &ev(json!({"type":"data","content":"Core layer. "})),
        );
        r.apply(
            Some(3),
            &ev(json!({"type":"progress","stage":"x","progress":10})),
        );
        assert_eq!(
            (r.progress, r.text.as_str()),
            (25, "Core layer. "),
            "no repeat, never backwards"
        );
        let done = r.apply(Some(4), &ev(json!({"type":"complete","result":{"rolecard":{
            "coreLayer":{"identitySummary":"Someone kind.","personalityTraits":[],"values":[],"speakingStyle":"s","interests":[]},
            "relationLayers":[]}}})));
        assert!(done && !r.running);
        assert_eq!(r.progress, 100);
        assert_eq!(
            r.card.unwrap().core_layer.unwrap().identity_summary,
            "Someone kind."
        );
    }

    #[test]
    fn a_single_layer_updates_the_saved_card() {
        let mut r = RoleCardRun::default();
        r.apply(
            None,
            &ev(
                json!({"type":"complete","result":{"relationLayer":{"relationId":"r1","name":"Tom",
            "relationship":"brother","howTheyTreatThem":"h","sharedHistory":"s","tone":"t"}}}),
            ),
        );
        assert_eq!(r.card.unwrap().relation_layers[0].name, "Tom");
        assert!(is_last(&ev(
            json!({"type":"batch_complete","result":{"rolecard":{"relationLayers":[]}}})
        )));
        assert!(!is_last(&ev(json!({"type":"data","content":"x"}))));
    }
}

/// The text fields of a Character Card the export editor offers, in order:
/// (key in `data`, label).
pub const CARD_FIELDS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("description", "Description"),
    ("personality", "Personality"),
    ("scenario", "Scenario"),
    ("first_mes", "First message"),
    ("mes_example", "Example messages"),
    ("system_prompt", "System prompt"),
    ("creator_notes", "Creator notes"),
];

/// Most memories an imported card starts with, and the longest one.
const IMPORT_MAX: usize = 20;
const MEMORY_MAX_CHARS: usize = 4000;

/// A Character Card (V2/V3 `{spec, data}`, or V1 with the fields at the
/// top) → its name and the memories to start from: each paragraph of its
/// description, personality, scenario and example messages. `None` when it
/// is not a card.
pub fn card_memories(card: &Json) -> Option<(String, Vec<String>)> {
    let data = card.get("data").filter(|d| d.is_object()).unwrap_or(card);
    let text = |key: &str| data.get(key).and_then(Json::as_str).unwrap_or("");
    let name = text("name").trim().to_owned();
    let memories: Vec<String> = ["description", "personality", "scenario", "mes_example"]
        .into_iter()
        .flat_map(|key| text(key).split("\n\n"))
        .map(|p| p.trim().replace("{{char}}", &name).replace("<START>", ""))
        .map(|p| p.trim().chars().take(MEMORY_MAX_CHARS).collect::<String>())
        .filter(|p| !p.is_empty())
        .take(IMPORT_MAX)
        .collect();
    (!name.is_empty() || !memories.is_empty()).then_some((name, memories))
}

/// `card` (V2 or V3) with the edited text fields put into its `data`.
pub fn with_edits(mut card: Json, edits: &Json) -> Json {
    if let Some(data) = card.get_mut("data") {
        for (key, _) in CARD_FIELDS {
            if let Some(v) = edits.get(key).and_then(Json::as_str) {
                data.set(key, Json::Str(v.to_owned()));
            }
        }
    }
    card
}

#[cfg(test)]
mod card_tests {
    use super::*;
    use crate::json::from_serde;
    use serde_json::json;

    #[test]
    fn an_imported_card_gives_its_name_and_a_memory_per_paragraph() {
        let v2 = json!({"spec": "chara_card_v2", "spec_version": "2.0", "data": {
            "name": "Rosa", "description": "Bakes bread.\n\nHums while working.",
            "personality": "{{char}} is patient.", "scenario": "", "mes_example": "<START>\nHello"}});
        let (name, memories) = card_memories(&from_serde(v2)).unwrap();
        assert_eq!(name, "Rosa");
        assert_eq!(
            memories,
            [
                "Bakes bread.",
                "Hums while working.",
                "Rosa is patient.",
                "Hello"
            ]
        );
        let v1 = json!({"name": "Tom", "description": "A brother."});
        assert_eq!(card_memories(&from_serde(v1)).unwrap().1, ["A brother."]);
        assert!(card_memories(&from_serde(json!({"spec": "x"}))).is_none());
    }

    #[test]
    fn edits_go_into_the_cards_data_only_for_text_fields() {
        let card = json!({"spec": "chara_card_v3", "data": {"name": "My persona", "tags": []}});
        let out = with_edits(
            from_serde(card),
            &from_serde(json!({"name": "Rosa", "tags": "x"})),
        );
        let out: serde_json::Value = serde_json::from_str(&out.encode()).unwrap();
        assert_eq!(out["data"]["name"], "Rosa");
        assert_eq!(out["data"]["tags"], json!([]));
        assert_eq!(out["spec"], "chara_card_v3");
    }
}
