package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/ragd/ragd"
)

func notFound(what, id string) error { return ragd.NotFound(what, id) }

const collectionColumns = `seq, id, workspace, name, description, created, updated, embedding_model, dimensions,
	max_tokens, overlap_tokens, metadata, item_count, file_count, chunk_count, bytes, coalesce(expires_after_days, 0),
	last_active_at, coalesce(expired_at, 0), quantization`

type rowScanner interface{ Scan(dest ...any) error }

func (s *Store) scanCollection(r rowScanner) (*ragd.Collection, int64, error) {
	c := &ragd.Collection{}
	var seq int64
	var meta string
	err := r.Scan(&seq, &c.ID, &c.Workspace, &c.Name, &c.Description, &c.Created, &c.Updated, &c.EmbeddingModel,
		&c.Dimensions, &c.Chunking.MaxTokens, &c.Chunking.OverlapTokens, &meta, &c.ItemCount, &c.FileCount,
		&c.ChunkCount, &c.Bytes, &c.ExpiresAfterDays, &c.LastActive, &c.ExpiredAt, &c.Quantization)
	if err != nil {
		return nil, 0, err
	}
	c.Metadata = s.decodeMetadata(meta)
	c.VectorSearch = s.vectorSearchPath(c)
	return c, seq, nil
}

// CreateCollection stores c (ID, Created and Updated are set here) in the
// workspace c.Workspace, creating the workspace if needed, together with
// the vector table of its dimension count if it is the first. A duplicate name in the workspace is
// ECONFLICT.
func (s *Store) CreateCollection(ctx context.Context, c *ragd.Collection) error {
	if c.Dimensions <= 0 || c.Dimensions > ragd.MaxDimensions {
		return ragd.Invalid("dimensions", "dimensions must be between 1 and %d, got %d", ragd.MaxDimensions, c.Dimensions)
	}
	c.Quantization = cmp.Or(c.Quantization, ragd.QuantizationAuto)
	if err := ragd.ValidateQuantization(c.Quantization); err != nil {
		return err
	}
	if err := explicit("collection", c.ID, c.Created); err != nil {
		return err
	}
	now := c.Created
	c.Updated = now
	c.VectorSearch = s.vectorSearchPath(c)
	meta, err := encodeMetadata(c.Metadata)
	if err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := ensureWorkspace(tx, c.Workspace, c.Created); err != nil {
			return err
		}
		c.LastActive = now
		_, err := tx.Exec(`INSERT INTO collections (id, workspace, name, description, created, updated, embedding_model,
			dimensions, max_tokens, overlap_tokens, metadata, expires_after_days, last_active_at, quantization) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0), ?, ?)`,
			c.ID, c.Workspace, c.Name, c.Description, now, now, c.EmbeddingModel, c.Dimensions,
			c.Chunking.MaxTokens, c.Chunking.OverlapTokens, meta, c.ExpiresAfterDays, now, c.Quantization)
		if isUnique(err) {
			return &ragd.Error{Kind: ragd.ECONFLICT, Code: "collection_exists", Param: "name",
				Message: fmt.Sprintf("a collection named %q already exists in this workspace; choose another name", c.Name)}
		}
		if err != nil {
			return err
		}
		return ensureVecTable(ctx, tx, c.Dimensions)
	})
}

// Collection returns the collection of workspace ws whose ID (or else
// name) is id, or ENOTFOUND.
func (s *Store) Collection(ctx context.Context, ws, id string) (*ragd.Collection, error) {
	c, _, err := s.collection(ctx, s.db, ws, id)
	return c, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) collection(ctx context.Context, q querier, ws, id string) (*ragd.Collection, int64, error) {
	// A collection is addressed by its ID or, for convenience, its name.
	c, seq, err := s.scanCollection(q.QueryRowContext(ctx, `SELECT `+collectionColumns+` FROM collections
		WHERE workspace = ? AND (id = ? OR name = ?) ORDER BY id = ? DESC LIMIT 1`, ws, id, id, id))
	if err == sql.ErrNoRows {
		return nil, 0, notFound("collection", id)
	}
	if q == querier(s.db) && err == nil {
		// Committed, unlike a row read inside a write that may yet
		// roll back (and its seq with it): see SearchCollection.
		s.seqs.Store(c.ID, seq)
	}
	return c, seq, err
}

// Collections lists the collections of workspace ws in creation order. It
// returns whether more follow.
func (s *Store) Collections(ctx context.Context, ws string, p ragd.Page) ([]*ragd.Collection, bool, error) {
	after, err := s.afterSeq(ctx, "collections", "workspace = ?", p.After, ws)
	if err != nil {
		return nil, false, err
	}
	return listPage(ctx, s, p.Limit, func(r rowScanner) (*ragd.Collection, error) {
		c, _, err := s.scanCollection(r)
		return c, err
	}, `SELECT `+collectionColumns+` FROM collections WHERE workspace = ? AND seq > ? ORDER BY seq LIMIT ?`, ws, after, p.Limit+1)
}

