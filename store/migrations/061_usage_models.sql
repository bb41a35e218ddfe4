-- Usage counters by model too, with their cost in credits: the table is
-- rebuilt because the model joins the primary key. Existing counters are
-- the endpoints' own (model '').
CREATE TABLE usage_counts_by_model (
	workspace         TEXT NOT NULL,
	month             TEXT NOT NULL,
	endpoint          TEXT NOT NULL,
	model             TEXT NOT NULL DEFAULT '',
	requests          INTEGER NOT NULL DEFAULT 0,
	embedding_tokens  INTEGER NOT NULL DEFAULT 0,
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	credits           REAL NOT NULL DEFAULT 0,
	PRIMARY KEY (workspace, month, endpoint, model)
) WITHOUT ROWID;
INSERT INTO usage_counts_by_model (workspace, month, endpoint, requests, embedding_tokens, prompt_tokens, completion_tokens)
	SELECT workspace, month, endpoint, requests, embedding_tokens, prompt_tokens, completion_tokens FROM usage_counts;
DROP TABLE usage_counts;
ALTER TABLE usage_counts_by_model RENAME TO usage_counts;
