package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/vecmath"
	"github.com/ragd/ragd/store/scopedfts"
)

// itemVisible holds for items added directly and items of completed
// files: a file's items appear all at once, when its ingest publishes.
const itemVisible = `(file_id IS NULL OR file_id IN (SELECT id FROM files WHERE status = 'completed'))`

const itemColumns = `id, collection_id, coalesce(file_id, ''), created, updated, description, content, metadata, chunk_count, tokens`

func (s *Store) scanItem(r rowScanner) (*ragd.Item, error) {
	it := &ragd.Item{}
	var meta string
	if err := r.Scan(&it.ID, &it.CollectionID, &it.FileID, &it.Created, &it.Updated, &it.Description, &it.Content,
		&meta, &it.ChunkCount, &it.Tokens); err != nil {
		return nil, err
	}
	it.Metadata = s.decodeMetadata(meta)
	return it, nil
}

// InsertItems adds items to collection colID of workspace ws in one
// transaction: either all of them, with their chunks, vectors and keyword
// entries, are stored, or none is. Each item's ID and Created must be set;
// the collection's updated time becomes the latest Created. A vector of
// the wrong length is EUNPROCESSABLE.
func (s *Store) InsertItems(ctx context.Context, ws, colID string, items []ragd.NewItem) ([]*ragd.Item, error) {
	// While another write holds the writer, this one tokenizes its
	// chunks' keywords as it waits, on the other core, rather than in its
	// transaction: when requests come two at a time, the writer, the
	// bottleneck of a bulk load, indexes a fifth faster. A write that
	// finds the writer free leaves that to the writer, as waiting for the
	// tokenizing would only delay it.
	var terms [][]byte
	if s.writers.Load() > 0 {
		var err error
		if terms, err = s.keywordTerms(ctx, items); err != nil {
			return nil, err
		}
	}
	var out []*ragd.Item
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, seq, err := s.collection(ctx, tx, ws, colID)
		if err != nil {
			return err
		}
		w := s.newChunkWriter(tx, c, seq, true)
		defer w.close()
		w.terms = terms
		out = make([]*ragd.Item, 0, len(items))
		var at int64
		for _, ni := range items {
			it, err := w.insertItem(ctx, "", ni)
			if err != nil {
				return err
			}
			out = append(out, it)
			at = max(at, it.Created)
		}
		return w.addCounts(at)
	})
	return out, err
}

// keywordText is the SQL, over a row of chunks, for the text a chunk's
// keyword entry indexes: its section line, when it has one, then its
// content. Indexing the section makes a passage findable by the headings
// above it even when it does not repeat them; the stored content, which
// search returns, stays the passage itself.
const keywordText = `iif(section = '', content, section || char(10) || char(10) || content)`

