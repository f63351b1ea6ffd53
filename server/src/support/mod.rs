//! The support protocol: supportive sessions with safety escalation.
//!
//! - Routes (signed-in users, each sees only their own):
//!   `POST /api/support/sessions`, `GET /api/support/sessions`,
//!   `GET /api/support/sessions/{id}/messages`,
//!   `GET /api/support/escalations/summary` (counts per day and level, no
//!   text). Another user's session id is answered exactly like an unknown
//!   one: 404 `SESSION_NOT_FOUND`.
//! - `session_message` on `/ws?token=`: `user_message`, then — when the
//!   message is high risk — `safety_escalation` before anything else, then
//!   the reply (`assistant_message_start`, `assistant_message_chunk` …,
//!   `assistant_message_complete`). Every message and escalation is stored.
//!   A high-risk message is answered even when the user's credits are used
//!   up: safety comes before billing. When the reply fails (provider down,
//!   refused key, timeout), the person still gets a supportive fallback
//!   reply that names the crisis resources; an empty reply is never stored.
//! - The risk level comes from the `safety` crate's classifier, which reads
//!   the message with the session's last messages (risk that builds up);
//!   its cues (rule names, never the text) are logged and stored with the
//!   escalation. Someone else's risk ("my friend wants to die") is medium,
//!   answered with how to help them.

use crate::auth::identity::{AuthUser, Identity};
use crate::engine::Engine;
use crate::engine::{ApiStyle, ChatMessage, GenEvent, GenRequest};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::Store;
use crate::streams::generation::Generator;
use crate::streams::generation::{Generation, Out, Outcome, Render, start};
use crate::streams::registry::Entry;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use shared::support::{
    AssistantMessage, EscalationCount, Intent, RiskLevel, SupportMessage, SupportSession,
};
use shared::ws::ServerMessage;
use shared::{ErrorCode, Role};
use std::sync::Arc;
use std::time::Duration;

/// Characters per streamed chunk of a reply.
pub const SUPPORT_CHUNK: usize = 24;
/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/support/sessions", get(list_sessions).post(create_session))
        .route("/support/sessions/{id}/messages", get(messages))
        .route("/support/escalations/summary", get(summary))
}

#[derive(Debug, Default, Deserialize)]
struct NewSession {
    #[serde(default)]
    title: Option<String>,
}

async fn create_session(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    body: Option<Json<NewSession>>,
) -> AppResult<(StatusCode, Json<SupportSession>)> {
    let title = body
        .and_then(|Json(b)| b.title)
        .map(|t| t.trim().chars().take(80).collect::<String>())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "A conversation".to_owned());
    let session = state.store.create_support_session(&user, &title).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

