//! Which models clients may name, and what each costs: the operator's
//! choice (`--model`, `--allowed-models`, `--model-price`), checked by
//! every protocol before anything is charged or sent upstream.

use shared::models::{ModelInfo, ModelList};
use std::collections::HashMap;

/// The allowed models and their prices; cheap to clone.
#[derive(Debug, Clone)]
pub struct Models {
    default: String,
    /// The default first, then the others, each once.
    allowed: Vec<String>,
    /// Credits per output token, by model (1 when absent).
    prices: HashMap<String, f64>,
    /// Whether a name is checked: a real provider's models cost the
    /// operator; the offline generator has none (it ignores the name).
    enforce: bool,
}

/// A model that is not on the list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the model {0:?} is not available here; pick one from GET /api/models")]
pub struct NotAllowed(pub String);

impl Models {
    /// `default` and `allowed` (empty: the default alone), priced by
    /// `prices`; `enforce` false accepts any name (the offline generator).
    pub fn new(default: &str, allowed: &[String], prices: &[(String, f64)], enforce: bool) -> Self {
        let mut list = vec![default.to_owned()];
        for m in allowed.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
            if !list.iter().any(|x| x == m) {
                list.push(m.to_owned());
            }
        }
        Self {
            default: default.to_owned(),
            allowed: list,
            prices: prices.iter().cloned().collect(),
            enforce,
        }
    }

    /// The model a request asks for (`None` or empty: the default), if the
    /// operator allows it.
    pub fn check(&self, requested: Option<&str>) -> Result<String, NotAllowed> {
        let name = requested.map(str::trim).filter(|m| !m.is_empty());
        match name {
            None => Ok(self.default.clone()),
            Some(m) if !self.enforce || self.allowed.iter().any(|a| a == m) => Ok(m.to_owned()),
            Some(m) => Err(NotAllowed(m.chars().take(100).collect())),
        }
    }

    /// Credits per output token of `model` (`None`: the default's).
    pub fn price(&self, model: Option<&str>) -> f64 {
        let model = model.filter(|m| !m.is_empty()).unwrap_or(&self.default);
        self.prices.get(model).copied().unwrap_or(1.0)
    }

    /// What `GET /api/models` answers.
    pub fn list(&self) -> ModelList {
        ModelList {
            default: self.default.clone(),
            models: self
                .allowed
                .iter()
                .map(|id| ModelInfo {
                    id: id.clone(),
                    price: self.price(Some(id)),
                })
                .collect(),
        }
    }
}

/// `name=factor` of `--model-price`.
pub fn parse_price(s: &str) -> Result<(String, f64), String> {
    let (name, factor) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: write a price as model=factor, e.g. gpt-4o=10"))?;
    let factor: f64 = factor
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: the factor is a number, e.g. 2 or 0.5"))?;
    if !factor.is_finite() || factor <= 0.0 {
        return Err(format!("{s:?}: the factor must be more than zero"));
    }
    Ok((name.trim().to_owned(), factor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_models_pass_and_the_default_is_always_listed() {
        let m = Models::new(
            "mini",
            &["big".into(), "mini".into()],
            &[("big".into(), 10.0)],
            true,
        );
        assert_eq!(m.check(None), Ok("mini".into()));
        assert_eq!(m.check(Some("  ")), Ok("mini".into()));
        assert_eq!(m.check(Some("big")), Ok("big".into()));
        assert!(m.check(Some("o1-pro")).is_err());
        let ids: Vec<_> = m
            .list()
            .models
            .into_iter()
            .map(|i| (i.id, i.price))
            .collect();
        assert_eq!(ids, [("mini".into(), 1.0), ("big".into(), 10.0)]);
        let offline = Models::new("mini", &[], &[], false);
        assert_eq!(offline.check(Some("anything")), Ok("anything".into()));
    }

    #[test]
    fn prices_read_as_name_equals_factor() {
        assert_eq!(parse_price("gpt-4o=2.5"), Ok(("gpt-4o".into(), 2.5)));
        assert!(parse_price("gpt-4o").is_err());
        assert!(parse_price("gpt-4o=0").is_err());
        assert!(parse_price("gpt-4o=lots").is_err());
    }
}
