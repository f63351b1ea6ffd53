//! The OpenAPI 3.1 document of every HTTP route, declared here over the
//! `shared` types: each operation names its request and response types, and
//! their JSON Schemas (2020-12, which OpenAPI 3.1 uses) are generated from
//! those types by schemars. Handlers carry no annotations. A test reads
//! every `.route(…)` of the server's source and fails when one is missing
//! here (`server/tests/api/apidocs.rs`).

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};
use shared::admin::{AdminAccess, AdminOverview};
use shared::auth::{AuthResponse, Credentials, Me, Usage};
use shared::books::{ArtifactList, BookList};
use shared::chat::{ChatHit, EditMessage, Regenerate, SendMessage};
use shared::health::{Health, Readiness};
use shared::models::ModelList;
use shared::personas::Persona;
use shared::rolecard::{GenerateOptions, Memory, NewMemory, NewRelation, Relation, SavedRoleCard};
use shared::stream::StopResponse;
use shared::support::{EscalationCount, SupportMessage, SupportSession};

/// Who may call an operation.
#[derive(Clone, Copy)]
enum Who {
    /// Anyone.
    Anyone,
    /// A signed-in user (`Authorization: Bearer` or `?token=`).
    User,
    /// A user or an anonymous visitor (`x-anon-id` or `?anon_id=`).
    Caller,
    /// A user with the admin role.
    Admin,
}

/// The document being written.
struct Doc {
    schemas: SchemaGenerator,
    paths: Map<String, Value>,
}

/// One operation being declared.
struct Op<'a> {
    doc: &'a mut Doc,
    path: &'static str,
    method: &'static str,
    op: Map<String, Value>,
}

impl Doc {
    fn op(
        &mut self,
        method: &'static str,
        path: &'static str,
        tag: &str,
        summary: &str,
        who: Who,
    ) -> Op<'_> {
        let mut op = Map::new();
        op.insert("tags".into(), json!([tag]));
        op.insert("summary".into(), json!(summary));
        op.insert("operationId".into(), json!(operation_id(method, path)));
        let security = match who {
            Who::Anyone => json!([]),
            Who::User | Who::Admin => json!([{"bearer": []}, {"tokenQuery": []}]),
            Who::Caller => {
                json!([{"bearer": []}, {"tokenQuery": []}, {"anonId": []}, {"anonIdQuery": []}])
            }
        };
        op.insert("security".into(), security);
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        let mut responses = Map::new();
        let error = self.schemas.subschema_for::<shared::ApiError>();
        let mut refuse = |code: &str, what: &str| {
            responses.insert(
                code.into(),
                json!({"description": what, "content": {"application/json": {"schema": error.clone()}}}),
            );
        };
        match who {
            Who::Anyone => {}
            Who::User | Who::Caller => refuse("401", "No identity, or a bad or expired token"),
            Who::Admin => {
                refuse("401", "Not signed in");
                refuse("403", "Signed in, but not an admin (`FORBIDDEN`)");
            }
        }
        op.insert("responses".into(), Value::Object(responses));
        Op {
            doc: self,
            path,
            method,
            op,
        }
    }
}

