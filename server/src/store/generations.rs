//! Saved generations: the text and usage of every stream, by stream id.

use super::{Store, now_secs};
use sqlx::Row;

/// A saved generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedGeneration {
    pub owner: String,
    pub status: String,
    pub text: String,
}

impl Store {
    /// Records that a generation started.
    pub async fn generation_started(
        &self,
        stream_id: &str,
        owner: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO generations (stream_id, owner, status, created_at) \
             VALUES ($1, $2, 'running', $3)",
        )
        .bind(stream_id)
        .bind(owner)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Saves how a generation ended.
    pub async fn generation_finished(
        &self,
        stream_id: &str,
        status: &str,
        text: &str,
        prompt_tokens: i64,
        completion_tokens: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE generations SET status = $1, text = $2, prompt_tokens = $3, \
             completion_tokens = $4, finished_at = $5 WHERE stream_id = $6",
        )
        .bind(status)
        .bind(text)
        .bind(prompt_tokens)
        .bind(completion_tokens)
        .bind(now_secs())
        .bind(stream_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The saved generation of a stream.
    pub async fn generation(
        &self,
        stream_id: &str,
    ) -> Result<Option<SavedGeneration>, sqlx::Error> {
        let row = sqlx::query("SELECT owner, status, text FROM generations WHERE stream_id = $1")
            .bind(stream_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(SavedGeneration {
                owner: r.try_get("owner")?,
                status: r.try_get("status")?,
                text: r.try_get("text")?,
            })
        })
        .transpose()
    }
}
