//! The generation engine every feature streams from.
//!
//! - [`GenRequest`] in, a stream of [`GenEvent`]s out: text deltas, then one
//!   `Finish` with token usage (and the provider's response id). Dropping the
//!   stream cancels the work; for HTTP providers the upstream connection is
//!   closed.
//! - Providers: [`offline`] (the default: deterministic, no network) and
//!   [`openai`] (any OpenAI-compatible API: Chat Completions, and the
//!   Responses API for the persona protocol's `openai_chat`).
//! - [`models`]: which models clients may name (`--allowed-models`) and
//!   their prices (`--model-price`).
//! - [`chunker`]: re-chunks deltas into N-character pieces with optional
//!   pacing, as the seeds stream them.

pub mod chunker;
pub mod models;
pub mod offline;
pub mod openai;

use futures_util::stream::BoxStream;
use shared::stream::TokenUsage;
use shared::{ErrorCode, Role};
use std::time::Duration;

/// One message of the conversation so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Which upstream API shape a request uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ApiStyle {
    /// `POST /chat/completions` with `stream: true`.
    #[default]
    ChatCompletions,
    /// `POST /responses` with `stream: true` (server-side conversation state
    /// through `previous_response_id`).
    Responses,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenRequest {
    /// Instructions: the persona, the task.
    pub system: String,
    /// The conversation, oldest first; the last is usually the user's.
    pub messages: Vec<ChatMessage>,
    /// The model to ask; `None` uses the configured default.
    pub model: Option<String>,
    /// 0–2.
    pub temperature: f64,
    /// Most output tokens.
    pub max_tokens: u32,
    /// Continue a Responses-API conversation.
    pub previous_response_id: Option<String>,
    pub api: ApiStyle,
    /// Varies the offline generator's choices for otherwise equal input.
    pub seed: u64,
}

impl GenRequest {
    /// A request with defaults: one user message, no system prompt.
    pub fn new(user_message: impl Into<String>) -> Self {
        Self {
            system: String::new(),
            messages: vec![ChatMessage::user(user_message)],
            model: None,
            temperature: 0.7,
            max_tokens: 1000,
            previous_response_id: None,
            api: ApiStyle::ChatCompletions,
            seed: 0,
        }
    }

    /// The prompt's tokens by [`approx_tokens`] (the system prompt and
    /// every message).
    pub fn prompt_tokens(&self) -> u64 {
        approx_tokens(&self.system)
            + self
                .messages
                .iter()
                .map(|m| approx_tokens(&m.content))
                .sum::<u64>()
    }

    /// The last user message, or "".
    pub fn last_user_message(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.as_str())
            .unwrap_or("")
    }
}

/// One step of a generation.
#[derive(Debug, Clone, PartialEq)]
pub enum GenEvent {
    /// More text.
    Delta(String),
    /// The end.
    Finish {
        usage: TokenUsage,
        /// The provider's id for this response (Responses API, offline).
        response_id: Option<String>,
    },
}

/// Why a generation failed. `Display` is the sentence people see; the
/// provider's own words (`detail`) are logged, never sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The provider refused the API key (upstream 401/403).
    #[error("the model provider refused the API key")]
    ProviderAuth,
    /// Upstream 429, with its `Retry-After` in seconds when it sent one.
    #[error("{}", rate_limited_sentence(*retry_after))]
    RateLimited { retry_after: Option<u64> },
    /// Upstream 5xx, a timeout, or no connection (the detail is logged).
    #[error("the model provider is unavailable; try again in a moment")]
    Unavailable(String),
    /// Upstream 400/404/422: the provider refused this request (an unknown
    /// model, a prompt over the context length); retrying will not help.
    #[error("the model provider refused the request (HTTP {status})")]
    Rejected { status: u16, detail: String },
    /// The answer ended without its terminator (`[DONE]`, a
    /// `finish_reason`, `response.completed`): cut by a proxy or the
    /// provider, so the text is partial.
    #[error("the model provider's answer was cut off before it finished")]
    Incomplete,
    /// The provider answered something this client cannot read.
    #[error("the model provider sent something unexpected")]
    Protocol(String),
}

