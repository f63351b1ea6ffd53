//! The store keeps conversations and memories in the order people made
//! them, on SQLite and (with `TEST_POSTGRES_URL`) on PostgreSQL: memories
//! written within one second, and a support reply saved after the next
//! message (it is saved when it finishes). Chat search and a visitor's
//! things moving into their account are checked here on both databases too.

use chorus_server::db::Db;
use chorus_server::store::Store;
use shared::Role;
use shared::support::RiskLevel;

mod support;

/// An in-memory SQLite, and a fresh PostgreSQL database when
/// `TEST_POSTGRES_URL` is set.
async fn stores() -> Vec<Store> {
    let mut urls = vec!["sqlite::memory:".to_owned()];
    urls.extend(support::fresh_postgres().await);
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

#[tokio::test]
async fn chat_search_finds_titles_and_messages_in_any_case_and_only_the_owners() {
    for store in stores().await {
        let tides = store.create_chat("user:a", "Ocean tides").await.unwrap();
        let trip = store.create_chat("user:a", "Trip planning").await.unwrap();
        store
            .add_chat_message(
                &trip.id,
                "m1",
                Role::User,
                "Plan three days in LISBON, with trams",
            )
            .await
            .unwrap();
        let other = store.create_chat("user:b", "Lisbon too").await.unwrap();
        let _ = other;
        // A literal % or _ is searched for, not a wildcard.
        store
            .add_chat_message(&tides.id, "m2", Role::User, "100% sure")
            .await
            .unwrap();

        let found = store.search_chats("user:a", "lisbon", 20).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.id, trip.id);
        assert_eq!(
            found[0].1.as_deref(),
            Some("Plan three days in LISBON, with trams")
        );

        let by_title = store.search_chats("user:a", "TIDES", 20).await.unwrap();
        assert_eq!(by_title.len(), 1);
        assert_eq!(
            (by_title[0].0.id.as_str(), by_title[0].1.as_deref()),
            (tides.id.as_str(), None)
        );

        let percent = store.search_chats("user:a", "0%", 20).await.unwrap();
        assert_eq!(percent.len(), 1, "the % matched literally");
        assert!(
            store
                .search_chats("user:a", "_", 20)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .search_chats("user:a", "zebra", 20)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn a_visitors_chats_books_and_answers_move_to_an_account_and_no_one_elses() {
    for store in stores().await {
        let (visitor, user) = ("anon:visitor-1", "user:u1");
        store.create_chat(visitor, "Zebras").await.unwrap();
        store
            .create_chat("anon:someone-else", "Not theirs")
            .await
            .unwrap();
        store
            .claim_books_session("book-1", visitor, "OrchestratorAgent")
            .await
            .unwrap();
        store
            .generation_started("st_persona_1", visitor)
            .await
            .unwrap();

        let moved = store.adopt_visitor(visitor, user).await.unwrap();
        assert_eq!((moved.chats, moved.books, moved.generations), (1, 1, 1));
        let (chats, _) = store.chats(user, 0, 50).await.unwrap();
        assert_eq!(
            chats.iter().map(|c| c.title.as_str()).collect::<Vec<_>>(),
            ["Zebras"]
        );
        assert_eq!(
            store.books_session("book-1").await.unwrap().unwrap().owner,
            user
        );
        assert_eq!(
            store
                .generation("st_persona_1")
                .await
                .unwrap()
                .unwrap()
                .owner,
            user
        );
        assert_eq!(store.chats(visitor, 0, 50).await.unwrap().1, 0);
        assert_eq!(store.chats("anon:someone-else", 0, 50).await.unwrap().1, 1);
    }
}

/// Many generations at once go through the group commit as multi-row
/// INSERTs (rows just started, and rows started and finished in the same
/// batch): every one is recorded with its own values, on both databases.
#[tokio::test]
async fn many_generations_at_once_are_each_recorded_with_their_own_values() {
    for store in stores().await {
        let ids: Vec<String> = (0..100).map(|i| format!("st_batch_{i}")).collect();
        for id in &ids {
            store.queue_generation_started(id, "anon:batch");
        }
        let text = |i: usize| format!("reply {i}: 'quoted', $1 and ? kept as text");
        let ends = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(i, id)| {
                let (store, text) = (store.clone(), text(i));
                async move {
                    store
                        .generation_finished(id, "completed", &text, i as i64, 2 * i as i64)
                        .await
                }
            });
        for result in futures_util::future::join_all(ends).await {
            result.unwrap();
        }
        // A start that is waited for comes after every queued write.
        store
            .generation_started("st_batch_last", "anon:batch")
            .await
            .unwrap();
        for (i, id) in ids.iter().enumerate() {
            let saved = store.generation(id).await.unwrap().unwrap();
            assert_eq!(saved.owner, "anon:batch", "{id}");
            if i % 2 == 0 {
                assert_eq!(
                    (saved.status.as_str(), saved.text),
                    ("completed", text(i)),
                    "{id}"
                );
            } else {
                assert_eq!(
                    (saved.status.as_str(), saved.text.as_str()),
                    ("running", ""),
                    "{id}"
                );
            }
        }
    }
}
