//! [`FromJson`]/[`ToJson`] for the `shared` wire types the app receives and
//! sends, spelled as `shared`'s serde attributes spell them (the tests
//! check each against serde). A field or variant added to a type and not
//! here fails to compile: the struct literals and the `every_variant_is_listed`
//! matches name them all.

use super::{Fields, FromJson, Json, JsonError, ToJson, objects, strings, tagged};
use shared::{auth, books, chat, health, models, personas, rolecard, stream, support, ws};

strings! {
    shared::ErrorCode {
        BadRequest = "BAD_REQUEST",
        InvalidJson = "INVALID_JSON",
        UnknownType = "UNKNOWN_TYPE",
        ValidationError = "VALIDATION_ERROR",
        Unauthorized = "UNAUTHORIZED",
        Forbidden = "FORBIDDEN",
        NotFound = "NOT_FOUND",
        MethodNotAllowed = "METHOD_NOT_ALLOWED",
        PayloadTooLarge = "PAYLOAD_TOO_LARGE",
        UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE",
        RateLimited = "RATE_LIMITED",
        Unavailable = "UNAVAILABLE",
        Internal = "INTERNAL",
        UsernameTaken = "USERNAME_TAKEN",
        InvalidCredentials = "INVALID_CREDENTIALS",
        InvalidToken = "INVALID_TOKEN",
        TokenExpired = "TOKEN_EXPIRED",
        InvalidAnonId = "INVALID_ANON_ID",
        AnonLimitReached = "ANON_LIMIT_REACHED",
        InsufficientBalance = "INSUFFICIENT_BALANCE",
        StreamExpired = "STREAM_EXPIRED",
        StreamInterrupted = "STREAM_INTERRUPTED",
        ProviderAuth = "PROVIDER_AUTH",
        ProviderUnavailable = "PROVIDER_UNAVAILABLE",
        UnknownPersona = "UNKNOWN_PERSONA",
        SessionNotFound = "SESSION_NOT_FOUND",
        ConnectionLimit = "CONNECTION_LIMIT",
        SessionForbidden = "SESSION_FORBIDDEN",
        AgentTimeout = "AGENT_TIMEOUT",
        ProviderRejected = "PROVIDER_REJECTED",
        ProviderIncomplete = "PROVIDER_INCOMPLETE",
        ModelNotAllowed = "MODEL_NOT_ALLOWED",
    }
    auth::UsageKind { Anonymous = "anonymous", User = "user" }
    stream::FinishStatus { Completed = "completed", Stopped = "stopped", Failed = "failed" }
    ws::StreamStatus {
        Starting = "starting",
        Processing = "processing",
        Streaming = "streaming",
        Completed = "completed",
    }
    support::RiskLevel { None = "none", Low = "low", Medium = "medium", High = "high" }
    support::Intent {
        Validate = "validate",
        Explore = "explore",
        Inform = "inform",
        Encourage = "encourage",
        Escalate = "escalate",
    }
    books::ToolStatus { Executing = "executing", Completed = "completed", Failed = "failed" }
    books::ArtifactKind { Plot = "plot", Author = "author", World = "world", Character = "character" }
}

