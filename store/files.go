package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/ragd/ragd"
)

const fileColumns = `id, collection_id, filename, bytes, content_type, sha256, status, coalesce(error_code, ''),
	coalesce(error_message, ''), items, chunks, tokens, pages, created, completed_at, metadata, max_tokens, overlap_tokens, items_deleted`

func (s *Store) scanFile(r rowScanner) (*ragd.File, error) {
	f := &ragd.File{}
	var code, msg, meta string
	var completed sql.NullInt64
	if err := r.Scan(&f.ID, &f.CollectionID, &f.Filename, &f.Bytes, &f.ContentType, &f.SHA256, &f.Status, &code, &msg,
		&f.Items, &f.Chunks, &f.Tokens, &f.Pages, &f.Created, &completed, &meta, &f.Chunking.MaxTokens, &f.Chunking.OverlapTokens, &f.ItemsDeleted); err != nil {
		return nil, err
	}
	if code != "" {
		f.Error = &ragd.FileError{Code: code, Message: msg}
	}
	if completed.Valid {
		f.CompletedAt = &completed.Int64
	}
	f.Metadata = s.decodeMetadata(meta)
	return f, nil
}

// CreateFile records f (its ID, Created, Filename, Bytes, ContentType,
// SHA256, Metadata and Chunking set by the caller) in collection colID of
// workspace ws with status enqueued, and queues its ingest job, in one
// transaction, and returns it with created true.
//
// A collection holds given bytes once. When it already holds a file with
// the same SHA256:
//   - if that file's ingest has ended, its filename and metadata are f's
//     (nil metadata: any), and none of its items was deleted, nothing is
//     written and that file is returned with created false;
//   - if its ingest has ended but the name or metadata differ, or items
//     were deleted, that file is ingested again under its own ID with f's
//     name, metadata and chunking, replacing its items, and returned with
//     created true;
//   - if it is still being ingested, it is returned as it is with created
//     false, whatever the name and metadata: two copies of one file in a
//     tree uploaded at once must not ingest it twice.
func (s *Store) CreateFile(ctx context.Context, ws, colID string, f *ragd.File) (out *ragd.File, created bool, err error) {
	if err := explicit("file", f.ID, f.Created); err != nil {
		return nil, false, err
	}
	now := f.Created
	meta, err := encodeMetadata(f.Metadata)
	if err != nil {
		return nil, false, err
	}
	record := func(ctx context.Context, tx *sql.Tx) error {
		c, seq, err := s.collection(ctx, tx, ws, colID)
		if err != nil {
			return err
		}
		colID = c.ID
		old, err := s.scanFile(tx.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE collection_id = ? AND sha256 = ?`, colID, f.SHA256))
		if err == nil {
			same := old.Filename == f.Filename && (f.Metadata == nil || s.sameMetadata(old.Metadata, meta))
			if !old.Done() || (same && old.ItemsDeleted == 0) {
				out = old
				return nil
			}
			if f.Metadata == nil {
				meta, err = encodeMetadata(old.Metadata)
				if err != nil {
					return err
				}
			}
			if err := reingestFile(ctx, tx, seq, old, f, meta, now); err != nil {
				return err
			}
			out, err = s.scanFile(tx.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ?`, old.ID))
			created = true
			return err
		}
		if err != sql.ErrNoRows {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO files (id, collection_id, filename, bytes, content_type, sha256, status,
			created, metadata, max_tokens, overlap_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			f.ID, colID, f.Filename, f.Bytes, f.ContentType, f.SHA256, ragd.FileEnqueued, now, meta,
			f.Chunking.MaxTokens, f.Chunking.OverlapTokens); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (file_id, workspace, state, created, updated) VALUES (?, ?, ?, ?, ?)`,
			f.ID, c.Workspace, JobQueued, now, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE collections SET file_count = file_count + 1, updated = ? WHERE id = ?`, now, colID); err != nil {
			return err
		}
		out, err = s.scanFile(tx.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ?`, f.ID))
		created = true
		return err
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := record(ctx, tx); err != nil {
			return err
		}
		if seq := appliedSeq(ctx); created && seq != 0 {
			// This logged upload queued the job: the one the ingest
			// queue's node claims it by (Job.UploadSeq).
			if _, err := tx.ExecContext(ctx, `UPDATE jobs SET upload_seq = ? WHERE file_id = ?`, seq, out.ID); err != nil {
				return err
			}
		}
		return attach(ctx, tx, out, f, now)
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// attach records, for a file f attached from a workspace file (f.Source),
// that the collection's file out holds it, adds it to f's batch, and
// makes the collection active at now.
func attach(ctx context.Context, tx *sql.Tx, out, f *ragd.File, now int64) error {
	if f.Source == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO attachments (collection_id, source_id, file_id, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (collection_id, source_id) DO UPDATE SET file_id = excluded.file_id`, out.CollectionID, f.Source, out.ID, now); err != nil {
		return err
	}
	if f.Batch != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO file_batch_files (batch_id, file_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, f.Batch, f.Source); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE collections SET last_active_at = max(last_active_at, ?) WHERE id = ?`, now, out.CollectionID)
	return err
}

// reingestFile removes what an ended ingest of old left (its items,
// chunks and search entries, and their counts in collection seq), takes
// f's name, metadata (encoded as meta) and chunking, and queues old's job
// again.
func reingestFile(ctx context.Context, tx *sql.Tx, seq int64, old, f *ragd.File, meta string, now int64) error {
	if old.Status == ragd.FileCompleted {
		var contentBytes int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(length(CAST(content AS BLOB))), 0) FROM items WHERE file_id = ?`,
			old.ID).Scan(&contentBytes); err != nil {
			return err
		}
		if err := unindexChunks(ctx, tx, seq, `SELECT c.id FROM chunks c JOIN items i ON i.id = c.item_id WHERE i.file_id = ?`, old.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE collections SET item_count = item_count - ?, chunk_count = chunk_count - ?, bytes = bytes - ?,
			updated = ? WHERE id = ?`, old.Items, old.Chunks, contentBytes, now, old.CollectionID); err != nil {
			return err
		}
	}
	if err := deleteFileItems(ctx, tx, old.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE files SET filename = ?, metadata = ?, max_tokens = ?, overlap_tokens = ?, status = ?,
		error_code = NULL, error_message = NULL, items = 0, chunks = 0, tokens = 0, pages = 0, completed_at = NULL, items_deleted = 0
		WHERE id = ?`, f.Filename, meta, f.Chunking.MaxTokens, f.Chunking.OverlapTokens, ragd.FileEnqueued, old.ID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = ?, attempts = 0, not_before = 0, updated = ? WHERE file_id = ?`, JobQueued, now, old.ID)
	return err
}

// sameMetadata reports whether stored metadata m equals the metadata
// encoded as enc once that reads back from the database too (a number
// written 9.50 reads back as 9.5).
func (s *Store) sameMetadata(m map[string]any, enc string) bool {
	return reflect.DeepEqual(m, s.decodeMetadata(enc))
}

// File returns file fileID of collection colID in workspace ws.
func (s *Store) File(ctx context.Context, ws, colID, fileID string) (*ragd.File, error) {
	c, err := s.Collection(ctx, ws, colID)
	if err != nil {
		return nil, err
	}
	f, err := s.scanFile(s.db.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE id = ? AND collection_id = ?`, fileID, c.ID))
	if err == sql.ErrNoRows {
		return nil, notFound("file", fileID)
	}
	return f, err
}

