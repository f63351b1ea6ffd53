//! A visitor's things moving into an account: when someone signs up or
//! signs in from a browser where they chatted as a visitor, that browser's
//! chats, BooksWriter books and persona answers become the account's.

use super::Store;

/// How many of each moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Adopted {
    pub chats: u64,
    pub books: u64,
    /// Saved generations: persona answers (and any other stream's outcome).
    pub generations: u64,
}

impl Store {
    /// Gives everything owned by `from` (an owner key, `anon:<id>`) to `to`
    /// (`user:<id>`), in one transaction.
    pub async fn adopt_visitor(&self, from: &str, to: &str) -> Result<Adopted, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        let mut moved = [0u64; 3];
        for (n, table) in ["chats", "books_sessions", "generations"]
            .into_iter()
            .enumerate()
        {
            // The table names are the constants above, not input.
            let sql = format!("UPDATE {table} SET owner = $1 WHERE owner = $2");
            moved[n] = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(to)
                .bind(from)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(Adopted {
            chats: moved[0],
            books: moved[1],
            generations: moved[2],
        })
    }
}
