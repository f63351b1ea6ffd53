//! The management channel's logic, the same for both transports (the plain
//! WebSocket in `socket` and socket.io in `socketio`): parse a message,
//! answer it, tell the owner's other connections what changed.

use crate::auth::identity::Identity;
use crate::config::Config;
use crate::error::AppError;
use crate::message_rates::AddressRates;
use crate::quota::Quota;
use crate::ratelimit::RateLimiter;
use crate::state::AppState;
use crate::store::Store;
use crate::store::chats::ChatAccess;
use serde_json::Value;
use shared::ErrorCode;
use shared::chat::{ClientMessage, MAX_PAGE_LIMIT, MAX_TITLE_CHARS, ServerMessage};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Messages a connection may send at once, then per second: listing is
/// cheap, but a client stuck in a loop should not hammer the database.
const BURST: u32 = 60;
const PER_SEC: f64 = 5.0;

/// One connection's rate limit (a handle: socket.io handlers clone it);
/// none under `--no-limits`. An anonymous visitor's connection also takes
/// from their address's budget (`message_rates`), shared by all of them.
#[derive(Clone)]
pub(crate) struct Gate(
    Option<Arc<Mutex<RateLimiter>>>,
    Option<(AddressRates, IpAddr)>,
);

impl Default for Gate {
    fn default() -> Self {
        Self(
            Some(Arc::new(Mutex::new(RateLimiter::new(BURST, PER_SEC)))),
            None,
        )
    }
}

impl Gate {
    /// The gate for a new connection on this server.
    pub(crate) fn new(config: &Config) -> Self {
        if config.no_limits {
            Self(None, None)
        } else {
            Self::default()
        }
    }

    /// The same gate, for `who` at `ip`: an anonymous visitor's messages
    /// also count against their address.
    pub(crate) fn for_caller(mut self, rates: &AddressRates, who: &Identity, ip: IpAddr) -> Self {
        if matches!(who, Identity::Anonymous(_)) {
            self.1 = Some((rates.clone(), ip));
        }
        self
    }

    /// `Err(wait)` when `msg` (not a `ping`) is past its address's budget.
    fn address_allows(&self, msg: &ClientMessage) -> Result<(), std::time::Duration> {
        match &self.1 {
            Some((rates, ip)) if !matches!(msg, ClientMessage::Ping) => rates.take(*ip),
            _ => Ok(()),
        }
    }

    /// Whether `msg` may be answered now (`ping` always is).
    pub(crate) fn allows(&self, msg: &ClientMessage) -> bool {
        let Some(limiter) = &self.0 else {
            return true;
        };
        matches!(msg, ClientMessage::Ping)
            || limiter
                .lock()
                .expect("rate lock")
                .try_take(std::time::Instant::now())
    }
}

/// The in-band error for a management message.
pub(crate) fn error(code: ErrorCode, message: impl Into<String>) -> ServerMessage {
    ServerMessage::Error {
        error: message.into(),
        code,
    }
}

/// The in-band form of an [`AppError`] (5xx causes are logged, not sent).
pub(crate) fn from_app_error(e: AppError) -> ServerMessage {
    let (status, body) = e.to_api_error();
    if status.is_server_error() {
        tracing::error!(error = %e, "chat management failed");
    }
    error(body.code, body.error)
}

/// A client message from JSON text, or the in-band error that explains why not.
pub(crate) fn parse(text: &str) -> Result<ClientMessage, ServerMessage> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| error(ErrorCode::InvalidJson, format!("message is not JSON: {e}")))?;
    parse_value(value)
}

/// A client message from a JSON value with its `type` inside.
pub(crate) fn parse_value(value: Value) -> Result<ClientMessage, ServerMessage> {
    crate::socket::decode_typed(value, ClientMessage::TYPES)
        .map_err(|(code, message)| error(code, message))
}

/// A socket.io event (`name`, `data`) as a client message: the name is the
/// `type`, the data object the rest.
pub(crate) fn parse_event(name: &str, data: Option<Value>) -> Result<ClientMessage, ServerMessage> {
    let mut object = match data {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            return Err(error(
                ErrorCode::ValidationError,
                format!("the data of {name} must be an object"),
            ));
        }
    };
    object.insert("type".into(), Value::String(name.to_owned()));
    parse_value(Value::Object(object))
}

/// What a connection sends first: the caller's usage.
pub(crate) async fn welcome(quota: &Quota, who: &Identity) -> ServerMessage {
    match quota.usage(who).await {
        Ok(u) => ServerMessage::UsageInfo(u),
        Err(e) => from_app_error(e),
    }
}