// Files lists the files of collection colID in workspace ws in upload
// order, and whether more follow.
func (s *Store) Files(ctx context.Context, ws, colID string, p ragd.Page) ([]*ragd.File, bool, error) {
	c, err := s.Collection(ctx, ws, colID)
	if err != nil {
		return nil, false, err
	}
	after, err := s.afterSeq(ctx, "files", "collection_id = ?", p.After, c.ID)
	if err != nil {
		return nil, false, err
	}
	return listPage(ctx, s, p.Limit, s.scanFile, `SELECT `+fileColumns+` FROM files WHERE collection_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		c.ID, after, p.Limit+1)
}

// HasFile reports whether a file with this ID exists in any collection or
// workspace: whether bytes stored under that name are still wanted.
func (s *Store) HasFile(ctx context.Context, fileID string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM files WHERE id = ?1) + (SELECT count(*) FROM workspace_files WHERE id = ?1)`, fileID).Scan(&n)
	return n > 0, err
}

// DeleteFile removes file fileID of collection colID in workspace ws with
// its job, items, chunks, vectors and keyword entries, whatever its status:
// an ingest still running for it finds the file gone and stops.
func (s *Store) DeleteFile(ctx context.Context, ws, colID, fileID string, at int64) error {
	if err := explicit("file deletion", fileID, at); err != nil {
		return err
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, seq, err := s.collection(ctx, tx, ws, colID)
		if err != nil {
			return err
		}
		return deleteFile(ctx, tx, c.ID, seq, fileID, at)
	})
	if err == nil {
		s.freeSpace()
	}
	return err
}

