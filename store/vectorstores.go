package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"

	"github.com/ragd/ragd"
)

// vectorStoreFiles selects a collection's files with the ID each is known
// by through the vector store API: one row per attachment, and one for
// each file uploaded to the collection directly.
const vectorStoreFiles = `SELECT coalesce(a.source_id, f.id), coalesce(a.created, f.created), ` + fileColumnsOf + `
	FROM files f LEFT JOIN attachments a ON a.file_id = f.id WHERE f.collection_id = ?`

// fileColumnsOf is fileColumns of table alias f.
const fileColumnsOf = `f.id, f.collection_id, f.filename, f.bytes, f.content_type, f.sha256, f.status, coalesce(f.error_code, ''),
	coalesce(f.error_message, ''), f.items, f.chunks, f.tokens, f.pages, f.created, f.completed_at, f.metadata, f.max_tokens,
	f.overlap_tokens, f.items_deleted`

// prefixed scans a row's first columns into dest and the rest with the
// scanner it is given to.
type prefixed struct {
	r    rowScanner
	dest []any
}

func (p prefixed) Scan(dest ...any) error { return p.r.Scan(append(p.dest, dest...)...) }

func (s *Store) scanVectorStoreFile(r rowScanner) (*ragd.VectorStoreFile, error) {
	v := &ragd.VectorStoreFile{}
	var err error
	v.File, err = s.scanFile(prefixed{r, []any{&v.ID, &v.Created}})
	return v, err
}

// VectorStoreFiles returns the files of collection colID of workspace ws
// as vector store files, oldest first.
func (s *Store) VectorStoreFiles(ctx context.Context, ws, colID string) ([]*ragd.VectorStoreFile, error) {
	c, err := s.Collection(ctx, ws, colID)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, s.db, s.scanVectorStoreFile, vectorStoreFiles+` ORDER BY 2, f.seq`, c.ID)
}

// FileCounts counts the vector store files of collection colID of
// workspace ws by status, in one query rather than reading them all (a
// list of vector stores shows every store's counts).
func (s *Store) FileCounts(ctx context.Context, ws, colID string) (ragd.FileCounts, error) {
	var counts ragd.FileCounts
	c, err := s.Collection(ctx, ws, colID)
	if err != nil {
		return counts, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT f.status, count(*) FROM files f LEFT JOIN attachments a ON a.file_id = f.id
		WHERE f.collection_id = ? GROUP BY f.status`, c.ID)
	if err != nil {
		return counts, err
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return counts, err
		}
		counts.Add(status, n)
	}
	return counts, rows.Err()
}

// VectorStoreFile returns vector store file id of collection colID of
// workspace ws, or ENOTFOUND.
func (s *Store) VectorStoreFile(ctx context.Context, ws, colID, id string) (*ragd.VectorStoreFile, error) {
	c, err := s.Collection(ctx, ws, colID)
	if err != nil {
		return nil, err
	}
	v, err := s.scanVectorStoreFile(s.db.QueryRowContext(ctx, vectorStoreFiles+` AND coalesce(a.source_id, f.id) = ?`, c.ID, id))
	if err == sql.ErrNoRows {
		return nil, notFound("file", id)
	}
	return v, err
}

// deleting runs fn, the transaction of write op on collection colID of
// workspace ws at time at (for id, its subject), with write's context for
// its statements, and returns the IDs of
// the files fn deleted; their freed pages go back to the file system in
// the background.
func (s *Store) deleting(ctx context.Context, op, ws, colID, id string, at int64, fn func(ctx context.Context, tx *sql.Tx, c *ragd.Collection, seq int64) ([]string, error)) ([]string, error) {
	if err := explicit(op, id, at); err != nil {
		return nil, err
	}
	var deleted []string
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, seq, err := s.collection(ctx, tx, ws, colID)
		if err != nil {
			return err
		}
		deleted, err = fn(ctx, tx, c, seq)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(deleted) > 0 {
		s.freeSpace()
	}
	return deleted, nil
}

// DetachFile removes vector store file id from collection colID of
// workspace ws at time at: the attachment of that workspace file, and
// the collection's file holding it unless other attachments share it (a
// file uploaded to the collection directly is deleted). It returns the
// IDs of the files deleted, whose bytes the caller removes.
func (s *Store) DetachFile(ctx context.Context, ws, colID, id string, at int64) ([]string, error) {
	return s.deleting(ctx, "file detachment", ws, colID, id, at, func(ctx context.Context, tx *sql.Tx, c *ragd.Collection, seq int64) ([]string, error) {
		fileID := id
		var shared int
		err := tx.QueryRowContext(ctx, `SELECT file_id, (SELECT count(*) FROM attachments b WHERE b.file_id = a.file_id) - 1
			FROM attachments a WHERE collection_id = ? AND source_id = ?`, c.ID, id).Scan(&fileID, &shared)
		switch {
		case err == sql.ErrNoRows:
			// A file uploaded to the collection directly, unless it is
			// known through the vector store API by a workspace file.
			var attached int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM attachments WHERE file_id = ?`, id).Scan(&attached); err != nil {
				return nil, err
			}
			if attached > 0 {
				return nil, notFound("file", id)
			}
		case err != nil:
			return nil, err
		default:
			if _, err := tx.ExecContext(ctx, `DELETE FROM attachments WHERE collection_id = ? AND source_id = ?`, c.ID, id); err != nil {
				return nil, err
			}
			if shared > 0 {
				return nil, nil
			}
		}
		return []string{fileID}, deleteFile(ctx, tx, c.ID, seq, fileID, at)
	})
}

