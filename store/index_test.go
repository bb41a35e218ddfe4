package store_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the driver "sqlite3", to read the store's file beside it

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// openRaw opens the database of st on a connection of its own, beside the
// store's, for what no store method shows.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// undoMigration makes the closed database at path one that migration
// version has not reached: it runs the statements undoing it and forgets
// it was applied, so the next Open applies it to data today's code wrote
// (which writes the tables of every migration).
func undoMigration(t *testing.T, path, version string, undo ...string) {
	t.Helper()
	raw := openRaw(t, path)
	defer raw.Close()
	for _, q := range append(undo, `DELETE FROM schema_migrations WHERE version LIKE '`+version+`%'`) {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// wordsText is a random text over a small vocabulary, so that terms repeat
// across chunks and collections with different frequencies.
func wordsText(r *rand.Rand, n int) string {
	vocab := strings.Fields(`apple banana cherry delta echo foxtrot golf hotel india juliet kilo lima
		mike november oscar papa quebec romeo sierra tango running runner runs jumped jumping`)
	words := make([]string, n)
	for i := range words {
		// Skewed: low indexes are common, high ones rare.
		words[i] = vocab[min(int(r.ExpFloat64()*6), len(vocab)-1)]
	}
	return strings.Join(words, " ")
}

// Creating and deleting collections, with items, leaves SQLite's schema as
// it was once a collection of the same dimensions exists, and a deleted
// collection leaves nothing behind in the shared tables.
func TestSchemaDoesNotGrowWithCollections(t *testing.T) {
	s, ctx := storetest.MustOpen(t), context.Background()
	raw := openRaw(t, s.Path())
	mustCollection(t, s, "ws", "first")
	schema := count(t, raw, `SELECT count(*) FROM sqlite_schema`)
	r := rand.New(rand.NewPCG(1, 2))
	var cols []*ragd.Collection
	for i := range 12 {
		c := mustCollection(t, s, fmt.Sprintf("ws%d", i%3), fmt.Sprintf("c%d", i))
		var nis []ragd.NewItem
		for range 30 {
			nis = append(nis, newItem(t, wordsText(r, 20), nil))
		}
		if _, err := s.InsertItems(ctx, c.Workspace, c.ID, storetest.Stamp(nis)); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	for _, c := range cols[:6] {
		if _, _, err := s.DeleteCollection(ctx, c.Workspace, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(t, raw, `SELECT count(*) FROM sqlite_schema`); got != schema {
		t.Errorf("sqlite_schema has %d rows after creating 12 collections and deleting 6, want %d as before", got, schema)
	}
	var seqs []int64
	rows, err := raw.Query(`SELECT DISTINCT partition00 FROM vec_d64_chunks ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	if len(seqs) != 6 {
		t.Errorf("vector chunks of %d collections remain (%v), want the 6 live ones", len(seqs), seqs)
	}
	for _, q := range []struct{ what, query string }{
		{"vector rowids", `SELECT count(*) FROM vec_d64_rowids`},
		{"keyword rows", `SELECT count(*) FROM fts_chunks_docsize`},
	} {
		if got := count(t, raw, q.query); got != 6*30 {
			t.Errorf("%d %s remain, want the 180 of the 6 live collections", got, q.what)
		}
	}
	if _, err := raw.Exec(`INSERT INTO fts_chunks (fts_chunks) VALUES ('integrity-check')`); err != nil {
		t.Errorf("FTS5 integrity-check: %v", err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
	// The live collections still find their own chunks, and only those.
	for _, c := range cols[6:] {
		res, err := s.Search(ctx, c.Workspace, c.ID, ragd.SearchQuery{Text: "apple", Vector: query(t, "apple"), Mode: ragd.ModeHybrid, TopK: 50})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 {
			t.Errorf("collection %s finds nothing for a common word", c.Name)
		}
		for _, r := range res {
			if n := count(t, raw, `SELECT count(*) FROM chunks WHERE id = ? AND collection_id = ?`, strings.TrimPrefix(r.ID, "chunk_"), c.ID); n != 1 {
				t.Fatalf("collection %s found %s, a chunk of another collection", c.Name, r.ID)
			}
		}
	}
}

// ownTableRanking ranks the texts by FTS5's own bm25() in a table of their
// own, as each collection's table did before the tables were shared: the
// oracle of keyword ranking.
func ownTableRanking(t *testing.T, texts map[int64]string, match string) []ragd.SearchResult {
	t.Helper()
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE VIRTUAL TABLE own USING fts5(content, content='', contentless_delete=1, tokenize='porter unicode61 remove_diacritics 2')`); err != nil {
		t.Fatal(err)
	}
	for id, text := range texts {
		if _, err := db.Exec(`INSERT INTO own (rowid, content) VALUES (?, ?)`, id, text); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Query(`SELECT rowid, bm25(own) FROM own WHERE own MATCH ? ORDER BY bm25(own), rowid LIMIT 10`, match)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []ragd.SearchResult
	for rows.Next() {
		var id int64
		var b float64
		if err := rows.Scan(&id, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, ragd.SearchResult{ID: fmt.Sprintf("chunk_%d", id), Score: -b})
	}
	return out
}

// liveTexts returns the keyword text of every chunk of collection colID.
func liveTexts(t *testing.T, raw *sql.DB, colID string) map[int64]string {
	t.Helper()
	rows, err := raw.Query(`SELECT id, iif(section = '', content, section || char(10) || char(10) || content) FROM chunks WHERE collection_id = ?`, colID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	texts := map[int64]string{}
	for rows.Next() {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			t.Fatal(err)
		}
		texts[id] = text
	}
	return texts
}

// sameRanking fails t unless got and want hold the same chunks in the
// same order with the same scores (to rounding).
func sameRanking(t *testing.T, what string, got, want []ragd.SearchResult) {
	t.Helper()
	ids := func(rs []ragd.SearchResult) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("%s: ranking %v, want %v as in a table of the collection's own", what, ids(got), ids(want))
	}
	for i := range got {
		if math.Abs(got[i].Score-want[i].Score) > 1e-9*math.Max(1, math.Abs(want[i].Score)) {
			t.Fatalf("%s: %s scores %v, want %v", what, got[i].ID, got[i].Score, want[i].Score)
		}
	}
}

// Keyword search of one collection in the shared table ranks and scores
// exactly as FTS5's bm25() in a table holding that collection alone, after
// inserts, content updates and deletes in it and in other collections.
func TestKeywordRankingIsPerCollection(t *testing.T) {
	s, ctx := storetest.MustOpen(t), context.Background()
	raw := openRaw(t, s.Path())
	r := rand.New(rand.NewPCG(3, 4))
	var cols []*ragd.Collection
	for i, size := range []int{40, 200, 7} {
		c := mustCollection(t, s, "ws", fmt.Sprintf("c%d", i))
		var nis []ragd.NewItem
		for range size {
			nis = append(nis, newItem(t, wordsText(r, 5+r.IntN(40)), nil))
		}
		items, err := s.InsertItems(ctx, "ws", c.ID, storetest.Stamp(nis))
		if err != nil {
			t.Fatal(err)
		}
		for j, it := range items {
			switch j % 5 {
			case 1:
				if err := s.DeleteItem(ctx, "ws", c.ID, it.ID, storetest.At); err != nil {
					t.Fatal(err)
				}
			case 2:
				text := wordsText(r, 30)
				ni := newItem(t, text, nil)
				if _, err := s.UpdateItem(ctx, "ws", c.ID, it.ID, ragd.ItemUpdate{Content: &text, Chunks: ni.Chunks, At: storetest.At}); err != nil {
					t.Fatal(err)
				}
			}
		}
		cols = append(cols, c)
	}
	for _, c := range cols {
		texts := liveTexts(t, raw, c.ID)
		for q := range 25 {
			words := strings.Fields(wordsText(r, 1+r.IntN(3)))
			got, err := s.Search(ctx, "ws", c.ID, ragd.SearchQuery{Text: strings.Join(words, " "), Mode: ragd.ModeKeyword, TopK: 10})
			if err != nil {
				t.Fatal(err)
			}
			var phrases []string
			for _, w := range words {
				phrases = append(phrases, `"`+w+`"`)
			}
			sameRanking(t, fmt.Sprintf("%s query %d %q", c.Name, q, words), got, ownTableRanking(t, texts, strings.Join(slices.Compact(slices.Sorted(slices.Values(phrases))), " OR ")))
		}
	}
}

// A database of an older ragd, with a vector and a keyword table per
// collection, opens with every collection's entries moved into the shared
// tables and its own tables dropped; searches find what they found before.
func TestMigrateCollectionTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	old, err := store.Open(path, store.MigrationsBefore("090"))
	if err != nil {
		t.Fatal(err)
	}
	raw := openRaw(t, path)
	r := rand.New(rand.NewPCG(5, 6))
	type oldCol struct {
		c     *ragd.Collection
		texts map[int64]string
		vecs  map[int64][]float32
	}
	var cols []oldCol
	for i := range 3 {
		// The rows an older ragd wrote, by hand: today's CreateCollection
		// writes columns the older schema lacks.
		c := &ragd.Collection{ID: ragd.NewID("col"), Workspace: "ws", Name: fmt.Sprintf("old%d", i)}
		if _, err := raw.Exec(`INSERT OR IGNORE INTO workspaces (name, created) VALUES ('ws', ?)`, storetest.At); err != nil {
			t.Fatal(err)
		}
		res, err := raw.Exec(`INSERT INTO collections (id, workspace, name, created, updated, embedding_model, dimensions, max_tokens, overlap_tokens)
			VALUES (?, 'ws', ?, ?, ?, 'none', 8, 100, 0)`, c.ID, c.Name, storetest.At, storetest.At)
		if err != nil {
			t.Fatal(err)
		}
		seq, _ := res.LastInsertId()
		for _, q := range []string{
			`CREATE VIRTUAL TABLE vec_c%d USING vec0(embedding float[8])`,
			`CREATE VIRTUAL TABLE fts_c%d USING fts5(content, content='', contentless_delete=1, tokenize='porter unicode61 remove_diacritics 2')`,
		} {
			if _, err := raw.Exec(fmt.Sprintf(q, seq)); err != nil {
				t.Fatal(err)
			}
		}
		oc := oldCol{c: c, texts: map[int64]string{}, vecs: map[int64][]float32{}}
		for j := range 30 {
			itemID, text := ragd.NewID("item"), wordsText(r, 10+r.IntN(20))
			if _, err := raw.Exec(`INSERT INTO items (id, collection_id, created, updated, content, chunk_count) VALUES (?, ?, ?, ?, ?, 1)`,
				itemID, c.ID, storetest.At, storetest.At, text); err != nil {
				t.Fatal(err)
			}
			res, err := raw.Exec(`INSERT INTO chunks (collection_id, item_id, idx, content, tokens) VALUES (?, ?, 0, ?, 10)`, c.ID, itemID, text)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.LastInsertId()
			if j%7 == 3 {
				continue // staged by an ingest: in chunks, not yet in the search tables
			}
			v := make([]float32, 8)
			var norm float64
			for k := range v {
				v[k] = float32(r.NormFloat64())
				norm += float64(v[k] * v[k])
			}
			for k := range v {
				v[k] /= float32(math.Sqrt(norm))
			}
			if _, err := raw.Exec(fmt.Sprintf(`INSERT INTO vec_c%d (rowid, embedding) VALUES (?, ?)`, seq), id, sqliteVector(v)); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(fmt.Sprintf(`INSERT INTO fts_c%d (rowid, content) VALUES (?, ?)`, seq), id, text); err != nil {
				t.Fatal(err)
			}
			oc.texts[id], oc.vecs[id] = text, v
		}
		if _, err := raw.Exec(`UPDATE collections SET item_count = 30, chunk_count = 30 WHERE id = ?`, c.ID); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, oc)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	s := storetest.MustOpenIn(t, filepath.Dir(path))
	if n := count(t, raw, `SELECT count(*) FROM sqlite_schema WHERE name GLOB 'vec_c[0-9]*' OR name GLOB 'fts_c[0-9]*'`); n != 0 {
		t.Errorf("%d schema rows of per-collection tables remain after the migration", n)
	}
	for _, oc := range cols {
		for q := range 10 {
			words := strings.Fields(wordsText(r, 1+r.IntN(2)))
			got, err := s.Search(ctx, "ws", oc.c.ID, ragd.SearchQuery{Text: strings.Join(words, " "), Mode: ragd.ModeKeyword, TopK: 10})
			if err != nil {
				t.Fatal(err)
			}
			var phrases []string
			for _, w := range words {
				phrases = append(phrases, `"`+w+`"`)
			}
			sameRanking(t, fmt.Sprintf("%s query %d", oc.c.Name, q), got, ownTableRanking(t, oc.texts, strings.Join(slices.Compact(slices.Sorted(slices.Values(phrases))), " OR ")))
		}
		for id, v := range oc.vecs {
			got, err := s.Search(ctx, "ws", oc.c.ID, ragd.SearchQuery{Vector: v, Mode: ragd.ModeVector, TopK: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ID != fmt.Sprintf("chunk_%d", id) {
				t.Fatalf("%s: vector search for chunk_%d's own vector found %+v", oc.c.Name, id, got)
			}
		}
	}
}

// sqliteVector is v as sqlite-vec's float32 blob.
func sqliteVector(v []float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// Collections created after others of the same dimensions were deleted
// store and find their vectors: deleting a collection's vector chunks must
// not break how sqlite-vec adds new ones.
func TestCollectionsAfterDeletes(t *testing.T) {
	s, ctx := storetest.MustOpen(t), context.Background()
	for i := range 3 {
		c := mustCollection(t, s, "ws", "c")
		items, err := s.InsertItems(ctx, "ws", c.ID, storetest.Stamp([]ragd.NewItem{newItem(t, fmt.Sprintf("hello world %d", i), nil)}))
		if err != nil {
			t.Fatalf("insert into collection %d: %v", i, err)
		}
		for _, mode := range []string{ragd.ModeVector, ragd.ModeKeyword} {
			res, err := s.Search(ctx, "ws", c.ID, ragd.SearchQuery{Text: "hello", Vector: query(t, "hello"), Mode: mode, TopK: 3})
			if err != nil || len(res) != 1 || res[0].ItemID != items[0].ID {
				t.Fatalf("%s search of collection %d: %+v, %v; want its one item", mode, i, res, err)
			}
		}
		if _, _, err := s.DeleteCollection(ctx, "ws", c.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// The keyword table merges a level of segments once 16 have accumulated
// (migration 140), in a new database and in one from before it.
func TestKeywordIndexAutomerge(t *testing.T) {
	path := filepath.Join(t.TempDir(), store.FileName)
	automerge := func() int {
		t.Helper()
		var v int
		err := openRaw(t, path).QueryRow(`SELECT v FROM fts_chunks_config WHERE k = 'automerge'`).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return 4 // FTS5's default, unset
		}
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for i, opts := range [][]store.Option{{store.MigrationsBefore("140")}, nil} {
		s, err := store.Open(path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got, want := automerge(), []int{4, 16}[i]; got != want {
			t.Errorf("open %d: automerge %d, want %d", i, got, want)
		}
	}
}