objects! {
    shared::ApiError { error, code, details }
    health::Health { status, version }
    auth::User { id, username }
    auth::AuthResponse { token, user }
    auth::Me { id, username, credits }
    auth::Usage { used, limit, remaining, kind }
    #[to]
    auth::Credentials { username, password }
    stream::TokenUsage { prompt_tokens, completion_tokens }
    stream::Interrupted { kind: "type", status, code, error, message, text, stream_id, seq, timestamp }

    personas::Persona { id, name, avatar, description, style, kind }
    personas::PersonaStream { persona_id, stream_id, index }
    personas::ChatResponseData { persona_id, persona_name, response, finish, usage }
    personas::OpenaiResponseData { response_id, output_text, model, finish, usage }
    personas::PanelResponseData { message, responses }
    personas::PanelReply { persona_id, persona_name, index, response, finish }
    #[to]
    personas::OpenaiChatData { input_text, model, previous_response_id, tools, include_reasoning }
    #[to]
    personas::ChatData { message, persona_id, api, model, temperature, max_tokens, history }
    #[to]
    personas::MultiChatData { message, persona_ids, api, model, temperature, max_tokens }
    #[to]
    personas::HistoryTurn { role, content }
    #[to]
    ws::ResumeData { stream_id, after_seq }
    #[to]
    ws::StopData { stream_id }

    support::EmergencyResources { crisis_hotline, crisis_text, message }
    support::AssistantMessage { text, intent, risk_level }
    support::SupportSession { id, title, created_at, max_risk }
    support::SupportMessage { id, role, text, risk_level, intent, timestamp }

    chat::Chat { id, title, created_at, updated_at }
    chat::ChatHit { chat, excerpt }
    models::ModelList { default, models }
    models::ModelInfo { id, price }
    #[to]
    chat::Regenerate { model, temperature }
    #[to]
    chat::EditMessage { content, model, temperature, max_tokens }
    #[to]
    chat::SendMessage { chat_id, model, content, temperature, max_tokens }

    #[default]
    books::ErrorDetails {
        field, kind: "type", reason, allowed, length, max_length, count, max,
        retry_after_ms, limit, window_ms, queued, agent, timeout_duration, partial_saved,
    }
    #[default]
    books::CompletionResults {
        plot_id, author_id, world_id, character_id, title, artifacts, agents_used, stopped,
    }
    #[to]
    books::MessageOptions { stream, model }
    books::ArtifactRef { id, kind, title }
    books::Artifact { id, kind, title, fields, content, status, builds_on, created_at }
    books::ArtifactList { session_id, artifacts }
    books::BookList { books }
    books::BookSummary { session_id, title, artifacts, updated_at }

    rolecard::Memory { id, content, created_at }
    #[to]
    rolecard::NewMemory { content }
    rolecard::Relation { id, name, relationship, notes }
    #[to]
    rolecard::NewRelation { name, relationship, notes }
    #[to]
    rolecard::GenerateOptions { include_core: "includeCore", include_relations: "includeRelations" }
    rolecard::Trait { name, evidence }
    rolecard::CoreLayer {
        identity_summary: "identitySummary",
        personality_traits: "personalityTraits",
        values,
        speaking_style: "speakingStyle",
        interests,
    }
    rolecard::RelationLayer {
        relation_id: "relationId",
        name,
        relationship,
        how_they_treat_them: "howTheyTreatThem",
        shared_history: "sharedHistory",
        tone,
    }
    #[default]
    rolecard::RoleCard { core_layer: "coreLayer", relation_layers: "relationLayers" }
    rolecard::SavedRoleCard { rolecard, updated_at: "updatedAt" }
}

