//! Role cards. Memories and relations in (REST), a layered role
//! card out, streamed over SSE with live progress.
//!
//! Streams (`data: {json}` lines, the type inside the JSON, `id:` = seq):
//! `POST|GET /api/rolecard/generate/stream`, `/api/rolecard/layers/core/stream`,
//! `/api/rolecard/layers/relation/{relationId}/stream`,
//! `/api/rolecard/layers/batch/stream`. The card's JSON is camelCase, as in
//! the seed.

use serde::{Deserialize, Serialize};

/// A memory about the person (`GET/POST /api/memories`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Memory {
    pub id: String,
    pub content: String,
    pub created_at: String,
}

/// `POST /api/memories` body: 1–4000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewMemory {
    pub content: String,
}

/// Someone in the person's life (`GET/POST /api/relations`); its id is the
/// seed's `relationId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Relation {
    pub id: String,
    pub name: String,
    pub relationship: String,
    pub notes: String,
}

/// `POST /api/relations` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NewRelation {
    pub name: String,
    pub relationship: String,
    #[serde(default)]
    pub notes: String,
}

/// Limits.
pub const MAX_MEMORY_CHARS: usize = 4000;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_NOTES_CHARS: usize = 2000;

/// Options of `generate/stream` (body `{"options":{…}}`, or query
/// parameters on `GET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GenerateOptions {
    #[serde(default = "yes")]
    pub include_core: bool,
    #[serde(default = "yes")]
    pub include_relations: bool,
}

fn yes() -> bool {
    true
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            include_core: true,
            include_relations: true,
        }
    }
}

/// A personality trait and the memories that show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Trait {
    pub name: String,
    /// Quotes from the memories that support it.
    pub evidence: Vec<String>,
}

/// The core personality layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CoreLayer {
    pub identity_summary: String,
    pub personality_traits: Vec<Trait>,
    pub values: Vec<String>,
    pub speaking_style: String,
    pub interests: Vec<String>,
}

/// How the person relates to one person in their life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RelationLayer {
    pub relation_id: String,
    pub name: String,
    pub relationship: String,
    pub how_they_treat_them: String,
    pub shared_history: String,
    pub tone: String,
}

/// The whole card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoleCard {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_layer: Option<CoreLayer>,
    #[serde(default)]
    pub relation_layers: Vec<RelationLayer>,
}

/// `GET /api/rolecard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SavedRoleCard {
    pub rolecard: RoleCard,
    pub updated_at: String,
}

/// One SSE event of the role-card streams (`onmessage`: the type is inside).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    Progress {
        stage: String,
        progress: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    Data {
        content: String,
    },
    Complete {
        result: RoleCardResult,
    },
    Error {
        error: String,
    },
    BatchStart {
        total: usize,
        pending: Vec<String>,
    },
    LayerProgress {
        layer: String,
        progress: u8,
    },
    LayerComplete {
        layer: String,
    },
    BatchComplete {
        result: RoleCardResult,
    },
}

impl RoleCard {
    /// Puts `layer` in place of the layer for the same relation, or adds it.
    pub fn upsert_relation(&mut self, layer: RelationLayer) {
        match self
            .relation_layers
            .iter_mut()
            .find(|l| l.relation_id == layer.relation_id)
        {
            Some(existing) => *existing = layer,
            None => self.relation_layers.push(layer),
        }
    }
}

/// What a `complete` (or `batch_complete`) carries, keyed as the role-card
/// protocol keys it: `{"rolecard": …}` (the whole card), `{"coreLayer": …}`
/// or `{"relationLayer": …}` (the one layer written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum RoleCardResult {
    #[serde(rename = "rolecard")]
    RoleCard(RoleCard),
    #[serde(rename = "coreLayer")]
    CoreLayer(CoreLayer),
    #[serde(rename = "relationLayer")]
    RelationLayer(RelationLayer),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seeds_events_parse_and_keep_their_shape() {
        for v in [
            json!({"type":"progress","stage":"generating_core_layer","progress":45,"message":"Generating core personality layer..."}),
            json!({"type":"progress","stage":"starting","progress":0}),
            json!({"type":"data","content":"Generated content chunk..."}),
            json!({"type":"complete","result":{"rolecard":{"relationLayers":[]}}}),
            json!({"type":"complete","result":{"coreLayer":{"identitySummary":"Someone kind.",
                "personalityTraits":[{"name":"warm","evidence":["She baked bread."]}],
                "values":["family"],"speakingStyle":"plain","interests":["bread"]}}}),
            json!({"type":"complete","result":{"relationLayer":{"relationId":"r1","name":"Sam",
                "relationship":"brother","howTheyTreatThem":"gently","sharedHistory":"a farm",
                "tone":"warm"}}}),
            json!({"type":"error","error":"Error message"}),
            json!({"type":"batch_start","total":5,"pending":["core","relation1","relation2","relation3","relation4"]}),
            json!({"type":"layer_progress","layer":"core","progress":75}),
            json!({"type":"layer_complete","layer":"core"}),
            json!({"type":"batch_complete","result":{"rolecard":{"relationLayers":[]}}}),
        ] {
            let e: ServerEvent = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&e).unwrap(), v);
        }
    }

    #[test]
    fn the_card_is_camel_case() {
        let card = RoleCard {
            core_layer: None,
            relation_layers: vec![RelationLayer {
                relation_id: "r1".into(),
                name: "Sam".into(),
                relationship: "brother".into(),
                how_they_treat_them: "x".into(),
                shared_history: "y".into(),
                tone: "z".into(),
            }],
        };
        let v = serde_json::to_value(&card).unwrap();
        assert_eq!(v["relationLayers"][0]["relationId"], "r1");
        assert_eq!(v["relationLayers"][0]["howTheyTreatThem"], "x");
        let opts: GenerateOptions = serde_json::from_value(json!({"includeCore": false})).unwrap();
        assert!(!opts.include_core && opts.include_relations);
    }
}
