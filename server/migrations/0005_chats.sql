-- Seed 003: hybrid chat. Chats belong to an owner key ("user:<id>" or
-- "anon:<id>", as `Identity::owner_key`), so anonymous visitors keep theirs
-- too. A reply keeps every version regenerate made.

CREATE TABLE chats (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    title       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    -- last activity, Unix milliseconds (orders the sidebar)
    updated_ms  BIGINT NOT NULL
);

CREATE INDEX chats_by_owner ON chats (owner, updated_ms);

CREATE TABLE chat_messages (
    id          TEXT PRIMARY KEY,
    chat_id     TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    -- user or assistant
    role        TEXT NOT NULL,
    -- the current text (a reply's newest version)
    content     TEXT NOT NULL,
    -- order within the chat
    position    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX chat_messages_by_chat ON chat_messages (chat_id, position);

CREATE TABLE chat_message_versions (
    message_id  TEXT NOT NULL REFERENCES chat_messages (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    content     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (message_id, version)
);