impl Op<'_> {
    fn responses(&mut self) -> &mut Map<String, Value> {
        self.op["responses"].as_object_mut().expect("responses")
    }

    /// The JSON request body.
    fn body<T: JsonSchema>(mut self, required: bool) -> Self {
        let schema = self.doc.schemas.subschema_for::<T>();
        self.op.insert(
            "requestBody".into(),
            json!({"required": required, "content": {"application/json": {"schema": schema}}}),
        );
        self
    }

    /// A JSON request body with this inline schema.
    fn body_schema(mut self, schema: Value) -> Self {
        self.op.insert(
            "requestBody".into(),
            json!({"required": false, "content": {"application/json": {"schema": schema}}}),
        );
        self
    }

    /// The JSON answer, with its status.
    fn ok<T: JsonSchema>(mut self, status: u16, what: &str) -> Self {
        let schema = self.doc.schemas.subschema_for::<T>();
        self.responses().insert(
            status.to_string(),
            json!({"description": what, "content": {"application/json": {"schema": schema}}}),
        );
        self
    }

    /// An answer with no body.
    fn empty(mut self, status: u16, what: &str) -> Self {
        self.responses()
            .insert(status.to_string(), json!({"description": what}));
        self
    }

    /// An SSE stream whose events the AsyncAPI document describes on `channel`.
    fn sse(mut self, channel: &str) -> Self {
        let what = format!(
            "An SSE stream (`id:` = seq); its events are the AsyncAPI document's `{channel}` channel (`/api/asyncapi.json`)"
        );
        self.responses().insert(
            "200".into(),
            json!({"description": what, "content": {"text/event-stream": {"schema": {"type": "string"}}}}),
        );
        self
    }

    /// A WebSocket upgrade; its messages are the AsyncAPI `channel`.
    fn socket(mut self, channel: &str) -> Self {
        let what = format!(
            "Switching to a WebSocket; its messages are the AsyncAPI document's `{channel}` channel (`/api/asyncapi.json`)"
        );
        self.responses()
            .insert("101".into(), json!({"description": what}));
        self
    }

    /// Client errors this operation answers with, each an `ApiError`.
    fn errors(mut self, codes: &[(u16, &str)]) -> Self {
        let error = self.doc.schemas.subschema_for::<shared::ApiError>();
        for (status, what) in codes {
            self.responses().insert(
                status.to_string(),
                json!({"description": what, "content": {"application/json": {"schema": error.clone()}}}),
            );
        }
        self
    }

    /// A query parameter.
    fn query(mut self, name: &str, schema: Value, what: &str) -> Self {
        let params = self
            .op
            .entry("parameters")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("parameters");
        params.push(json!({"name": name, "in": "query", "required": false, "schema": schema, "description": what}));
        self
    }

    fn done(self) {
        let item = self.doc.paths.entry(self.path).or_insert_with(|| json!({}));
        item[self.method] = Value::Object(self.op);
    }
}

/// `get /api/support/sessions/{id}/messages` → `get_support_sessions_id_messages`.
fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<String> = path
        .trim_start_matches("/api")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    format!("{method}_{}", words.join("_"))
}

/// The whole document.
pub(crate) fn document() -> Value {
    let mut doc = Doc {
        schemas: super::schemas(SchemaSettings::draft2020_12()),
        paths: Map::new(),
    };
    declare(&mut doc);
    let schemas = doc.schemas.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Chorus",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every HTTP route of the Chorus server. The WebSocket and SSE protocols' messages are in the AsyncAPI document at /api/asyncapi.json. Every error is an ApiError: {\"error\", \"code\"}.",
        },
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "paths": doc.paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "A login token from /api/auth/register or /api/auth/login"},
                "tokenQuery": {"type": "apiKey", "in": "query", "name": "token", "description": "The login token, for EventSource and WebSocket clients, which cannot set headers"},
                "anonId": {"type": "apiKey", "in": "header", "name": "x-anon-id", "description": "An anonymous visitor's id: 8-64 of [A-Za-z0-9_-]"},
                "anonIdQuery": {"type": "apiKey", "in": "query", "name": "anon_id", "description": "The anonymous id, for clients that cannot set headers"},
            },
        },
    })
}

