//! A role-card generation as the page shows it: progress, the stage's
//! message, the streamed text, and the card when it completes. Plain logic,
//! tested natively.

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
pub fn is_last(kind: &str) -> bool {
    matches!(kind, "complete" | "error" | "batch_complete")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(v: serde_json::Value) -> ServerEvent {
        serde_json::from_value(v).unwrap()
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
        assert!(is_last("batch_complete") && !is_last("data"));
    }
}
