//! Anonymous visitors (the hybrid chat protocol's `x-anon-id`) and their free replies.

use super::{Store, now_secs};
use sqlx::Row;

impl Store {
    /// Records the visitor (first visit) or their last visit; returns the
    /// replies they have used.
    pub async fn touch_anon(&self, id: &str) -> Result<i64, sqlx::Error> {
        let now = now_secs();
        let row = sqlx::query(
            "INSERT INTO anon_visitors (id, replies_used, created_at, last_seen_at) \
             VALUES ($1, 0, $2, $2) \
             ON CONFLICT (id) DO UPDATE SET last_seen_at = $2 \
             RETURNING replies_used",
        )
        .bind(id)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        row.try_get("replies_used")
    }

    /// Takes one free reply if fewer than `limit` are used: the count after,
    /// or `None` when the limit is reached. Atomic: parallel requests cannot
    /// pass the limit.
    pub async fn take_anon_reply(&self, id: &str, limit: i64) -> Result<Option<i64>, sqlx::Error> {
        self.touch_anon(id).await?;
        let row = sqlx::query(
            "UPDATE anon_visitors SET replies_used = replies_used + 1 \
             WHERE id = $1 AND replies_used < $2 RETURNING replies_used",
        )
        .bind(id)
        .bind(limit)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| r.try_get("replies_used")).transpose()
    }

    /// Gives back a reply taken for a generation that failed before it
    /// produced anything; with its `stream`, the generation's record lets
    /// go of it in the same transaction.
    pub async fn return_anon_reply(
        &self,
        id: &str,
        stream: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        if !super::generations::release_bound(&mut tx, stream).await? {
            return Ok(());
        }
        return_reply(&mut tx, id).await?;
        tx.commit().await
    }
}

/// One free reply back to visitor `id`.
pub(super) async fn return_reply(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE anon_visitors SET replies_used = replies_used - 1 \
         WHERE id = $1 AND replies_used > 0",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
