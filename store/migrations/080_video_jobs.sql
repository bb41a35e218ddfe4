-- Asynchronous video generations: ragd's job id, the upstream job it
-- stands for and the upstream's last answer, so that polls survive a
-- restart.
CREATE TABLE video_jobs (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	id          TEXT NOT NULL UNIQUE,
	workspace   TEXT NOT NULL,
	model       TEXT NOT NULL,
	provider    TEXT NOT NULL,
	upstream_id TEXT NOT NULL,
	status      TEXT NOT NULL,
	created     INTEGER NOT NULL,
	updated     INTEGER NOT NULL,
	record      TEXT NOT NULL
);
