-- Chat completions (plain and RAG) with their sources, usage and vote.
CREATE TABLE completions (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	id        TEXT NOT NULL UNIQUE,
	workspace TEXT NOT NULL,
	created   INTEGER NOT NULL,
	model     TEXT NOT NULL,
	record    TEXT NOT NULL,
	vote      TEXT,
	voted_at  INTEGER
);
