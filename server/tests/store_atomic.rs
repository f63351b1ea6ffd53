//! The hybrid chat's writes are transactions, on SQLite (a file, so several
//! connections race) and (with `TEST_POSTGRES_URL`) PostgreSQL: regenerates
//! of one reply at once each get their own version, and a chat is deleted
//! whole or not at all.

use chorus_server::db::{Db, DbKind};
use chorus_server::store::Store;
use shared::Role;

mod support;

/// A SQLite file (kept in `dir`), and a fresh PostgreSQL database when
/// `TEST_POSTGRES_URL` is set.
async fn stores(dir: &tempfile::TempDir) -> Vec<Store> {
    let mut urls = vec![format!(
        "sqlite://{}",
        dir.path().join("chorus.db").display()
    )];
    urls.extend(support::fresh_postgres().await);
    let mut stores = Vec::new();
    for url in urls {
        stores.push(Store::new(Db::connect(&url).await.unwrap()));
    }
    stores
}

/// A chat with a question and a reply of two versions: (chat id, reply id).
async fn chat_with_a_reply(store: &Store) -> (String, String) {
    let chat = store.create_chat("anon:someone-1", "t").await.unwrap();
    let q = uuid::Uuid::new_v4().to_string();
    store
        .add_chat_message(&chat.id, &q, Role::User, "why?")
        .await
        .unwrap();
    let reply = uuid::Uuid::new_v4().to_string();
    store
        .add_chat_message(&chat.id, &reply, Role::Assistant, "because")
        .await
        .unwrap();
    store
        .add_message_version(&reply, "because, again")
        .await
        .unwrap();
    (chat.id, reply)
}

#[tokio::test]
async fn regenerates_at_once_each_get_their_own_version() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let (_, reply) = chat_with_a_reply(&store).await;
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (store, reply) = (store.clone(), reply.clone());
                tokio::spawn(async move {
                    store
                        .add_message_version(&reply, &format!("take {i}"))
                        .await
                })
            })
            .collect();
        let mut versions = Vec::new();
        for t in tasks {
            versions.push(t.await.unwrap().expect("every regenerate is saved"));
        }
        versions.sort_unstable();
        assert_eq!(
            versions,
            (2..10).collect::<Vec<_>>(),
            "{:?}",
            store.db().kind
        );
        let saved = store.chat_message(&reply).await.unwrap().unwrap();
        assert_eq!(saved.message.versions.len(), 10);
        assert_eq!(
            Some(&saved.message.content),
            saved.message.versions.last(),
            "the current text is the newest version"
        );
    }
}

#[tokio::test]
async fn a_chat_is_deleted_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(&dir).await {
        let (chat, reply) = chat_with_a_reply(&store).await;
        // The database refuses to delete messages (a fault half-way through).
        let refuse: &[&str] = match store.db().kind {
            DbKind::Sqlite => &[
                "CREATE TRIGGER keep_messages BEFORE DELETE ON chat_messages \
                 BEGIN SELECT RAISE(ABORT, 'kept'); END",
            ],
            DbKind::Postgres => &[
                "CREATE FUNCTION keep_messages() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'kept'; END $$",
                "CREATE TRIGGER keep_messages BEFORE DELETE ON chat_messages \
                 FOR EACH ROW EXECUTE FUNCTION keep_messages()",
            ],
        };
        for sql in refuse {
            sqlx::query(sqlx::AssertSqlSafe(*sql))
                .execute(&store.db().pool)
                .await
                .unwrap();
        }
        assert!(store.delete_chat(&chat).await.is_err());
        // Nothing was lost: the chat, its messages and every version.
        assert!(store.chat(&chat).await.unwrap().is_some());
        let (messages, total) = store.chat_messages(&chat, 0, 50).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(messages[1].versions, ["because", "because, again"]);

        sqlx::query("DROP TRIGGER keep_messages ON chat_messages")
            .execute(&store.db().pool)
            .await
            .ok();
        sqlx::query("DROP TRIGGER keep_messages")
            .execute(&store.db().pool)
            .await
            .ok();
        assert!(store.delete_chat(&chat).await.unwrap());
        assert!(store.chat(&chat).await.unwrap().is_none());
        assert!(store.chat_message(&reply).await.unwrap().is_none());
        assert_eq!(store.chat_messages(&chat, 0, 50).await.unwrap().1, 0);
    }
}