// listPage runs a page query (whose LIMIT asks for one row more than
// limit) and scans its rows; it reports whether more rows follow.
func listPage[T any](ctx context.Context, s *Store, limit int, scan func(rowScanner) (T, error), query string, args ...any) ([]T, bool, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// afterSeq resolves a pagination cursor (a row ID) to its rowid (seq, in
// tables that have one) within the rows of table matching scope; an
// unknown cursor is EINVALID. Lists are in rowid order, which is creation
// order.
func (s *Store) afterSeq(ctx context.Context, table, scope, after string, args ...any) (int64, error) {
	if after == "" {
		return 0, nil
	}
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT rowid FROM `+table+` WHERE id = ? AND `+scope, append([]any{after}, args...)...).Scan(&seq)
	if err == sql.ErrNoRows {
		return 0, ragd.InvalidCursor(after)
	}
	return seq, err
}

// UpdateCollection applies u to collection id of workspace ws; u.At must
// be set.
func (s *Store) UpdateCollection(ctx context.Context, ws, id string, u ragd.CollectionUpdate) (*ragd.Collection, error) {
	if err := explicit("collection update", id, u.At); err != nil {
		return nil, err
	}
	if u.Quantization != nil {
		if err := ragd.ValidateQuantization(*u.Quantization); err != nil {
			return nil, err
		}
	}
	var out *ragd.Collection
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, _, err := s.collection(ctx, tx, ws, id)
		if err != nil {
			return err
		}
		if u.Name != nil {
			c.Name = *u.Name
		}
		if u.Description != nil {
			c.Description = *u.Description
		}
		if u.Metadata != nil {
			c.Metadata = u.Metadata
		}
		meta, err := encodeMetadata(c.Metadata)
		if err != nil {
			return err
		}
		c.Updated = u.At
		if u.ExpiresAfterDays != nil {
			c.ExpiresAfterDays = *u.ExpiresAfterDays
		}
		if u.Quantization != nil {
			c.Quantization = *u.Quantization
			c.VectorSearch = s.vectorSearchPath(c)
		}
		_, err = tx.Exec(`UPDATE collections SET name = ?, description = ?, metadata = ?, updated = ?, expires_after_days = nullif(?, 0),
			quantization = ? WHERE id = ?`, c.Name, c.Description, meta, c.Updated, c.ExpiresAfterDays, c.Quantization, c.ID)
		if isUnique(err) {
			return &ragd.Error{Kind: ragd.ECONFLICT, Code: "collection_exists", Param: "name",
				Message: fmt.Sprintf("a collection named %q already exists in this workspace; choose another name", c.Name)}
		}
		out = c
		return err
	})
	return out, err
}

// DeleteCollection removes collection id of workspace ws with all its
// items, files, chunks, vectors and keyword entries, in one transaction,
// and has the freed pages returned to the file system in the background
// (vacuumLoop). It returns the deleted collection and the IDs of its files
// so the caller can remove their stored bytes.
func (s *Store) DeleteCollection(ctx context.Context, ws, id string) (*ragd.Collection, []string, error) {
	var files []string
	c, seq, err := s.collection(ctx, s.db, ws, id)
	if err != nil {
		return nil, nil, err
	}
	id = c.ID
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, _, err := s.collection(ctx, tx, ws, id); err != nil {
			return err
		}
		var err error
		if files, err = queryColumn[string](ctx, tx, `SELECT id FROM files WHERE collection_id = ?`, id); err != nil {
			return err
		}
		if err := dropCollectionIndex(ctx, tx, seq, id); err != nil {
			return err
		}
		// Chunks are found through the collection's items (indexed), not
		// by scanning every collection's chunks.
		for _, stmt := range []string{
			`DELETE FROM chunks WHERE item_id IN (SELECT id FROM items WHERE collection_id = ?)`,
			`DELETE FROM items WHERE collection_id = ?`,
			`DELETE FROM files WHERE collection_id = ?`,
		} {
			if _, err := tx.Exec(stmt, id); err != nil {
				return err
			}
		}
		_, err = tx.Exec(`DELETE FROM collections WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	s.kws.drop(seq)
	s.seqs.Delete(id)
	s.freeSpace()
	return c, files, nil
}

// rowsQuerier is a database or transaction, for queries of many rows.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryAll returns every row of a query, each read by scan.
func queryAll[T any](ctx context.Context, q rowsQuerier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryColumn returns the single column of a query's rows.
func queryColumn[T any](ctx context.Context, q rowsQuerier, query string, args ...any) ([]T, error) {
	return queryAll(ctx, q, func(r rowScanner) (T, error) {
		var v T
		err := r.Scan(&v)
		return v, err
	}, query, args...)
}

func encodeMetadata(m map[string]any) (string, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", ragd.Invalid("metadata", "metadata must be a JSON object of plain values: %v", err)
	}
	return string(b), nil
}

// decodeMetadata returns the stored metadata as a map. Metadata that
// does not decode (written by hand, or by an older ragd that checked less)
// reads as empty, with a warning: one such row must not make every read of
// its collection fail.
func (s *Store) decodeMetadata(stored string) map[string]any {
	m := map[string]any{}
	if stored == "" {
		return m
	}
	if err := json.Unmarshal([]byte(stored), &m); err != nil {
		s.log.Warn("stored metadata is not a JSON object; reading it as {}", "bytes", len(stored), "err", err)
		return map[string]any{}
	}
	return m
}
