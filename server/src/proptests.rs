//! Property tests of every decoder that reads client input: each protocol's
//! message parser, the role-card options body, the SSE `Last-Event-ID`
//! reader, identity extraction and the client address. Arbitrary bytes,
//! and well-typed messages full of hostile strings, never panic and always
//! come back as a value or a typed 4xx error.

use crate::auth::identity::{bearer_token, identify};
use crate::auth::token::TokenKeys;
use crate::client_ip::TrustedProxies;
use axum::http::{HeaderValue, Request};
use proptest::prelude::*;
use serde_json::{Value, json};
use shared::ErrorCode;

/// A few hundred cases each: the whole suite stays quick on two cores.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// Strings a hostile client sends: control characters, quotes, escapes,
/// long runs, astral characters, SQL and HTML.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        Just("'; DROP TABLE users;--".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("\u{0}\u{1b}[2J\u{202e}\u{feff}".to_owned()),
        Just("\\ud800".to_owned()),
        (0usize..20_000).prop_map(|n| "x".repeat(n)),
    ]
}

/// Any JSON value, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        (u64::MAX - 10..=u64::MAX).prop_map(Value::from),
        hostile().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::hash_map(hostile(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A message of one of `types` whose fields (top level and in `data`) are
/// the protocol's own names with arbitrary values, plus strangers.
fn typed_message(types: &'static [&'static str]) -> impl Strategy<Value = Value> {
    const FIELDS: &[&str] = &[
        "message",
        "persona_id",
        "persona_ids",
        "api",
        "model",
        "temperature",
        "max_tokens",
        "stream_id",
        "after",
        "after_seq",
        "session_id",
        "chat_id",
        "title",
        "page",
        "limit",
        "content",
        "timestamp",
        "options",
        "messages",
        "id",
        "previous_response_id",
        "input",
    ];
    let fields = || prop::collection::vec((prop::sample::select(FIELDS), any_json()), 0..8);
    (
        prop::sample::select(types),
        fields(),
        fields(),
        any::<bool>(),
    )
        .prop_map(|(kind, top, data, nest)| {
            let mut m = serde_json::Map::new();
            for (k, v) in top {
                m.insert(k.to_owned(), v);
            }
            let data: serde_json::Map<String, Value> =
                data.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            if nest {
                m.insert("data".into(), Value::Object(data));
            }
            m.insert("type".into(), Value::from(kind));
            Value::Object(m)
        })
}

/// Arbitrary bytes as the text a socket frame could carry.
fn frame_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        any_json().prop_map(|v| v.to_string()),
        hostile(),
    ]
}

