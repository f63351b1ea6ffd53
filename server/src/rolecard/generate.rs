//! Running a role-card generation as a job of the one runner
//! ([`generation::start_job`]): progress that never goes backwards and ends
//! at 100 before `complete`, the layers' text as `data` chunks, the card
//! saved. Offline, layers come from [`super::analysis`] and their
//! description streams like any model text; with a real model, the model
//! writes each layer as JSON (a reply that does not parse is retried once,
//! then reported as `error`). Every call runs under the stream's stop, so a
//! stop is noticed while waiting on the provider too.

use crate::auth::identity::Identity;
use crate::engine::GenRequest;
use crate::engine::offline::rolecard as analysis;
use crate::store::Store;
use crate::streams::generation::{self, Call, Generator, Run, Step};
use crate::streams::registry::Entry;
use serde::de::DeserializeOwned;
use shared::rolecard::{
    CoreLayer, GenerateOptions, Memory, Relation, RelationLayer, RoleCard, RoleCardResult,
    ServerEvent,
};
use std::sync::Arc;

/// Characters per `data` chunk.
const CHUNK_CHARS: usize = 40;

/// The `error` of a card whose stream outgrew the per-stream byte bound.
const TOO_LARGE: &str = "The role card is too large to stream (it outgrew the stream's \
    buffer): remove some relations or memories and try again.";

/// What to generate.
#[derive(Debug, Clone)]
pub(crate) enum Job {
    /// `generate/stream`: the card, as the options say.
    Full(GenerateOptions),
    /// `layers/core/stream`.
    Core,
    /// `layers/relation/{id}/stream`.
    Relation(Relation),
    /// `layers/batch/stream`: every layer the saved card lacks.
    Batch,
}

/// Opens the stream and runs the job in the background.
pub(crate) fn start(generator: &Generator, user_id: &str, job: Job) -> Arc<Entry> {
    let who = Identity::User(user_id.to_owned());
    let user = user_id.to_owned();
    generation::start_job(generator, &who, "rolecard", move |run| async move {
        let mut emit = Emit { run, last: 0 };
        let outcome = match prepare(&emit.run.generator.store, &user).await {
            Err(message) => Err(message),
            Ok((memories, relations, card)) => match emit.run.admit(4000).await {
                Err(e) => Err(e.to_api_error().1.error),
                Ok(()) => work(&mut emit, &user, job, &memories, &relations, card).await,
            },
        };
        if let Err(message) = &outcome {
            emit.push_final(ServerEvent::Error {
                error: message.clone(),
            });
        }
        (emit.run, outcome)
    })
}

/// Pushes the role-card events, keeping progress monotonic.
struct Emit {
    run: Run,
    last: u8,
}

impl Emit {
    /// Pushes an event within the stream's byte bound; past it, the job
    /// ends with [`TOO_LARGE`].
    fn push(&self, e: ServerEvent) -> Result<(), String> {
        self.run
            .push(None, serde_json::to_value(&e).unwrap_or_default())
            .map_err(|_| TOO_LARGE.to_owned())
    }

    /// Pushes the `error` that ends the stream, past the bound.
    fn push_final(&self, e: ServerEvent) {
        self.run
            .push_final(None, serde_json::to_value(&e).unwrap_or_default());
    }

    fn progress(&mut self, stage: &str, pct: u8, message: Option<&str>) -> Result<(), String> {
        self.last = self.last.max(pct.min(100));
        self.push(ServerEvent::Progress {
            stage: stage.to_owned(),
            progress: self.last,
            message: message.map(str::to_owned),
        })
    }

    /// A call's text as `data` chunks; the whole text.
    async fn data(&mut self, mut call: Call) -> Result<String, String> {
        let mut text = String::new();
        loop {
            match call.next().await {
                Step::Delta(content) => {
                    text.push_str(&content);
                    self.run.wrote(&content);
                    self.push(ServerEvent::Data { content })?;
                }
                Step::Finish { .. } => return Ok(text),
                Step::Stopped | Step::TimedOut => return Err("Generation stopped".into()),
                Step::Failed(e) => {
                    tracing::warn!(error = %e, detail = e.detail(), "a role-card call failed");
                    return Err(sentence(&e.to_string()));
                }
                Step::End => {
                    return Err(sentence(
                        &crate::engine::EngineError::Incomplete.to_string(),
                    ));
                }
            }
        }
    }