// SetFileMetadata replaces the metadata of file fileID of collection
// colID of workspace ws (a vector store file's attributes) at time at, in
// the file and in each of its items: an item keeps the keys of its own
// (a record's columns) and takes the file's new ones over them, as ingest
// merged them.
func (s *Store) SetFileMetadata(ctx context.Context, ws, colID, fileID string, meta map[string]any, at int64) (*ragd.File, error) {
	if err := explicit("file metadata", fileID, at); err != nil {
		return nil, err
	}
	enc, err := encodeMetadata(meta)
	if err != nil {
		return nil, err
	}
	var out *ragd.File
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, _, err := s.collection(ctx, tx, ws, colID)
		if err != nil {
			return err
		}
		old, err := s.scanFile(tx.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ? AND collection_id = ?`, fileID, c.ID))
		if err == sql.ErrNoRows {
			return notFound("file", fileID)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT id, metadata FROM items WHERE file_id = ?`, fileID)
		if err != nil {
			return err
		}
		updates := map[string]string{}
		for rows.Next() {
			var id, stored string
			if err := rows.Scan(&id, &stored); err != nil {
				rows.Close()
				return err
			}
			m := s.decodeMetadata(stored)
			for k, v := range old.Metadata {
				if sameJSON(m[k], v) {
					delete(m, k)
				}
			}
			maps.Copy(m, meta)
			b, err := encodeMetadata(m)
			if err != nil {
				rows.Close()
				return err
			}
			updates[id] = b
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for id, b := range updates {
			if _, err := tx.ExecContext(ctx, `UPDATE items SET metadata = ?, updated = ? WHERE id = ?`, b, at, id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE files SET metadata = ? WHERE id = ?`, enc, fileID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE collections SET updated = ? WHERE id = ?`, at, c.ID); err != nil {
			return err
		}
		out, err = s.scanFile(tx.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ?`, fileID))
		return err
	})
	return out, err
}

// sameJSON reports whether a and b encode to the same JSON.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// CreateFileBatch records batch b (ID, CollectionID and Created set by
// the caller) of collection b.CollectionID in workspace ws; its files are
// added by CreateFile with File.Batch set.
func (s *Store) CreateFileBatch(ctx context.Context, ws string, b *ragd.FileBatch) error {
	if err := explicit("file batch", b.ID, b.Created); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, _, err := s.collection(ctx, tx, ws, b.CollectionID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO file_batches (id, collection_id, created) VALUES (?, ?, ?)`, b.ID, c.ID, b.Created)
		return err
	})
}

// FileBatch returns batch id of collection colID of workspace ws with its
// files' vector store IDs, or ENOTFOUND.
func (s *Store) FileBatch(ctx context.Context, ws, colID, id string) (*ragd.FileBatch, error) {
	c, err := s.Collection(ctx, ws, colID)
	if err != nil {
		return nil, err
	}
	b := &ragd.FileBatch{}
	var cancelled sql.NullInt64
	err = s.db.QueryRowContext(ctx, `SELECT id, collection_id, created, cancelled_at FROM file_batches WHERE id = ? AND collection_id = ?`,
		id, c.ID).Scan(&b.ID, &b.CollectionID, &b.Created, &cancelled)
	if err == sql.ErrNoRows {
		return nil, notFound("file batch", id)
	}
	if err != nil {
		return nil, err
	}
	b.CancelledAt = cancelled.Int64
	b.Files, err = queryColumn[string](ctx, s.db, `SELECT file_id FROM file_batch_files WHERE batch_id = ? ORDER BY rowid`, b.ID)
	return b, err
}

