//! Saved generations: the text and usage of every stream, by stream id.
//!
//! A running generation's text is saved as it grows
//! ([`Store::queue_generation_text`]), and what it holds from its owner's
//! quota is on its row until it is settled, so a crash loses at most the
//! last moments of text and no credits: [`Store::recover_interrupted`], at
//! start-up, marks what was running `interrupted` and settles it.

use super::{Store, now_secs};
use sqlx::{AnyPool, Row};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 512;

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
        self.generation_holding(stream_id, owner, 0).await
    }

    /// Records that a generation started holding `reserved` of its owner's
    /// quota, and waits for the write (so a crash from here on finds it).
    pub async fn generation_holding(
        &self,
        stream_id: &str,
        owner: &str,
        reserved: i64,
    ) -> Result<(), sqlx::Error> {
        let (done, result) = oneshot::channel();
        let write = started(stream_id, owner, reserved, self.instance.as_deref());
        self.generation_writes.queue(self.pool(), write, Some(done));
        result.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }

    /// Records that a generation started, without waiting for the write
    /// (a failure is logged). A later [`Store::generation_finished`] of the
    /// same stream is written after it; when both wait in the same batch
    /// they become one row.
    pub fn queue_generation_started(&self, stream_id: &str, owner: &str) {
        self.queue_generation_holding(stream_id, owner, 0);
    }

    /// [`Store::queue_generation_started`] for a generation holding
    /// `reserved` of its owner's quota (see the migration `0010`).
    pub fn queue_generation_holding(&self, stream_id: &str, owner: &str, reserved: i64) {
        let write = started(stream_id, owner, reserved, self.instance.as_deref());
        self.generation_writes.queue(self.pool(), write, None);
    }

    /// Saves a running generation's text so far, without waiting (a crash
    /// then loses only what came after). No effect once it has finished.
    pub fn queue_generation_text(&self, stream_id: &str, text: &str) {
        let write = Write::Partial {
            stream_id: stream_id.to_owned(),
            text: text.to_owned(),
        };
        self.generation_writes.queue(self.pool(), write, None);
    }

    /// The running generation of `stream` now holds `reserved` of its
    /// owner's quota (a job admitted after it started).
    pub async fn hold_generation(&self, stream: &str, reserved: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE generations SET reserved = $1 WHERE stream_id = $2")
            .bind(reserved)
            .bind(stream)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The generation of `stream` holds nothing any more (its anonymous
    /// visitor's reply was spent).
    pub async fn release_generation(&self, stream: &str) -> Result<(), sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        release(&mut tx, stream).await?;
        tx.commit().await
    }

    /// At start-up, before serving: every generation the last process left
    /// `running` becomes `interrupted` (keeping its saved text), and every
    /// generation still holding part of its owner's quota is settled: a
    /// user pays for the tokens it produced (`tokens` counts them in a text
    /// when the row has no count) and gets the rest back; an anonymous
    /// visitor gets the free reply back when nothing was produced. A chat
    /// reply cut this way goes into its chat with its saved text
    /// ([`Store::restore_chat_replies`]). Returns (generations interrupted,
    /// generations settled).
    pub async fn recover_interrupted(
        &self,
        tokens: impl Fn(&str) -> i64,
    ) -> Result<(u64, u64), sqlx::Error> {
        self.recover(None, tokens).await
    }

    /// [`Store::recover_interrupted`] for the generations of one instance
    /// of a cluster that went away (`""`: those no instance recorded),
    /// while the other instances go on. Safe to run on several instances
    /// at once: each reservation is settled once.
    pub async fn recover_instance(
        &self,
        instance: &str,
        tokens: impl Fn(&str) -> i64,
    ) -> Result<(u64, u64), sqlx::Error> {
        self.recover(Some(instance), tokens).await
    }

    /// The instances (`""` for none recorded) with generations still
    /// running or holding part of a quota.
    pub async fn instances_with_unsettled(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT DISTINCT COALESCE(instance, '') AS instance FROM generations \
             WHERE status = 'running' OR reserved > 0",
        )
        .fetch_all(self.pool())
        .await
    }

    async fn recover(
        &self,
        instance: Option<&str>,
        tokens: impl Fn(&str) -> i64,
    ) -> Result<(u64, u64), sqlx::Error> {
        let only = if instance.is_some() {
            " AND COALESCE(instance, '') = $2"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE generations SET status = 'interrupted', finished_at = $1 \
             WHERE status = 'running'{only}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_secs());
        if let Some(instance) = instance {
            query = query.bind(instance);
        }
        let interrupted = query.execute(self.pool()).await?.rows_affected();
        let only = if instance.is_some() {
            " AND COALESCE(instance, '') = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT stream_id, owner, reserved, text, completion_tokens FROM generations \
             WHERE reserved > 0{only}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(instance) = instance {
            query = query.bind(instance);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut settled = 0;
        for r in rows {
            let stream: String = r.try_get("stream_id")?;
            let owner: String = r.try_get("owner")?;
            let reserved: i64 = r.try_get("reserved")?;
            let text: String = r.try_get("text")?;
            let counted: i64 = r.try_get("completion_tokens")?;
            let spent = if counted > 0 { counted } else { tokens(&text) };
            let mut tx = self.pool().begin().await?;
            if !release(&mut tx, &stream).await? {
                continue;
            }
            if let Some(user) = owner.strip_prefix("user:") {
                super::credits::settle_in(&mut tx, user, reserved, spent, "interrupted").await?;
            } else if let Some(visitor) = owner.strip_prefix("anon:")
                && text.is_empty()
            {
                super::anon::return_reply(&mut tx, visitor).await?;
            }
            tx.commit().await?;
            settled += 1;
        }
        let replies = self.restore_chat_replies(instance).await?;
        if replies > 0 {
            tracing::warn!(replies, "put cut chat replies back in their chats");
        }
        Ok((interrupted, settled))
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
        let write = Write::Finished {
            stream_id: stream_id.to_owned(),
            status: status.to_owned(),
            text: text.to_owned(),
            prompt_tokens,
            completion_tokens,
            at: now_secs(),
        };
        let (done, result) = oneshot::channel();
        self.generation_writes.queue(self.pool(), write, Some(done));
        result.await.unwrap_or(Err(sqlx::Error::PoolClosed))
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

fn started(stream_id: &str, owner: &str, reserved: i64, instance: Option<&str>) -> Write {
    Write::Started {
        stream_id: stream_id.to_owned(),
        owner: owner.to_owned(),
        reserved,
        instance: instance.map(str::to_owned),
        at: now_secs(),
    }
}

/// [`release`] when the settlement is bound to a `stream`; without one
/// there is nothing to let go of, and the settlement goes ahead.
pub(super) async fn release_bound(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    stream: Option<&str>,
) -> Result<bool, sqlx::Error> {
    match stream {
        Some(stream) => release(tx, stream).await,
        None => Ok(true),
    }
}

/// Lets go of what the generation of `stream` holds: `false` when its row
/// holds nothing (settled already); `true` when it held something or has no
/// row at all (its start was never written: settle as if it had none).
pub(super) async fn release(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    stream: &str,
) -> Result<bool, sqlx::Error> {
    let held =
        sqlx::query("UPDATE generations SET reserved = 0 WHERE stream_id = $1 AND reserved > 0")
            .bind(stream)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    if held > 0 {
        return Ok(true);
    }
    let exists = sqlx::query("SELECT 1 AS one FROM generations WHERE stream_id = $1")
        .bind(stream)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(exists.is_none())
}

/// One write of a generation's record.
#[derive(Debug)]
enum Write {
    Started {
        stream_id: String,
        owner: String,
        reserved: i64,
        /// The cluster instance running it (`None`: a single instance).
        instance: Option<String>,
        at: i64,
    },
    /// The text so far of a running generation.
    Partial { stream_id: String, text: String },
    Finished {
        stream_id: String,
        status: String,
        text: String,
        prompt_tokens: i64,
        completion_tokens: i64,
        at: i64,
    },
}

impl Write {
    fn stream_id(&self) -> &str {
        match self {
            Write::Started { stream_id, .. }
            | Write::Partial { stream_id, .. }
            | Write::Finished { stream_id, .. } => stream_id,
        }
    }
}

type Done = Option<oneshot::Sender<Result<(), sqlx::Error>>>;
type Queued = (Write, Done);

/// Group commit: every generation writes twice (start, end), thousands a
/// second under load, and a transaction per write (each statement a round
/// trip to SQLite's worker thread) made the database the limit of
/// streaming throughput. Writes queue to one task that commits whatever is
/// waiting in one transaction, a start and an end of the same stream as
/// one row, rows as multi-row INSERTs. Each caller that waits still waits
/// for its own write, so "saved before the final event" holds. The task
/// starts on first use and ends when the last handle is dropped.
#[derive(Clone, Debug, Default)]
pub(super) struct Writer {
    queue: Arc<OnceLock<mpsc::UnboundedSender<Queued>>>,
}

impl Writer {
    fn queue(&self, pool: &AnyPool, write: Write, done: Done) {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(commit_loop(pool.clone(), rx));
            tx
        });
        if let Err(mpsc::error::SendError((_, Some(done)))) = queue.send((write, done)) {
            let _ = done.send(Err(sqlx::Error::PoolClosed));
        }
    }
}

