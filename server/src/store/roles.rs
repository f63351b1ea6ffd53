//! Roles (`user`, `admin`) and what the admin page reads about accounts.

use super::Store;
use sqlx::Row;

/// A user as `chorus users list` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserListing {
    pub username: String,
    /// `user` or `admin`.
    pub role: String,
    pub credits: i64,
}

impl Store {
    /// Makes `username` an admin (`true`) or a plain user again. `false`
    /// when there is no such user.
    pub async fn set_admin(&self, username: &str, admin: bool) -> Result<bool, sqlx::Error> {
        let role = if admin { "admin" } else { "user" };
        let changed = sqlx::query("UPDATE users SET role = $1 WHERE username_key = $2")
            .bind(role)
            .bind(username.to_ascii_lowercase())
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(changed > 0)
    }

    /// Whether the user with this id is an admin.
    pub async fn is_admin(&self, user_id: &str) -> Result<bool, sqlx::Error> {
        let role: Option<String> = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(role.as_deref() == Some("admin"))
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserListing>, sqlx::Error> {
        sqlx::query("SELECT username, role, credits FROM users ORDER BY username_key")
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|r| {
                Ok(UserListing {
                    username: r.try_get("username")?,
                    role: r.try_get("role")?,
                    credits: r.try_get("credits")?,
                })
            })
            .collect()
    }

    /// (credits granted from the shell, how many grants).
    pub async fn credits_granted(&self) -> Result<(i64, i64), sqlx::Error> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) AS total, \
             CAST(COUNT(*) AS BIGINT) AS grants FROM credit_ledger WHERE reason = 'grant'",
        )
        .fetch_one(self.pool())
        .await?;
        Ok((row.try_get("total")?, row.try_get("grants")?))
    }
}
