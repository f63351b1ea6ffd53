-- Seed 004: supportive sessions, their messages, and every safety
-- escalation (kept for the reporting crisis-referral laws ask for).

CREATE TABLE support_sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX support_sessions_by_user ON support_sessions (user_id);

CREATE TABLE support_messages (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES support_sessions (id) ON DELETE CASCADE,
    -- user or assistant
    role        TEXT NOT NULL,
    text        TEXT NOT NULL,
    risk_level  TEXT NOT NULL,
    intent      TEXT,
    created_at  BIGINT NOT NULL,
    -- order within a second
    position    BIGINT NOT NULL
);

CREATE INDEX support_messages_by_session ON support_messages (session_id, position);

CREATE TABLE escalations (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id  TEXT NOT NULL REFERENCES support_sessions (id) ON DELETE CASCADE,
    message_id  TEXT NOT NULL,
    risk_level  TEXT NOT NULL,
    -- UTC day, YYYY-MM-DD, for the summary
    day         TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE INDEX escalations_by_day ON escalations (day, risk_level);
