-- Seed 002: BooksWriter sessions, their conversation and the artifacts the
-- agents' tools save.

CREATE TABLE books_sessions (
    id             TEXT PRIMARY KEY,
    -- Identity::owner_key of whoever used the id first
    owner          TEXT NOT NULL,
    model          TEXT,
    current_agent  TEXT NOT NULL,
    -- the last event seq of the session, so seq keeps growing after a restart
    last_seq       BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE INDEX books_sessions_by_owner ON books_sessions (owner);

-- One line of the conversation (shared::books::Entry as JSON), keyed by the
-- seq of the event that began it.
CREATE TABLE books_entries (
    session_id  TEXT NOT NULL REFERENCES books_sessions (id) ON DELETE CASCADE,
    id          BIGINT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (session_id, id)
);

CREATE TABLE books_artifacts (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES books_sessions (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    -- JSON object of the structured fields
    fields      TEXT NOT NULL,
    content     TEXT NOT NULL,
    -- complete or partial
    status      TEXT NOT NULL,
    -- JSON array of artifact ids it builds on
    builds_on   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    -- unix milliseconds: the order they were made in
    position    BIGINT NOT NULL
);

CREATE INDEX books_artifacts_by_session ON books_artifacts (session_id, position);
