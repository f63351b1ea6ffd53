-- Which instance of a cluster (`--redis-url`) runs a generation, so that
-- recovery marks `interrupted` and settles only the generations of
-- instances that went away, never the live streams of the others. NULL for
-- a single instance (no cluster): all of its generations were its own.

ALTER TABLE generations ADD COLUMN instance TEXT;

CREATE INDEX generations_by_instance ON generations (instance, status);