// keywordTerms returns the terms the keyword index holds for each chunk
// of items, in order (scopedfts.DocumentTermsBatch of the text
// keywordText gives), tokenized on a reader's connection: by the request,
// beside the writer, rather than by the writer in its transaction, where
// porter and unicode61 took a fifth of a bulk load's time in SQLite.
func (s *Store) keywordTerms(ctx context.Context, items []ragd.NewItem) ([][]byte, error) {
	var texts []byte
	n := 0
	for _, ni := range items {
		for _, ch := range ni.Chunks {
			if ch.Section == "" {
				texts = scopedfts.AppendText(texts, ch.Content)
			} else {
				texts = scopedfts.AppendText(texts, ch.Section, "\n\n", ch.Content)
			}
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	var terms []byte
	if err := s.db.QueryRowContext(ctx, `SELECT `+scopedfts.DocumentTermsBatch("?"), texts).Scan(&terms); err != nil {
		return nil, err
	}
	return scopedfts.SplitTerms(terms, n)
}

// chunkWriter inserts items and chunks of one collection inside one
// transaction. It gathers their rows and writes each table's with one
// statement (ragd_rows, rows.go) when flushed: addCounts flushes, and a
// caller that reads the tables in between flushes first.
type chunkWriter struct {
	s       *Store
	tx      *sql.Tx
	col     *ragd.Collection
	seq     int64
	publish bool // write vectors and keyword entries now, not staged
	// The rows not yet written, and the vectors of those chunks, in
	// order, when publish.
	itemRows, chunkRows rowsBuf
	vectors             [][]byte
	vecs                *vecWriter // when publish
	items               int
	chunks              int
	// firstID and lastID bound the chunks written and published: they
	// are consecutive (one writer, in one transaction), so one statement
	// indexes them all for keywords (addCounts), twice as fast for bulk
	// writes as a statement per chunk (docs/benchmarks.md).
	firstID, lastID int64
	bytes           int64
	tokens          int
	// terms, when set, are the keyword terms of the chunks written, in
	// order, tokenized before the transaction (Store.keywordTerms); when
	// nil, indexKeywords indexes their text.
	terms [][]byte
}

// newChunkWriter returns a writer into collection c (of seq) in tx; the
// caller closes it.
func (s *Store) newChunkWriter(tx *sql.Tx, c *ragd.Collection, seq int64, publish bool) *chunkWriter {
	w := &chunkWriter{s: s, tx: tx, col: c, seq: seq, publish: publish}
	w.itemRows.into("items", `id, collection_id, file_id, created, updated, description, content, metadata, chunk_count, tokens`)
	w.chunkRows.into("chunks", `collection_id, item_id, idx, content, tokens, page, section, start_offset, end_offset, staged_vector`)
	if publish {
		w.vecs = newVecWriter(context.Background(), tx, c.Dimensions, seq)
	}
	return w
}

// close releases the writer's buffers.
func (w *chunkWriter) close() {
	w.itemRows.release()
	w.chunkRows.release()
}

func (w *chunkWriter) insertItem(ctx context.Context, fileID string, ni ragd.NewItem) (*ragd.Item, error) {
	if err := explicit("item", ni.ID, ni.Created); err != nil {
		return nil, err
	}
	now := ni.Created
	meta, err := encodeMetadata(ni.Metadata)
	if err != nil {
		return nil, err
	}
	it := &ragd.Item{ID: ni.ID, CollectionID: w.col.ID, FileID: fileID, Created: now, Updated: now,
		Description: ni.Description, Content: ni.Content, Metadata: ni.Metadata, ChunkCount: len(ni.Chunks)}
	if it.Metadata == nil {
		it.Metadata = map[string]any{}
	}
	for _, ch := range ni.Chunks {
		it.Tokens += ch.Tokens
	}
	w.itemRows.text(it.ID).text(w.col.ID).nullText(fileID).int(now).int(now).text(it.Description).text(it.Content).
		text(meta).int(int64(it.ChunkCount)).int(int64(it.Tokens)).end()
	if err := w.insertChunks(ctx, it.ID, ni.Chunks); err != nil {
		return nil, err
	}
	w.items++
	w.bytes += int64(len(ni.Content))
	return it, nil
}

func (w *chunkWriter) insertChunks(ctx context.Context, itemID string, chunks []ragd.Chunk) error {
	for _, ch := range chunks {
		if len(ch.Vector) != w.col.Dimensions {
			return &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "dimension_mismatch",
				Message: fmt.Sprintf("vector has %d dimensions but collection %s (model %s) stores %d",
					len(ch.Vector), w.col.ID, w.col.EmbeddingModel, w.col.Dimensions)}
		}
		blob := vecmath.Bytes(ch.Vector) // no copy: written before the chunk's caller returns
		var staged []byte
		if w.publish {
			w.vectors = append(w.vectors, blob)
		} else {
			staged = blob
		}
		w.chunkRows.text(w.col.ID).text(itemID).int(int64(ch.Index)).text(ch.Content).int(int64(ch.Tokens)).int(int64(ch.Page)).
			text(ch.Section).int(int64(ch.Start)).int(int64(ch.End)).blob(staged).end()
		w.chunks++
		w.tokens += ch.Tokens
	}
	return nil
}

// insertMetaValues writes the meta_values rows (migration 120) of the
// items whose seqs lie between its two arguments, as the trigger that did
// so before migration 150 did: a row for each top-level key of metadata
// that is a JSON object. OR ROLLBACK (no row can fail: every column comes
// from a NOT NULL one) spares SQLite the statement journal that an abort
// would need, a copy of every page the statement changes.
const insertMetaValues = `INSERT OR ROLLBACK INTO meta_values (collection_id, key, value, item_seq)
	SELECT i.collection_id, j.key, j.value, i.seq FROM items i, json_each(i.metadata) j
	WHERE i.seq BETWEEN ? AND ? AND CASE WHEN json_valid(i.metadata) THEN json_type(i.metadata) END = 'object'`

// flush writes the rows gathered since the last flush: items first, which
// their chunks reference, and their meta_values rows, then the chunks;
// items' seqs and chunks' IDs are consecutive (one INSERT of the writer's
// only connection, into a table of AUTOINCREMENT IDs), so that the last
// one gives them all; published chunks' vectors go to the vector writer
// with their IDs.
func (w *chunkWriter) flush(ctx context.Context) error {
	if w.itemRows.rows > 0 {
		first, last, err := w.itemRows.insertRange(ctx, w.tx)
		if err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(ctx, insertMetaValues, first, last); err != nil {
			return err
		}
	}
	if w.chunkRows.rows == 0 {
		return nil
	}
	first, last, err := w.chunkRows.insertRange(ctx, w.tx)
	if err != nil {
		return err
	}
	if !w.publish {
		return nil
	}
	for i, vec := range w.vectors {
		if err := w.vecs.add(first+int64(i), vec); err != nil {
			return err
		}
	}
	w.vectors = w.vectors[:0]
	if w.firstID == 0 {
		w.firstID = first
	}
	w.lastID = last
	return nil
}

// addCounts writes the published chunks' vectors, indexes them for
// keywords and adds what the writer inserted to the collection's counters,
// which were updated at at.
func (w *chunkWriter) addCounts(at int64) error {
	if err := w.flush(context.Background()); err != nil {
		return err
	}
	if w.vecs != nil {
		if err := w.vecs.close(); err != nil {
			return err
		}
	}
	if w.firstID != 0 {
		if err := w.indexKeywords(context.Background()); err != nil {
			return err
		}
	}
	_, err := w.tx.Exec(`UPDATE collections SET item_count = item_count + ?, chunk_count = chunk_count + ?,
		bytes = bytes + ?, updated = ? WHERE id = ?`,
		w.items, w.chunks, w.bytes, at, w.col.ID)
	return err
}

// indexKeywords indexes the published chunks for keywords: with their
// terms, tokenized before, when it has them, else from their text
// (indexKeywords).
func (w *chunkWriter) indexKeywords(ctx context.Context) error {
	terms := w.terms
	if terms == nil {
		return indexKeywords(ctx, w.tx, w.seq, `id BETWEEN ? AND ?`, w.firstID, w.lastID)
	}
	if int64(len(terms)) != w.lastID-w.firstID+1 {
		return fmt.Errorf("store: terms given for %d chunks, %d written", len(terms), w.lastID-w.firstID+1)
	}
	var rows rowsBuf
	rows.into("fts_chunks", "rowid, content")
	defer rows.release()
	prefix := scopedfts.Tokenized(w.seq)
	for i, t := range terms {
		rows.int(w.firstID+int64(i)).textOf(prefix, t).end()
	}
	if _, err := rows.insert(ctx, w.tx); err != nil {
		return err
	}
	return keywordRowsAdded(ctx, w.tx, w.seq, `id BETWEEN ? AND ?`, w.firstID, w.lastID)
}

// Item returns item itemID of collection colID in workspace ws.
func (s *Store) Item(ctx context.Context, ws, colID, itemID string) (*ragd.Item, error) {
	c, err := s.Collection(ctx, ws, colID)
	if err != nil {
		return nil, err
	}
	it, err := s.scanItem(s.db.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM items WHERE id = ? AND collection_id = ? AND `+itemVisible, itemID, c.ID))
	if err == sql.ErrNoRows {
		return nil, notFound("item", itemID)
	}
	return it, err
}

// Items lists the items of collection colID in workspace ws in creation
// order, and whether more follow.
func (s *Store) Items(ctx context.Context, ws, colID string, p ragd.Page) ([]*ragd.Item, bool, error) {
	c, err := s.Collection(ctx, ws, colID)
	if err != nil {
		return nil, false, err
	}
	after, err := s.afterSeq(ctx, "items", "collection_id = ?", p.After, c.ID)
	if err != nil {
		return nil, false, err
	}
	return listPage(ctx, s, p.Limit, s.scanItem,
		`SELECT `+itemColumns+` FROM items WHERE collection_id = ? AND seq > ? AND `+itemVisible+` ORDER BY seq LIMIT ?`, c.ID, after, p.Limit+1)
}

// UpdateItem applies u to item itemID; new content replaces the item's
// chunks, vectors and keyword entries in the same transaction. u.At must
// be set.
func (s *Store) UpdateItem(ctx context.Context, ws, colID, itemID string, u ragd.ItemUpdate) (*ragd.Item, error) {
	if err := explicit("item update", itemID, u.At); err != nil {
		return nil, err
	}
	var out *ragd.Item
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, seq, err := s.collection(ctx, tx, ws, colID)
		if err != nil {
			return err
		}
		it, err := s.scanItem(tx.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM items WHERE id = ? AND collection_id = ?`, itemID, c.ID))
		if err == sql.ErrNoRows {
			return notFound("item", itemID)
		}
		if err != nil {
			return err
		}
		if u.Description != nil {
			it.Description = *u.Description
		}
		if u.Metadata != nil {
			it.Metadata = u.Metadata
		}
		w := s.newChunkWriter(tx, c, seq, true)
		defer w.close()
		if u.Content != nil {
			removed, err := deleteItemChunks(ctx, tx, seq, itemID)
			if err != nil {
				return err
			}
			w.chunks -= removed
			w.bytes += int64(len(*u.Content) - len(it.Content))
			it.Content = *u.Content
			if err := w.insertChunks(ctx, itemID, u.Chunks); err != nil {
				return err
			}
			it.ChunkCount, it.Tokens = len(u.Chunks), 0
			for _, ch := range u.Chunks {
				it.Tokens += ch.Tokens
			}
		}
		meta, err := encodeMetadata(it.Metadata)
		if err != nil {
			return err
		}
		it.Updated = u.At
		if _, err := tx.Exec(`UPDATE items SET description = ?, metadata = ?, content = ?, chunk_count = ?, tokens = ?, updated = ? WHERE id = ?`,
			it.Description, meta, it.Content, it.ChunkCount, it.Tokens, it.Updated, it.ID); err != nil {
			return err
		}
		out = it
		return w.addCounts(u.At)
	})
	return out, err
}

