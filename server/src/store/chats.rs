//! The hybrid chat protocol's chats, their messages, and every version of a reply.
//!
//! Chats belong to an owner key (`Identity::owner_key`). Messages keep their
//! order in `position`; a reply's versions (and an edited user message's)
//! live in `chat_message_versions` and the newest one is also its `content`; `status` says how that one
//! ended (`completed`, `stopped`, `failed`, or `interrupted`: cut by a
//! crash, its text put back at start-up from the reply's generation, see
//! [`Store::restore_chat_replies`]).

use super::role_of;
use super::{Store, new_id, now_ms, now_secs, rfc3339};
use shared::Role;
use shared::chat::{Chat, Message};
use shared::stream::FinishStatus;
use sqlx::Row;
use std::collections::HashMap;

/// Who a chat belongs to, as seen by someone asking for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatAccess {
    /// No such chat.
    Missing,
    /// It belongs to someone else.
    Other,
    /// It is theirs.
    Owned,
}

/// A message with what ownership checks need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub message: Message,
    /// The owner key of its chat.
    pub owner: String,
    pub position: i64,
}

fn chat_of(r: &sqlx::any::AnyRow) -> Result<Chat, sqlx::Error> {
    let updated_ms: i64 = r.try_get("updated_ms")?;
    Ok(Chat {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        created_at: rfc3339(r.try_get("created_at")?),
        updated_at: rfc3339(updated_ms / 1000),
    })
}

/// Where a reply being written goes in its chat (`chat_replies.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyPlace {
    /// A new reply.
    New,
    /// A new version of a reply (regenerate, edit).
    Version,
}

impl ReplyPlace {
    fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Version => "version",
        }
    }
}

/// A reply's `status` column for one cut by a crash.
const INTERRUPTED: &str = "interrupted";

fn message_of(r: &sqlx::any::AnyRow) -> Result<Message, sqlx::Error> {
    let status: String = r.try_get("status")?;
    let interrupted = status == INTERRUPTED;
    Ok(Message {
        id: r.try_get("id")?,
        chat_id: r.try_get("chat_id")?,
        role: role_of(r)?,
        content: r.try_get("content")?,
        versions: Vec::new(),
        created_at: rfc3339(r.try_get("created_at")?),
        status: if interrupted {
            FinishStatus::Failed
        } else {
            FinishStatus::parse(&status)
        },
        interrupted,
    })
}