/// Answers one message from connection `conn` of `who`.
pub(crate) async fn handle(
    state: &AppState,
    who: &Identity,
    conn: &str,
    gate: &Gate,
    msg: ClientMessage,
) -> ServerMessage {
    if !gate.allows(&msg) {
        return error(
            ErrorCode::RateLimited,
            "too many messages on this connection: slow down",
        );
    }
    if let Err(wait) = gate.address_allows(&msg) {
        let secs = crate::message_rates::retry_secs(wait);
        return error(
            ErrorCode::RateLimited,
            format!("too many messages from this address: try again in {secs} s"),
        );
    }
    match answer(state, who, conn, msg).await {
        Ok(m) => m,
        Err(e) => from_app_error(e),
    }
}

fn check_page(limit: u32) -> Result<(), AppError> {
    if (1..=MAX_PAGE_LIMIT).contains(&limit) {
        Ok(())
    } else {
        Err(AppError::client(
            ErrorCode::ValidationError,
            format!("limit is 1 to {MAX_PAGE_LIMIT}"),
        ))
    }
}

/// 404 for no such chat, 403 for someone else's.
pub(crate) async fn own_chat(store: &Store, who: &Identity, chat_id: &str) -> Result<(), AppError> {
    match store.chat_access(chat_id, &who.owner_key()).await? {
        ChatAccess::Owned => Ok(()),
        ChatAccess::Missing => Err(AppError::not_found("no such chat")),
        ChatAccess::Other => Err(AppError::client(
            ErrorCode::Forbidden,
            "this chat belongs to someone else",
        )),
    }
}

async fn answer(
    state: &AppState,
    who: &Identity,
    conn: &str,
    msg: ClientMessage,
) -> Result<ServerMessage, AppError> {
    let owner = who.owner_key();
    Ok(match msg {
        ClientMessage::ListChats { page, limit } => {
            check_page(limit)?;
            let (chats, total) = state.store.chats(&owner, page, limit).await?;
            ServerMessage::ChatsList { chats, page, total }
        }
        ClientMessage::ListMessages {
            chat_id,
            page,
            limit,
        } => {
            check_page(limit)?;
            own_chat(&state.store, who, &chat_id).await?;
            let (messages, total) = state.store.chat_messages(&chat_id, page, limit).await?;
            ServerMessage::MessagesList {
                chat_id,
                messages,
                page,
                total,
            }
        }
        ClientMessage::RenameChat { chat_id, title } => {
            let title = title.trim();
            if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
                return Err(AppError::client(
                    ErrorCode::ValidationError,
                    format!("a title has 1 to {MAX_TITLE_CHARS} characters"),
                ));
            }
            own_chat(&state.store, who, &chat_id).await?;
            let chat = state
                .store
                .rename_chat(&chat_id, title)
                .await?
                .ok_or_else(|| AppError::not_found("no such chat"))?;
            let reply = ServerMessage::ChatRenamed { chat };
            state.chats.notify(&owner, Some(conn), reply.clone());
            reply
        }
        ClientMessage::DeleteChat { chat_id } => {
            own_chat(&state.store, who, &chat_id).await?;
            if let Some(stream) = state.chats.running(&chat_id).await
                && let Some(entry) = state.generator.streams.get(&stream)
            {
                entry.cancel.cancel();
            }
            state.store.delete_chat(&chat_id).await?;
            let reply = ServerMessage::ChatDeleted { chat_id };
            state.chats.notify(&owner, Some(conn), reply.clone());
            reply
        }
        ClientMessage::GetUsage => {
            ServerMessage::UsageInfo(state.generator.quota.usage(who).await?)
        }
        ClientMessage::Ping => ServerMessage::Pong,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code_of(r: Result<ClientMessage, ServerMessage>) -> ErrorCode {
        match r {
            Err(ServerMessage::Error { code, .. }) => code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn bad_messages_get_typed_errors() {
        assert_eq!(code_of(parse("nope")), ErrorCode::InvalidJson);
        assert_eq!(code_of(parse("{}")), ErrorCode::BadRequest);
        assert_eq!(
            code_of(parse(r#"{"type":"dance"}"#)),
            ErrorCode::UnknownType
        );
        assert_eq!(
            code_of(parse(r#"{"type":"list_messages"}"#)),
            ErrorCode::ValidationError
        );
    }

    #[test]
    fn a_connection_gets_a_burst_then_is_slowed_but_pings_pass() {
        let gate = Gate::default();
        let list = ClientMessage::ListChats { page: 0, limit: 1 };
        let allowed = (0..BURST + 10).filter(|_| gate.allows(&list)).count();
        assert!(
            (BURST as usize..BURST as usize + 3).contains(&allowed),
            "{allowed}"
        );
        assert!(gate.allows(&ClientMessage::Ping));
    }

    #[test]
    fn socketio_events_become_messages() {
        assert_eq!(
            parse_event("list_chats", Some(json!({"page": 1, "limit": 5}))).unwrap(),
            ClientMessage::ListChats { page: 1, limit: 5 }
        );
        assert_eq!(
            parse_event("get_usage", None).unwrap(),
            ClientMessage::GetUsage
        );
        assert_eq!(
            code_of(parse_event("list_chats", Some(json!([1])))),
            ErrorCode::ValidationError
        );
    }
}
