package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/store/scopedfts"
)

// A row given as its terms (scopedfts.Tokenized and DocumentTermsBatch, as
// bulk inserts write rows) is indexed exactly as the same text tokenized
// by FTS5: the same terms at the same positions and the same length, in
// collections whose seq has one digit or six (FTS5 cuts a long token
// with its scope prefix), for text of every kind.
func TestTermsIndexLikeText(t *testing.T) {
	registerDriver()
	db, err := sql.Open(driverName, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE VIRTUAL TABLE f USING fts5(content, content='', contentless_delete=1, tokenize='` + scopedfts.Tokenizer + `')`,
		`CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, f, instance)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	texts := []string{
		"The quick brown foxes were running, jumping and flying over lazy dogs' kennels.",
		"Crème brûlée, naïve café; Ærøskøbing. ΑΒΓ Straße Ǆ ǅ İstanbul",
		"日本語のテキストと中文文本 mixed with English words 42 3.14 1e10",
		"emoji 😀🎉 and symbols ©®™ — dashes – and … ellipses; don't can't won't",
		"",
		"   \t\n  ,.;: !!! ???",
		strings.Repeat("a", 40000) + " tail " + strings.Repeat("é", 20000),
		"Section heading\n\nand the passage below it, as keywordText joins them",
		"invalid \xff\xfe bytes \xc3 inside",
	}
	// The batch's terms, as bulk inserts tokenize them, are fts_terms'
	// of each text.
	var batch []byte
	for _, text := range texts {
		batch = scopedfts.AppendText(batch, text[:len(text)/2], text[len(text)/2:])
	}
	var all []byte
	if err := db.QueryRow(`SELECT `+scopedfts.DocumentTermsBatch("?"), batch).Scan(&all); err != nil {
		t.Fatal(err)
	}
	terms, err := scopedfts.SplitTerms(all, len(texts))
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		var one []byte
		if err := db.QueryRow(`SELECT fts_terms(?, 0)`, text).Scan(&one); err != nil || string(one) != string(terms[i]) {
			t.Fatalf("text %d: batch terms %.100q, fts_terms %.100q (%v)", i, terms[i], one, err)
		}
	}
	for _, seq := range []int64{7, 123456} {
		for i, text := range texts {
			asText, asTerms := int64(1000*seq+2*int64(i)), int64(1000*seq+2*int64(i)+1)
			if _, err := db.Exec(`INSERT INTO f (rowid, content) VALUES (?, `+scopedfts.Text("?", "?")+`)`, asText, seq, text); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO f (rowid, content) VALUES (?, ?)`, asTerms, scopedfts.Tokenized(seq)+string(terms[i])); err != nil {
				t.Fatalf("text %d as terms: %v", i, err)
			}
			want, got := instances(t, db, asText), instances(t, db, asTerms)
			if !slices.Equal(got, want) {
				t.Errorf("seq %d, text %d: indexed from its terms as %.200q, from its text as %.200q", seq, i, got, want)
			}
			if i != 4 && i != 5 && len(want) == 0 { // all but the empty text and the punctuation have words
				t.Errorf("seq %d, text %d: nothing indexed", seq, i)
			}
			var lenText, lenTerms []byte
			if err := db.QueryRow(`SELECT (SELECT sz FROM f_docsize WHERE id = ?), (SELECT sz FROM f_docsize WHERE id = ?)`, asText, asTerms).Scan(&lenText, &lenTerms); err != nil || !slices.Equal(lenText, lenTerms) {
				t.Errorf("seq %d, text %d: row length %x from text, %x from terms (%v)", seq, i, lenText, lenTerms, err)
			}
		}
	}
	// Only a row being indexed may come as terms: a query cannot.
	if _, err := db.Exec(`SELECT rowid FROM f WHERE f MATCH ?`, `"7`+"\x1e"+`quick"`); err == nil {
		t.Error("a query given as terms was run")
	}
	// A batch cut short is refused.
	if _, err := db.Exec(`SELECT `+scopedfts.DocumentTermsBatch("?"), batch[:len(batch)-1]); err == nil {
		t.Error("a batch cut short was tokenized")
	}
	// Terms not ended by a zero byte are not fts_terms' output.
	if _, err := db.Exec(`INSERT INTO f (rowid, content) VALUES (1, ?)`, scopedfts.Tokenized(7)+"quick"); err == nil {
		t.Error("an unended term was indexed")
	}
}

// instances returns the terms row id of f holds, with their positions.
func instances(t *testing.T, db *sql.DB, id int64) []string {
	t.Helper()
	rows, err := db.Query(`SELECT term, offset FROM v WHERE doc = ? ORDER BY offset, term`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var term string
		var off int
		if err := rows.Scan(&term, &off); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d:%s", off, term))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// InsertItems indexes the terms Store.keywordTerms gives, tokenized before
// its transaction, not its chunks' text again: a chunk given another
// chunk's terms is found by those. When they are not ready, the writer
// indexes the chunks' text.
func TestInsertIndexesGivenTerms(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	items := []ragd.NewItem{
		{Content: "apple", Chunks: []ragd.Chunk{{Content: "apple", Vector: []float32{1, 0}}}},
		{Content: "zebra", Chunks: []ragd.Chunk{{Content: "zebra", Section: "Stripes", Vector: []float32{0, 1}}}},
	}
	terms, err := s.keywordTerms(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(slices.Concat(terms...)); got != "appl\x00stripe\x00zebra\x00" {
		t.Fatalf("terms %q, want apple's stem, then the section's and zebra", got)
	}
	for _, tc := range []struct {
		name  string
		terms [][]byte
		found map[string]int // the item each word finds
	}{
		{"Swapped", [][]byte{terms[1], terms[0]}, map[string]int{"zebra": 0, "stripes": 0, "apple": 1}},
		{"NotReady", nil, map[string]int{"zebra": 1, "stripes": 1, "apple": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := &ragd.Collection{ID: ragd.NewID("col"), Workspace: ragd.DefaultWorkspace, Name: tc.name, Created: 1, EmbeddingModel: ragd.NoEmbeddingModel, Dimensions: 2}
			if err := s.CreateCollection(ctx, col); err != nil {
				t.Fatal(err)
			}
			var ids []string
			err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				c, seq, err := s.collection(ctx, tx, ragd.DefaultWorkspace, col.ID)
				if err != nil {
					return err
				}
				w := s.newChunkWriter(tx, c, seq, true)
				defer w.close()
				w.terms = tc.terms
				for _, ni := range items {
					ni.ID, ni.Created = ragd.NewID("item"), 1
					if _, err := w.insertItem(ctx, "", ni); err != nil {
						return err
					}
					ids = append(ids, ni.ID)
				}
				return w.addCounts(1)
			})
			if err != nil {
				t.Fatal(err)
			}
			for word, want := range tc.found {
				res, err := s.Search(ctx, ragd.DefaultWorkspace, col.ID, ragd.SearchQuery{Mode: ragd.ModeKeyword, Text: word, TopK: 5})
				if err != nil {
					t.Fatal(err)
				}
				if len(res) != 1 || res[0].ItemID != ids[want] {
					t.Errorf("%q found %+v, want only item %d", word, res, want)
				}
			}
		})
	}
}

// A bulk insert that finds the writer busy tokenizes its keywords while it
// waits, and indexes them as one that found it free: the same keyword
// statistics and the same ranking, chunks with sections and items of
// several chunks included.
func TestInsertWhileWriterBusy(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	words := strings.Fields("river stone bridge market lantern harbour orchard meadow quarry forest")
	items := make([]ragd.NewItem, 40)
	for i := range items {
		for j := range 1 + i%3 {
			ch := ragd.Chunk{Index: j, Content: fmt.Sprintf("%s %s %s", words[i%10], words[(i+j)%10], words[(3*i+j)%10]), Vector: []float32{1, float32(j)}}
			if j == 1 {
				ch.Section = "Heading " + words[(i+5)%10]
			}
			items[i].Chunks = append(items[i].Chunks, ch)
			items[i].Content += ch.Content + "\n"
		}
	}
	load := func(name string, busy bool) *ragd.Collection {
		col := &ragd.Collection{ID: ragd.NewID("col"), Workspace: ragd.DefaultWorkspace, Name: name, Created: 1, EmbeddingModel: ragd.NoEmbeddingModel, Dimensions: 2}
		if err := s.CreateCollection(ctx, col); err != nil {
			t.Fatal(err)
		}
		held, release := make(chan struct{}), make(chan struct{})
		if busy {
			go s.write(ctx, func(context.Context, *sql.Tx) error {
				close(held)
				<-release
				return nil
			})
			<-held
		}
		done := make(chan error, 1)
		go func() {
			batch := slices.Clone(items)
			for i := range batch {
				batch[i].ID, batch[i].Created = ragd.NewID("item"), 1
			}
			_, err := s.InsertItems(ctx, ragd.DefaultWorkspace, col.ID, batch)
			done <- err
		}()
		if busy {
			// The insert waits for the writer once it has tokenized.
			testwait.Until(t, 30*time.Second, func() bool { return s.writers.Load() == 2 }, "the insert never waited for the writer")
			close(release)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return col
	}
	free, busy := load("free", false), load("busy", true)
	stats := func(c *ragd.Collection) (rows, tokens int64) {
		if err := s.db.QueryRow(`SELECT keyword_rows, keyword_tokens FROM collections WHERE id = ?`, c.ID).Scan(&rows, &tokens); err != nil {
			t.Fatal(err)
		}
		return rows, tokens
	}
	if fr, ft := stats(free); fr == 0 {
		t.Fatal("no keyword rows counted")
	} else if br, bt := stats(busy); br != fr || bt != ft {
		t.Errorf("keyword rows and tokens %d, %d loaded beside a busy writer; %d, %d beside a free one", br, bt, fr, ft)
	}
	for _, q := range []string{"river", "heading market", "orchard stone quarry", "bridges"} {
		var ranked [2][]string
		for i, c := range []*ragd.Collection{free, busy} {
			res, err := s.Search(ctx, ragd.DefaultWorkspace, c.ID, ragd.SearchQuery{Mode: ragd.ModeKeyword, Text: q, TopK: 50})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				ranked[i] = append(ranked[i], fmt.Sprintf("%s %.9g", r.Content, r.Score))
			}
		}
		if len(ranked[0]) == 0 || !slices.Equal(ranked[0], ranked[1]) {
			t.Errorf("%q ranked %q beside a free writer, %q beside a busy one", q, ranked[0], ranked[1])
		}
	}
}