fn declare(d: &mut Doc) {
    use Who::*;
    let after = json!({"type": "integer", "minimum": 0});
    // Meta.
    d.op(
        "get",
        "/api/health",
        "meta",
        "Alive: the server answers, with its version",
        Anyone,
    )
    .ok::<Health>(200, "Alive")
    .done();
    d.op(
        "get",
        "/api/ready",
        "meta",
        "Ready: the database answers and has every migration",
        Anyone,
    )
    .ok::<Readiness>(200, "Ready")
    .ok::<Readiness>(503, "Not ready: the failing check says why")
    .done();
    d.op(
        "get",
        "/api/models",
        "meta",
        "The models clients may pick (--allowed-models), the default first, with their prices",
        Anyone,
    )
    .ok::<ModelList>(200, "The models")
    .done();
    d.op("get", "/api/openapi.json", "meta", "This document", Anyone)
        .empty(200, "The OpenAPI 3.1 document")
        .done();
    d.op(
        "get",
        "/api/asyncapi.json",
        "meta",
        "The AsyncAPI 3 document of the socket and SSE protocols",
        Anyone,
    )
    .empty(200, "The AsyncAPI 3 document")
    .done();
    // Accounts.
    d.op(
        "post",
        "/api/auth/register",
        "accounts",
        "Create an account",
        Anyone,
    )
    .body::<Credentials>(true)
    .ok::<AuthResponse>(201, "Created, signed in")
    .errors(&[
        (409, "USERNAME_TAKEN"),
        (422, "VALIDATION_ERROR: username or password"),
        (
            429,
            "RATE_LIMITED: too many sign-ups from this address; details.retry_after in seconds",
        ),
    ])
    .done();
    d.op("post", "/api/auth/login", "accounts", "Sign in", Anyone)
        .body::<Credentials>(true)
        .ok::<AuthResponse>(200, "Signed in")
        .errors(&[
            (401, "INVALID_CREDENTIALS"),
            (429, "RATE_LIMITED: too many attempts from this address or for this account; details.retry_after in seconds"),
        ])
        .done();
    d.op(
        "post",
        "/api/auth/logout",
        "accounts",
        "Sign out: revoke every token of the user",
        User,
    )
    .empty(
        204,
        "Signed out; every token issued so far is refused (401 INVALID_TOKEN)",
    )
    .done();
    d.op(
        "get",
        "/api/auth/me",
        "accounts",
        "Who am I, and my balance",
        User,
    )
    .ok::<Me>(200, "The user")
    .done();
    d.op(
        "get",
        "/api/usage",
        "accounts",
        "Free replies left, or credits",
        Caller,
    )
    .ok::<Usage>(200, "The caller's usage")
    .done();
    // Streams.
    d.op(
        "get",
        "/api/streams/{stream_id}",
        "streams",
        "Re-attach to a stream: the events after Last-Event-ID (or ?after=), then the live tail",
        Caller,
    )
    .query(
        "after",
        after.clone(),
        "The last seq seen (instead of Last-Event-ID)",
    )
    .sse("stream")
    .errors(&[
        (403, "Not the stream's owner"),
        (410, "STREAM_EXPIRED; details.text holds the saved text"),
    ])
    .done();
    d.op(
        "post",
        "/api/streams/{stream_id}/stop",
        "streams",
        "Stop a stream: the provider is cancelled, the partial text saved",
        Caller,
    )
    .ok::<StopResponse>(200, "Stopping, or already finished")
    .errors(&[(403, "Not the stream's owner"), (410, "STREAM_EXPIRED")])
    .done();
    // Personas.
    d.op(
        "get",
        "/api/personas",
        "personas",
        "The persona catalog (and the caller's role card as a persona)",
        Anyone,
    )
    .ok::<Vec<Persona>>(200, "The personas")
    .done();
    d.op(
        "get",
        "/ws",
        "personas",
        "The persona and support protocols' socket",
        Anyone,
    )
    .socket("ws")
    .errors(&[
        (403, "Origin not allowed"),
        (429, "CONNECTION_LIMIT"),
        (503, "WebSockets are turned off"),
    ])
    .done();
    // Role cards.
    d.op(
        "get",
        "/api/memories",
        "rolecards",
        "My memories, in the order written",
        User,
    )
    .ok::<Vec<Memory>>(200, "The memories")
    .done();
    d.op(
        "post",
        "/api/memories",
        "rolecards",
        "Write a memory (1-4000 characters)",
        User,
    )
    .body::<NewMemory>(true)
    .ok::<Memory>(201, "Saved")
    .errors(&[(
        422,
        "VALIDATION_ERROR: the text, or the account already keeps 500 memories (details.limit)",
    )])
    .done();
    d.op(
        "delete",
        "/api/memories/{id}",
        "rolecards",
        "Delete a memory",
        User,
    )
    .empty(204, "Deleted")
    .errors(&[(403, "Someone else's"), (404, "No such memory")])
    .done();
    d.op(
        "get",
        "/api/relations",
        "rolecards",
        "The people around me",
        User,
    )
    .ok::<Vec<Relation>>(200, "The relations")
    .done();
    d.op("post", "/api/relations", "rolecards", "Add a person", User)
        .body::<NewRelation>(true)
        .ok::<Relation>(201, "Saved")
        .errors(&[(
            422,
            "VALIDATION_ERROR: the fields, or the account already keeps 200 relations (details.limit)",
        )])
        .done();
    d.op(
        "delete",
        "/api/relations/{id}",
        "rolecards",
        "Delete a person",
        User,
    )
    .empty(204, "Deleted")
    .errors(&[(403, "Someone else's"), (404, "No such relation")])
    .done();
    d.op(
        "get",
        "/api/rolecard",
        "rolecards",
        "The latest role card",
        User,
    )
    .ok::<SavedRoleCard>(200, "The card")
    .empty(204, "No card yet")
    .done();
    d.op(
        "get",
        "/api/rolecard/export",
        "rolecards",
        "Download the card as a Character Card V2 or V3",
        User,
    )
    .query("format", json!({"enum": ["ccv2", "ccv3"]}), "Default ccv2")
    .query("name", json!({"type": "string"}), "The character's name")
    .empty(200, "The character card (JSON, as a download)")
    .errors(&[(404, "No card yet"), (422, "VALIDATION_ERROR: format")])
    .done();
    let options = json!({"type": "object", "properties": {"options": d.schemas.subschema_for::<GenerateOptions>()}});
    for (path, summary) in [
        ("/api/rolecard/generate/stream", "Generate the whole card"),
        (
            "/api/rolecard/layers/core/stream",
            "Regenerate the core layer",
        ),
        (
            "/api/rolecard/layers/relation/{relation_id}/stream",
            "Regenerate one person's layer",
        ),
        (
            "/api/rolecard/layers/batch/stream",
            "Regenerate every layer, one after another",
        ),
    ] {
        d.op("post", path, "rolecards", summary, User)
            .body_schema(options.clone())
            .sse("rolecard")
            .errors(&[(404, "No such relation"), (422, "No memories yet")])
            .done();
        d.op(
            "get",
            path,
            "rolecards",
            &format!("{summary} (for EventSource: options as query parameters, ?token=)"),
            User,
        )
        .query("includeCore", json!({"type": "boolean"}), "")
        .query("includeRelations", json!({"type": "boolean"}), "")
        .sse("rolecard")
        .errors(&[(404, "No such relation"), (422, "No memories yet")])
        .done();
    }
    // Support.
    d.op(
        "get",
        "/api/support/sessions",
        "support",
        "My support sessions",
        User,
    )
    .ok::<Vec<SupportSession>>(200, "The sessions, newest first")
    .done();
    d.op(
        "post",
        "/api/support/sessions",
        "support",
        "Start a support session",
        User,
    )
    .body_schema(json!({"type": "object", "properties": {"title": {"type": "string"}}}))
    .ok::<SupportSession>(201, "Started")
    .done();
    d.op(
        "get",
        "/api/support/sessions/{id}/messages",
        "support",
        "A session's messages",
        User,
    )
    .ok::<Vec<SupportMessage>>(200, "In conversation order")
    .errors(&[(404, "SESSION_NOT_FOUND (also for someone else's)")])
    .done();
    d.op(
        "get",
        "/api/support/escalations/summary",
        "support",
        "Escalations per day and level (counts only, no text)",
        Admin,
    )
    .ok::<Vec<EscalationCount>>(200, "The counts")
    .done();
    // Admin.
    d.op(
        "get",
        "/api/admin/access",
        "admin",
        "Whether I am an admin",
        User,
    )
    .ok::<AdminAccess>(200, "Yes or no")
    .done();
    d.op(
        "get",
        "/api/admin/overview",
        "admin",
        "The admin page's figures",
        Admin,
    )
    .ok::<AdminOverview>(200, "Escalations, what is open, credits granted")
    .done();
    // BooksWriter.
    d.op(
        "get",
        "/ws/{session_id}",
        "books",
        "The BooksWriter protocol's socket",
        Anyone,
    )
    .socket("books")
    .errors(&[
        (400, "Bad session id"),
        (403, "Origin not allowed"),
        (429, "CONNECTION_LIMIT"),
    ])
    .done();
    d.op(
        "get",
        "/api/books",
        "books",
        "Your books (BooksWriter sessions), most recently worked on first",
        Caller,
    )
    .ok::<BookList>(200, "The books, at most 50")
    .done();
    d.op(
        "get",
        "/api/books/{session_id}/artifacts",
        "books",
        "What a BooksWriter session saved",
        Caller,
    )
    .ok::<ArtifactList>(200, "The artifacts")
    .errors(&[(404, "SESSION_NOT_FOUND")])
    .done();
    // The hybrid chat.
    d.op(
        "get",
        "/api/v1/chats/ws",
        "chat",
        "The hybrid chat protocol's management socket",
        Caller,
    )
    .socket("chatManage")
    .errors(&[(403, "Origin not allowed")])
    .done();
    d.op(
        "get",
        "/api/v1/chats/search",
        "chat",
        "Search one's chats: titles and messages containing the words, with an excerpt",
        Caller,
    )
    .query(
        "q",
        json!({"type": "string", "minLength": 1}),
        "The words to find",
    )
    .ok::<Vec<ChatHit>>(200, "The chats found, most recent first")
    .errors(&[(422, "VALIDATION_ERROR: an empty or too long query")])
    .done();
    d.op(
        "post",
        "/api/v1/messages/send",
        "chat",
        "Send a message; the reply streams back",
        Caller,
    )
    .body::<SendMessage>(true)
    .sse("chatReply")
    .errors(&[
        (400, "MODEL_NOT_ALLOWED: see GET /api/models"),
        (403, "Someone else's chat"),
        (404, "No such chat"),
        (422, "VALIDATION_ERROR"),
    ])
    .done();
    d.op(
        "post",
        "/api/v1/messages/{message_id}/regenerate",
        "chat",
        "Write a reply again (a new version)",
        Caller,
    )
    .body::<Regenerate>(false)
    .sse("chatReply")
    .errors(&[
        (403, "Someone else's"),
        (404, "No such message"),
        (422, "VALIDATION_ERROR"),
    ])
    .done();
    d.op(
        "post",
        "/api/v1/messages/{message_id}/edit",
        "chat",
        "Edit one of your messages and resend it: a new version of it, and of the reply to it",
        Caller,
    )
    .body::<EditMessage>(true)
    .sse("chatReply")
    .errors(&[
        (400, "MODEL_NOT_ALLOWED: see GET /api/models"),
        (403, "Someone else's"),
        (404, "No such message"),
        (
            422,
            "VALIDATION_ERROR: empty or too long text, a reply's id, bad settings",
        ),
    ])
    .done();
    d.op(
        "get",
        "/api/v1/chats/{chat_id}/stream",
        "chat",
        "Re-attach to the reply being written in a chat",
        Caller,
    )
    .sse("chatReply")
    .empty(204, "No reply is being written")
    .errors(&[(403, "Someone else's chat"), (404, "No such chat")])
    .done();
    for method in ["get", "post"] {
        d.op(
            method,
            "/api/v1/messages/test-sse",
            "chat",
            "Five test events, to check that a proxy passes SSE unbuffered",
            Anyone,
        )
        .query(
            "interval_ms",
            json!({"type": "integer", "minimum": 0, "maximum": 5000}),
            "Pause between events (default 1000)",
        )
        .sse("testSse")
        .errors(&[(422, "VALIDATION_ERROR: interval_ms")])
        .done();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_read_as_the_path() {
        assert_eq!(
            operation_id("get", "/api/support/sessions/{id}/messages"),
            "get_support_sessions_id_messages"
        );
        assert_eq!(operation_id("get", "/ws/{session_id}"), "get_ws_session_id");
    }
}
