-- A job retried after a transient failure waits until not_before (Unix seconds).
ALTER TABLE jobs ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;
