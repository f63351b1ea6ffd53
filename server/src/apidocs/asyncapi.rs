//! The AsyncAPI 3 document of the socket and SSE protocols. Each channel
//! names the `shared` enums its messages come from; every variant of an
//! enum becomes one message, its JSON Schema generated from the type by
//! schemars, and the protocols' example messages (the fixtures in
//! `shared/tests/fixtures/`) are attached to the messages they are examples
//! of.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// Who sends a set of messages on a channel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sender {
    Client,
    Server,
}

struct Doc {
    schemas: SchemaGenerator,
    channels: Map<String, Value>,
    operations: Map<String, Value>,
    messages: Map<String, Value>,
    /// (fixture file, its `from`, message): every example.
    examples: Vec<(&'static str, String, Value)>,
}

impl Doc {
    /// A channel at `address` and its description.
    fn channel(&mut self, id: &str, address: &str, title: &str, description: &str) {
        self.channels.insert(
            id.into(),
            json!({"address": address, "title": title, "description": description, "messages": {}}),
        );
    }

    /// Every variant of `T` as a message of channel `id`, sent by `from`;
    /// `examples`: the (fixture file, `from`) whose examples these are.
    fn messages<T: JsonSchema>(&mut self, id: &str, from: Sender, examples: &[(&str, &str)]) {
        let schema = self.schemas.subschema_for::<T>();
        let schema = self.resolve(schema.as_value());
        let variants = schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_else(|| vec![schema.clone()]);
        let side = match from {
            Sender::Client => "client",
            Sender::Server => "server",
        };
        let mut refs = Vec::new();
        for variant in variants {
            let tag = variant["properties"]["type"]["const"]
                .as_str()
                .or_else(|| variant["properties"]["type"]["enum"][0].as_str())
                .unwrap_or("message")
                .to_owned();
            let key = format!("{id}_{side}_{tag}");
            let mut message = json!({
                "name": tag,
                "title": format!("{tag} ({side} → {})", if from == Sender::Client { "server" } else { "client" }),
                "payload": variant,
            });
            if let Some(d) = variant.get("description") {
                message["summary"] = d.clone();
            }
            let examples: Vec<Value> = self
                .examples
                .iter()
                .filter(|(file, f, m)| {
                    examples.contains(&(*file, f.as_str())) && m["type"] == tag.as_str()
                })
                .map(|(_, _, m)| json!({"payload": m}))
                .collect();
            if !examples.is_empty() {
                message["examples"] = Value::Array(examples);
            }
            self.messages.insert(key.clone(), message);
            self.channels[id]["messages"][&key] =
                json!({"$ref": format!("#/components/messages/{key}")});
            refs.push(json!({"$ref": format!("#/channels/{id}/messages/{key}")}));
        }
        // Operations are the server's: it receives what clients send.
        let (action, op) = match from {
            Sender::Client => ("receive", format!("{id}Receive")),
            Sender::Server => ("send", format!("{id}Send")),
        };
        // A channel may carry several sets (a protocol's own, and the
        // shutdown ending every stream shares): one operation lists them all.
        match self.operations.get_mut(&op) {
            Some(existing) => {
                if let Some(list) = existing["messages"].as_array_mut() {
                    list.extend(refs);
                }
            }
            None => {
                self.operations.insert(
                    op,
                    json!({"action": action, "channel": {"$ref": format!("#/channels/{id}")}, "messages": refs}),
                );
            }
        }
    }

    /// `schema`, or the definition it refers to.
    fn resolve(&self, schema: &Value) -> Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap_or_default();
                self.schemas
                    .definitions()
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| schema.clone())
            }
            None => schema.clone(),
        }
    }
}

/// Every example of the fixtures, as (file, from, message).
fn examples() -> Vec<(&'static str, String, Value)> {
    shared::fixtures::FILES
        .iter()
        .flat_map(|(file, _)| {
            shared::fixtures::examples(file)
                .into_iter()
                .map(move |(from, message)| (*file, from, message))
        })
        .collect()
}

/// The whole document.
pub(crate) fn document() -> Value {
    // AsyncAPI's default schema format is a superset of draft 07.
    let mut d = Doc {
        schemas: super::schemas(SchemaSettings::draft07()),
        channels: Map::new(),
        operations: Map::new(),
        messages: Map::new(),
        examples: examples(),
    };
    declare(&mut d);
    let schemas = d.schemas.take_definitions(true);
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Chorus streams",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The WebSocket and SSE protocols of the Chorus server: the persona and support protocols on /ws, the BooksWriter protocol on /ws/{session_id}, the hybrid chat protocol (its management socket, socket.io /chats, replies over SSE), the role-card protocol (SSE), and re-attaching to any stream. Every message carries `type`; stream events carry `stream_id` and `seq` (on SSE, `seq` is also the `id:` line). The HTTP routes are in the OpenAPI document at /api/openapi.json.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "websocket": {"host": "localhost:3000", "protocol": "ws", "description": "The sockets (wss behind TLS)"},
            "http": {"host": "localhost:3000", "protocol": "http", "description": "The SSE streams (text/event-stream)"},
        },
        "channels": d.channels,
        "operations": d.operations,
        "components": {"messages": d.messages, "schemas": schemas},
    })
}

