-- What ragd remembers of each end user (x-user-id) of a workspace: the
-- questions they asked and the answers they got, with the embedding of
-- each (model names the model, whose vectors alone are compared).
-- Memories of one (workspace, user_id) are only ever read together.
CREATE TABLE memories (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	id        TEXT NOT NULL UNIQUE,
	workspace TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	role      TEXT NOT NULL,
	content   TEXT NOT NULL,
	model     TEXT NOT NULL,
	embedding BLOB NOT NULL,
	created   INTEGER NOT NULL
);
CREATE INDEX memories_user ON memories(workspace, user_id, seq);