async fn list_sessions(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<Vec<SupportSession>>> {
    Ok(Json(state.store.support_sessions(&user).await?))
}

async fn messages(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Vec<SupportMessage>>> {
    if !state.store.owns_support_session(&user, &id).await? {
        return Err(not_found());
    }
    Ok(Json(state.store.support_messages(&id).await?))
}

async fn summary(
    State(state): State<AppState>,
    _: crate::auth::admin::AdminUser,
) -> AppResult<Json<Vec<EscalationCount>>> {
    Ok(Json(state.store.escalation_summary().await?))
}

fn not_found() -> AppError {
    AppError::client(ErrorCode::SessionNotFound, "no such session")
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> AppError {
    AppError::client(code, message)
}

/// `session_message` on `/ws`.
pub async fn session_message(
    generator: &Generator,
    who: &Identity,
    expires_at: Option<i64>,
    session_id: &str,
    text: &str,
) -> Result<Vec<Arc<Entry>>, AppError> {
    let Identity::User(user) = who else {
        return Err(refuse(
            ErrorCode::Unauthorized,
            "support sessions need you to be signed in (?token=)",
        ));
    };
    if expires_at.is_none_or(|exp| exp <= crate::store::now_secs()) {
        return Err(refuse(
            ErrorCode::Unauthorized,
            "your session has expired: sign in again",
        ));
    }
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(refuse(
            ErrorCode::ValidationError,
            format!("message_text must have 1 to {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    let internal = AppError::from;
    if !generator
        .store
        .owns_support_session(user, session_id)
        .await
        .map_err(internal)?
    {
        return Err(refuse(ErrorCode::SessionNotFound, "no such session"));
    }
    // The session so far: the classifier reads the last user messages with
    // this one, and the reply sees the conversation.
    let earlier = generator
        .store
        .support_messages(session_id)
        .await
        .map_err(internal)?;
    let earlier_user: Vec<&str> = earlier
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.text.as_str())
        .collect();
    let recent = &earlier_user[earlier_user.len().saturating_sub(3)..];
    let mut assessment = safety::assess_in_context(text, recent);
    if generator.engine.can_classify() {
        // The model may raise the level, never lower it.
        let judged = model_risk(&generator.engine, text)
            .await
            .unwrap_or(RiskLevel::None);
        if judged > assessment.level {
            assessment.level = judged;
            assessment.about_someone_else = false;
        }
    }
    let risk = assessment.level;
    let intent = safety::intent_for(&assessment, text);
    let cues = assessment.explanation();
    let ticket = match generator.quota.begin(who, 600).await {
        Ok(t) => Some(t),
        Err(_) if risk == RiskLevel::High => None,
        Err(e) => return Err(e),
    };
    let message_id = generator
        .store
        .add_support_message(session_id, Role::User, text, risk, None)
        .await
        .map_err(internal)?;
    if risk == RiskLevel::High {
        generator
            .store
            .add_escalation(user, session_id, &message_id, risk, &cues)
            .await
            .map_err(internal)?;
        tracing::warn!(session = %session_id, %cues, "safety escalation");
        crate::metrics::get()
            .escalations
            .get_or_create(&[("level", risk.as_str())])
            .inc();
    } else if risk > RiskLevel::None {
        tracing::info!(session = %session_id, level = risk.as_str(), %cues, "support message risk");
    }
    let mut history: Vec<ChatMessage> = earlier
        .into_iter()
        .rev()
        .take(11)
        .rev()
        .map(|m| ChatMessage {
            role: m.role,
            content: m.text,
        })
        .collect();
    history.push(ChatMessage {
        role: Role::User,
        content: text.to_owned(),
    });
    let request = GenRequest {
        system: system_prompt(intent, assessment.about_someone_else),
        messages: history,
        model: None,
        temperature: 0.6,
        max_tokens: 600,
        previous_response_id: None,
        api: ApiStyle::ChatCompletions,
        seed: 0,
    };
    let render = SupportRender {
        store: generator.store.clone(),
        session_id: session_id.to_owned(),
        user_text: text.to_owned(),
        risk,
        intent,
    };
    let entry = start(
        generator,
        who,
        Generation {
            request,
            chunk_chars: SUPPORT_CHUNK,
            render,
            ticket,
        },
    );
    Ok(vec![entry])
}

/// Instructions for the reply. The first line is the voice the offline
/// generator recognises; `Reply intent:` tells it (and a model) the aim;
/// `About: someone else` that the person at risk is someone the user
/// knows, and the reply helps the user help them.
pub fn system_prompt(intent: Intent, about_someone_else: bool) -> String {
    let aim = match intent {
        Intent::Escalate => {
            "The person may be in danger. Say you are glad they told you, that their safety matters \
             most, and point them to call or text 988 (US), text HOME to 741741, or their local \
             emergency number now. Stay with them and keep the conversation going; do not end it."
        }
        Intent::Explore => {
            "Gently ask about what they are going through; mention 988 is there any time."
        }
        Intent::Validate => {
            "Acknowledge the feeling and show it makes sense; do not rush to fix it."
        }
        Intent::Inform => "Answer the question with a few practical, gentle suggestions.",
        Intent::Encourage => "Be warm and encouraging; invite them to share more.",
    };
    let intent_name = serde_json::to_value(intent)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let about = if about_someone_else {
        "About: someone else\nThe person at risk is someone the user knows. Thank the user for \
         caring, help them help that person: stay with them, ask them directly about suicide, \
         remove means if it is safe, and call or text 988 together (988 also helps people \
         worried about someone else); if the danger is immediate, call emergency services.\n"
    } else {
        ""
    };
    format!(
        "You are a supportive listener: warm, calm and non-judgemental; not a therapist.\n\
         Reply intent: {intent_name}\n{about}{aim}\nKeep replies under 120 words."
    )
}

/// The reply sent when the real one fails, after the banner for high risk:
/// never only an error for a person who may be in danger.
pub fn fallback_reply(risk: RiskLevel) -> &'static str {
    if risk >= RiskLevel::Medium {
        "I'm sorry, I couldn't put my reply together just now, but I don't want to leave you \
         without support. If you are in danger or thinking about ending your life, please call \
         or text 988 now (in the US), text HOME to 741741, or call your local emergency number. \
         You deserve support right now, and I'm still here: you can keep writing to me."
    } else {
        "I'm sorry, I couldn't put my reply together just now. I'm still here, and you can keep \
         writing to me; please try again in a moment. If things feel too heavy, you can call or \
         text 988 any time."
    }
}

/// Asks the configured model for the message's risk level (one word).
async fn model_risk(engine: &Engine, text: &str) -> Option<RiskLevel> {
    let mut req = GenRequest::new(text);
    req.system =
        "Classify the risk of self-harm, suicide or harm to others in the user's message. \
                  Answer with exactly one word: none, low, medium or high."
            .into();
    req.max_tokens = 3;
    req.temperature = 0.0;
    let answer = tokio::time::timeout(Duration::from_secs(10), async {
        let mut out = String::new();
        let mut s = engine.generate(req);
        while let Some(Ok(GenEvent::Delta(d))) = s.next().await {
            out.push_str(&d);
        }
        out
    })
    .await
    .ok()?;
    RiskLevel::parse(answer.trim().trim_end_matches('.').to_lowercase().as_str())
}

/// The support protocol's events for a reply.
struct SupportRender {
    store: Store,
    session_id: String,
    user_text: String,
    risk: RiskLevel,
    intent: Intent,
}

impl SupportRender {
    /// The reply as the person sees and keeps it: the model's text, or,
    /// when the reply failed, what arrived followed by the fallback.
    fn reply_text(&self, o: &Outcome) -> String {
        if o.error.is_none() {
            return o.text.clone();
        }
        let fallback = fallback_reply(self.risk);
        if o.text.trim().is_empty() {
            fallback.to_owned()
        } else {
            format!("{}\n\n{fallback}", o.text)
        }
    }
}

fn out(m: ServerMessage) -> Out {
    (None, serde_json::to_value(&m).unwrap_or(Value::Null).into())
}

impl Render for SupportRender {
    fn start(&mut self, _stream_id: &str) -> Vec<Out> {
        let now = crate::clock::now_rfc3339();
        let mut events = vec![out(ServerMessage::UserMessage {
            text: self.user_text.clone(),
            timestamp: now.clone(),
        })];
        if self.risk == RiskLevel::High {
            events.push(out(ServerMessage::escalation(self.risk, now.clone())));
        }
        events.push(out(ServerMessage::AssistantMessageStart { timestamp: now }));
        events
    }

    fn chunk(&mut self, text: &str) -> Vec<Out> {
        vec![out(ServerMessage::AssistantMessageChunk {
            chunk: text.to_owned(),
            is_complete: false,
            timestamp: crate::clock::now_rfc3339(),
        })]
    }

    async fn finish(&mut self, o: &Outcome) -> Vec<Out> {
        let text = self.reply_text(o);
        // Stopped before a word: nothing to keep, never an empty reply.
        if !text.trim().is_empty()
            && let Err(e) = self
                .store
                .add_support_message(
                    &self.session_id,
                    Role::Assistant,
                    &text,
                    self.risk,
                    Some(self.intent),
                )
                .await
        {
            tracing::error!(error = %e, "could not save the support reply");
        }
        let now = crate::clock::now_rfc3339();
        let mut events = Vec::new();
        // The fallback after whatever arrived, streamed like the rest.
        if let Some(tail) = text.strip_prefix(o.text.as_str()).filter(|t| !t.is_empty()) {
            events.push(out(ServerMessage::AssistantMessageChunk {
                chunk: tail.to_owned(),
                is_complete: false,
                timestamp: now.clone(),
            }));
        }
        events.push(out(ServerMessage::AssistantMessageChunk {
            chunk: String::new(),
            is_complete: true,
            timestamp: now.clone(),
        }));
        if let Some((code, message)) = &o.error {
            events.push(out(ServerMessage::error(
                *code,
                message.clone(),
                now.clone(),
            )));
        }
        events.push(out(ServerMessage::AssistantMessageComplete {
            message: AssistantMessage {
                text,
                intent: self.intent,
                risk_level: self.risk,
            },
            timestamp: now,
        }));
        events
    }
}