// CancelFileBatch cancels batch id of collection colID of workspace ws at
// time at: the files of the batch whose ingest has not ended are
// deleted. It returns the IDs of the deleted files, whose bytes the
// caller removes. Cancelling a cancelled batch
// changes nothing.
func (s *Store) CancelFileBatch(ctx context.Context, ws, colID, id string, at int64) ([]string, error) {
	return s.deleting(ctx, "file batch cancellation", ws, colID, id, at, func(ctx context.Context, tx *sql.Tx, c *ragd.Collection, seq int64) ([]string, error) {
		res, err := tx.ExecContext(ctx, `UPDATE file_batches SET cancelled_at = ? WHERE id = ? AND collection_id = ? AND cancelled_at IS NULL`, at, id, c.ID)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM file_batches WHERE id = ? AND collection_id = ?`, id, c.ID).Scan(&exists); err != nil {
				return nil, err
			}
			if exists == 0 {
				return nil, notFound("file batch", id)
			}
			return nil, nil
		}
		pending, err := queryColumn[string](ctx, tx, `SELECT DISTINCT f.id FROM file_batch_files b
			JOIN attachments a ON a.collection_id = ? AND a.source_id = b.file_id JOIN files f ON f.id = a.file_id
			WHERE b.batch_id = ? AND f.status IN (?, ?)`, c.ID, id, ragd.FileEnqueued, ragd.FileProcessing)
		if err != nil {
			return nil, err
		}
		for _, f := range pending {
			if err := deleteFile(ctx, tx, c.ID, seq, f, at); err != nil {
				return nil, err
			}
		}
		return pending, nil
	})
}

// TouchCollection makes collection id of workspace ws active at time at
// (a vector store's last_active_at, which its expiry counts from).
func (s *Store) TouchCollection(ctx context.Context, ws, id string, at int64) error {
	if err := explicit("collection activity", id, at); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE collections SET last_active_at = max(last_active_at, ?) WHERE workspace = ? AND id = ?`, at, ws, id)
		return err
	})
}

// DueExpiries returns the collections whose contents expire at or before
// now and have not yet.
func (s *Store) DueExpiries(ctx context.Context, now int64) ([]*ragd.Collection, error) {
	return queryAll(ctx, s.db, func(r rowScanner) (*ragd.Collection, error) {
		c, _, err := s.scanCollection(r)
		return c, err
	}, `SELECT `+collectionColumns+` FROM collections WHERE expires_after_days > 0 AND expired_at IS NULL
		AND last_active_at + expires_after_days * 86400 <= ?`, now)
}

// ExpireCollection deletes the contents of collection id of workspace ws
// (its files and items, with their chunks and search entries) and marks
// it expired at time at, if it is due (DueExpiries) by then. It returns
// the IDs of the files deleted, whose bytes the caller removes.
func (s *Store) ExpireCollection(ctx context.Context, ws, id string, at int64) ([]string, error) {
	return s.deleting(ctx, "collection expiry", ws, id, id, at, func(ctx context.Context, tx *sql.Tx, c *ragd.Collection, seq int64) ([]string, error) {
		if c.ExpiredAt != 0 || c.ExpiresAt() == 0 || c.ExpiresAt() > at {
			return nil, nil
		}
		files, err := queryColumn[string](ctx, tx, `SELECT id FROM files WHERE collection_id = ?`, c.ID)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := deleteFile(ctx, tx, c.ID, seq, f, at); err != nil {
				return nil, err
			}
		}
		if err := unindexChunks(ctx, tx, seq, `SELECT c.id FROM chunks c JOIN items i ON i.id = c.item_id WHERE i.collection_id = ?`, c.ID); err != nil {
			return nil, err
		}
		for _, stmt := range []string{
			`DELETE FROM chunks WHERE item_id IN (SELECT id FROM items WHERE collection_id = ?)`,
			`DELETE FROM items WHERE collection_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, stmt, c.ID); err != nil {
				return nil, err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE collections SET item_count = 0, chunk_count = 0, bytes = 0, file_count = 0,
			expired_at = ?, updated = ? WHERE id = ?`, at, at, c.ID)
		return files, err
	})
}

// FileTexts returns the texts of file fileID's items in document order:
// the text ingest extracted from it.
func (s *Store) FileTexts(ctx context.Context, fileID string) ([]string, error) {
	return queryColumn[string](ctx, s.db, `SELECT content FROM items WHERE file_id = ? ORDER BY seq`, fileID)
}

// SourceIDs maps the IDs of files of collection colID to the IDs they are
// known by through the vector store API (the workspace file each was
// attached as; the first, when several share it). Files uploaded to the
// collection directly map to themselves and are left out.
func (s *Store) SourceIDs(ctx context.Context, colID string, fileIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(fileIDs) == 0 {
		return out, nil
	}
	ids, err := json.Marshal(fileIDs)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT file_id, min(source_id) FROM attachments WHERE collection_id = ?
		AND file_id IN (SELECT value FROM json_each(?)) GROUP BY file_id`, colID, string(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var f, src string
		if err := rows.Scan(&f, &src); err != nil {
			return nil, err
		}
		out[f] = src
	}
	return out, rows.Err()
}
