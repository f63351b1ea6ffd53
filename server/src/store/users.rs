//! Accounts: create, find by name or id.

use super::{Store, new_id, now_secs};
use sqlx::Row;

/// A user row, with what login needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub credits: i64,
    /// The version of the user's tokens: a token issued at an older one is
    /// revoked (`POST /api/auth/logout`).
    pub token_version: i64,
}

impl Store {
    /// Creates a user with `initial_credits` (recorded in the ledger).
    /// `None` when the username (compared without case) is taken.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        initial_credits: i64,
    ) -> Result<Option<UserRecord>, sqlx::Error> {
        let id = new_id();
        let now = now_secs();
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, username_key, password_hash, credits, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (username_key) DO NOTHING",
        )
        .bind(&id)
        .bind(username)
        .bind(username.to_ascii_lowercase())
        .bind(password_hash)
        .bind(initial_credits)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(None);
        }
        if initial_credits > 0 {
            sqlx::query(
                "INSERT INTO credit_ledger (id, user_id, delta, reason, created_at) \
                 VALUES ($1, $2, $3, 'initial', $4)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(initial_credits)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(UserRecord {
            id,
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
            credits: initial_credits,
            token_version: 0,
        }))
    }

    /// The user with this name (any case).
    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, credits, token_version FROM users \
             WHERE username_key = $1",
        )
        .bind(username.to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await?;
        row.map(record).transpose()
    }

    /// The user with this id.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, credits, token_version FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.map(record).transpose()
    }

    /// The version of the user's tokens; `None` for no such user.
    pub async fn token_version(&self, user_id: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT token_version FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await
    }

    /// Moves the version of the user's tokens on, revoking every token
    /// issued so far; the new version (`None` for no such user).
    pub async fn revoke_tokens(&self, user_id: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE users SET token_version = token_version + 1 WHERE id = $1 \
             RETURNING token_version",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await
    }
}

fn record(row: sqlx::any::AnyRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        credits: row.try_get("credits")?,
        token_version: row.try_get("token_version")?,
    })
}