// deleteFile is DeleteFile inside transaction tx, for file fileID of
// collection colID (of sequence number seq).
func deleteFile(ctx context.Context, tx *sql.Tx, colID string, seq int64, fileID string, at int64) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM files WHERE id = ? AND collection_id = ?`, fileID, colID).Scan(&status)
	if err == sql.ErrNoRows {
		return notFound("file", fileID)
	}
	if err != nil {
		return err
	}
	var items, chunks int
	var contentBytes int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(chunk_count), 0), coalesce(sum(length(CAST(content AS BLOB))), 0)
		FROM items WHERE file_id = ?`, fileID).Scan(&items, &chunks, &contentBytes); err != nil {
		return err
	}
	if status == ragd.FileCompleted {
		// Only a completed file's chunks are in the search tables
		// and its items in the collection's counters.
		if err := unindexChunks(ctx, tx, seq, `SELECT c.id FROM chunks c JOIN items i ON i.id = c.item_id WHERE i.file_id = ?`, fileID); err != nil {
			return err
		}
	} else {
		items, chunks, contentBytes = 0, 0, 0
	}
	if err := deleteFileItems(ctx, tx, fileID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE id = ?`, fileID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE collections SET file_count = file_count - 1, item_count = item_count - ?,
		chunk_count = chunk_count - ?, bytes = bytes - ?, updated = ? WHERE id = ?`, items, chunks, contentBytes, at, colID)
	return err
}

// deleteFileItems removes the items of a file and their chunks (not their
// vector and keyword entries).
func deleteFileItems(ctx context.Context, tx *sql.Tx, fileID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM chunks WHERE item_id IN (SELECT id FROM items WHERE file_id = ?)`, fileID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM items WHERE file_id = ?`, fileID)
	return err
}

// fileGone is the error of staging or publishing for a file deleted while
// it was being ingested.
func fileGone(fileID string) error {
	return &ragd.Error{Kind: ragd.ENOTFOUND, Code: "file_deleted", Message: fmt.Sprintf("file %q was deleted during its ingest", fileID)}
}

// FileChunks lists the chunks of file fileID of collection colID in
// workspace ws in document order (by item, then chunk), and whether more
// follow. A file that has not completed lists none: its chunks appear all
// at once, as its items do. The cursor is a chunk id of the file
// ("chunk_N"); another is EINVALID.
func (s *Store) FileChunks(ctx context.Context, ws, colID, fileID string, p ragd.Page) ([]ragd.FileChunk, bool, error) {
	f, err := s.File(ctx, ws, colID, fileID)
	if err != nil || f.Status != ragd.FileCompleted {
		return nil, false, err
	}
	var seq, idx int64 = 0, -1
	if p.After != "" {
		id, perr := strconv.ParseInt(strings.TrimPrefix(p.After, "chunk_"), 10, 64)
		err := s.db.QueryRowContext(ctx, `SELECT i.seq, c.idx FROM chunks c JOIN items i ON i.id = c.item_id
			WHERE c.id = ? AND i.file_id = ?`, id, f.ID).Scan(&seq, &idx)
		if perr != nil || !strings.HasPrefix(p.After, "chunk_") || err == sql.ErrNoRows {
			return nil, false, ragd.InvalidCursor(p.After)
		}
		if err != nil {
			return nil, false, err
		}
	}
	return listPage(ctx, s, p.Limit, func(r rowScanner) (ragd.FileChunk, error) {
		var c ragd.FileChunk
		var id int64
		err := r.Scan(&id, &c.ItemID, &c.Content, &c.Tokens, &c.Position.Chunk, &c.Position.Page, &c.Position.Section)
		c.ID = "chunk_" + strconv.FormatInt(id, 10)
		return c, err
	}, `SELECT c.id, c.item_id, c.content, c.tokens, c.idx, c.page, c.section FROM chunks c JOIN items i ON i.id = c.item_id
		WHERE i.file_id = ? AND (i.seq, c.idx) > (?, ?) ORDER BY i.seq, c.idx LIMIT ?`, f.ID, seq, idx, p.Limit+1)
}