/// `text` lowercased with `%`, `_` and `\\` escaped: a `LIKE` pattern that
/// finds it anywhere.
fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// About `EXCERPT_CHARS` characters of `text` around the first place
/// `needle` (lowercase) is found, with "…" where it was cut.
fn excerpt(text: &str, needle: &str) -> String {
    const EXCERPT_CHARS: usize = 80;
    let lower: Vec<char> = text.to_lowercase().chars().collect();
    let chars: Vec<char> = text.chars().collect();
    let needle: Vec<char> = needle.to_lowercase().chars().collect();
    // Lowercasing may change the length (rarely): then start at the top.
    let at = if lower.len() == chars.len() && !needle.is_empty() {
        lower
            .windows(needle.len())
            .position(|w| w == needle.as_slice())
            .unwrap_or(0)
    } else {
        0
    };
    let start = at.saturating_sub(EXCERPT_CHARS / 3);
    let end = (start + EXCERPT_CHARS).min(chars.len());
    let mut out: String = chars[start..end].iter().collect();
    out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

impl Store {
    /// `owner`'s chats whose title or any message contains `query` (any
    /// case), most recently active first, at most `limit`; each with the
    /// first matching message.
    pub async fn search_chats(
        &self,
        owner: &str,
        query: &str,
        limit: u32,
    ) -> Result<Vec<(Chat, Option<String>)>, sqlx::Error> {
        // `$1` is used first: SQLite numbers parameters as they appear.
        let rows = sqlx::query(
            "SELECT c.id, c.title, c.created_at, c.updated_ms, \
               (SELECT m.content FROM chat_messages m \
                 WHERE m.chat_id = c.id AND LOWER(m.content) LIKE $1 ESCAPE '\\' \
                 ORDER BY m.position LIMIT 1) AS hit \
             FROM chats c WHERE c.owner = $2 \
               AND (LOWER(c.title) LIKE $1 ESCAPE '\\' OR EXISTS ( \
                 SELECT 1 FROM chat_messages m \
                 WHERE m.chat_id = c.id AND LOWER(m.content) LIKE $1 ESCAPE '\\')) \
             ORDER BY c.updated_ms DESC, c.id LIMIT $3",
        )
        .bind(contains_pattern(query))
        .bind(owner)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let hit: Option<String> = r.try_get("hit")?;
                Ok((chat_of(r)?, hit.map(|h| excerpt(&h, query))))
            })
            .collect()
    }

    /// A new, empty chat for `owner`.
    pub async fn create_chat(&self, owner: &str, title: &str) -> Result<Chat, sqlx::Error> {
        let id = new_id();
        let now = now_secs();
        let ms = now_ms();
        sqlx::query(
            "INSERT INTO chats (id, owner, title, created_at, updated_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(owner)
        .bind(title)
        .bind(now)
        .bind(ms)
        .execute(self.pool())
        .await?;
        Ok(Chat {
            id,
            title: title.to_owned(),
            created_at: rfc3339(now),
            updated_at: rfc3339(ms / 1000),
        })
    }

    /// The chat, whoever owns it.
    pub async fn chat(&self, chat_id: &str) -> Result<Option<Chat>, sqlx::Error> {
        let row = sqlx::query("SELECT id, title, created_at, updated_ms FROM chats WHERE id = $1")
            .bind(chat_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(chat_of).transpose()
    }

    /// Whether `owner` may use `chat_id`.
    pub async fn chat_access(&self, chat_id: &str, owner: &str) -> Result<ChatAccess, sqlx::Error> {
        let row = sqlx::query("SELECT owner FROM chats WHERE id = $1")
            .bind(chat_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            None => ChatAccess::Missing,
            Some(r) if r.try_get::<String, _>("owner")? == owner => ChatAccess::Owned,
            Some(_) => ChatAccess::Other,
        })
    }

    /// A page of `owner`'s chats, most recently active first, and how many
    /// they have in all.
    pub async fn chats(
        &self,
        owner: &str,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<Chat>, i64), sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, title, created_at, updated_ms FROM chats WHERE owner = $1 \
             ORDER BY updated_ms DESC, id LIMIT $2 OFFSET $3",
        )
        .bind(owner)
        .bind(i64::from(limit))
        .bind(i64::from(page) * i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let chats = rows.iter().map(chat_of).collect::<Result<Vec<_>, _>>()?;
        let total: i64 =
            sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM chats WHERE owner = $1")
                .bind(owner)
                .fetch_one(self.pool())
                .await?
                .try_get("n")?;
        Ok((chats, total))
    }

    /// Renames a chat (and counts it as activity); the chat after.
    pub async fn rename_chat(
        &self,
        chat_id: &str,
        title: &str,
    ) -> Result<Option<Chat>, sqlx::Error> {
        sqlx::query("UPDATE chats SET title = $2, updated_ms = $3 WHERE id = $1")
            .bind(chat_id)
            .bind(title)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        self.chat(chat_id).await
    }

    /// Deletes a chat with its messages and their versions, all or nothing;
    /// whether it existed.
    pub async fn delete_chat(&self, chat_id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        // The chat row first: every write to a chat writes it first (which
        // locks it), so a reply saved at the same time waits, and then
        // finds no chat. Then the children, explicitly: PostgreSQL
        // cascades, but SQLite only does with its foreign-key pragma on.
        let done = sqlx::query("DELETE FROM chats WHERE id = $1")
            .bind(chat_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM chat_message_versions WHERE message_id IN \
             (SELECT id FROM chat_messages WHERE chat_id = $1)",
        )
        .bind(chat_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM chat_messages WHERE chat_id = $1")
            .bind(chat_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Appends a message with a chosen id (a reply's id is known before it
    /// is written); a reply gets its first version too. Marks the chat
    /// active, first: one transaction that locks the chat, so messages
    /// added at once get their own places.
    pub async fn add_chat_message(
        &self,
        chat_id: &str,
        id: &str,
        role: Role,
        content: &str,
    ) -> Result<Message, sqlx::Error> {
        let now = now_secs();
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE chats SET updated_ms = $2 WHERE id = $1")
            .bind(chat_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        insert_message(&mut tx, chat_id, id, role, content, now).await?;
        tx.commit().await?;
        let versions = match role {
            Role::Assistant => vec![content.to_owned()],
            _ => Vec::new(),
        };
        Ok(Message {
            id: id.to_owned(),
            chat_id: chat_id.to_owned(),
            role,
            content: content.to_owned(),
            versions,
            created_at: rfc3339(now),
            status: FinishStatus::Completed,
            interrupted: false,
        })
    }

    /// Records how a reply's current version ended.
    pub async fn set_message_status(
        &self,
        message_id: &str,
        status: FinishStatus,
    ) -> Result<(), sqlx::Error> {
        write_status(self.pool(), message_id, status.as_str()).await
    }

    /// Notes that the reply streaming as `stream_id` is being written as
    /// `message_id` of `chat_id` (see the migration `0018`), until
    /// [`Store::forget_chat_reply`].
    pub async fn record_chat_reply(
        &self,
        stream_id: &str,
        chat_id: &str,
        message_id: &str,
        place: ReplyPlace,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO chat_replies (stream_id, chat_id, message_id, kind, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(stream_id)
        .bind(chat_id)
        .bind(message_id)
        .bind(place.as_str())
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The reply of `stream_id` is saved in its chat (or was not to be).
    pub async fn forget_chat_reply(&self, stream_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM chat_replies WHERE stream_id = $1")
            .bind(stream_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Start-up recovery, once the generations a crash cut are
    /// `interrupted`: every reply still noted ([`Store::record_chat_reply`])
    /// whose generation is no longer running goes into its chat with the
    /// generation's saved text, as the new reply or its new version, with
    /// the generation's status (`interrupted`, so the chat shows it cut and
    /// it can be regenerated). A reply already saved, a new version that
    /// saved no text, or a deleted chat add nothing. `instance`: only the
    /// replies of that cluster instance's generations (`""`: of none).
    /// Returns how many replies were put back.
    pub async fn restore_chat_replies(&self, instance: Option<&str>) -> Result<u64, sqlx::Error> {
        let only = if instance.is_some() {
            " AND COALESCE(g.instance, '') = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT r.stream_id, r.chat_id, r.message_id, r.kind, g.status, g.text \
             FROM chat_replies r JOIN generations g ON g.stream_id = r.stream_id \
             WHERE g.status <> 'running'{only}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(instance) = instance {
            query = query.bind(instance);
        }
        let mut restored = 0;
        for r in query.fetch_all(self.pool()).await? {
            let stream: String = r.try_get("stream_id")?;
            let chat_id: String = r.try_get("chat_id")?;
            let message_id: String = r.try_get("message_id")?;
            let kind: String = r.try_get("kind")?;
            let status: String = r.try_get("status")?;
            let text: String = r.try_get("text")?;
            let mut tx = self.pool().begin().await?;
            // The chat first, as every write to a chat (see `delete_chat`).
            let chat = sqlx::query("UPDATE chats SET updated_ms = $2 WHERE id = $1")
                .bind(&chat_id)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let current = sqlx::query("SELECT content FROM chat_messages WHERE id = $1")
                .bind(&message_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<String, _>("content"))
                .transpose()?;
            let cut = status == INTERRUPTED || status == "failed";
            let put_back = match (kind.as_str(), current) {
                (_, _) if chat == 0 => false,
                ("new", None) if !text.is_empty() || cut => {
                    insert_message(
                        &mut tx,
                        &chat_id,
                        &message_id,
                        Role::Assistant,
                        &text,
                        now_secs(),
                    )
                    .await?;
                    true
                }
                ("version", Some(current)) if !text.is_empty() && current != text => {
                    let next = next_version(&mut tx, &message_id).await?;
                    set_version(&mut tx, &message_id, next, &text, now_secs()).await?;
                    true
                }
                _ => false,
            };
            if put_back {
                write_status(&mut *tx, &message_id, &status).await?;
                restored += 1;
            }
            sqlx::query("DELETE FROM chat_replies WHERE stream_id = $1")
                .bind(&stream)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(restored)
    }

    /// Adds a new version of a reply and makes it current; returns its index.
    /// One transaction that first locks the chat, so regenerates of one
    /// reply at once each get their own number.
    pub async fn add_message_version(
        &self,
        message_id: &str,
        content: &str,
    ) -> Result<usize, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        lock_chat_of(&mut tx, message_id).await?;
        let next = next_version(&mut tx, message_id).await?;
        set_version(&mut tx, message_id, next, content, now_secs()).await?;
        tx.commit().await?;
        Ok(next as usize)
    }

    /// Gives a user's message new text as a new version and makes it
    /// current; its first text becomes version 0 at the first edit. Returns
    /// the new version's index. One transaction that first locks the chat,
    /// like [`Self::add_message_version`].
    pub async fn edit_user_message(
        &self,
        message_id: &str,
        content: &str,
    ) -> Result<usize, sqlx::Error> {
        let mut tx = self.pool().begin().await?;
        if lock_chat_of(&mut tx, message_id).await? == 0 {
            return Err(sqlx::Error::RowNotFound);
        }
        let row = sqlx::query("SELECT content, created_at FROM chat_messages WHERE id = $1")
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        let mut next = next_version(&mut tx, message_id).await?;
        // Never edited: the text it was sent with is the first version.
        if next == 0 {
            let first: String = row.try_get("content")?;
            sqlx::query(INSERT_VERSION)
                .bind(message_id)
                .bind(0_i64)
                .bind(first)
                .bind(row.try_get::<i64, _>("created_at")?)
                .execute(&mut *tx)
                .await?;
            next = 1;
        }
        set_version(&mut tx, message_id, next, content, now_secs()).await?;
        tx.commit().await?;
        Ok(next as usize)
    }

    /// The message right after `position` in a chat (the reply to a user's
    /// message), if any.
    pub async fn message_after(
        &self,
        chat_id: &str,
        position: i64,
    ) -> Result<Option<Message>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, chat_id, role, content, created_at, status FROM chat_messages \
             WHERE chat_id = $1 AND position > $2 ORDER BY position LIMIT 1",
        )
        .bind(chat_id)
        .bind(position)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(self.message_with_versions(&r).await?))
    }

    /// The message of a row, with its versions.
    async fn message_with_versions(&self, r: &sqlx::any::AnyRow) -> Result<Message, sqlx::Error> {
        let mut message = message_of(r)?;
        message.versions = self
            .versions_of(&[message.id.clone()])
            .await?
            .remove(&message.id)
            .unwrap_or_default();
        Ok(message)
    }

    /// One message with its chat's owner and its place.
    pub async fn chat_message(
        &self,
        message_id: &str,
    ) -> Result<Option<StoredMessage>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT m.id, m.chat_id, m.role, m.content, m.created_at, m.status, m.position, c.owner \
             FROM chat_messages m JOIN chats c ON c.id = m.chat_id WHERE m.id = $1",
        )
        .bind(message_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(StoredMessage {
            message: self.message_with_versions(&r).await?,
            owner: r.try_get("owner")?,
            position: r.try_get("position")?,
        }))
    }

    /// A page of a chat's messages (page 0 = the newest `limit`), oldest
    /// first, with their versions; and how many the chat has.
    pub async fn chat_messages(
        &self,
        chat_id: &str,
        page: u32,
        limit: u32,
    ) -> Result<(Vec<Message>, i64), sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, chat_id, role, content, created_at, status FROM chat_messages WHERE chat_id = $1 \
             ORDER BY position DESC LIMIT $2 OFFSET $3",
        )
        .bind(chat_id)
        .bind(i64::from(limit))
        .bind(i64::from(page) * i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut messages = rows.iter().map(message_of).collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        // Replies' versions, and those of user messages that were edited.
        let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
        let mut versions = self.versions_of(&ids).await?;
        for m in &mut messages {
            if let Some(v) = versions.remove(&m.id) {
                m.versions = v;
            }
        }
        let total: i64 = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM chat_messages WHERE chat_id = $1",
        )
        .bind(chat_id)
        .fetch_one(self.pool())
        .await?
        .try_get("n")?;
        Ok((messages, total))
    }

    /// The last `limit` messages before `before` (a position; `None` = all),
    /// oldest first: the context a reply is written from.
    pub async fn chat_history(
        &self,
        chat_id: &str,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Message>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, chat_id, role, content, created_at, status FROM chat_messages \
             WHERE chat_id = $1 AND position < $2 ORDER BY position DESC LIMIT $3",
        )
        .bind(chat_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut messages = rows.iter().map(message_of).collect::<Result<Vec<_>, _>>()?;
        messages.reverse();
        Ok(messages)
    }

    /// The versions of these messages, oldest first, by message id.
    async fn versions_of(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>, sqlx::Error> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        // One query per message keeps the SQL portable (no array binds);
        // a page holds at most MAX_PAGE_LIMIT messages.
        for id in ids {
            let rows = sqlx::query(
                "SELECT content FROM chat_message_versions WHERE message_id = $1 ORDER BY version",
            )
            .bind(id)
            .fetch_all(self.pool())
            .await?;
            let v = rows
                .iter()
                .map(|r| r.try_get::<String, _>("content"))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(id.clone(), v);
        }
        Ok(out)
    }
}

const INSERT_VERSION: &str = "INSERT INTO chat_message_versions \
     (message_id, version, content, created_at) VALUES ($1, $2, $3, $4)";

/// Appends message `id` to a chat (a reply with its first version); the
/// chat is locked by the caller.
async fn insert_message(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    chat_id: &str,
    id: &str,
    role: Role,
    content: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO chat_messages (id, chat_id, role, content, position, created_at) \
         VALUES ($1, $2, $3, $4, \
           (SELECT COALESCE(MAX(position), -1) + 1 FROM chat_messages WHERE chat_id = $2), $5)",
    )
    .bind(id)
    .bind(chat_id)
    .bind(role.as_str())
    .bind(content)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if role == Role::Assistant {
        sqlx::query(INSERT_VERSION)
            .bind(id)
            .bind(0_i64)
            .bind(content)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Sets how a message's current version ended (`status`'s spelling).
async fn write_status<'e, E>(db: E, message_id: &str, status: &str) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("UPDATE chat_messages SET status = $2 WHERE id = $1")
        .bind(message_id)
        .bind(status)
        .execute(db)
        .await?;
    Ok(())
}

/// Writes the chat a message is in first thing in a transaction (its
/// `updated_ms`), so writes to one chat take turns on both databases.
/// Returns how many chats it touched (0: no such message).
async fn lock_chat_of(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    message_id: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE chats SET updated_ms = $2 \
         WHERE id = (SELECT chat_id FROM chat_messages WHERE id = $1)",
    )
    .bind(message_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// The index a message's next version gets.
async fn next_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    message_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT CAST(COALESCE(MAX(version), -1) + 1 AS BIGINT) AS n \
         FROM chat_message_versions WHERE message_id = $1",
    )
    .bind(message_id)
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")
}

/// Adds version `version` of a message and makes it the current text.
async fn set_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    message_id: &str,
    version: i64,
    content: &str,
    created_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_VERSION)
        .bind(message_id)
        .bind(version)
        .bind(content)
        .bind(created_at)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE chat_messages SET content = $2 WHERE id = $1")
        .bind(message_id)
        .bind(content)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
