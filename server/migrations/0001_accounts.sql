-- Accounts, anonymous visitors and the credits ledger.
-- Portable SQL: the same file runs on SQLite and PostgreSQL. Ids are UUID
-- text made by the server; times are Unix seconds.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    -- lower-cased username: names are unique regardless of case
    username_key  TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    credits       BIGINT NOT NULL CHECK (credits >= 0),
    created_at    BIGINT NOT NULL
);

CREATE TABLE anon_visitors (
    id            TEXT PRIMARY KEY,
    replies_used  BIGINT NOT NULL DEFAULT 0 CHECK (replies_used >= 0),
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL
);

-- Every change to a balance: grants are positive, spending negative.
-- A user's balance equals the sum of their settled entries plus what open
-- generations hold in reserve.
CREATE TABLE credit_ledger (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delta       BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX credit_ledger_by_user ON credit_ledger (user_id);
