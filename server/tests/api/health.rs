use crate::helpers::{json, spawn_app};
use shared::health::Health;

#[tokio::test]
async fn health_answers_ok_with_the_version() {
    let app = spawn_app().await;
    let res = app.get("/api/health").await;
    assert_eq!(res.status(), 200);
    let health: Health = json(res).await;
    assert_eq!(
        health,
        Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into()
        }
    );
}
