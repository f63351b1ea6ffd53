//! BooksWriter sessions, their conversation lines and saved artifacts
//! (the BooksWriter protocol).

use super::{Store, now_ms, now_secs, rfc3339};
use shared::books::{Artifact, ArtifactKind, BookSummary, Entry};
use sqlx::Row;

/// A session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BooksSessionRow {
    pub owner: String,
    pub model: Option<String>,
    pub current_agent: String,
    pub last_seq: u64,
}

impl Store {
    /// Claims `id` for `owner` if nobody has it yet; returns the session as
    /// stored (whoever owns it).
    pub async fn claim_books_session(
        &self,
        id: &str,
        owner: &str,
        agent: &str,
    ) -> Result<BooksSessionRow, sqlx::Error> {
        let now = now_secs();
        sqlx::query(
            "INSERT INTO books_sessions (id, owner, model, current_agent, last_seq, created_at, updated_at) \
             VALUES ($1, $2, NULL, $3, 0, $4, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(owner)
        .bind(agent)
        .bind(now)
        .execute(self.pool())
        .await?;
        self.books_session(id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// The session, if it exists.
    pub async fn books_session(&self, id: &str) -> Result<Option<BooksSessionRow>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT owner, model, current_agent, last_seq FROM books_sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(BooksSessionRow {
                owner: r.try_get("owner")?,
                model: r.try_get("model")?,
                current_agent: r.try_get("current_agent")?,
                last_seq: r.try_get::<i64, _>("last_seq")?.max(0) as u64,
            })
        })
        .transpose()
    }

    /// Records where the session stands: its model, agent and last seq.
    pub async fn update_books_session(
        &self,
        id: &str,
        model: Option<&str>,
        current_agent: &str,
        last_seq: u64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE books_sessions SET model = $2, current_agent = $3, last_seq = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(model)
        .bind(current_agent)
        .bind(last_seq as i64)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Writes conversation lines (new or grown since last saved).
    pub async fn save_books_entries(
        &self,
        session_id: &str,
        entries: &[Entry],
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        for e in entries {
            let body = serde_json::to_string(e).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            sqlx::query(
                "INSERT INTO books_entries (session_id, id, body) VALUES ($1, $2, $3) \
                 ON CONFLICT (session_id, id) DO UPDATE SET body = $3",
            )
            .bind(session_id)
            .bind(e.id() as i64)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// The conversation, in order.
    pub async fn books_entries(&self, session_id: &str) -> Result<Vec<Entry>, sqlx::Error> {
        let rows = sqlx::query("SELECT body FROM books_entries WHERE session_id = $1 ORDER BY id")
            .bind(session_id)
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let body: String = r.try_get("body")?;
            match serde_json::from_str(&body) {
                Ok(e) => out.push(e),
                Err(e) => {
                    tracing::warn!(session = session_id, error = %e, "skipping an unreadable line")
                }
            }
        }
        Ok(out)
    }

    /// Saves an artifact; returns it as stored.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_artifact(
        &self,
        session_id: &str,
        kind: ArtifactKind,
        title: &str,
        fields: &serde_json::Map<String, serde_json::Value>,
        content: &str,
        status: &str,
        builds_on: &[String],
    ) -> Result<Artifact, sqlx::Error> {
        let id = format!("{}-{}", kind.as_str(), uuid::Uuid::new_v4());
        let now = now_secs();
        let fields_json = serde_json::Value::Object(fields.clone()).to_string();
        let builds_json = serde_json::to_string(builds_on).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO books_artifacts (id, session_id, kind, title, fields, content, status, builds_on, created_at, position) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&id)
        .bind(session_id)
        .bind(kind.as_str())
        .bind(title)
        .bind(fields_json)
        .bind(content)
        .bind(status)
        .bind(builds_json)
        .bind(now)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(Artifact {
            id,
            kind,
            title: title.to_owned(),
            fields: fields.clone(),
            content: content.to_owned(),
            status: status.to_owned(),
            builds_on: builds_on.to_vec(),
            created_at: rfc3339(now),
        })
    }

    /// The owner's sessions that have at least one line, most recently
    /// worked on first (at most `limit`), each titled by its first saved
    /// piece or else its first request.
    pub async fn books_of(&self, owner: &str, limit: u32) -> Result<Vec<BookSummary>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT s.id, s.updated_at, \
               (SELECT CAST(COUNT(*) AS BIGINT) FROM books_artifacts a WHERE a.session_id = s.id) AS n, \
               (SELECT a.title FROM books_artifacts a WHERE a.session_id = s.id \
                  ORDER BY a.position, a.id LIMIT 1) AS first_title, \
               (SELECT e.body FROM books_entries e WHERE e.session_id = s.id \
                  ORDER BY e.id LIMIT 1) AS first_line \
             FROM books_sessions s \
             WHERE s.owner = $1 AND EXISTS (SELECT 1 FROM books_entries e WHERE e.session_id = s.id) \
             ORDER BY s.updated_at DESC, s.id LIMIT $2",
        )
        .bind(owner)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let first_title: Option<String> = r.try_get("first_title")?;
            let first_line: Option<String> = r.try_get("first_line")?;
            let request = first_line
                .and_then(|b| serde_json::from_str::<Entry>(&b).ok())
                .and_then(|e| match e {
                    Entry::User { content, .. } => Some(shared::chat::title_from(&content)),
                    _ => None,
                });
            out.push(BookSummary {
                session_id: r.try_get("id")?,
                title: first_title
                    .or(request)
                    .unwrap_or_else(|| "Untitled book".to_owned()),
                artifacts: r.try_get::<i64, _>("n")?.clamp(0, i64::from(u32::MAX)) as u32,
                updated_at: rfc3339(r.try_get("updated_at")?),
            });
        }
        Ok(out)
    }

    /// The session's artifacts, oldest first.
    pub async fn artifacts(&self, session_id: &str) -> Result<Vec<Artifact>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, kind, title, fields, content, status, builds_on, created_at \
             FROM books_artifacts WHERE session_id = $1 ORDER BY position, id",
        )
        .bind(session_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let kind: String = r.try_get("kind")?;
            let Some(kind) = ArtifactKind::parse(&kind) else {
                continue;
            };
            let fields: String = r.try_get("fields")?;
            let builds_on: String = r.try_get("builds_on")?;
            out.push(Artifact {
                id: r.try_get("id")?,
                kind,
                title: r.try_get("title")?,
                fields: serde_json::from_str(&fields).unwrap_or_default(),
                content: r.try_get("content")?,
                status: r.try_get("status")?,
                builds_on: serde_json::from_str(&builds_on).unwrap_or_default(),
                created_at: rfc3339(r.try_get("created_at")?),
            });
        }
        Ok(out)
    }
}
