//! The model and settings picker: which model answers (from
//! `GET /api/models`, what the operator allows), the temperature and the
//! longest reply. Pages keep the choice in a [`ModelSettings`] and read it
//! when they send.

use crate::api::{self, Auth};
use leptos::prelude::*;
use shared::models::ModelList;

/// The longest reply anyone may ask for, in tokens (the server's limit).
pub const MAX_REPLY_TOKENS: u32 = shared::personas::MAX_TOKENS_LIMIT;

/// A page's choice of model and sampling.
#[derive(Debug, Clone, Copy)]
pub struct ModelSettings {
    /// The model to ask; empty for the server's default.
    pub model: RwSignal<String>,
    /// 0 to 2.
    pub temperature: RwSignal<f64>,
    /// Most tokens a reply may have.
    pub max_tokens: RwSignal<u32>,
}

impl ModelSettings {
    /// The server's defaults: its model, 0.7, `max_tokens`.
    pub fn new(max_tokens: u32) -> Self {
        Self {
            model: RwSignal::new(String::new()),
            temperature: RwSignal::new(0.7),
            max_tokens: RwSignal::new(max_tokens),
        }
    }

    /// The chosen model, `None` for the default.
    pub fn model_name(&self) -> Option<String> {
        Some(self.model.get_untracked()).filter(|m| !m.is_empty())
    }
}

/// A folded "Model" panel: the model list, the temperature and the
/// longest reply. `sampling` false shows the model alone (the persona
/// protocol's `openai_chat` takes no sampling settings).
#[component]
pub fn ModelPicker(
    settings: ModelSettings,
    #[prop(into, default = Signal::from(true))] sampling: Signal<bool>,
) -> impl IntoView {
    let models = LocalResource::new(|| async {
        api::get::<ModelList>("/api/models", &Auth::None).await.ok()
    });
    let summary = move || {
        let model = settings.model.get();
        let name = if model.is_empty() {
            models
                .get()
                .flatten()
                .map(|m| m.default)
                .unwrap_or_else(|| "default".into())
        } else {
            model
        };
        if sampling.get() {
            format!(
                "Model: {name} · temperature {:.1} · up to {} tokens",
                settings.temperature.get(),
                settings.max_tokens.get()
            )
        } else {
            format!("Model: {name}")
        }
    };
    let options = move || {
        let list = models.get().flatten();
        let (default, others) = match list {
            Some(l) => {
                let others: Vec<(String, f64)> = l
                    .models
                    .into_iter()
                    .filter(|m| m.id != l.default)
                    .map(|m| (m.id, m.price))
                    .collect();
                (l.default, others)
            }
            None => ("the server's".into(), Vec::new()),
        };
        let chosen = settings.model.get_untracked();
        let priced = |price: f64| {
            if (price - 1.0).abs() < f64::EPSILON {
                String::new()
            } else {
                format!(" · {price}× credits")
            }
        };
        view! {
            <option value="" selected=chosen.is_empty()>{format!("{default} (default)")}</option>
            {others
                .into_iter()
                .map(|(id, price)| {
                    let label = format!("{id}{}", priced(price));
                    let selected = chosen == id;
                    view! { <option value=id selected=selected>{label}</option> }
                })
                .collect_view()}
        }
    };
    view! {
        <details class="model-settings" data-testid="model-settings">
            <summary class="model-settings__summary">{summary}</summary>
            <div class="model-settings__fields">
                <label class="field">
                    <span class="field__label">"Model"</span>
                    <select
                        class="input"
                        data-testid="model-select"
                        on:change=move |ev| settings.model.set(event_target_value(&ev))
                    >
                        {options}
                    </select>
                </label>
                <Show when=move || sampling.get()>
                    <NumberField
                        label="Temperature (0 steady – 2 adventurous)"
                        range=(0.0, 2.0, 0.1)
                        testid="model-temperature"
                        value=Signal::derive(move || format!("{:.1}", settings.temperature.get()))
                        on_change=Callback::new(move |v: f64| settings.temperature.set(v))
                    />
                    <NumberField
                        label="Longest reply (tokens)"
                        range=(1.0, f64::from(MAX_REPLY_TOKENS), 50.0)
                        testid="model-max-tokens"
                        value=Signal::derive(move || settings.max_tokens.get().to_string())
                        on_change=Callback::new(move |v: f64| settings.max_tokens.set(v.round() as u32))
                    />
                </Show>
            </div>
        </details>
    }
}

/// A labelled number box: `range` is (min, max, step); a typed number is
/// clamped to it before `on_change` hears it.
#[component]
fn NumberField(
    label: &'static str,
    range: (f64, f64, f64),
    testid: &'static str,
    value: Signal<String>,
    on_change: Callback<f64>,
) -> impl IntoView {
    let (min, max, step) = range;
    view! {
        <label class="field">
            <span class="field__label">{label}</span>
            <input
                class="input"
                type="number"
                min=min.to_string()
                max=max.to_string()
                step=step.to_string()
                data-testid=testid
                prop:value=value
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                        on_change.run(v.clamp(min, max));
                    }
                }
            />
        </label>
    }
}