fn rate_limited_sentence(retry_after: Option<u64>) -> String {
    match retry_after {
        Some(1) => "the model provider is rate limiting; try again in 1 second".into(),
        Some(s) => format!("the model provider is rate limiting; try again in {s} seconds"),
        None => "the model provider is rate limiting; try again shortly".into(),
    }
}

impl EngineError {
    /// The code clients see.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::ProviderAuth => ErrorCode::ProviderAuth,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Rejected { .. } => ErrorCode::ProviderRejected,
            Self::Incomplete => ErrorCode::ProviderIncomplete,
            Self::Unavailable(_) | Self::Protocol(_) => ErrorCode::ProviderUnavailable,
        }
    }

    /// Seconds to wait before trying again, when the provider said.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// What the provider said, for the log (never for clients).
    pub fn detail(&self) -> &str {
        match self {
            Self::Unavailable(d) | Self::Protocol(d) | Self::Rejected { detail: d, .. } => d,
            _ => "",
        }
    }
}

/// A stream of generation steps.
pub type GenStream = BoxStream<'static, Result<GenEvent, EngineError>>;

/// The configured provider.
#[derive(Clone, Debug)]
pub enum Engine {
    Offline(offline::Offline),
    OpenAi(openai::OpenAi),
}

impl Engine {
    /// Starts a generation. Nothing runs until the stream is polled, and
    /// dropping it stops everything.
    pub fn generate(&self, req: GenRequest) -> GenStream {
        match self {
            Self::Offline(o) => o.generate(req),
            Self::OpenAi(o) => o.generate(req),
        }
    }

    /// A generation of `req`: the model's, or, offline, the text `offline`
    /// writes for it (features with their own offline writer: BooksWriter's
    /// outlines).
    pub fn generate_or(
        &self,
        req: GenRequest,
        offline: impl FnOnce(&GenRequest) -> String,
    ) -> GenStream {
        match self {
            Self::Offline(_) => {
                let text = offline(&req);
                offline::stream_text(text, &req)
            }
            Self::OpenAi(o) => o.generate(req),
        }
    }

    /// `offline()`'s answer when the provider is the offline generator, which
    /// cannot be asked for structured work (role-card layers as JSON);
    /// `None` with a model, which is asked instead.
    pub fn offline<T>(&self, offline: impl FnOnce() -> T) -> Option<T> {
        match self {
            Self::Offline(_) => Some(offline()),
            Self::OpenAi(_) => None,
        }
    }

    /// Whether the provider keeps conversations itself
    /// (`previous_response_id` is the provider's); otherwise the server
    /// keeps them.
    pub fn keeps_conversation_state(&self) -> bool {
        matches!(self, Self::OpenAi(_))
    }

    /// Whether the provider can classify text (support's risk check asks
    /// the model; the offline generator cannot).
    pub fn can_classify(&self) -> bool {
        matches!(self, Self::OpenAi(_))
    }

    /// The provider's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Offline(_) => "offline",
            Self::OpenAi(_) => "openai",
        }
    }
}

/// Token count by the documented approximation: one token per four
/// characters, rounded up (OpenAI's rule of thumb for English text). Used
/// by the offline generator and when a provider omits usage, always on a
/// whole text (summing it per delta would round up every delta).
pub fn approx_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// Defaults for how long to wait on a provider.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_a_quarter_of_the_characters_rounded_up() {
        assert_eq!(super::approx_tokens(""), 0);
        assert_eq!(super::approx_tokens("abcd"), 1);
        assert_eq!(super::approx_tokens("abcde"), 2);
        assert_eq!(super::approx_tokens("héllo wörld"), 3);
    }
}