fn declare(d: &mut Doc) {
    use Sender::*;
    d.channel(
        "ws",
        "/ws",
        "The persona and support protocols",
        "WebSocket. `?token=<jwt>`, `?anon_id=<id>`, or nothing (an anonymous visitor by IP). Greets with `connection`; `ping` → `pong`; bad input gets an in-band `error` and the socket stays open.",
    );
    d.messages::<shared::ws::ClientMessage>(
        "ws",
        Client,
        &[("personas", "client"), ("support", "client")],
    );
    d.messages::<shared::ws::ServerMessage>(
        "ws",
        Server,
        &[("personas", "server"), ("support", "server")],
    );

    d.channel(
        "books",
        "/ws/{session_id}",
        "The BooksWriter protocol",
        "WebSocket. session_id: 1-64 of [A-Za-z0-9_-]; the first user of an id owns it. Each server message carries `seq`, the session's event number.",
    );
    d.channels["books"]["parameters"] =
        json!({"session_id": {"description": "The writing session, chosen by the client"}});
    d.messages::<shared::books::ClientMessage>("books", Client, &[("books", "client")]);
    d.messages::<shared::books::ServerMessage>("books", Server, &[("books", "server")]);

    d.channel(
        "chatManage",
        "/api/v1/chats/ws",
        "The hybrid chat protocol: management",
        "WebSocket (`?token=` or `?anon_id=`): list, rename and delete chats, read messages, usage. The same events run on socket.io's namespace `/chats` (served at /socket.io/), where `type` is the event name and the rest is the payload.",
    );
    d.messages::<shared::chat::ClientMessage>("chatManage", Client, &[("chat", "client")]);
    d.messages::<shared::chat::ServerMessage>("chatManage", Server, &[("chat", "server")]);

    d.channel(
        "chatReply",
        "/api/v1/messages/send",
        "The hybrid chat protocol: replies (SSE)",
        "SSE from POST /api/v1/messages/send, POST /api/v1/messages/{message_id}/regenerate, POST /api/v1/messages/{message_id}/edit and GET /api/v1/chats/{chat_id}/stream. The `event:` line is the `type`.",
    );
    d.messages::<shared::chat::ServerEvent>("chatReply", Server, &[("chat", "event")]);

    d.channel(
        "rolecard",
        "/api/rolecard/generate/stream",
        "The role-card protocol (SSE)",
        "SSE from /api/rolecard/generate/stream and /api/rolecard/layers/{core,relation/{relation_id},batch}/stream: `data: {json}` with the type inside (no `event:` name). The stream id is in the X-Stream-Id header.",
    );
    d.messages::<shared::rolecard::ServerEvent>("rolecard", Server, &[("rolecard", "server")]);

    d.channel(
        "stream",
        "/api/streams/{stream_id}",
        "Re-attaching to a stream (SSE)",
        "SSE: the events after Last-Event-ID (or ?after=N) of the stream, in its own protocol's format, then the live tail. These are the events of a generation of its own (the engine's event set).",
    );
    d.channels["stream"]["parameters"] =
        json!({"stream_id": {"description": "From X-Stream-Id, or a message's stream_id"}});
    d.messages::<shared::stream::ServerEvent>("stream", Server, &[]);

    d.channel(
        "testSse",
        "/api/v1/messages/test-sse",
        "The hybrid chat protocol's SSE check",
        "SSE: five test_message events, then test_complete (?interval_ms=0..5000).",
    );
    d.messages::<shared::test_sse::ServerEvent>("testSse", Server, &[]);

    // Every generation's stream, on each channel that carries one, ends
    // with `stopped` (reason `shutdown`) when the server shuts down.
    for channel in ["ws", "chatReply", "rolecard", "stream"] {
        d.messages::<shared::stream::Ending>(channel, Server, &[]);
    }
    // In a cluster, a stream read on another instance than the one running
    // it ends with this error when that instance goes away.
    for channel in ["ws", "chatReply", "rolecard", "stream"] {
        d.messages::<shared::stream::Interrupted>(channel, Server, &[]);
    }
}