    /// Saves the user's card.
    async fn save(&self, user: &str, card: &RoleCard) -> Result<(), String> {
        let store = &self.run.generator.store;
        store.save_rolecard(user, card).await.map_err(|e| {
            tracing::error!(error = %e, "saving a role card");
            "could not save the role card".to_owned()
        })
    }

    /// `text` (an offline writer's) as `data` chunks, paced like every
    /// other stream.
    async fn text(&mut self, text: String) -> Result<(), String> {
        let generation = crate::engine::offline::stream_text(text, &GenRequest::new(""));
        let call = self.run.call_of(generation, CHUNK_CHARS);
        self.data(call).await.map(|_| ())
    }
}

async fn prepare(
    store: &Store,
    user: &str,
) -> Result<(Vec<Memory>, Vec<Relation>, RoleCard), String> {
    let fail = |e: sqlx::Error| {
        tracing::error!(error = %e, "rolecard");
        "something went wrong on the server; it has been logged".to_owned()
    };
    let memories = store.memories(user).await.map_err(fail)?;
    if memories.is_empty() {
        return Err(
            "Add at least one memory first: what the person does, says and cares about, and \
                    the people around them."
                .into(),
        );
    }
    let relations = store.relations(user).await.map_err(fail)?;
    let card = store
        .rolecard(user)
        .await
        .map_err(fail)?
        .map(|c| c.rolecard)
        .unwrap_or_default();
    Ok((memories, relations, card))
}

async fn work(
    emit: &mut Emit,
    user: &str,
    job: Job,
    memories: &[Memory],
    relations: &[Relation],
    mut card: RoleCard,
) -> Result<(), String> {
    match job {
        Job::Full(opts) => {
            emit.progress("analyzing_memories", 0, Some("Analyzing user memories..."))?;
            emit.progress(
                "analyzing_memories",
                25,
                Some(&format!("Analyzed {} memories", memories.len())),
            )?;
            if opts.include_core {
                emit.progress(
                    "generating_core_layer",
                    50,
                    Some("Generating core personality layer..."),
                )?;
                card.core_layer = Some(core(emit, memories).await?);
            }
            if opts.include_relations {
                emit.progress(
                    "generating_relation_layers",
                    75,
                    Some("Generating relationship layers..."),
                )?;
                let mut layers = Vec::new();
                let n = relations.len().max(1);
                for (i, r) in relations.iter().enumerate() {
                    layers.push(relation(emit, r, memories).await?);
                    let pct = 75 + (20 * (i + 1) / n) as u8;
                    emit.progress(
                        "generating_relation_layers",
                        pct,
                        Some(&format!("Wrote the layer for {}", r.name)),
                    )?;
                }
                card.relation_layers = layers;
            }
            emit.save(user, &card).await?;
            emit.progress("complete", 100, Some("Role card ready"))?;
            emit.push(ServerEvent::Complete {
                result: RoleCardResult::RoleCard(card),
            })?;
        }
        Job::Core => {
            emit.progress("starting", 0, Some("Starting..."))?;
            emit.progress("analyzing", 50, Some("Writing the core layer..."))?;
            let layer = core(emit, memories).await?;
            card.core_layer = Some(layer.clone());
            emit.save(user, &card).await?;
            emit.progress("analyzing", 100, None)?;
            emit.push(ServerEvent::Complete {
                result: RoleCardResult::CoreLayer(layer),
            })?;
        }
        Job::Relation(r) => {
            emit.progress("starting", 0, Some("Starting..."))?;
            emit.progress(
                "analyzing",
                50,
                Some(&format!("Writing the layer for {}...", r.name)),
            )?;
            let layer = relation(emit, &r, memories).await?;
            card.upsert_relation(layer.clone());
            emit.save(user, &card).await?;
            emit.progress("analyzing", 100, None)?;
            emit.push(ServerEvent::Complete {
                result: RoleCardResult::RelationLayer(layer),
            })?;
        }
        Job::Batch => {
            let mut pending: Vec<String> = Vec::new();
            if card.core_layer.is_none() {
                pending.push("core".into());
            }
            for r in relations {
                if !card.relation_layers.iter().any(|l| l.relation_id == r.id) {
                    pending.push(r.id.clone());
                }
            }
            emit.push(ServerEvent::BatchStart {
                total: pending.len(),
                pending: pending.clone(),
            })?;
            for layer in &pending {
                emit.push(ServerEvent::LayerProgress {
                    layer: layer.clone(),
                    progress: 0,
                })?;
                if layer == "core" {
                    card.core_layer = Some(core(emit, memories).await?);
                } else if let Some(r) = relations.iter().find(|r| &r.id == layer) {
                    let l = relation(emit, r, memories).await?;
                    card.upsert_relation(l);
                }
                emit.push(ServerEvent::LayerProgress {
                    layer: layer.clone(),
                    progress: 100,
                })?;
                emit.push(ServerEvent::LayerComplete {
                    layer: layer.clone(),
                })?;
            }
            emit.save(user, &card).await?;
            emit.push(ServerEvent::BatchComplete {
                result: RoleCardResult::RoleCard(card),
            })?;
        }
    }
    Ok(())
}

