-- Every generation's outcome, saved whether or not anyone is still reading:
-- a dropped connection is not a stop, and an expired stream can still
-- answer with its final text.

CREATE TABLE generations (
    stream_id         TEXT PRIMARY KEY,
    -- "user:<id>" or "anon:<id>": only the owner may read it back
    owner             TEXT NOT NULL,
    -- running, completed, stopped, failed
    status            TEXT NOT NULL,
    text              TEXT NOT NULL DEFAULT '',
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    finished_at       BIGINT
);

CREATE INDEX generations_by_owner ON generations (owner);
