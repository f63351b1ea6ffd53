//! Credit balances. Every change is atomic in the database (a conditional
//! `UPDATE`), so parallel requests can never spend more than the balance.

use super::{Store, new_id, now_secs};
use sqlx::Row;

/// A user's credits: what they were given, spent, and have left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditSummary {
    pub granted: i64,
    pub spent: i64,
    pub balance: i64,
}

impl Store {
    /// Takes exactly `amount` credits, or none: `Some(balance after)`, or
    /// `None` when the balance is smaller than `amount`.
    pub async fn debit(
        &self,
        user_id: &str,
        amount: i64,
        reason: &str,
    ) -> Result<Option<i64>, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "UPDATE users SET credits = credits - $1 \
             WHERE id = $2 AND credits >= $1 RETURNING credits",
        )
        .bind(amount)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let balance: i64 = row.try_get("credits")?;
        ledger(&mut tx, user_id, -amount, reason).await?;
        tx.commit().await?;
        Ok(Some(balance))
    }

    /// Holds up to `want` credits for a generation about to run: takes
    /// `min(want, balance)` and returns it, or `None` at a zero balance.
    /// Nothing is written to the ledger until [`Store::settle`].
    pub async fn reserve(&self, user_id: &str, want: i64) -> Result<Option<i64>, sqlx::Error> {
        // Compare-and-swap on the balance: portable, and retried only when
        // another request changed the balance in between.
        for _ in 0..32 {
            let Some(balance) = self.balance(user_id).await? else {
                return Ok(None);
            };
            if balance <= 0 {
                return Ok(None);
            }
            let take = want.min(balance).max(1);
            let done = sqlx::query(
                "UPDATE users SET credits = credits - $1 WHERE id = $2 AND credits = $3",
            )
            .bind(take)
            .bind(user_id)
            .bind(balance)
            .execute(self.pool())
            .await?
            .rows_affected();
            if done == 1 {
                return Ok(Some(take));
            }
        }
        Err(sqlx::Error::PoolTimedOut)
    }

    /// Ends a reservation: `spent` (at most `reserved`) goes to the ledger,
    /// the rest back to the balance. With the `stream` whose generation
    /// held it, that generation's record lets go of it in the same
    /// transaction (see [`Store::recover_interrupted`]).
    pub async fn settle(
        &self,
        user_id: &str,
        reserved: i64,
        spent: i64,
        reason: &str,
        stream: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        if !super::generations::release_bound(&mut tx, stream).await? {
            // Settled already (at start-up, after a crash): nothing to give.
            return Ok(());
        }
        settle_in(&mut tx, user_id, reserved, spent, reason).await?;
        tx.commit().await
    }

    /// Adds credits to the user named `username`; the balance after, or
    /// `None` for an unknown user.
    pub async fn grant(&self, username: &str, amount: i64) -> Result<Option<i64>, sqlx::Error> {
        let Some(user) = self.user_by_name(username).await? else {
            return Ok(None);
        };
        let mut tx = self.pool().begin().await?;
        let row =
            sqlx::query("UPDATE users SET credits = credits + $1 WHERE id = $2 RETURNING credits")
                .bind(amount)
                .bind(&user.id)
                .fetch_one(&mut *tx)
                .await?;
        let balance: i64 = row.try_get("credits")?;
        ledger(&mut tx, &user.id, amount, "grant").await?;
        tx.commit().await?;
        Ok(Some(balance))
    }

    /// The current balance, or `None` for an unknown user.
    pub async fn balance(&self, user_id: &str) -> Result<Option<i64>, sqlx::Error> {
        let row = sqlx::query("SELECT credits FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| r.try_get("credits")).transpose()
    }

    /// Granted, spent and balance, from the ledger and the user row. (The
    /// sums are cast: PostgreSQL's SUM over BIGINT is NUMERIC.)
    pub async fn credit_summary(&self, user_id: &str) -> Result<CreditSummary, sqlx::Error> {
        let row = sqlx::query(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN delta > 0 THEN delta ELSE 0 END), 0) AS BIGINT) AS granted, \
               CAST(COALESCE(SUM(CASE WHEN delta < 0 THEN -delta ELSE 0 END), 0) AS BIGINT) AS spent \
             FROM credit_ledger WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        Ok(CreditSummary {
            granted: row.try_get("granted")?,
            spent: row.try_get("spent")?,
            balance: self.balance(user_id).await?.unwrap_or(0),
        })
    }
}

/// [`Store::settle`] within a transaction.
pub(super) async fn settle_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    reserved: i64,
    spent: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let spent = spent.clamp(0, reserved);
    if reserved > spent {
        sqlx::query("UPDATE users SET credits = credits + $1 WHERE id = $2")
            .bind(reserved - spent)
            .bind(user_id)
            .execute(&mut **tx)
            .await?;
    }
    if spent > 0 {
        ledger(tx, user_id, -spent, reason).await?;
    }
    Ok(())
}

async fn ledger(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    delta: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credit_ledger (id, user_id, delta, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new_id())
    .bind(user_id)
    .bind(delta)
    .bind(reason)
    .bind(now_secs())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
