//! The example messages of the protocols' specifications, committed as
//! fixtures (`tests/fixtures/*.json`): each is parsed into its protocol's
//! enum and serialised back, and every field it had comes back unchanged, at
//! every depth (defaults the types write out, such as `seq`, may be added). Each protocol's list of
//! client message types is checked against its enum.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use shared::fixtures::examples;

/// `v` parsed as `T` and back: every field of `v` is kept.
fn keeps_its_shape<T: Serialize + DeserializeOwned>(file: &str, v: &Value) {
    let parsed: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("{file}: {v} does not parse: {e}"));
    let back = serde_json::to_value(&parsed).unwrap();
    assert!(keeps(&back, v), "{file}: {v} came back as {back}");
}

/// Whether `back` has every field of `v` (at every depth) with its value.
fn keeps(back: &Value, v: &Value) -> bool {
    match (back, v) {
        (Value::Object(b), Value::Object(o)) => o
            .iter()
            .all(|(k, val)| b.get(k).is_some_and(|bv| keeps(bv, val))),
        _ => back == v,
    }
}

/// The variants `T` accepts as `type`, read from serde's own refusal of an
/// unknown one.
fn variants_of<T: DeserializeOwned + std::fmt::Debug>() -> Vec<String> {
    let err = serde_json::from_value::<T>(serde_json::json!({"type": "__none__"})).unwrap_err();
    let text = err.to_string();
    let list = text
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    list.split(", ")
        .map(|s| {
            s.trim_matches(|c: char| c == '`' || c.is_whitespace())
                .to_owned()
        })
        .map(|s| s.split('`').next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_role_card_examples_keep_their_shape() {
    for (_, v) in examples("rolecard.json") {
        keeps_its_shape::<shared::rolecard::ServerEvent>("rolecard", &v);
    }
}

#[test]
fn the_persona_and_support_examples_keep_their_shape() {
    for file in ["personas.json", "support.json"] {
        for (from, v) in examples(file) {
            match from.as_str() {
                "client" => keeps_its_shape::<shared::ws::ClientMessage>(file, &v),
                _ => keeps_its_shape::<shared::ws::ServerMessage>(file, &v),
            }
        }
    }
}

#[test]
fn the_bookswriter_examples_keep_their_shape() {
    for (from, v) in examples("books.json") {
        match from.as_str() {
            "client" => keeps_its_shape::<shared::books::ClientMessage>("books", &v),
            _ => keeps_its_shape::<shared::books::ServerMessage>("books", &v),
        }
    }
}

#[test]
fn the_hybrid_chat_examples_keep_their_shape() {
    let examples = examples("chat.json");
    for from in ["client", "send", "server", "event"] {
        assert!(examples.iter().any(|(f, _)| f == from), "no {from} example");
    }
    for (from, v) in examples {
        match from.as_str() {
            "client" => keeps_its_shape::<shared::chat::ClientMessage>("chat", &v),
            "send" => keeps_its_shape::<shared::chat::SendMessage>("chat", &v),
            "server" => keeps_its_shape::<shared::chat::ServerMessage>("chat", &v),
            _ => keeps_its_shape::<shared::chat::ServerEvent>("chat", &v),
        }
    }
}

#[test]
fn every_protocols_list_of_types_is_its_enums() {
    let mut ws = variants_of::<shared::ws::ClientMessage>();
    let mut books = variants_of::<shared::books::ClientMessage>();
    let mut chat = variants_of::<shared::chat::ClientMessage>();
    for (list, types) in [
        (&mut ws, shared::ws::ClientMessage::TYPES),
        (&mut books, shared::books::ClientMessage::TYPES),
        (&mut chat, shared::chat::ClientMessage::TYPES),
    ] {
        let mut want: Vec<String> = types.iter().map(|t| (*t).to_owned()).collect();
        list.sort();
        want.sort();
        assert_eq!(*list, want);
    }
}
