//! `GET /api/models`: the models clients may pick (`--allowed-models`),
//! for every protocol that takes a model name, and what each costs.

use serde::{Deserialize, Serialize};

/// Body of `GET /api/models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ModelList {
    /// The model used when a request names none (`--model`).
    pub default: String,
    /// Every model a request may name, the default first.
    pub models: Vec<ModelInfo>,
}

/// One model clients may pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ModelInfo {
    pub id: String,
    /// Credits per output token (`--model-price`; 1 unless priced).
    pub price: f64,
}
