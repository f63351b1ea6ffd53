//! The API documents cannot drift from the code: every `.route(…)` in the
//! server's source is in the OpenAPI document, and every operation of the
//! document is answered by a route. (Validation by outside validators, and
//! the fixtures against the AsyncAPI schemas: `e2e/apidocs.test.mjs`.)

use crate::helpers::{json, spawn_app};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// (method, path) of every `.route("path", get(..).post(..))` under
/// `server/src`, with the prefix it is served under (`/api`, except the
/// sockets at `/ws…`). `metrics.rs` serves `/metrics` on its own listener,
/// outside the API.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("metrics.rs") {
                files.push(path);
            }
        }
    }
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (at, _) in text.match_indices(".route(") {
            let rest = &text[at + ".route(".len()..];
            if !rest.trim_start().starts_with('"') {
                continue; // prose, not a call
            }
            let open = rest.find('"').unwrap();
            let close = open + 1 + rest[open + 1..].find('"').unwrap();
            let path = &rest[open + 1..close];
            // The handlers: up to the `)` that closes `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .unwrap()
                .0;
            let handlers = &rest[close..end];
            let full = if path.starts_with("/ws") {
                path.to_owned()
            } else {
                format!("/api{path}")
            };
            let mut found = false;
            for method in ["get", "post", "put", "patch", "delete"] {
                let called = handlers.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && handlers.as_bytes()[i - 1] != b'_'
                });
                if called {
                    routes.insert((method.to_owned(), full.clone()));
                    found = true;
                }
            }
            assert!(
                found,
                "{}: no method in .route({path:?}{handlers})",
                file.display()
            );
        }
    }
    routes
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect()
}

#[tokio::test]
async fn every_route_in_the_source_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc: Value = json(app.get("/api/openapi.json").await).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let documented = operations(&doc);
    let routes = routes_in_source();
    assert!(
        routes.len() >= 30,
        "the scan found too few routes: {routes:?}"
    );
    let missing: Vec<_> = routes.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from /api/openapi.json: {missing:?}"
    );
    let phantom: Vec<_> = documented.difference(&routes).collect();
    assert!(
        phantom.is_empty(),
        "documented, but no such route: {phantom:?}"
    );
}

#[tokio::test]
async fn every_documented_operation_is_answered_by_a_route() {
    let app = spawn_app().await;
    let doc: Value = json(app.get("/api/openapi.json").await).await;
    for (method, path) in operations(&doc) {
        let concrete: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "some-id-1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let method: reqwest::Method = method.to_uppercase().parse().unwrap();
        let res = app
            .client
            .request(
                method.clone(),
                app.url(&format!("{concrete}?interval_ms=0")),
            )
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        assert!(
            status != 405 && !(status == 404 && body.contains("no API endpoint")),
            "{method} {path}: {status} {body}"
        );
    }
}

#[tokio::test]
async fn every_schema_the_documents_refer_to_is_in_them() {
    let app = spawn_app().await;
    for path in ["/api/openapi.json", "/api/asyncapi.json"] {
        let doc: Value = json(app.get(path).await).await;
        let text = doc.to_string();
        for (at, _) in text.match_indices("\"$ref\":\"#/") {
            let rest = &text[at + "\"$ref\":\"#/".len()..];
            let pointer = &rest[..rest.find('"').unwrap()];
            assert!(
                doc.pointer(&format!("/{pointer}")).is_some(),
                "{path}: #/{pointer} is referred to but missing"
            );
        }
    }
    let asyncapi: Value = json(app.get("/api/asyncapi.json").await).await;
    assert_eq!(asyncapi["asyncapi"], "3.0.0");
    let channels: Vec<&String> = asyncapi["channels"].as_object().unwrap().keys().collect();
    assert_eq!(
        channels,
        [
            "books",
            "chatManage",
            "chatReply",
            "rolecard",
            "stream",
            "testSse",
            "ws"
        ]
    );
    // Every protocol's messages carry the fixtures as examples.
    let messages = asyncapi["components"]["messages"].as_object().unwrap();
    let examples = messages
        .values()
        .filter_map(|m| m["examples"].as_array())
        .map(Vec::len)
        .sum::<usize>();
    assert!(examples >= 30, "only {examples} examples attached");
    assert!(messages.contains_key("ws_client_multi_chat"));
    assert!(messages.contains_key("chatReply_server_assistant_delta"));
    // The shutdown ending is on every channel of generations, beside the
    // protocol's own messages in the one send operation.
    for ch in ["ws", "chatReply", "rolecard", "stream"] {
        let key = format!("{ch}_server_stopped");
        assert!(messages.contains_key(&key), "no {key}");
        let sent: Vec<&str> = asyncapi["operations"][format!("{ch}Send")]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["$ref"].as_str())
            .collect();
        assert!(sent.len() > 1, "{ch}: {sent:?}");
        assert!(sent.iter().any(|r| r.ends_with(&key)), "{ch}: {sent:?}");
    }
}
