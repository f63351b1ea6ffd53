//! Signing in and up cannot exhaust the server: weak passwords are refused,
//! attempts are limited per address and per account, with a typed
//! `RATE_LIMITED` and a numeric `retry_after`.

use crate::helpers::{TestApp, json, spawn_app, spawn_app_with};
use serde_json::json;
use shared::{ApiError, ErrorCode};

async fn post_from(
    app: &TestApp,
    path: &str,
    ip: &str,
    body: serde_json::Value,
) -> (u16, ApiError) {
    let res = app
        .client
        .post(app.url(path))
        .header("x-forwarded-for", ip)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, json(res).await)
}

fn retry_after(err: &ApiError) -> u64 {
    err.details
        .as_ref()
        .and_then(|d| d["retry_after"].as_u64())
        .unwrap_or_else(|| panic!("no numeric retry_after: {err:?}"))
}

#[tokio::test]
async fn the_weakest_passwords_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    for (i, password) in [
        "password",
        "12345678",
        "aaaaaaaa",
        "          ",
        "Qwertyuiop",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("weak_{i}");
        let res = app
            .post_json(
                "/api/auth/register",
                &json!({"username": name, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 422, "{password:?}");
        let err: ApiError = json(res).await;
        assert_eq!(err.code, ErrorCode::ValidationError, "{password:?}");
        assert!(app.state.store.user_by_name(&name).await.unwrap().is_none());
    }
    app.register("strong_enough").await;
}

#[tokio::test]
async fn logins_from_one_address_are_limited_with_a_numeric_retry_after() {
    let app = spawn_app().await;
    let mut refused = None;
    for i in 0..40 {
        // A different unknown account each time: only the address repeats.
        let body = json!({"username": format!("nobody_{i}"), "password": "wrong horse"});
        let (status, err) = post_from(&app, "/api/auth/login", "203.0.113.9", body).await;
        if status == 429 {
            refused = Some((i, err));
            break;
        }
        assert_eq!((status, err.code), (401, ErrorCode::InvalidCredentials));
    }
    let (at, err) = refused.expect("refused within 40 attempts");
    assert!(at >= 10, "refused after only {at}");
    assert_eq!(err.code, ErrorCode::RateLimited);
    assert!(retry_after(&err) >= 1);
    assert!(!err.error.contains("Some("), "{}", err.error);
}

#[tokio::test]
async fn sign_ups_from_one_address_are_limited() {
    let app = spawn_app().await;
    let mut refused = None;
    for i in 0..60 {
        let body = json!({"username": format!("new_{i}"), "password": "correct horse"});
        let res = app
            .client
            .post(app.url("/api/auth/register"))
            .header("x-forwarded-for", "203.0.113.9")
            .json(&body)
            .send()
            .await
            .unwrap();
        if res.status() == 429 {
            refused = Some(json::<ApiError>(res).await);
            break;
        }
        assert_eq!(res.status(), 201);
    }
    let err = refused.expect("refused within 60 sign-ups");
    assert_eq!(err.code, ErrorCode::RateLimited);
    assert!(retry_after(&err) >= 1);
}

#[tokio::test]
async fn failures_on_one_account_from_many_addresses_queue_then_are_refused() {
    let app = spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()]).await;
    app.register("alan").await;
    let wrong = || json!({"username": "ALAN", "password": "wrong horse"});
    // The burst of failures, each from its own address: answered at once.
    for i in 0..5 {
        let (status, _) =
            post_from(&app, "/api/auth/login", &format!("198.51.100.{i}"), wrong()).await;
        assert_eq!(status, 401);
    }
    // Now attempts wait their turn; past the queue they are refused, from
    // whatever address.
    let app = std::sync::Arc::new(app);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut waiting = Vec::new();
    for i in 0..6 {
        let (app, tx) = (app.clone(), tx.clone());
        waiting.push(tokio::spawn(async move {
            let ip = format!("192.0.2.{i}");
            let _ = tx.send(post_from(&app, "/api/auth/login", &ip, wrong()).await);
        }));
    }
    for _ in 0..3 {
        let (status, err) = rx.recv().await.unwrap();
        assert_eq!((status, err.code), (429, ErrorCode::RateLimited), "{err:?}");
        assert!(retry_after(&err) >= 1);
    }
    for w in waiting {
        w.abort();
    }
}