async fn commit_loop(pool: AnyPool, mut rx: mpsc::UnboundedReceiver<Queued>) {
    let style = Placeholders::of(&pool);
    let mut batch: Vec<Queued> = Vec::new();
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let result = if batch.len() == 1 {
            execute(&pool, &batch[0].0).await
        } else {
            commit(&pool, style, &batch).await
        };
        match result {
            Ok(()) => {
                for (_, done) in batch.drain(..) {
                    if let Some(done) = done {
                        let _ = done.send(Ok(()));
                    }
                }
            }
            // One bad write must not fail the others: each alone, in
            // order, for its own result.
            Err(_) => {
                for (write, done) in batch.drain(..) {
                    let result = execute(&pool, &write).await;
                    match done {
                        Some(done) => {
                            let _ = done.send(result);
                        }
                        None => {
                            if let Err(e) = result {
                                tracing::error!(stream = write.stream_id(), error = %e, "could not record the generation");
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A new row: just started, or started and finished within one batch.
struct NewRow<'a> {
    stream_id: &'a str,
    owner: &'a str,
    reserved: i64,
    instance: Option<&'a str>,
    created_at: i64,
    end: Option<&'a Write>,
}

/// Rows per INSERT (10 values each: under SQLite's oldest limit of 999
/// bound parameters).
const ROWS_PER_INSERT: usize = 32;

/// How the multi-row INSERTs name their parameters. PostgreSQL needs
/// `$N`; SQLite takes `?` in order. Numbered parameters cost SQLite a
/// lookup of each one's name in a list as long as the statement's, so
/// binding grew with the square of the rows (`sqlite3_bind_parameter_name`
/// was 1.4–2.4 % of the server's samples streaming at zero pacing).
#[derive(Clone, Copy)]
enum Placeholders {
    Numbered,
    InOrder,
}

impl Placeholders {
    fn of(pool: &AnyPool) -> Self {
        if pool
            .connect_options()
            .database_url
            .scheme()
            .starts_with("postgres")
        {
            Self::Numbered
        } else {
            Self::InOrder
        }
    }

    /// One row's parameters, `(…)`, for the row starting at parameter `n`
    /// (0-based) with `count` values; `'running'` as the third when asked.
    fn row(self, n: usize, count: usize, running_third: bool) -> String {
        let mut p: Vec<String> = (1..=count)
            .map(|k| match self {
                Self::Numbered => format!("${}", n + k),
                Self::InOrder => "?".to_owned(),
            })
            .collect();
        if running_third {
            p.insert(2, "'running'".to_owned());
        }
        format!("({})", p.join(", "))
    }
}

async fn commit(pool: &AnyPool, style: Placeholders, batch: &[Queued]) -> Result<(), sqlx::Error> {
    let mut rows: Vec<NewRow> = Vec::new();
    let mut updates: Vec<&Write> = Vec::new();
    let mut new_rows = std::collections::HashMap::new();
    for (write, _) in batch {
        match write {
            Write::Started {
                stream_id,
                owner,
                reserved,
                instance,
                at,
            } => {
                new_rows.insert(stream_id.as_str(), rows.len());
                rows.push(NewRow {
                    stream_id,
                    owner,
                    reserved: *reserved,
                    instance: instance.as_deref(),
                    created_at: *at,
                    end: None,
                });
            }
            // After the inserts, in order; a no-op once finished.
            Write::Partial { .. } => updates.push(write),
            Write::Finished { stream_id, .. } => match new_rows.get(stream_id.as_str()) {
                Some(&i) if rows[i].end.is_none() => rows[i].end = Some(write),
                _ => updates.push(write),
            },
        }
    }
    let (running, ended): (Vec<&NewRow>, Vec<&NewRow>) = rows.iter().partition(|r| r.end.is_none());
    let mut tx = pool.begin().await?;
    for part in running.chunks(ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO generations (stream_id, owner, status, reserved, instance, created_at) \
             VALUES ",
        );
        for i in 0..part.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&style.row(i * 5, 5, true));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in part {
            q = q
                .bind(r.stream_id)
                .bind(r.owner)
                .bind(r.reserved)
                .bind(r.instance)
                .bind(r.created_at);
        }
        q.execute(&mut *tx).await?;
    }
    for part in ended.chunks(ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO generations (stream_id, owner, status, text, prompt_tokens, \
             completion_tokens, reserved, instance, created_at, finished_at) VALUES ",
        );
        for i in 0..part.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&style.row(i * 10, 10, false));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in part {
            let Some(Write::Finished {
                status,
                text,
                prompt_tokens,
                completion_tokens,
                at,
                ..
            }) = r.end
            else {
                unreachable!("partitioned on end")
            };
            q = q
                .bind(r.stream_id)
                .bind(r.owner)
                .bind(status.as_str())
                .bind(text.as_str())
                .bind(*prompt_tokens)
                .bind(*completion_tokens)
                .bind(r.reserved)
                .bind(r.instance)
                .bind(r.created_at)
                .bind(*at);
        }
        q.execute(&mut *tx).await?;
    }
    for write in updates {
        execute(&mut *tx, write).await?;
    }
    tx.commit().await
}

async fn execute<'e, E>(db: E, write: &Write) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    match write {
        Write::Started {
            stream_id,
            owner,
            reserved,
            instance,
            at,
        } => {
            sqlx::query(
                "INSERT INTO generations (stream_id, owner, status, reserved, instance, \
                 created_at) VALUES ($1, $2, 'running', $3, $4, $5)",
            )
            .bind(stream_id)
            .bind(owner)
            .bind(reserved)
            .bind(instance.as_deref())
            .bind(at)
            .execute(db)
            .await?;
        }
        Write::Partial { stream_id, text } => {
            sqlx::query(
                "UPDATE generations SET text = $1 WHERE stream_id = $2 AND status = 'running'",
            )
            .bind(text)
            .bind(stream_id)
            .execute(db)
            .await?;
        }
        Write::Finished {
            stream_id,
            status,
            text,
            prompt_tokens,
            completion_tokens,
            at,
        } => {
            sqlx::query(
                "UPDATE generations SET status = $1, text = $2, prompt_tokens = $3, \
                 completion_tokens = $4, finished_at = $5 WHERE stream_id = $6",
            )
            .bind(status)
            .bind(text)
            .bind(prompt_tokens)
            .bind(completion_tokens)
            .bind(at)
            .bind(stream_id)
            .execute(db)
            .await?;
        }
    }
    Ok(())
}