async fn core(emit: &mut Emit, memories: &[Memory]) -> Result<CoreLayer, String> {
    match emit
        .run
        .generator
        .engine
        .offline(|| analysis::core_layer(memories))
    {
        Some(layer) => {
            emit.text(analysis::describe_core(&layer)).await?;
            Ok(layer)
        }
        None => {
            let prompt = format!(
                "Memories about a person:\n{}\n\nWrite their core personality layer as JSON with keys \
                 identitySummary (string), personalityTraits (array of {{name, evidence: [quotes from \
                 the memories]}}), values (array of strings), speakingStyle (string), interests (array \
                 of strings). Answer with the JSON only.",
                list(memories)
            );
            model_layer(emit, prompt, |_| {}).await
        }
    }
}

async fn relation(
    emit: &mut Emit,
    r: &Relation,
    memories: &[Memory],
) -> Result<RelationLayer, String> {
    match emit
        .run
        .generator
        .engine
        .offline(|| analysis::relation_layer(r, memories))
    {
        Some(layer) => {
            emit.text(analysis::describe_relation(&layer)).await?;
            Ok(layer)
        }
        None => {
            let prompt = format!(
                "Memories about a person:\n{}\n\nThey relate to {} (their {}; notes: {}). Write this \
                 relationship layer as JSON with keys relationId ({:?}), name, relationship, \
                 howTheyTreatThem, sharedHistory, tone. Answer with the JSON only.",
                list(memories),
                r.name,
                r.relationship,
                r.notes,
                r.id
            );
            // The layer belongs to the server's relation, whatever id the
            // model wrote (or left out).
            let id = r.id.clone();
            model_layer(emit, prompt, move |v| {
                v["relationId"] = serde_json::Value::String(id.clone())
            })
            .await
        }
    }
}

fn list(memories: &[Memory]) -> String {
    memories
        .iter()
        .map(|m| format!("- {}", m.content))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asks the model for a layer as JSON, streaming its text as `data`; one
/// retry when the reply does not parse, announced with `data_restart` (the
/// first attempt's text is taken back and not charged). `fix` sets what the
/// server knows better than the model.
async fn model_layer<T: DeserializeOwned>(
    emit: &mut Emit,
    prompt: String,
    fix: impl Fn(&mut serde_json::Value),
) -> Result<T, String> {
    const NOT_A_LAYER: &str =
        "The model's answer was not a valid layer for the role card. Try again.";
    for attempt in 0..2 {
        let before = emit.run.text.len();
        let mut req = GenRequest::new(prompt.clone());
        req.system = "You write role cards as strict JSON.".into();
        req.temperature = 0.4;
        req.max_tokens = 1200;
        let call = emit.run.call(req, CHUNK_CHARS);
        let text = match emit.data(call).await {
            Ok(text) => text,
            Err(e) => {
                // A failed layer is not charged (a stopped one keeps its text).
                if !emit.run.stopped() {
                    emit.run.text.truncate(before);
                }
                return Err(e);
            }
        };
        let json = text
            .find('{')
            .and_then(|a| text.rfind('}').map(|b| &text[a..=b]))
            .unwrap_or("");
        let parsed = serde_json::from_str::<serde_json::Value>(json).and_then(|mut v| {
            if v.is_object() {
                fix(&mut v);
            }
            serde_json::from_value::<T>(v)
        });
        match parsed {
            Ok(layer) => return Ok(layer),
            Err(e) => {
                tracing::warn!(error = %e, attempt, "a role-card layer did not parse");
                // Not charged, and not kept as the generation's text.
                emit.run.text.truncate(before);
                if attempt == 0 {
                    emit.push(ServerEvent::DataRestart {
                        discarded: text.chars().count(),
                        reason: "the model's answer did not parse; asking again".into(),
                    })?;
                }
            }
        }
    }
    Err(NOT_A_LAYER.into())
}

/// An engine error as the role-card protocol's `error`: a sentence.
fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}
