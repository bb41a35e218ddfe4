-- Usage counters per workspace, calendar month (UTC, "2006-01") and
-- endpoint ("METHOD /route/pattern"), added to in batches by the server.
CREATE TABLE usage_counts (
	workspace         TEXT NOT NULL,
	month             TEXT NOT NULL,
	endpoint          TEXT NOT NULL,
	requests          INTEGER NOT NULL DEFAULT 0,
	embedding_tokens  INTEGER NOT NULL DEFAULT 0,
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace, month, endpoint)
) WITHOUT ROWID;

-- Stored bytes of a workspace as last seen in a month, so a past month
-- keeps the size it ended with.
CREATE TABLE usage_storage (
	workspace TEXT NOT NULL,
	month     TEXT NOT NULL,
	bytes     INTEGER NOT NULL,
	PRIMARY KEY (workspace, month)
) WITHOUT ROWID;
