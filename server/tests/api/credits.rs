//! Limits and credits: anonymous replies, atomic debits, reservations, and
//! the `chorus credits grant` command.

use crate::helpers::{json, spawn_app_on, spawn_app_with, test_databases};
use chorus_server::auth::identity::Identity;
use shared::ErrorCode;
use shared::auth::{Me, Usage};

#[tokio::test]
async fn fifty_parallel_debits_against_ten_credits_end_at_zero() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let store = app.state.store.clone();
        let user = store
            .create_user("spender", "x", 10)
            .await
            .unwrap()
            .unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let store = store.clone();
                let id = user.id.clone();
                tokio::spawn(async move { store.debit(&id, 1, "test").await.unwrap() })
            })
            .collect();
        let mut ok = 0;
        let mut refused = 0;
        for t in tasks {
            match t.await.unwrap() {
                Some(_) => ok += 1,
                None => refused += 1,
            }
        }
        assert_eq!((ok, refused), (10, 40), "{db}");
        assert_eq!(store.balance(&user.id).await.unwrap(), Some(0), "{db}");
        let summary = store.credit_summary(&user.id).await.unwrap();
        assert_eq!(
            (summary.granted, summary.spent, summary.balance),
            (10, 10, 0),
            "{db}"
        );
    }
}

#[tokio::test]
async fn a_generation_pays_its_output_tokens_and_gets_the_rest_back() {
    for db in test_databases().await {
        let app = spawn_app_on(&db).await;
        let store = app.state.store.clone();
        let user = store.create_user("writer", "x", 30).await.unwrap().unwrap();
        let quota = app.state.generator.quota.clone();
        let who = Identity::User(user.id.clone());
        let ticket = quota.begin(&who, 100).await.unwrap();
        assert_eq!(ticket.max_tokens(), Some(30), "capped by the balance");
        assert_eq!(
            store.balance(&user.id).await.unwrap(),
            Some(0),
            "held while running"
        );
        // A second stream in parallel finds nothing left.
        let refused = quota.begin(&who, 10).await.unwrap_err();
        assert_eq!(
            refused.to_api_error().1.code,
            ErrorCode::InsufficientBalance
        );
        quota.finish(ticket, 12, "generation").await.unwrap();
        let usage = quota.usage(&who).await.unwrap();
        assert_eq!(
            (usage.used, usage.limit, usage.remaining),
            (12, 30, 18),
            "{db}"
        );
        let ticket = quota.begin(&who, 5).await.unwrap();
        quota.cancel(ticket).await.unwrap();
        assert_eq!(store.balance(&user.id).await.unwrap(), Some(18), "{db}");
    }
}

#[tokio::test]
async fn anonymous_visitors_are_refused_past_their_limit() {
    let app = spawn_app_with(|c| c.anon_message_limit = 3).await;
    let quota = app.state.generator.quota.clone();
    let who = Identity::Anonymous("visitor-limit".into());
    for _ in 0..3 {
        let t = quota.begin(&who, 100).await.unwrap();
        quota.finish(t, 50, "reply").await.unwrap();
    }
    let err = quota.begin(&who, 100).await.unwrap_err();
    assert_eq!(err.to_api_error().1.code, ErrorCode::AnonLimitReached);
    let usage: Usage = json(app.get("/api/usage?anon_id=visitor-limit").await).await;
    assert_eq!((usage.used, usage.limit, usage.remaining), (3, 3, 0));
    // A failed generation gives its reply back.
    let other = Identity::Anonymous("visitor-other".into());
    let t = quota.begin(&other, 1).await.unwrap();
    quota.cancel(t).await.unwrap();
    assert_eq!(quota.usage(&other).await.unwrap().used, 0);
}

#[tokio::test]
async fn chorus_credits_grant_tops_up_a_user() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/grant.db", dir.path().display());
    let app = spawn_app_on(&url).await;
    let token = app.register("topup").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["--database-url", &url, "credits", "grant", "topup", "500"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2500"));
    let me: Me = json(app.get_with_token("/api/auth/me", &token).await).await;
    assert_eq!(me.credits, 2500);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["--database-url", &url, "credits", "grant", "nobody", "5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chorus"))
        .args(["--database-url", &url, "credits", "grant", "topup", "-5"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "negative grants are refused");
}
