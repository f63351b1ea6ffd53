-- A hybrid-chat reply remembers how it ended: `completed`, `stopped` (someone
-- pressed Stop) or `failed` (the provider failed or cut the answer), so a
-- cut reply never lists later as a normal one. Replies from before this
-- migration count as completed.

ALTER TABLE chat_messages ADD COLUMN status TEXT NOT NULL DEFAULT 'completed';
