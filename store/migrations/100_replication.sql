-- The position of this store in a cluster's replicated log: the stream
-- sequence of the last operation applied, written in the same transaction
-- as the operation's own rows (see store/replication.go), so that a node
-- restarted after a crash resumes exactly after what it kept. 0 on a
-- single node and on a node that has applied nothing yet.
CREATE TABLE replication (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	applied INTEGER NOT NULL
);
INSERT INTO replication (id, applied) VALUES (1, 0);

-- The cluster node running a job (empty on a single node): jobs are
-- claimed through the replicated log there, and a node knows its own.
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