// DeleteItem removes item itemID with its chunks, vectors and keyword
// entries; its collection was updated at at.
func (s *Store) DeleteItem(ctx context.Context, ws, colID, itemID string, at int64) error {
	if err := explicit("item deletion", itemID, at); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		c, seq, err := s.collection(ctx, tx, ws, colID)
		if err != nil {
			return err
		}
		var contentLen int64
		var tokens int
		var fileID, fileStatus sql.NullString
		err = tx.QueryRow(`SELECT length(CAST(i.content AS BLOB)), i.tokens, i.file_id, f.status FROM items i LEFT JOIN files f ON f.id = i.file_id
			WHERE i.id = ? AND i.collection_id = ?`, itemID, c.ID).Scan(&contentLen, &tokens, &fileID, &fileStatus)
		if err == sql.ErrNoRows {
			return notFound("item", itemID)
		}
		if err != nil {
			return err
		}
		if fileID.Valid && fileStatus.String != ragd.FileCompleted {
			// Staged by an ingest still running: not yet an item (Item
			// does not find it either), nor in the collection's counts.
			return notFound("item", itemID)
		}
		removed, err := deleteItemChunks(ctx, tx, seq, itemID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM items WHERE id = ?`, itemID); err != nil {
			return err
		}
		if fileID.Valid {
			// The file shows what is left of it, and uploading its bytes
			// again ingests it again (CreateFile).
			if _, err := tx.Exec(`UPDATE files SET items = items - 1, chunks = chunks - ?, tokens = tokens - ?, items_deleted = items_deleted + 1
				WHERE id = ?`, removed, tokens, fileID.String); err != nil {
				return err
			}
		}
		_, err = tx.Exec(`UPDATE collections SET item_count = item_count - 1, chunk_count = chunk_count - ?, bytes = bytes - ?, updated = ? WHERE id = ?`,
			removed, contentLen, at, c.ID)
		return err
	})
}

// deleteItemChunks removes the chunks of one item from the chunk, vector
// and keyword tables and returns how many there were.
func deleteItemChunks(ctx context.Context, tx *sql.Tx, seq int64, itemID string) (int, error) {
	if err := unindexChunks(ctx, tx, seq, `SELECT id FROM chunks WHERE item_id = ?`, itemID); err != nil {
		return 0, err
	}
	res, err := tx.Exec(`DELETE FROM chunks WHERE item_id = ?`, itemID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
