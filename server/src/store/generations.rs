//! Saved generations: the text and usage of every stream, by stream id.

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
        let (done, result) = oneshot::channel();
        self.generation_writes
            .queue(self.pool(), started(stream_id, owner), Some(done));
        result.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }

    /// Records that a generation started, without waiting for the write
    /// (a failure is logged). A later [`Store::generation_finished`] of the
    /// same stream is written after it; when both wait in the same batch
    /// they become one row.
    pub fn queue_generation_started(&self, stream_id: &str, owner: &str) {
        self.generation_writes
            .queue(self.pool(), started(stream_id, owner), None);
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

fn started(stream_id: &str, owner: &str) -> Write {
    Write::Started {
        stream_id: stream_id.to_owned(),
        owner: owner.to_owned(),
        at: now_secs(),
    }
}

/// One write of a generation's record.
#[derive(Debug)]
enum Write {
    Started {
        stream_id: String,
        owner: String,
        at: i64,
    },
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
            Write::Started { stream_id, .. } | Write::Finished { stream_id, .. } => stream_id,
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
    let mut batch: Vec<Queued> = Vec::new();
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let result = if batch.len() == 1 {
            execute(&pool, &batch[0].0).await
        } else {
            commit(&pool, &batch).await
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
    created_at: i64,
    end: Option<&'a Write>,
}

/// Rows per INSERT: 8 values each stays under SQLite's oldest limit of
/// 999 bound parameters.
const ROWS_PER_INSERT: usize = 100;

async fn commit(pool: &AnyPool, batch: &[Queued]) -> Result<(), sqlx::Error> {
    let mut rows: Vec<NewRow> = Vec::new();
    let mut updates: Vec<&Write> = Vec::new();
    let mut new_rows = std::collections::HashMap::new();
    for (write, _) in batch {
        match write {
            Write::Started {
                stream_id,
                owner,
                at,
            } => {
                new_rows.insert(stream_id.as_str(), rows.len());
                rows.push(NewRow {
                    stream_id,
                    owner,
                    created_at: *at,
                    end: None,
                });
            }
            Write::Finished { stream_id, .. } => match new_rows.get(stream_id.as_str()) {
                Some(&i) if rows[i].end.is_none() => rows[i].end = Some(write),
                _ => updates.push(write),
            },
        }
    }
    let (running, ended): (Vec<&NewRow>, Vec<&NewRow>) = rows.iter().partition(|r| r.end.is_none());
    let mut tx = pool.begin().await?;
    for part in running.chunks(ROWS_PER_INSERT) {
        let mut sql =
            String::from("INSERT INTO generations (stream_id, owner, status, created_at) VALUES ");
        for i in 0..part.len() {
            let n = i * 3;
            let sep = if i == 0 { "" } else { "," };
            sql.push_str(&format!(
                "{sep}(${}, ${}, 'running', ${})",
                n + 1,
                n + 2,
                n + 3
            ));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in part {
            q = q.bind(r.stream_id).bind(r.owner).bind(r.created_at);
        }
        q.execute(&mut *tx).await?;
    }
    for part in ended.chunks(ROWS_PER_INSERT) {
        let mut sql = String::from(
            "INSERT INTO generations (stream_id, owner, status, text, prompt_tokens, \
             completion_tokens, created_at, finished_at) VALUES ",
        );
        for i in 0..part.len() {
            let n = i * 8;
            let sep = if i == 0 { "" } else { "," };
            let p: Vec<String> = (1..=8).map(|k| format!("${}", n + k)).collect();
            sql.push_str(&format!("{sep}({})", p.join(", ")));
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
            at,
        } => {
            sqlx::query(
                "INSERT INTO generations (stream_id, owner, status, created_at) \
                 VALUES ($1, $2, 'running', $3)",
            )
            .bind(stream_id)
            .bind(owner)
            .bind(at)
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
