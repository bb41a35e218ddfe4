-- The stream sequence of the logged upload (CreateFile op) that queued a
-- job last, in a cluster; 0 on a single node and for jobs queued before
-- this column. A node handed an upload by the ingest queue compares it
-- with the message's sequence: an equal one is the job's own upload, to
-- claim or take over whatever JetStream's delivery count says, and any
-- other is a second upload of the same bytes, with nothing to do.
ALTER TABLE jobs ADD COLUMN upload_seq INTEGER NOT NULL DEFAULT 0;
