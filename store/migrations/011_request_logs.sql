-- Recent requests per workspace, pruned after the retention period.
-- Never holds an Authorization header or a key secret.
CREATE TABLE request_logs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace   TEXT NOT NULL,
	key_id      TEXT NOT NULL,
	request_id  TEXT NOT NULL,
	method      TEXT NOT NULL,
	endpoint    TEXT NOT NULL,
	path        TEXT NOT NULL,
	status      INTEGER NOT NULL,
	duration_ms REAL NOT NULL,
	tokens      INTEGER NOT NULL DEFAULT 0,
	created_ms  INTEGER NOT NULL,
	body        TEXT
);
CREATE INDEX request_logs_workspace ON request_logs(workspace, created_ms);
CREATE INDEX request_logs_created ON request_logs(created_ms);