tagged! {
    #[to]
    ws::ClientMessage, "type" {
        Ping = "ping",
        Resume { data } = "resume",
        Stop { data } = "stop",
        OpenaiChat { data } = "openai_chat",
        Chat { data } = "chat",
        MultiChat { data } = "multi_chat",
        SessionMessage { session_id, message_text } = "session_message",
    }
    ws::ServerMessage, "type" {
        Connection { status, timestamp } = "connection",
        Pong { timestamp } = "pong",
        Error { status, message, code, retry_after, timestamp, persona_id, stream_id, seq } = "error",
        Status { status, message, persona_id, persona_streams, stream_id, seq } = "status",
        Chunk { chunk, is_final, persona_id, stream_id, seq } = "chunk",
        Response { status, data, stream_id, seq } = "response",
        UserMessage { text, timestamp } = "user_message",
        SafetyEscalation { risk_level, emergency_resources, timestamp } = "safety_escalation",
        AssistantMessageStart { timestamp } = "assistant_message_start",
        AssistantMessageChunk { chunk, is_complete, timestamp } = "assistant_message_chunk",
        AssistantMessageComplete { message, timestamp } = "assistant_message_complete",
        PersonaResponse { persona_id, response, index, stream_id, seq } = "persona_response",
    }

    #[to]
    chat::ClientMessage, "type" {
        ListChats { page, limit } = "list_chats",
        ListMessages { chat_id, page, limit } = "list_messages",
        RenameChat { chat_id, title } = "rename_chat",
        DeleteChat { chat_id } = "delete_chat",
        GetUsage = "get_usage",
        Ping = "ping",
    }
    chat::ServerMessage, "type" {
        ChatsList { chats, page, total } = "chats_list",
        MessagesList { chat_id, messages, page, total } = "messages_list",
        UsageInfo(auth::Usage) = "usage_info",
        ChatRenamed { chat } = "chat_renamed",
        ChatDeleted { chat_id } = "chat_deleted",
        ChatUpdated { chat } = "chat_updated",
        AssistantError { error, code } = "assistant_error",
        Error { error, code } = "error",
        Pong = "pong",
    }
    chat::ServerEvent, "type" {
        AssistantTyping { chat_id, message_id } = "assistant_typing",
        AssistantRegenerating { chat_id, message_id } = "assistant_regenerating",
        AssistantDelta { delta } = "assistant_delta",
        AssistantComplete { message_id, chat_id, content, usage, status } = "assistant_complete",
        AssistantRegenerated { message_id, chat_id, content, version, status } = "assistant_regenerated",
        AssistantError { error, code, retry_after } = "assistant_error",
        UsageInfo(auth::Usage) = "usage_info",
    }

    #[to]
    books::ClientMessage, "type" {
        Message { content, user_id, timestamp, options, client_id } = "message",
        Ping = "ping",
        ModelSwitch { model } = "model_switch",
        SessionRestore = "session_restore",
        Batch { messages } = "batch",
        Stop = "stop",
        Resume { after_seq } = "resume",
    }
    books::ServerMessage, "type" {
        StreamChunk { content, agent, chunk_id, total_chunks, timestamp, seq } = "stream_chunk",
        AgentSwitch { from_agent, to_agent, reason, timestamp, seq } = "agent_switch",
        ToolExecution { tool_name, status, message, progress, timestamp, seq } = "tool_execution",
        Error { error_code, message, details, timestamp, seq } = "error",
        Completion { message, results, timestamp, seq } = "completion",
        Pong { timestamp, seq } = "pong",
        SessionRestored { messages, current_agent, artifacts, model, timestamp, seq } = "session_restored",
        MessageReceived { content, client_id, timestamp, seq } = "message_received",
        ModelSwitched { model, timestamp, seq } = "model_switched",
    }
    books::Entry, "kind" {
        User { id, content, client_id, timestamp } = "user",
        Switch { id, from_agent, to_agent, reason, timestamp } = "switch",
        Agent { id, agent, content, streaming, timestamp } = "agent",
        Tool { id, tool_name, status, message, progress, timestamp } = "tool",
        Completion { id, message, results, timestamp } = "completion",
        Error { id, error_code, message, timestamp } = "error",
    }

    rolecard::ServerEvent, "type" {
        Progress { stage, progress, message } = "progress",
        Data { content } = "data",
        DataRestart { discarded, reason } = "data_restart",
        Complete { result } = "complete",
        Error { error } = "error",
        BatchStart { total, pending } = "batch_start",
        LayerProgress { layer, progress } = "layer_progress",
        LayerComplete { layer } = "layer_complete",
        BatchComplete { result } = "batch_complete",
    }
}

/// Any role the app does not know reads as `Other`, as serde's `other`.
impl FromJson for shared::Role {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        let s = String::from_json(v)?;
        Ok(shared::Role::parse(&s).unwrap_or(shared::Role::Other))
    }
}

impl ToJson for shared::Role {
    fn to_json(&self) -> Json {
        Json::Str(self.as_str().to_owned())
    }
}

/// `response`'s `data`: told apart by their fields, as serde's `untagged`
/// tries them in order.
impl FromJson for ws::ResponseData {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        let o = Fields::of(v)?;
        if o.has("responses") {
            FromJson::from_json(o.rest()).map(Self::Panel)
        } else if o.has("response_id") {
            FromJson::from_json(o.rest()).map(Self::Openai)
        } else {
            FromJson::from_json(o.rest()).map(Self::Chat)
        }
    }
}

