-- What a crash must not lose. `reserved` is what a running generation holds
-- from its owner's quota: credits for a user, 1 for an anonymous visitor's
-- free reply (0: nothing held, or already settled). Settling a generation
-- sets it to 0 in the same transaction as the refund, so at start-up every
-- row still holding something is a generation the last process never
-- settled: it is marked `interrupted` (its partial text, saved while it
-- streamed, is kept) and its unspent reservation goes back.

ALTER TABLE generations ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0;

CREATE INDEX generations_unsettled ON generations (status, reserved);
