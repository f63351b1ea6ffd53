-- Seed 000: memories and relations in, a layered role card out.

CREATE TABLE memories (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX memories_by_user ON memories (user_id, created_at);

CREATE TABLE relations (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    relationship  TEXT NOT NULL,
    notes         TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE INDEX relations_by_user ON relations (user_id, created_at);

-- The latest card per user, as the seed's camelCase JSON.
CREATE TABLE rolecards (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    card        TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
