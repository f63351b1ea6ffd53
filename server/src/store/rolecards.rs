//! Memories, relations and role cards (the role-card protocol).

use super::{Store, new_id, now_secs, rfc3339};
use shared::rolecard::{Memory, Relation, RoleCard, SavedRoleCard};
use sqlx::Row;

/// Who owns a row: nobody (no such row), the caller, or someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Missing,
    Caller,
    Other,
}

impl Store {
    pub async fn add_memory(&self, user_id: &str, content: &str) -> Result<Memory, sqlx::Error> {
        let id = new_id();
        let now = now_secs();
        sqlx::query(
            "INSERT INTO memories (id, user_id, content, created_at, position) VALUES ($1, $2, $3, $4, \
               (SELECT COALESCE(MAX(position), 0) + 1 FROM memories WHERE user_id = $2))",
        )
        .bind(&id)
        .bind(user_id)
        .bind(content)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(Memory {
            id,
            content: content.to_owned(),
            created_at: rfc3339(now),
        })
    }

    pub async fn memories(&self, user_id: &str) -> Result<Vec<Memory>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, content, created_at FROM memories WHERE user_id = $1 ORDER BY position, created_at, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Memory {
                    id: r.try_get("id")?,
                    content: r.try_get("content")?,
                    created_at: rfc3339(r.try_get("created_at")?),
                })
            })
            .collect()
    }

    pub async fn add_relation(
        &self,
        user_id: &str,
        name: &str,
        relationship: &str,
        notes: &str,
    ) -> Result<Relation, sqlx::Error> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO relations (id, user_id, name, relationship, notes, created_at, position) \
             VALUES ($1, $2, $3, $4, $5, $6, \
               (SELECT COALESCE(MAX(position), 0) + 1 FROM relations WHERE user_id = $2))",
        )
        .bind(&id)
        .bind(user_id)
        .bind(name)
        .bind(relationship)
        .bind(notes)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(Relation {
            id,
            name: name.to_owned(),
            relationship: relationship.to_owned(),
            notes: notes.to_owned(),
        })
    }

    pub async fn relations(&self, user_id: &str) -> Result<Vec<Relation>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, name, relationship, notes FROM relations WHERE user_id = $1 ORDER BY position, created_at, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(Relation {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    relationship: r.try_get("relationship")?,
                    notes: r.try_get("notes")?,
                })
            })
            .collect()
    }

    /// How many memories or relations (`table`) the user keeps.
    pub async fn count_owned(&self, table: Table, user_id: &str) -> Result<i64, sqlx::Error> {
        let sql = match table {
            Table::Memories => "SELECT CAST(COUNT(*) AS BIGINT) FROM memories WHERE user_id = $1",
            Table::Relations => "SELECT CAST(COUNT(*) AS BIGINT) FROM relations WHERE user_id = $1",
        };
        sqlx::query_scalar(sql)
            .bind(user_id)
            .fetch_one(self.pool())
            .await
    }

    /// Who owns the memory or relation `id` in `table`.
    pub async fn owner_of(
        &self,
        table: Table,
        id: &str,
        user_id: &str,
    ) -> Result<Owner, sqlx::Error> {
        let sql = match table {
            Table::Memories => "SELECT user_id FROM memories WHERE id = $1",
            Table::Relations => "SELECT user_id FROM relations WHERE id = $1",
        };
        let row = sqlx::query(sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            None => Owner::Missing,
            Some(r) if r.try_get::<String, _>("user_id")? == user_id => Owner::Caller,
            Some(_) => Owner::Other,
        })
    }

    /// Deletes a memory or relation the caller owns (check first).
    pub async fn delete_owned(
        &self,
        table: Table,
        id: &str,
        user_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let sql = match table {
            Table::Memories => "DELETE FROM memories WHERE id = $1 AND user_id = $2",
            Table::Relations => "DELETE FROM relations WHERE id = $1 AND user_id = $2",
        };
        let done = sqlx::query(sql)
            .bind(id)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn rolecard(&self, user_id: &str) -> Result<Option<SavedRoleCard>, sqlx::Error> {
        let row = sqlx::query("SELECT card, updated_at FROM rolecards WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            let card: String = r.try_get("card")?;
            Ok(SavedRoleCard {
                rolecard: serde_json::from_str(&card).unwrap_or_default(),
                updated_at: rfc3339(r.try_get("updated_at")?),
            })
        })
        .transpose()
    }

    pub async fn save_rolecard(&self, user_id: &str, card: &RoleCard) -> Result<(), sqlx::Error> {
        let json = serde_json::to_string(card).unwrap_or_else(|_| "{}".into());
        sqlx::query(
            "INSERT INTO rolecards (user_id, card, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET card = $2, updated_at = $3",
        )
        .bind(user_id)
        .bind(json)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// The tables with owner-checked rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Memories,
    Relations,
}
