//! The admin role: `chorus users promote|demote|list`, the escalation
//! summary and `GET /api/admin/overview` for admins alone.

use crate::helpers::{TestApp, WsClient, json, spawn_app, spawn_app_on};
use serde_json::json;
use shared::ApiError;
use shared::admin::{AdminOverview, CreditsGranted};
use shared::support::{EscalationCount, RiskLevel, SupportSession};

const SUMMARY: &str = "/api/support/escalations/summary";

async fn refused(app: &TestApp, path: &str, token: Option<&str>) -> (u16, ApiError) {
    let res = match token {
        Some(t) => app.get_with_token(path, t).await,
        None => app.get(path).await,
    };
    (res.status().as_u16(), json(res).await)
}

#[tokio::test]
async fn only_admins_read_the_escalation_summary_and_the_overview() {
    let app = spawn_app().await;
    let token = app.register("plain_user").await;
    for path in [SUMMARY, "/api/admin/overview"] {
        let (status, body) = refused(&app, path, Some(&token)).await;
        assert_eq!((status, body.code.as_str()), (403, "FORBIDDEN"), "{path}");
        let (status, body) = refused(&app, path, None).await;
        assert_eq!(
            (status, body.code.as_str()),
            (401, "UNAUTHORIZED"),
            "{path}"
        );
    }
    app.state.store.set_admin("plain_user", true).await.unwrap();
    for path in [SUMMARY, "/api/admin/overview"] {
        assert_eq!(
            app.get_with_token(path, &token).await.status(),
            200,
            "{path}"
        );
    }
    let access: shared::admin::AdminAccess =
        json(app.get_with_token("/api/admin/access", &token).await).await;
    assert!(access.admin);
    app.state
        .store
        .set_admin("plain_user", false)
        .await
        .unwrap();
    let access: shared::admin::AdminAccess =
        json(app.get_with_token("/api/admin/access", &token).await).await;
    assert!(!access.admin);
    let (status, _) = refused(&app, SUMMARY, Some(&token)).await;
    assert_eq!(status, 403);
}

/// `chorus users …` against the database a running server uses.
async fn users(db: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_chorus"))
        .arg("users")
        .args(args)
        .args(["--database-url", db])
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn chorus_users_promotes_demotes_and_lists_admins() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("chorus.db").display());
    let app = spawn_app_on(&db).await;
    let token = app.register("Operator").await;
    app.register("bystander").await;

    let out = users(&db, &["promote", "operator"]).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "operator is now an admin\n"
    );
    assert_eq!(app.get_with_token(SUMMARY, &token).await.status(), 200);

    let out = users(&db, &["list"]).await;
    let listed = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = listed
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["bystander", "user", "2000"],
            vec!["Operator", "admin", "2000"]
        ]
    );

    let out = users(&db, &["demote", "Operator"]).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(app.get_with_token(SUMMARY, &token).await.status(), 403);

    let out = users(&db, &["promote", "nobody"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user named \"nobody\""));
}

#[tokio::test]
async fn the_overview_counts_escalations_open_sockets_and_credits_granted() {
    let app = spawn_app().await;
    let admin = app.register("the_admin").await;
    app.state.store.set_admin("the_admin", true).await.unwrap();
    let person = app.register("a_person").await;
    app.state.store.grant("a_person", 300).await.unwrap();
    app.state.store.grant("a_person", 200).await.unwrap();

    let res = app
        .client
        .post(app.url("/api/support/sessions"))
        .bearer_auth(&person)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let session: SupportSession = json(res).await;
    let mut ws = WsClient::connect(&app, &format!("/ws?token={person}")).await;
    ws.send_json(json!({"type": "session_message", "session_id": session.id,
                        "message_text": "i want to kms tonight"}))
        .await;
    ws.read_until(|v| v["type"] == "assistant_message_complete")
        .await;

    let overview: AdminOverview =
        json(app.get_with_token("/api/admin/overview", &admin).await).await;
    assert_eq!(
        overview
            .escalations
            .iter()
            .map(|e| (e.risk_level, e.count))
            .collect::<Vec<_>>(),
        [(RiskLevel::High, 1)]
    );
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(
        overview.escalations[0],
        EscalationCount {
            day: today,
            risk_level: RiskLevel::High,
            count: 1
        }
    );
    assert_eq!(
        overview.credits,
        CreditsGranted {
            total: 500,
            grants: 2
        }
    );
    // Other tests run in the same process and share the gauges: at least
    // this test's socket is open.
    let open = |protocol: &str| {
        overview
            .live
            .iter()
            .find(|c| c.transport == "socket" && c.protocol == protocol)
            .map(|c| c.open)
            .unwrap()
    };
    assert!(open("persona_support") >= 1, "{:?}", overview.live);
    assert_eq!(overview.live.len(), 8);
}
