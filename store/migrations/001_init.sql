-- Workspaces isolate tenants: every collection belongs to one.
CREATE TABLE workspaces (
	name    TEXT PRIMARY KEY,
	created INTEGER NOT NULL
);

-- API keys are stored as the SHA-256 of their secret, never the secret.
CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	workspace  TEXT NOT NULL REFERENCES workspaces(name),
	admin      INTEGER NOT NULL DEFAULT 0,
	rpm        INTEGER NOT NULL DEFAULT 0,
	tpm        INTEGER NOT NULL DEFAULT 0,
	hash       TEXT NOT NULL UNIQUE,
	created    INTEGER NOT NULL,
	revoked_at INTEGER
);

-- seq names the collection's own vector and keyword tables (vec_c<seq>, fts_c<seq>),
-- so a search scans only the searched collection.
CREATE TABLE collections (
	seq             INTEGER PRIMARY KEY AUTOINCREMENT,
	id              TEXT NOT NULL UNIQUE,
	workspace       TEXT NOT NULL REFERENCES workspaces(name),
	name            TEXT NOT NULL,
	description     TEXT NOT NULL DEFAULT '',
	created         INTEGER NOT NULL,
	updated         INTEGER NOT NULL,
	embedding_model TEXT NOT NULL,
	dimensions      INTEGER NOT NULL,
	max_tokens      INTEGER NOT NULL,
	overlap_tokens  INTEGER NOT NULL,
	metadata        TEXT NOT NULL DEFAULT '{}',
	item_count      INTEGER NOT NULL DEFAULT 0,
	file_count      INTEGER NOT NULL DEFAULT 0,
	chunk_count     INTEGER NOT NULL DEFAULT 0,
	bytes           INTEGER NOT NULL DEFAULT 0,
	UNIQUE (workspace, name)
);

CREATE TABLE files (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	id             TEXT NOT NULL UNIQUE,
	collection_id  TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	filename       TEXT NOT NULL,
	bytes          INTEGER NOT NULL,
	content_type   TEXT NOT NULL,
	sha256         TEXT NOT NULL,
	status         TEXT NOT NULL,
	error_code     TEXT,
	error_message  TEXT,
	items          INTEGER NOT NULL DEFAULT 0,
	chunks         INTEGER NOT NULL DEFAULT 0,
	tokens         INTEGER NOT NULL DEFAULT 0,
	pages          INTEGER NOT NULL DEFAULT 0,
	created        INTEGER NOT NULL,
	completed_at   INTEGER,
	metadata       TEXT NOT NULL DEFAULT '{}',
	max_tokens     INTEGER NOT NULL,
	overlap_tokens INTEGER NOT NULL,
	UNIQUE (collection_id, sha256)
);

CREATE TABLE items (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	id            TEXT NOT NULL UNIQUE,
	collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	file_id       TEXT REFERENCES files(id) ON DELETE CASCADE,
	created       INTEGER NOT NULL,
	updated       INTEGER NOT NULL,
	description   TEXT NOT NULL DEFAULT '',
	content       TEXT NOT NULL DEFAULT '',
	metadata      TEXT NOT NULL DEFAULT '{}',
	chunk_count   INTEGER NOT NULL DEFAULT 0,
	tokens        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX items_collection ON items(collection_id, seq);
CREATE INDEX items_file ON items(file_id);

-- A chunk's vector lives in vec_c<seq> and its words in fts_c<seq> once
-- published; while a file ingests, vectors wait in staged_vector.
CREATE TABLE chunks (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	item_id       TEXT NOT NULL REFERENCES items(id) ON DELETE CASCADE,
	idx           INTEGER NOT NULL,
	content       TEXT NOT NULL,
	tokens        INTEGER NOT NULL,
	page          INTEGER NOT NULL DEFAULT 0,
	start_offset  INTEGER NOT NULL DEFAULT 0,
	end_offset    INTEGER NOT NULL DEFAULT 0,
	staged_vector BLOB
);
CREATE INDEX chunks_item ON chunks(item_id, idx);

-- Ingest jobs: one per file, resumed after a restart.
CREATE TABLE jobs (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	file_id  TEXT NOT NULL UNIQUE REFERENCES files(id) ON DELETE CASCADE,
	state    TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	created  INTEGER NOT NULL,
	updated  INTEGER NOT NULL
);
CREATE INDEX jobs_state ON jobs(state, id);
