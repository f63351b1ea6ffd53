//! Typed access to the database: handlers call these methods and never hold
//! SQL. Portable SQL with `$n` placeholders runs on SQLite and PostgreSQL.
//!
//! - [`users`] holds accounts; [`roles`] who is an admin;
//! - [`anon`] anonymous visitors and their free replies;
//! - [`books`] BooksWriter sessions, conversation lines and artifacts;
//! - [`credits`] balances, the ledger, atomic debits and reservations;
//! - [`generations`] every stream's saved outcome;
//! - [`rolecards`] memories, relations and role cards;
//! - [`support`] support sessions, messages and escalations;
//! - [`chats`] the hybrid chat protocol's chats, messages and reply versions;
//! - [`visitors`] a visitor's things moving into the account they sign into.

pub mod anon;
pub mod books;
pub mod chats;
pub mod credits;
pub mod generations;
pub mod rolecards;
pub mod roles;
pub mod support;
pub mod users;
pub mod visitors;

use crate::db::Db;

/// The store: a cheap handle over the pool.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// Group commit for the two writes every generation makes.
    generation_writes: generations::Writer,
    /// This instance's id in a cluster, recorded on every generation it
    /// runs; `None` for a single instance.
    instance: Option<std::sync::Arc<str>>,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self {
            generation_writes: generations::Writer::default(),
            db,
            instance: None,
        }
    }

    /// The store of instance `id` of a cluster: its generations say so.
    pub fn with_instance(mut self, id: &str) -> Self {
        self.instance = Some(id.into());
        self
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    fn pool(&self) -> &sqlx::AnyPool {
        &self.db.pool
    }
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix seconds as an RFC 3339 UTC string (what the API shows).
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Unix milliseconds, strictly increasing within the process, so orders
/// kept by it never tie (two changes in one millisecond): the chat sidebar,
/// a session's artifacts.
pub fn now_ms() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let prev = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or(now);
    now.max(prev + 1)
}

/// A row's `role` column as the shared [`Role`](shared::Role).
pub(crate) fn role_of(r: &sqlx::any::AnyRow) -> Result<shared::Role, sqlx::Error> {
    use sqlx::Row;
    let role: String = r.try_get("role")?;
    shared::Role::parse(&role).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "role".into(),
        source: format!("unknown role {role:?}").into(),
    })
}

/// A new random id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
