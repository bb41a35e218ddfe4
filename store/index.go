package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/ragd/ragd/store/scopedfts"
)

// The search index of every collection lives in shared tables, so that
// creating or deleting a collection leaves SQLite's schema as it was: a
// table per collection made every connection re-read a schema of a dozen
// rows a collection after each change, in quadratic time, seconds at a
// thousand collections (docs/benchmarks.md, "Many collections").
//
//   - Vectors: one vec0 table per dimension count, vec_d<dims>, with the
//     collection's seq as its partition key, so sqlite-vec keeps each
//     collection's vectors in chunks of their own. An index on the
//     partition of its chunks table lets the vector cache (vecscan.go) and
//     sqlite-vec's KNN find a collection's chunks without reading the
//     others'.
//   - Keywords: one FTS5 table, fts_chunks, whose tokens are scoped by
//     collection (package scopedfts), ranked by bm25_scoped with the
//     collection's keyword_rows and keyword_tokens, kept here beside every
//     change of its keyword rows.

// vecTable returns the name of the vector table of dims dimensions.
func vecTable(dims int) string { return fmt.Sprintf("vec_d%d", dims) }

// ensureVecTable creates the vector table of dims dimensions unless it
// exists: the one schema change a collection can make, on the first
// collection of its dimension count.
func ensureVecTable(ctx context.Context, tx *sql.Tx, dims int) error {
	t := vecTable(dims)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = ?`, t).Scan(&n); err != nil || n > 0 {
		return err
	}
	// Unit vectors: L2 distance orders like cosine and uses sqlite-vec's
	// AVX kernel; cosine similarity = 1 - d^2/2.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE VIRTUAL TABLE %s USING vec0(collection integer partition key, embedding float[%d])`, t, dims)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE INDEX %[1]s_collection ON %[1]s_chunks(partition00, chunk_id)`, t))
	return err
}

// collectionDims returns the dimensions of collection seq.
func collectionDims(ctx context.Context, tx *sql.Tx, seq int64) (int, error) {
	var dims int
	err := tx.QueryRowContext(ctx, `SELECT dimensions FROM collections WHERE seq = ?`, seq).Scan(&dims)
	return dims, err
}

// indexKeywords adds the chunks of collection seq that where selects (a
// condition on a column id, with args) to the keyword table, and their
// rows and tokens to the collection's keyword statistics. Callers insert
// the chunks' vectors in the same transaction: the index_writes it
// increments versions both (vecscan.go, termcounts.go).
func indexKeywords(ctx context.Context, tx *sql.Tx, seq int64, where string, args ...any) error {
	if err := insertKeywordText(ctx, tx, seq, where, args...); err != nil {
		return err
	}
	return keywordRowsAdded(ctx, tx, seq, where, args...)
}

// keywordRowsAdded is the end of indexKeywords once the keyword rows of
// the chunks where selects are written, from their text or from terms
// tokenized before (chunkWriter.indexKeywords): their rows and tokens
// counted in the collection's statistics, their blocks' versions moved.
func keywordRowsAdded(ctx context.Context, tx *sql.Tx, seq int64, where string, args ...any) error {
	if err := countKeywordRows(ctx, tx, seq, where, args...); err != nil {
		return err
	}
	return touchKeywordBlocks(ctx, tx, seq, `SELECT id FROM chunks WHERE `+where, args...)
}

// addKeywordRows is indexKeywords without the blocks' versions, for
// migration 090, which runs before their table exists (migration 130
// fills it).
func addKeywordRows(ctx context.Context, tx *sql.Tx, seq int64, where string, args ...any) error {
	if err := insertKeywordText(ctx, tx, seq, where, args...); err != nil {
		return err
	}
	return countKeywordRows(ctx, tx, seq, where, args...)
}

// insertKeywordText writes the keyword rows of the chunks of collection
// seq that where selects, FTS5 tokenizing their text (keywordText).
func insertKeywordText(ctx context.Context, tx *sql.Tx, seq int64, where string, args ...any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO fts_chunks (rowid, content) SELECT id, `+scopedfts.Text("?", keywordText)+`
		FROM chunks WHERE `+where, append([]any{seq}, args...)...)
	return err
}

// countKeywordRows adds the keyword rows of collection seq's chunks that
// match where (with args), just indexed, to its keyword statistics.
func countKeywordRows(ctx context.Context, tx *sql.Tx, seq int64, where string, args ...any) error {
	_, err := tx.ExecContext(ctx, `UPDATE collections SET keyword_rows = keyword_rows + d.n, keyword_tokens = keyword_tokens + d.t,
		index_writes = index_writes + 1
		FROM (SELECT count(*) AS n, coalesce(sum(fts_doclen(sz)), 0) AS t FROM fts_chunks_docsize WHERE `+where+`) AS d
		WHERE seq = ?`, append(args, seq)...)
	return err
}