/// An in-band error's code, from its JSON; it must be a client error.
fn assert_client_error(error: &impl serde::Serialize) {
    let v = serde_json::to_value(error).unwrap();
    let code: ErrorCode = serde_json::from_value(
        v.get("code")
            .or_else(|| v.get("error_code"))
            .cloned()
            .unwrap_or_else(|| panic!("no code in {v}")),
    )
    .unwrap();
    assert!((400..500).contains(&code.http_status()), "{v}");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_ws_protocols_parser_answers_any_frame(text in frame_text()) {
        if let Err(e) = crate::ws::parse(&text) {
            assert_client_error(&e);
        }
    }

    #[test]
    fn the_ws_protocols_parser_answers_any_typed_message(
        m in typed_message(shared::ws::ClientMessage::TYPES)
    ) {
        if let Err(e) = crate::ws::parse(&m.to_string()) {
            assert_client_error(&e);
        }
    }

    #[test]
    fn the_chat_management_parser_answers_any_frame(text in frame_text()) {
        if let Err(e) = crate::chats::manage::parse(&text) {
            assert_client_error(&e);
        }
    }

    #[test]
    fn the_chat_management_parser_answers_any_typed_message(
        m in typed_message(shared::chat::ClientMessage::TYPES)
    ) {
        if let Err(e) = crate::chats::manage::parse(&m.to_string()) {
            assert_client_error(&e);
        }
    }

    #[test]
    fn socketio_events_are_answered_whatever_their_name_and_data(
        name in prop_oneof![prop::sample::select(shared::chat::ClientMessage::TYPES).prop_map(str::to_owned), hostile()],
        data in prop::option::of(any_json()),
    ) {
        if let Err(e) = crate::chats::manage::parse_event(&name, data) {
            assert_client_error(&e);
        }
    }

    #[test]
    fn the_books_validator_answers_any_frame(text in frame_text()) {
        books_frame(&text);
    }

    #[test]
    fn the_books_validator_answers_any_typed_message(
        m in typed_message(shared::books::ClientMessage::TYPES)
    ) {
        books_frame(&m.to_string());
    }

    #[test]
    fn role_card_options_are_read_from_any_body(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = crate::rolecard::options_from_body(&body.into()) {
            assert!(e.to_api_error().0.is_client_error(), "{e}");
        }
    }

    #[test]
    fn role_card_options_are_read_from_any_json(v in any_json()) {
        let body = serde_json::to_vec(&json!({"options": v})).unwrap();
        if let Err(e) = crate::rolecard::options_from_body(&body.into()) {
            assert!(e.to_api_error().0.is_client_error(), "{e}");
        }
    }

    #[test]
    fn last_event_id_is_a_seq_or_a_typed_400(value in prop::collection::vec(any::<u8>(), 0..64)) {
        let Ok(value) = HeaderValue::from_bytes(&value) else { return Ok(()) };
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("last-event-id", value.clone());
        match crate::streams::last_event_id(&headers) {
            Ok(seq) => prop_assert_eq!(seq, value.to_str().ok().and_then(|v| v.trim().parse().ok())),
            Err(e) => prop_assert_eq!(e.to_api_error().1.code, ErrorCode::BadRequest),
        }
    }

    #[test]
    fn identity_is_read_from_any_headers_and_query(
        authorization in prop::option::of(prop::collection::vec(any::<u8>(), 0..80)),
        anon in prop::option::of(prop::collection::vec(any::<u8>(), 0..80)),
        query in "[ -~]{0,80}",
    ) {
        let tokens = TokenKeys::new(b"proptest-secret-of-sufficient-length", 3600);
        let mut req = Request::builder();
        if let Some(a) = authorization.and_then(|a| HeaderValue::from_bytes(&a).ok()) {
            req = req.header("authorization", a);
        }
        if let Some(a) = anon.and_then(|a| HeaderValue::from_bytes(&a).ok()) {
            req = req.header("x-anon-id", a);
        }
        let uri = format!("/ws?{query}");
        let Ok(req) = req.uri(uri.as_str()).body(()) else { return Ok(()) };
        let (parts, ()) = req.into_parts();
        let _ = bearer_token(&parts);
        match identify(&parts, &tokens) {
            Ok(Some(crate::auth::identity::Identity::Anonymous(id))) => {
                // Never an id in the server's own namespace.
                prop_assert!(shared::auth::is_valid_anon_id(&id));
            }
            Ok(_) => {}
            Err(e) => prop_assert!(e.to_api_error().0.is_client_error()),
        }
    }

    #[test]
    fn the_client_address_is_read_from_any_forwarded_for(
        xff in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..60), 0..4),
        peer in any::<[u8; 4]>(),
    ) {
        let trusted = TrustedProxies::new(&["0.0.0.0/0".parse().unwrap()]);
        let mut headers = axum::http::HeaderMap::new();
        for v in xff {
            if let Ok(v) = HeaderValue::from_bytes(&v) {
                headers.append("x-forwarded-for", v);
            }
        }
        let _ = trusted.client_ip(std::net::IpAddr::from(peer), &headers);
    }
}

/// A books frame all the way through the validator.
fn books_frame(text: &str) {
    use crate::books::validate;
    let value = match validate::json(text) {
        Ok(v) => v,
        Err(e) => return assert_client_error(&json!({"code": e.code})),
    };
    if value["type"] == "batch" {
        match validate::batch(&value) {
            Ok(items) => {
                for item in items {
                    if let Err(e) = validate::message(item, true) {
                        assert_client_error(&json!({"code": e.code}));
                    }
                }
            }
            Err(e) => assert_client_error(&json!({"code": e.code})),
        }
    } else if let Err(e) = validate::message(&value, false) {
        assert_client_error(&json!({"code": e.code}));
    }
}
