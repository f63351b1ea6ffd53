//! The protocols' example messages (`tests/fixtures/*.json`), compiled in:
//! the round-trip tests of this crate and the app read them, and the
//! server attaches them to its AsyncAPI document. Behind the `fixtures`
//! feature, which the app's build leaves off.

use serde_json::Value;

/// Each fixture file: its name (without `.json`) and its text.
pub const FILES: [(&str, &str); 5] = [
    ("books", include_str!("../tests/fixtures/books.json")),
    ("chat", include_str!("../tests/fixtures/chat.json")),
    ("personas", include_str!("../tests/fixtures/personas.json")),
    ("rolecard", include_str!("../tests/fixtures/rolecard.json")),
    ("support", include_str!("../tests/fixtures/support.json")),
];

/// The examples of fixture `name` (`"books"`, or `"books.json"`), as
/// (`from`, message), each with the fields the server adds to it
/// (`server_adds`: its in-band errors always carry a code).
pub fn examples(name: &str) -> Vec<(String, Value)> {
    let name = name.trim_end_matches(".json");
    let (_, text) = FILES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    let doc: Value = serde_json::from_str(text).expect("the fixtures are JSON");
    doc["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let mut message = e["message"].clone();
            if let Some(adds) = e.get("server_adds").and_then(Value::as_object) {
                for (k, v) in adds {
                    message[k] = v.clone();
                }
            }
            (e["from"].as_str().unwrap_or_default().to_owned(), message)
        })
        .collect()
}