// unindexChunks removes the chunks whose IDs query selects (with args, as
// a column "id") from the vector and keyword tables, and from the keyword
// statistics of collection seq, one rowid at a time: given rowid IN
// (SELECT ...), sqlite-vec scans its whole table, 45-77 ms per deleted
// item at 100k chunks. Chunks not indexed (staged by an ingest) are
// skipped.
func unindexChunks(ctx context.Context, tx *sql.Tx, seq int64, query string, args ...any) error {
	ids, err := queryIDs(ctx, tx, query, args...)
	if err != nil || len(ids) == 0 {
		return err
	}
	dims, err := collectionDims(ctx, tx, seq)
	if err != nil {
		return err
	}
	lens, err := tx.PrepareContext(ctx, `SELECT fts_doclen(sz) FROM fts_chunks_docsize WHERE id = ?`)
	if err != nil {
		return err
	}
	defer lens.Close()
	var rows, tokens int64
	for _, id := range ids {
		var n int64
		switch err := lens.QueryRowContext(ctx, id).Scan(&n); err {
		case nil:
			rows, tokens = rows+1, tokens+n
		case sql.ErrNoRows:
		default:
			return err
		}
	}
	for _, table := range []string{"fts_chunks", vecTable(dims)} {
		if err := deleteRowids(ctx, tx, table, ids); err != nil {
			return err
		}
	}
	if _, err = tx.ExecContext(ctx, `UPDATE collections SET keyword_rows = keyword_rows - ?, keyword_tokens = keyword_tokens - ?,
		index_writes = index_writes + 1 WHERE seq = ?`, rows, tokens, seq); err != nil {
		return err
	}
	return touchKeywordBlocks(ctx, tx, seq, `SELECT value AS id FROM json_each(?)`, jsonIDs(ids))
}

// touchKeywordBlocks sets the version of the keyword blocks of collection
// seq holding the chunk IDs query selects (with args, as a column "id")
// to the collection's index_writes, which the caller has just
// incremented: the keyword cache rebuilds those blocks (keywords.go).
func touchKeywordBlocks(ctx context.Context, tx *sql.Tx, seq int64, query string, args ...any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO keyword_blocks (collection_seq, block, version)
		SELECT ?, id >> `+strconv.Itoa(kwBlockShift)+`, (SELECT index_writes FROM collections WHERE seq = ?) FROM (`+query+`) WHERE true GROUP BY 2
		ON CONFLICT DO UPDATE SET version = excluded.version`, append([]any{seq, seq}, args...)...)
	return err
}

// dropCollectionIndex removes every search entry of collection seq, whose
// ID is colID, before its chunks are deleted. Its keyword rows go one by
// one (FTS5 has no bulk delete); its vectors go with sqlite-vec's chunks
// of its partition, whole, and their rowid entries, instead of sqlite-vec
// clearing a slot per vector. Each chunk leaves a row of a few bytes.
func dropCollectionIndex(ctx context.Context, tx *sql.Tx, seq int64, colID string) error {
	dims, err := collectionDims(ctx, tx, seq)
	if err != nil {
		return err
	}
	ids, err := queryIDs(ctx, tx, `SELECT id FROM chunks WHERE collection_id = ?`, colID)
	if err != nil {
		return err
	}
	if err := deleteRowids(ctx, tx, "fts_chunks", ids); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM keyword_blocks WHERE collection_seq = ?`, seq); err != nil {
		return err
	}
	t := vecTable(dims)
	for _, d := range []struct {
		query string
		arg   any
	}{
		{`DELETE FROM ` + t + `_rowids WHERE rowid IN (SELECT id FROM chunks WHERE collection_id = ?)`, colID},
		// Emptied, not deleted: sqlite-vec writes a new chunk's vectors
		// through the row's internal rowid, which equals the chunk's ID only
		// while no row of this table was ever deleted (its "rowid" is a
		// column of its own, not an alias of the internal rowid).
		{`UPDATE ` + t + `_vector_chunks00 SET vectors = X'' WHERE rowid IN (SELECT chunk_id FROM ` + t + `_chunks WHERE partition00 = ?)`, seq},
		{`DELETE FROM ` + t + `_chunks WHERE partition00 = ?`, seq},
	} {
		if _, err := tx.ExecContext(ctx, d.query, d.arg); err != nil {
			return err
		}
	}
	return nil
}

// deleteRowids deletes the rows of table with the given rowids.
func deleteRowids(ctx context.Context, tx *sql.Tx, table string, ids []int64) error {
	st, err := tx.PrepareContext(ctx, `DELETE FROM `+table+` WHERE rowid = ?`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, id := range ids {
		if _, err := st.ExecContext(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// moveCollectionTables moves each collection's search entries from the
// tables of its own (vec_c<seq>, fts_c<seq>) of a database older than
// migration 090 into the shared tables, and drops its tables. Keyword
// rows are indexed again from the chunks: the old tables kept no text.
func moveCollectionTables(ctx context.Context, tx *sql.Tx) error {
	type col struct {
		seq  int64
		dims int
	}
	cols, err := queryAll(ctx, tx, func(r rowScanner) (c col, err error) {
		err = r.Scan(&c.seq, &c.dims)
		return c, err
	}, `SELECT seq, dimensions FROM collections c WHERE EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'fts_c' || c.seq)`)
	if err != nil {
		return err
	}
	for _, c := range cols {
		if err := ensureVecTable(ctx, tx, c.dims); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`INSERT INTO %s (rowid, collection, embedding) SELECT rowid, ?, embedding FROM vec_c%d`,
			vecTable(c.dims), c.seq), c.seq); err != nil {
			return err
		}
		if err := addKeywordRows(ctx, tx, c.seq, fmt.Sprintf(`id IN (SELECT id FROM fts_c%d_docsize)`, c.seq)); err != nil {
			return err
		}
		for _, t := range []string{"vec_c%d", "fts_c%d"} {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DROP TABLE `+t, c.seq)); err != nil {
				return err
			}
		}
	}
	return nil
}