/// Externally tagged: `{"rolecard": {…}}`, `{"coreLayer": {…}}`,
/// `{"relationLayer": {…}}`.
impl FromJson for rolecard::RoleCardResult {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        let mut o = Fields::of(v)?;
        if o.has("rolecard") {
            o.field("rolecard").map(Self::RoleCard)
        } else if o.has("coreLayer") {
            o.field("coreLayer").map(Self::CoreLayer)
        } else {
            o.field("relationLayer").map(Self::RelationLayer)
        }
    }
}

/// A chat message: `status` absent means `completed`, `interrupted`
/// absent `false`.
impl FromJson for chat::Message {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        let mut o = Fields::of(v)?;
        Ok(Self {
            id: o.field("id")?,
            chat_id: o.field("chat_id")?,
            role: o.field("role")?,
            content: o.field("content")?,
            versions: o.field("versions")?,
            created_at: o.field("created_at")?,
            status: o
                .field::<Option<stream::FinishStatus>>("status")?
                .unwrap_or(stream::FinishStatus::Completed),
            interrupted: o.field::<Option<bool>>("interrupted")?.unwrap_or(false),
        })
    }
}

/// BooksWriter's `timestamp`, kept as sent: a number or a string.
impl FromJson for books::Timestamp {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        match v {
            Json::Str(s) => Ok(Self::Text(s)),
            Json::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => {
                Ok(Self::Millis((n as i64).into()))
            }
            Json::Num(n) => serde_json::Number::from_f64(n)
                .map(Self::Millis)
                .ok_or_else(|| JsonError::expected("a finite number")),
            _ => Err(JsonError::expected("a number or a string")),
        }
    }
}

impl ToJson for books::Timestamp {
    fn to_json(&self) -> Json {
        match self {
            Self::Text(s) => Json::Str(s.clone()),
            Self::Millis(n) => Json::Num(n.as_f64().unwrap_or(0.0)),
        }
    }
}

/// `serde_json`'s value, where `shared` keeps one (books' `timestamp` and
/// artifact fields, error details): built from a [`Json`] without
/// `serde_json`'s parser.
impl FromJson for serde_json::Value {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        use serde_json::Value;
        Ok(match v {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => Value::from(n as i64),
            Json::Num(n) => Value::from(n),
            Json::Str(s) => Value::String(s),
            Json::Arr(items) => items
                .into_iter()
                .map(FromJson::from_json)
                .collect::<Result<_, _>>()
                .map(Value::Array)?,
            Json::Obj(_) => Value::Object(FromJson::from_json(v)?),
        })
    }
    fn missing() -> Option<Self> {
        Some(serde_json::Value::Null)
    }
}

impl FromJson for serde_json::Map<String, serde_json::Value> {
    fn from_json(v: Json) -> Result<Self, JsonError> {
        match v {
            Json::Obj(fields) => fields
                .into_iter()
                .map(|(k, v)| Ok((k, FromJson::from_json(v)?)))
                .collect(),
            _ => Err(JsonError::expected("an object")),
        }
    }
    fn missing() -> Option<Self> {
        Some(Self::new())
    }
}

impl ToJson for serde_json::Value {
    fn to_json(&self) -> Json {
        use serde_json::Value;
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Num(n.as_f64().unwrap_or(0.0)),
            Value::String(s) => Json::Str(s.clone()),
            Value::Array(items) => Json::Arr(items.iter().map(ToJson::to_json).collect()),
            Value::Object(map) => {
                Json::Obj(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::decode;
    use super::*;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    /// Decodes `v` with the app's decoder and with serde: the same value.
    pub(crate) fn same<T: FromJson + DeserializeOwned + PartialEq + std::fmt::Debug>(
        v: &Value,
    ) -> T {
        let theirs: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"));
        let mine: T = decode(&v.to_string()).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(mine, theirs, "{v}");
        mine
    }

    /// Encodes `v` with the app's encoder and with serde: the same JSON,
    /// but for the nulls the app leaves out.
    fn same_out<T: ToJson + Serialize>(v: &T) {
        let mine: Value = serde_json::from_str(&super::super::encode(v)).unwrap();
        let mut theirs = serde_json::to_value(v).unwrap();
        drop_nulls(&mut theirs);
        assert_eq!(mine, theirs);
    }

    fn drop_nulls(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|_, v| !v.is_null());
                map.values_mut().for_each(drop_nulls);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_nulls),
            _ => {}
        }
    }

