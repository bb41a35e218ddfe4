-- OpenAI's Files and Vector Stores faces (issue 14).
--
-- A workspace's files uploaded through /v1/files, kept until deleted,
-- independent of any collection until attached to one.
CREATE TABLE workspace_files (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	id        TEXT NOT NULL UNIQUE,
	workspace TEXT NOT NULL REFERENCES workspaces(name),
	filename  TEXT NOT NULL,
	bytes     INTEGER NOT NULL,
	purpose   TEXT NOT NULL,
	sha256    TEXT NOT NULL,
	created   INTEGER NOT NULL
);
CREATE INDEX workspace_files_workspace ON workspace_files(workspace, seq);

-- A workspace file attached to a collection (a vector store file, known
-- by the workspace file's ID): the collection's own file of the same
-- bytes holds its items. Several workspace files of the same bytes share
-- that file. The workspace file may be deleted later; the attachment stays.
CREATE TABLE attachments (
	collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	source_id     TEXT NOT NULL,
	file_id       TEXT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
	created       INTEGER NOT NULL,
	PRIMARY KEY (collection_id, source_id)
);
CREATE INDEX attachments_file ON attachments(file_id);

-- Vector store file batches and the vector store file IDs each added.
CREATE TABLE file_batches (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	id            TEXT NOT NULL UNIQUE,
	collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
	created       INTEGER NOT NULL,
	cancelled_at  INTEGER
);
CREATE TABLE file_batch_files (
	batch_id TEXT NOT NULL REFERENCES file_batches(id) ON DELETE CASCADE,
	file_id  TEXT NOT NULL,
	PRIMARY KEY (batch_id, file_id)
);

-- A vector store's expiry: its contents are deleted expires_after_days
-- after last_active_at (creation, a search, a file added), and
-- expired_at records when.
ALTER TABLE collections ADD COLUMN expires_after_days INTEGER;
ALTER TABLE collections ADD COLUMN last_active_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE collections ADD COLUMN expired_at INTEGER;
UPDATE collections SET last_active_at = updated;
