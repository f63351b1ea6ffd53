-- A hybrid-chat reply being written, and where it goes in its chat: a new
-- reply (`new`, saved as message `message_id`) or a new version of one
-- (`version`: regenerate, edit). Written when the reply starts, deleted once
-- the reply is saved in the chat. A row still here at start-up is a reply a
-- crash cut: recovery saves its generation's text (kept in `generations`
-- while it streamed) as that message, marked `interrupted`, so the chat
-- shows it and it can be regenerated.

CREATE TABLE chat_replies (
    stream_id   TEXT PRIMARY KEY,
    chat_id     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
