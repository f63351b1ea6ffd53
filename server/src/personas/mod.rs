//! The persona protocol: persona chat and the multi-persona panel over `/ws`.
//!
//! - Route: `GET /api/personas`, the catalog.
//! - Socket messages (dispatched by `ws`): `openai_chat`, `chat`,
//!   `multi_chat`. Each validates its input, asks the quota, starts its
//!   generation(s) and returns the streams for the socket to forward. A
//!   `multi_chat` runs one stream per persona, concurrently (so one can be
//!   stopped alone), and a panel stream whose first `status` lists them and
//!   whose final `response` holds every reply in request order.
//! - [`catalog`], [`render`] (the seed's events), [`conversations`]
//!   (`previous_response_id` for providers that keep no state).

pub(crate) mod catalog;
pub(crate) mod conversations;
pub mod render;

use crate::auth::identity::Identity;
use crate::auth::identity::MaybeIdentity;
use crate::engine::{ApiStyle, ChatMessage, GenRequest};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::Store;
use crate::streams::generation::Generator;
use crate::streams::generation::{Generation, Outcome, start};
use crate::streams::registry::Entry;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use render::{Kind, SeedRender, out};
use shared::personas::{
    ChatData, MAX_MESSAGE_CHARS, MAX_PERSONAS, MAX_TOKENS_LIMIT, MultiChatData, OpenaiChatData,
    PanelReply, PanelResponseData, Persona, PersonaStream,
};
use shared::stream::FinishStatus;
use shared::ws::{ResponseData, ServerMessage, StreamStatus};
use shared::{ErrorCode, Role};
use std::borrow::Cow;
use std::sync::Arc;

/// Characters per chunk (the persona protocol).
pub const PERSONA_CHUNK: usize = 30;
pub const OPENAI_CHUNK: usize = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/personas", get(list))
}

/// The catalog, and the caller's role card when they have generated one.
async fn list(
    State(state): State<AppState>,
    MaybeIdentity(who): MaybeIdentity,
) -> Json<Vec<Persona>> {
    let mut all = catalog::builtin();
    if let Some(who) = who {
        all.extend(rolecard_persona(&state.store, &who).await);
    }
    Json(all)
}

/// Why a request was refused; the socket answers with its in-band `error`.
type Refusal = AppError;

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    AppError::client(code, message)
}