    /// The variants serde accepts as `tag`, read from its refusal of an
    /// unknown one.
    fn serde_tags<T: DeserializeOwned + std::fmt::Debug>(tag: &str) -> Vec<String> {
        let err = serde_json::from_value::<T>(json!({ tag: "__none__" })).unwrap_err();
        let text = err.to_string();
        let list = text
            .split("expected one of ")
            .nth(1)
            .unwrap_or_else(|| panic!("{text}"));
        list.split(", ")
            .map(|s| {
                s.trim_matches(|c: char| c == '`' || c.is_whitespace() || c == ',')
                    .to_owned()
            })
            .map(|s| s.split('`').next().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn every_tagged_enum_has_serdes_tags() {
        fn check<T: FromJson + DeserializeOwned + std::fmt::Debug>(tag: &str) {
            assert_eq!(
                T::TAGS,
                serde_tags::<T>(tag),
                "{}",
                std::any::type_name::<T>()
            );
        }
        check::<ws::ClientMessage>("type");
        check::<ws::ServerMessage>("type");
        check::<chat::ClientMessage>("type");
        check::<chat::ServerMessage>("type");
        check::<chat::ServerEvent>("type");
        check::<books::ClientMessage>("type");
        check::<books::ServerMessage>("type");
        check::<books::Entry>("kind");
        check::<rolecard::ServerEvent>("type");
    }

    #[test]
    fn every_protocol_example_decodes_as_serde_decodes_it() {
        let mut n = 0;
        for file in [
            "personas.json",
            "support.json",
            "books.json",
            "rolecard.json",
        ] {
            for (from, v) in shared::fixtures::examples(file) {
                n += 1;
                match (file, from.as_str()) {
                    ("books.json", "server") => {
                        let m: books::ServerMessage = same(&v);
                        if let books::ServerMessage::SessionRestored { messages, .. } = m {
                            assert!(!messages.is_empty() || v["messages"] == json!([]));
                        }
                    }
                    ("books.json", _) => {
                        let m: books::ClientMessage = same(&v);
                        same_out(&m);
                    }
                    ("rolecard.json", "server") => {
                        same::<rolecard::ServerEvent>(&v);
                    }
                    ("rolecard.json", _) => {}
                    (_, "server") => {
                        same::<ws::ServerMessage>(&v);
                    }
                    _ => {
                        let m: ws::ClientMessage = same(&v);
                        same_out(&m);
                    }
                }
            }
        }
        assert!(n > 30, "{n} examples");
    }

    #[test]
    fn rest_answers_and_chat_messages_decode_as_serde_decodes_them() {
        same::<shared::ApiError>(
            &json!({"error": "x", "code": "NOT_FOUND", "details": {"a": [1, 2.5]}}),
        );
        same::<auth::AuthResponse>(&json!({"token": "t", "user": {"id": "u", "username": "ada"}}));
        same::<auth::Me>(&json!({"id": "u", "username": "ada", "credits": -3}));
        same::<Vec<personas::Persona>>(&json!([{"id": "a", "name": "A", "avatar": "🙂",
            "description": "d", "style": "s", "kind": "k"}]));
        same::<Vec<support::SupportMessage>>(&json!([
            {"id": "1", "role": "user", "text": "hi", "risk_level": "none", "timestamp": "t"},
            {"id": "2", "role": "assistant", "text": "yo", "risk_level": "low", "intent": "explore", "timestamp": "t"}]));
        same::<support::SupportSession>(
            &json!({"id": "s", "title": "T", "created_at": "t", "max_risk": "high"}),
        );
        same::<rolecard::SavedRoleCard>(
            &json!({"rolecard": {"relationLayers": []}, "updatedAt": "t"}),
        );
        same::<books::ArtifactList>(
            &json!({"session_id": "s", "artifacts": [{"id": "a", "kind": "plot",
            "title": "T", "fields": {"genre": "fantasy", "acts": 3}, "content": "c", "status": "complete",
            "builds_on": ["b"], "created_at": "t"}]}),
        );
        same::<books::BookList>(
            &json!({"books": [{"session_id": "s", "title": "Glass", "artifacts": 2, "updated_at": "t"}]}),
        );
        same::<chat::ServerMessage>(
            &json!({"type": "messages_list", "chat_id": "c", "page": 0, "total": 1,
            "messages": [{"id": "m", "chat_id": "c", "role": "assistant", "content": "B",
                "versions": ["A", "B"], "created_at": "t"}]}),
        );
        same::<chat::ServerMessage>(
            &json!({"type": "messages_list", "chat_id": "c", "page": 0, "total": 1,
            "messages": [{"id": "m", "chat_id": "c", "role": "assistant", "content": "Ha",
                "versions": ["Ha"], "created_at": "t", "status": "failed", "interrupted": true}]}),
        );
        same::<stream::Interrupted>(&json!({"type": "assistant_error", "status": "error",
            "code": "STREAM_INTERRUPTED", "error": "gone", "message": "gone", "text": "Half",
            "stream_id": "s", "seq": 7, "timestamp": "t"}));
        same::<chat::ServerMessage>(
            &json!({"type": "usage_info", "used": 1, "limit": 3, "remaining": 2, "kind": "anonymous"}),
        );
        same::<chat::ServerMessage>(&json!({"type": "pong"}));
        same::<Vec<chat::ChatHit>>(&json!([
            {"chat": {"id": "c", "title": "T", "created_at": "t", "updated_at": "t"}, "excerpt": "…in Lisbon…"},
            {"chat": {"id": "d", "title": "Lisbon", "created_at": "t", "updated_at": "t"}}]));
        same::<chat::ServerEvent>(
            &json!({"type": "assistant_complete", "message_id": "m", "chat_id": "c",
            "content": "Hi", "status": "stopped", "usage": {"prompt_tokens": 3, "completion_tokens": 2}}),
        );
    }

    #[test]
    fn what_the_app_sends_encodes_as_serde_encodes_it() {
        same_out(&chat::ClientMessage::ListChats { page: 0, limit: 50 });
        same_out(&chat::ClientMessage::GetUsage);
        same_out(&chat::SendMessage {
            chat_id: None,
            model: String::new(),
            content: "Hé \"there\"\n".into(),
            temperature: 0.7,
            max_tokens: Some(300),
        });
        same_out(&chat::Regenerate {
            model: "m".into(),
            temperature: None,
        });
        same_out(&chat::EditMessage {
            content: "Now \"this\"".into(),
            model: String::new(),
            temperature: Some(0.25),
            max_tokens: None,
        });
        same_out(&auth::Credentials {
            username: "ada".into(),
            password: "pw".into(),
        });
        same_out(&rolecard::GenerateOptions::default());
        same_out(&ws::ClientMessage::Chat {
            data: personas::ChatData {
                message: "m".into(),
                persona_id: "p".into(),
                api: None,
                model: None,
                temperature: 0.25,
                max_tokens: 1000,
                history: vec![personas::HistoryTurn {
                    role: shared::Role::User,
                    content: "c".into(),
                }],
            },
        });
    }

    #[test]
    fn a_bad_message_says_where() {
        let e = decode::<chat::ServerEvent>(r#"{"type":"assistant_delta","delta":3}"#).unwrap_err();
        assert_eq!(e.0, "delta: expected a string");
        let e = decode::<chat::ServerEvent>(r#"{"type":"nope"}"#).unwrap_err();
        assert_eq!(e.0, "unknown type nope");
        assert!(decode::<shared::ErrorCode>(r#""WHAT""#).is_err());
        assert_eq!(
            decode::<shared::Role>(r#""bot""#).unwrap(),
            shared::Role::Other
        );
    }
}
