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
                "Model: {name} · temperature {} · up to {} tokens",
                tenths_label(settings.temperature.get()),
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
                format!(" · {}× credits", hundredths_label(price))
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
                        range=(0, 20, 1)
                        tenths=true
                        testid="model-temperature"
                        value=Signal::derive(move || tenths_label(settings.temperature.get()))
                        on_change=Callback::new(move |v: u32| settings.temperature.set(f64::from(v) / 10.0))
                    />
                    <NumberField
                        label="Longest reply (tokens)"
                        range=(1, MAX_REPLY_TOKENS, 50)
                        tenths=false
                        testid="model-max-tokens"
                        value=Signal::derive(move || settings.max_tokens.get().to_string())
                        on_change=Callback::new(move |v: u32| settings.max_tokens.set(v))
                    />
                </Show>
            </div>
        </details>
    }
}

/// A labelled number box: `range` is (min, max, step), in tenths when
/// `tenths` (the box shows "0.7" for 7); a typed number is clamped to it
/// before `on_change` hears it. Numbers are read and written as integers:
/// the float parser and formatter would be the largest code on the page.
#[component]
fn NumberField(
    label: &'static str,
    range: (u32, u32, u32),
    tenths: bool,
    testid: &'static str,
    value: Signal<String>,
    on_change: Callback<u32>,
) -> impl IntoView {
    let (min, max, step) = range;
    let show = move |n: u32| {
        if tenths {
            tenths_text(n)
        } else {
            n.to_string()
        }
    };
    view! {
        <label class="field">
            <span class="field__label">{label}</span>
            <input
                class="input"
                type="number"
                min=show(min)
                max=show(max)
                step=show(step)
                data-testid=testid
                prop:value=value
                on:change=move |ev| {
                    if let Some(v) = parse_scaled(&event_target_value(&ev), if tenths { 1 } else { 0 }) {
                        on_change.run(v.clamp(min, max));
                    }
                }
            />
        </label>
    }
}

/// `7` → "0.7", `20` → "2.0".
fn tenths_text(n: u32) -> String {
    format!("{}.{}", n / 10, n % 10)
}

/// A temperature as the box shows it: 0.7 → "0.7".
fn tenths_label(t: f64) -> String {
    tenths_text((t.max(0.0) * 10.0).round() as u32)
}

/// A price factor with up to two decimals, no trailing zeros: 10 → "10",
/// 0.5 → "0.5", 1.25 → "1.25".
fn hundredths_label(p: f64) -> String {
    let n = (p.max(0.0) * 100.0).round() as u64;
    match n % 100 {
        0 => (n / 100).to_string(),
        f if f % 10 == 0 => format!("{}.{}", n / 100, f / 10),
        f => format!("{}.{f:02}", n / 100),
    }
}

/// A typed non-negative decimal as an integer of `decimals` places
/// (rounded): ("0.75", 1) → 8, ("1000", 0) → 1000; `None` when it is not
/// a number.
fn parse_scaled(text: &str, decimals: u32) -> Option<u32> {
    let text = text.trim();
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return None;
    }
    let mut n: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut rest = frac.bytes();
    for _ in 0..decimals {
        n = n.saturating_mul(10) + rest.next().map_or(0, |b| u64::from(b - b'0'));
    }
    if rest.next().is_some_and(|b| b >= b'5') {
        n += 1;
    }
    Some(n.min(u64::from(u32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_and_show_without_floats() {
        assert_eq!(parse_scaled("0.7", 1), Some(7));
        assert_eq!(parse_scaled(".75", 1), Some(8));
        assert_eq!(parse_scaled("2", 1), Some(20));
        assert_eq!(parse_scaled(" 1000 ", 0), Some(1000));
        assert_eq!(parse_scaled("999.5", 0), Some(1000));
        for bad in ["", ".", "-1", "1e3", "abc", "1.2.3"] {
            assert_eq!(parse_scaled(bad, 1), None, "{bad}");
        }
        assert_eq!(tenths_text(7), "0.7");
        assert_eq!(tenths_label(0.7), "0.7");
        assert_eq!(tenths_label(2.0), "2.0");
        assert_eq!(hundredths_label(10.0), "10");
        assert_eq!(hundredths_label(0.5), "0.5");
        assert_eq!(hundredths_label(1.25), "1.25");
        assert_eq!(hundredths_label(0.05), "0.05");
    }
}
