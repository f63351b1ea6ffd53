-- Memories and relations keep the order they were written in. `created_at`
-- has one-second resolution, so several added within a second tied and came
-- back in id order (random) after a reload. Rows from before this migration
-- keep position 0 and their old order, before every newer row.

ALTER TABLE memories ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE relations ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