fn check_text(text: &str, field: &str) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        return Err(refuse(
            ErrorCode::ValidationError,
            format!("{field} must not be empty"),
        ));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(refuse(
            ErrorCode::ValidationError,
            format!("{field} is limited to {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(())
}

fn check_sampling(temperature: f64, max_tokens: u32) -> Result<(), Refusal> {
    if !(0.0..=2.0).contains(&temperature) {
        return Err(refuse(
            ErrorCode::ValidationError,
            "temperature must be between 0 and 2",
        ));
    }
    if max_tokens == 0 || max_tokens > MAX_TOKENS_LIMIT {
        return Err(refuse(
            ErrorCode::ValidationError,
            format!("max_tokens must be between 1 and {MAX_TOKENS_LIMIT}"),
        ));
    }
    Ok(())
}

/// A catalog persona, or the caller's own role card (`rolecard`).
async fn persona(
    store: &Store,
    who: &Identity,
    id: &str,
) -> Result<Cow<'static, Persona>, Refusal> {
    if id == catalog::ROLECARD_PERSONA {
        return rolecard_persona(store, who)
            .await
            .map(Cow::Owned)
            .ok_or_else(|| {
                refuse(
                    ErrorCode::UnknownPersona,
                    "unknown persona_id \"rolecard\": generate a role card first (signed in)",
                )
            });
    }
    catalog::find(id).map(Cow::Borrowed).ok_or_else(|| {
        refuse(
            ErrorCode::UnknownPersona,
            format!("unknown persona_id {id:?}"),
        )
    })
}

/// The caller's generated role card as a persona, if they have one.
async fn rolecard_persona(store: &Store, who: &Identity) -> Option<Persona> {
    let Identity::User(user) = who else {
        return None;
    };
    let card = store.rolecard(user).await.ok()??;
    card.rolecard
        .core_layer
        .map(|core| catalog::from_rolecard(&core))
}

fn persona_request(
    p: &Persona,
    message: &str,
    history: Vec<ChatMessage>,
    model: Option<String>,
    temperature: f64,
    max_tokens: u32,
) -> GenRequest {
    let mut messages = history;
    messages.push(ChatMessage::user(message));
    GenRequest {
        system: catalog::system_prompt(p),
        messages,
        model,
        temperature,
        max_tokens,
        previous_response_id: None,
        api: ApiStyle::ChatCompletions,
        seed: 0,
    }
}

/// `chat`: one persona's reply on one stream.
pub async fn chat(
    generator: &Generator,
    who: &Identity,
    data: ChatData,
) -> Result<Vec<Arc<Entry>>, Refusal> {
    check_text(&data.message, "message")?;
    check_sampling(data.temperature, data.max_tokens)?;
    generator.models.check(data.model.as_deref())?;
    let p = persona(&generator.store, who, &data.persona_id).await?;
    let history = data
        .history
        .iter()
        .rev()
        .take(20)
        .rev()
        .filter(|t| matches!(t.role, Role::User | Role::Assistant))
        .map(|t| ChatMessage {
            role: t.role,
            content: t.content.chars().take(MAX_MESSAGE_CHARS).collect(),
        })
        .collect();
    let ticket = generator
        .quota
        .begin(who, i64::from(data.max_tokens))
        .await?;
    let request = persona_request(
        &p,
        &data.message,
        history,
        data.model,
        data.temperature,
        data.max_tokens,
    );
    let entry = start(
        generator,
        who,
        Generation {
            request,
            chunk_chars: PERSONA_CHUNK,
            render: SeedRender::new(Some(p.id.clone()), p.name.clone(), Kind::Chat),
            ticket: Some(ticket),
        },
    );
    Ok(vec![entry])
}

/// `openai_chat`: a model reply through the Responses API (or the offline
/// generator with server-side context).
pub async fn openai_chat(
    state: &AppState,
    who: &Identity,
    data: OpenaiChatData,
) -> Result<Vec<Arc<Entry>>, Refusal> {
    check_text(&data.input_text, "input_text")?;
    let model = state.generator.models.check(data.model.as_deref())?;
    let owner = who.owner_key();
    let keeps_state = state.generator.engine.keeps_conversation_state();
    let mut messages = Vec::new();
    // Only the caller's own responses continue: one the provider keeps
    // would carry someone else's conversation on for them.
    if let Some(prev) = &data.previous_response_id {
        messages = state.conversations.get(prev, &owner).await.ok_or_else(|| {
            refuse(
                ErrorCode::NotFound,
                format!("unknown previous_response_id {prev:?}"),
            )
        })?;
    }
    messages.push(ChatMessage::user(data.input_text.clone()));
    let ticket = state.generator.quota.begin(who, 1000).await?;
    let request = GenRequest {
        system: String::new(),
        messages: messages.clone(),
        model: Some(model.clone()),
        temperature: 0.7,
        max_tokens: 1000,
        previous_response_id: data.previous_response_id.clone(),
        api: ApiStyle::Responses,
        seed: 0,
    };
    let conversations = state.conversations.clone();
    let on_done = Box::new(move |o: &Outcome| {
        if let Some(id) = &o.response_id {
            // A provider that keeps the conversation needs only its owner.
            let mut history = messages;
            if keeps_state {
                history.clear();
            } else {
                history.push(ChatMessage::assistant(o.text.clone()));
            }
            conversations.insert(id.clone(), &owner, history);
        }
    });
    let entry = start(
        &state.generator,
        who,
        Generation {
            request,
            chunk_chars: OPENAI_CHUNK,
            render: SeedRender::new(None, "model".into(), Kind::Openai { model, on_done }),
            ticket: Some(ticket),
        },
    );
    Ok(vec![entry])
}

/// `multi_chat`: every persona at once, each on its own stream, and the
/// panel stream that gathers them.
pub async fn multi_chat(
    generator: &Generator,
    who: &Identity,
    data: MultiChatData,
) -> Result<Vec<Arc<Entry>>, Refusal> {
    check_text(&data.message, "message")?;
    check_sampling(data.temperature, data.max_tokens)?;
    generator.models.check(data.model.as_deref())?;
    if data.persona_ids.is_empty() {
        return Err(refuse(
            ErrorCode::ValidationError,
            "persona_ids must name at least one persona",
        ));
    }
    if data.persona_ids.len() > MAX_PERSONAS {
        return Err(refuse(
            ErrorCode::ValidationError,
            format!("a panel has at most {MAX_PERSONAS} personas"),
        ));
    }
    let mut personas = Vec::with_capacity(data.persona_ids.len());
    for id in &data.persona_ids {
        personas.push(persona(&generator.store, who, id).await?);
    }
    let quota = &generator.quota;
    // Admit the personas together: a user's credits are shared among them;
    // those past the limit answer with an error.
    let mut tickets = quota
        .begin_many(who, i64::from(data.max_tokens), personas.len())
        .await;
    if let Some(Err(_)) = tickets.first()
        && tickets.iter().all(Result::is_err)
    {
        return Err(tickets.swap_remove(0).expect_err("an error"));
    }
    let panel = generator.streams.create(&who.owner_key());
    let mut children = Vec::new();
    let mut waits = Vec::new();
    let mut refusals = Vec::new();
    for (index, (p, ticket)) in personas.iter().zip(tickets).enumerate() {
        match ticket {
            Ok(ticket) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let request = persona_request(
                    p,
                    &data.message,
                    Vec::new(),
                    data.model.clone(),
                    data.temperature,
                    data.max_tokens,
                );
                let entry = start(
                    generator,
                    who,
                    Generation {
                        request,
                        chunk_chars: PERSONA_CHUNK,
                        render: SeedRender::new(
                            Some(p.id.clone()),
                            p.name.clone(),
                            Kind::Member {
                                index,
                                done: Some(tx),
                            },
                        ),
                        ticket: Some(ticket),
                    },
                );
                children.push(PersonaStream {
                    persona_id: p.id.clone(),
                    stream_id: entry.id.clone(),
                    index,
                });
                waits.push((index, Some(rx), entry));
            }
            Err(e) => {
                let (_, body) = e.to_api_error();
                refusals.push((index, body));
            }
        }
    }
    let _ = panel.push(
        None,
        out_status(
            StreamStatus::Starting,
            format!("Asking {} personas...", personas.len()),
            Some(children),
        ),
    );
    for (index, body) in &refusals {
        let _ = panel.push(
            None,
            serde_json::to_value(ServerMessage::Error {
                status: "error".into(),
                message: body.error.clone(),
                code: body.code,
                timestamp: crate::clock::now_rfc3339(),
                persona_id: Some(personas[*index].id.clone()),
                retry_after: None,
                stream_id: None,
                seq: None,
            })
            .unwrap_or_default(),
        );
    }
    let mut streams = vec![panel.clone()];
    streams.extend(waits.iter().map(|(_, _, e)| e.clone()));
    let message = data.message.clone();
    // `stop` of the panel's stream stops every persona of the panel.
    let members: Vec<_> = waits.iter().map(|(_, _, e)| e.cancel.clone()).collect();
    let stop = panel.cancel.clone();
    let stop_all = tokio::spawn(async move {
        stop.cancelled().await;
        members.iter().for_each(|m| m.cancel());
    });
    tokio::spawn(async move {
        let mut replies: Vec<PanelReply> = personas
            .iter()
            .enumerate()
            .map(|(index, p)| PanelReply {
                persona_id: p.id.clone(),
                persona_name: p.name.clone(),
                index,
                response: String::new(),
                finish: FinishStatus::Failed,
            })
            .collect();
        for (index, rx, entry) in &mut waits {
            if let Some(rx) = rx.take()
                && let Ok(outcome) = rx.await
            {
                replies[*index].response = outcome.text;
                replies[*index].finish = outcome.status;
                // The outcome comes as the member's final events are made:
                // wait until they are in its stream, so the panel's end is
                // pushed (and written) after every member's end.
                entry
                    .subscribe(entry.last_seq())
                    .for_each(|_| async {})
                    .await;
            }
        }
        stop_all.abort();
        let _ = panel.push(
            None,
            out_status(
                StreamStatus::Completed,
                "All personas answered".into(),
                None,
            ),
        );
        let data = PanelResponseData {
            message,
            responses: replies,
        };
        let _ = panel.push(
            None,
            out(ServerMessage::Response {
                status: "completed".into(),
                data: ResponseData::Panel(data),
                stream_id: None,
                seq: None,
            })
            .1,
        );
        panel.finish();
    });
    Ok(streams)
}

fn out_status(
    status: StreamStatus,
    message: String,
    persona_streams: Option<Vec<PersonaStream>>,
) -> serde_json::Value {
    serde_json::to_value(ServerMessage::Status {
        status,
        message,
        persona_id: None,
        persona_streams,
        stream_id: None,
        seq: None,
    })
    .unwrap_or_default()
}
