//! The database handle: SQLite (the embedded default) or PostgreSQL, chosen
//! by the URL alone. One `AnyPool` and portable SQL serve both; the
//! migrations in `server/migrations/` are embedded and applied at start.

use crate::error::StartError;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::sync::Once;

/// Which database the URL named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// A pool, and which kind it is.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub kind: DbKind,
}

static DRIVERS: Once = Once::new();

/// The migrations in `server/migrations/`, embedded in the binary.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

impl Db {
    /// Connects and applies the migrations. For SQLite, creates the file and
    /// its folder if missing and turns on WAL and foreign keys.
    pub async fn connect(url: &str) -> Result<Self, StartError> {
        DRIVERS.call_once(install_default_drivers);
        let (kind, url) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (DbKind::Postgres, url.to_owned())
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            (DbKind::Sqlite, sqlite_url(rest)?)
        } else {
            return Err(StartError(format!(
                "unsupported database URL {url:?}: use sqlite://path or postgres://…"
            )));
        };
        let in_memory = url.contains(":memory:");
        let options = AnyPoolOptions::new();
        let options = match kind {
            // One connection: each in-memory SQLite connection is its own database.
            DbKind::Sqlite if in_memory => options.max_connections(1),
            DbKind::Sqlite => options.max_connections(8),
            DbKind::Postgres => options.max_connections(16),
        };
        let options = if kind == DbKind::Sqlite {
            options.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let pool = options.connect(&url).await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StartError(format!("database migrations: {e}")))?;
        Ok(Self { pool, kind })
    }

    /// Which kind of database this is, for logs.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
        }
    }

    /// (applied, embedded): how many of the binary's migrations the
    /// database has applied, of how many there are. An error when the
    /// database does not answer.
    pub async fn migrations_applied(&self) -> Result<(usize, usize), sqlx::Error> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_all(&self.pool)
                .await?;
        let embedded = MIGRATOR
            .iter()
            .filter(|m| m.migration_type.is_up_migration());
        let (mut done, mut total) = (0, 0);
        for m in embedded {
            total += 1;
            done += usize::from(applied.contains(&m.version));
        }
        Ok((done, total))
    }

    /// Closes the pool (at shutdown, so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `sqlite://data/chorus.db` → the same URL with `mode=rwc` (create if
/// missing), after creating the folder.
fn sqlite_url(rest: &str) -> Result<String, StartError> {
    let spec = rest.trim_start_matches("//");
    let (path, query) = spec.split_once('?').unwrap_or((spec, ""));
    if path == ":memory:" || path.is_empty() {
        return Ok("sqlite::memory:".to_owned());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            StartError(format!(
                "cannot create database folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    if !params.iter().any(|p| p.starts_with("mode=")) {
        params.push("mode=rwc");
    }
    Ok(format!("sqlite://{path}?{}", params.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_the_file_and_keep_their_options() {
        let dir = std::env::temp_dir().join(format!("chorus-db-{}", uuid::Uuid::new_v4()));
        let file = dir.join("x.db");
        let url = sqlite_url(&format!("//{}", file.display())).unwrap();
        assert_eq!(url, format!("sqlite://{}?mode=rwc", file.display()));
        assert!(dir.is_dir());
        assert_eq!(
            sqlite_url("//a.db?mode=ro").unwrap(),
            "sqlite://a.db?mode=ro"
        );
        assert_eq!(sqlite_url(":memory:").unwrap(), "sqlite::memory:");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
