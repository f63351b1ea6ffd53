-- Token revocation: a token carries the version of its user's tokens it was
-- issued at (the `ver` claim); `POST /api/auth/logout` moves the version on,
-- and every token issued before is refused. Tokens from before this
-- migration carry none and count as version 0.

ALTER TABLE users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;
