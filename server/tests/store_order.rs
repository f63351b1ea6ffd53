//! The store keeps conversations and memories in the order people made
//! them, on SQLite and (with `TEST_POSTGRES_URL`) on PostgreSQL: memories
//! written within one second, and a support reply saved after the next
//! message (it is saved when it finishes).

use chorus_server::db::Db;
use chorus_server::store::Store;
use shared::support::RiskLevel;

/// An in-memory SQLite, and a fresh PostgreSQL database when
/// `TEST_POSTGRES_URL` is set.
async fn stores() -> Vec<Store> {
    let mut urls = vec!["sqlite::memory:".to_owned()];
    if let Ok(admin) = std::env::var("TEST_POSTGRES_URL") {
        use sqlx::Connection;
        let name = format!("chorus_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap();
        urls.push(format!("{base}/{name}"));
    }
    let mut stores = Vec::new();
    for url in urls {
        stores.push(Store::new(Db::connect(&url).await.unwrap()));
    }
    stores
}

#[tokio::test]
async fn memories_and_relations_come_back_in_the_order_they_were_written() {
    for store in stores().await {
        let user = store.create_user("ada", "x", 0).await.unwrap().unwrap().id;
        let written: Vec<String> = (1..=8).map(|i| format!("memory {i}")).collect();
        for m in &written {
            store.add_memory(&user, m).await.unwrap();
        }
        let read: Vec<String> = store
            .memories(&user)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.content)
            .collect();
        assert_eq!(read, written);
        for name in ["Tom", "Ana", "Bo"] {
            store.add_relation(&user, name, "friend", "").await.unwrap();
        }
        let names: Vec<String> = store
            .relations(&user)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["Tom", "Ana", "Bo"]);
    }
}

#[tokio::test]
async fn a_support_reply_follows_the_message_it_answers() {
    for store in stores().await {
        let user = store.create_user("ada", "x", 0).await.unwrap().unwrap().id;
        let session = store.create_support_session(&user, "t").await.unwrap().id;
        // The second message arrived while the first reply was streaming.
        for (role, text) in [
            (shared::Role::User, "u1"),
            (shared::Role::User, "u2"),
            (shared::Role::Assistant, "a1"),
            (shared::Role::Assistant, "a2"),
        ] {
            store
                .add_support_message(&session, role, text, RiskLevel::None, None)
                .await
                .unwrap();
        }
        let read: Vec<String> = store
            .support_messages(&session)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect();
        assert_eq!(read, ["u1", "a1", "u2", "a2"]);
    }
}
