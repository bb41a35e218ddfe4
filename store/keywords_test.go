package store_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// keywordVocab is a skewed vocabulary: a few words in most rows, most in
// few, with inflections porter folds together, capitals and diacritics.
func keywordVocab() []string {
	v := strings.Fields("river running runs runner ran bank banks banking Café cafe naïve naive école school schools")
	for i := range 400 {
		v = append(v, fmt.Sprintf("w%03dx", i))
	}
	return v
}

// keywordStore opens a store whose searches rebuild at most syncBlocks
// stale keyword blocks themselves, with a random source of seed and the
// vocabulary.
func keywordStore(t *testing.T, seed uint64, syncBlocks int) (*store.Store, *rand.Rand, []string) {
	s := storetest.MustOpen(t)
	s.SetKeywordSyncBlocks(syncBlocks)
	return s, rand.New(rand.NewPCG(seed, seed+1)), keywordVocab()
}

// skewedText returns n words of vocab, the first ones far more often.
func skewedText(r *rand.Rand, vocab []string, n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = vocab[int(math.Pow(float64(len(vocab)), r.Float64()))-1]
	}
	return strings.Join(words, " ")
}

// keywordCorpus inserts items of skewed text into the collections, a
// batch into each in turn, so that their chunk IDs interleave and each
// keyword block holds rows of all of them.
func keywordCorpus(t *testing.T, s *store.Store, r *rand.Rand, vocab []string, cols []*ragd.Collection, rounds, batch int) map[string][]*ragd.Item {
	t.Helper()
	items := map[string][]*ragd.Item{}
	for range rounds {
		for _, c := range cols {
			var nis []ragd.NewItem
			for range batch {
				nis = append(nis, newItem(t, skewedText(r, vocab, 3+r.IntN(60)), nil))
			}
			its, err := s.InsertItems(context.Background(), "ws", c.ID, storetest.Stamp(nis))
			if err != nil {
				t.Fatal(err)
			}
			items[c.ID] = append(items[c.ID], its...)
		}
	}
	return items
}

// equalRanked fails t unless got equals want: the same chunks in the same
// order with the same scores, to the bit.
func equalRanked(t *testing.T, what string, got, want store.Ranked) {
	t.Helper()
	if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Scores, want.Scores) {
		t.Fatalf("%s:\ncache %v %v\nFTS5  %v %v", what, got.IDs, got.Scores, want.IDs, want.Scores)
	}
}

// The keyword cache ranks exactly as FTS5's BM25 over every query term,
// to the bit, on random queries with and without filters, in collections
// sharing their blocks, and again after deletes, content changes and
// inserts, each a new version of a few blocks.
func TestKeywordCacheMatchesFTS5(t *testing.T) {
	s, r, vocab := keywordStore(t, 11, 1<<20)
	ctx := context.Background()
	cols := []*ragd.Collection{mustCollection(t, s, "ws", "a"), mustCollection(t, s, "ws", "b"), mustCollection(t, s, "ws", "c")}
	items := keywordCorpus(t, s, r, vocab, cols, 12, 300) // 10,800 rows, 3 blocks
	check := func(stage string) {
		t.Helper()
		for q := range 60 {
			c := cols[q%len(cols)]
			text := skewedText(r, vocab, 1+r.IntN(6))
			if q%7 == 0 {
				text += " unknownword"
			}
			k := []int{1, 10, 50}[q%3]
			var allowed []int64
			if q%4 == 3 {
				all, err := s.FTS5Keyword(ctx, "ws", c.ID, text, 1<<20, nil)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range all.IDs {
					if r.IntN(5) == 0 {
						allowed = append(allowed, id)
					}
				}
				slices.Sort(allowed)
				allowed = append(allowed, 1<<40) // past every block
			}
			got, ok, err := s.CachedKeyword(ctx, "ws", c.ID, text, k, allowed)
			if err != nil || !ok {
				t.Fatalf("%s: cache answered %v, %v", stage, ok, err)
			}
			want, err := s.FTS5Keyword(ctx, "ws", c.ID, text, k, allowed)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.IDs) == 0 && !strings.Contains(text, "unknownword") {
				t.Fatalf("%s: %q found nothing", stage, text)
			}
			equalRanked(t, fmt.Sprintf("%s, %q top %d, filtered %v", stage, text, k, allowed != nil), got, want)
		}
	}
	check("fresh")

	a, b := items[cols[0].ID], items[cols[1].ID]
	for _, it := range a[:200] {
		if err := s.DeleteItem(ctx, "ws", cols[0].ID, it.ID, storetest.At); err != nil {
			t.Fatal(err)
		}
	}
	for _, it := range b[100:160] {
		text := skewedText(r, vocab, 20)
		ni := newItem(t, text, nil)
		if _, err := s.UpdateItem(ctx, "ws", cols[1].ID, it.ID, ragd.ItemUpdate{Content: &text, Chunks: ni.Chunks, At: storetest.At}); err != nil {
			t.Fatal(err)
		}
	}
	keywordCorpus(t, s, r, vocab, cols[2:], 2, 500)
	check("after writes")

	before := s.KeywordCacheBytes()
	if _, _, err := s.DeleteCollection(ctx, "ws", cols[2].ID); err != nil {
		t.Fatal(err)
	}
	if after := s.KeywordCacheBytes(); after >= before*3/4 {
		t.Fatalf("the cache holds %d bytes after a third of its rows were deleted, %d before", after, before)
	}
	cols = cols[:2]
	check("after a collection's deletion")
}

// The search API ranks keyword queries from the cache, best first, with
// FTS5's scores; a query whose words are all in half the rows or more
// adds no keyword ranking to hybrid search, as with FTS5.
func TestKeywordSearchUsesCache(t *testing.T) {
	s, r, vocab := keywordStore(t, 5, 1<<20)
	ctx := context.Background()
	c := mustCollection(t, s, "ws", "api")
	keywordCorpus(t, s, r, vocab, []*ragd.Collection{c}, 5, 500)
	for _, text := range []string{"river w200x", "bank naive", "w010x w399x school"} {
		want, err := s.FTS5Keyword(ctx, "ws", c.ID, text, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Search(ctx, "ws", c.ID, ragd.SearchQuery{Text: text, Mode: ragd.ModeKeyword, TopK: 10})
		if err != nil {
			t.Fatal(err)
		}
		var got store.Ranked
		for _, x := range res {
			var id int64
			fmt.Sscanf(x.ID, "chunk_%d", &id)
			got.IDs, got.Scores = append(got.IDs, id), append(got.Scores, -x.Score)
		}
		for i := range want.Scores {
			want.Scores[i] = -want.Scores[i]
		}
		equalRanked(t, text, got, want)
	}
	// "river" is the first word of the vocabulary: in most rows.
	res, err := s.Search(ctx, "ws", c.ID, ragd.SearchQuery{Text: "river", Vector: query(t, "river"), Mode: ragd.ModeHybrid, TopK: 5, Alpha: new(float64)})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range res {
		if x.Score != 0 {
			t.Fatalf("hybrid with only common words gave a keyword score: %+v", x)
		}
	}
}

// A collection with more stale blocks than a search rebuilds is ranked by
// FTS5 while the background builder fills the cache, which then answers
// with the same ranking; a budget too small for it leaves it to FTS5.
func TestKeywordCacheBuildsInBackground(t *testing.T) {
	s, r, vocab := keywordStore(t, 3, 0)
	ctx := context.Background()
	c := mustCollection(t, s, "ws", "bg")
	keywordCorpus(t, s, r, vocab, []*ragd.Collection{c}, 10, 600)
	text := "running banks w150x"
	want, err := s.FTS5Keyword(ctx, "ws", c.ID, text, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.CachedKeyword(ctx, "ws", c.ID, text, 10, nil); ok || err != nil {
		t.Fatalf("an unbuilt cache answered (%v)", err)
	}
	res, err := s.Search(ctx, "ws", c.ID, ragd.SearchQuery{Text: text, Mode: ragd.ModeKeyword, TopK: 10})
	if err != nil || len(res) != 10 {
		t.Fatalf("FTS5 meanwhile: %d results, %v", len(res), err)
	}
	var got store.Ranked
	testwait.Until(t, time.Minute, func() bool {
		var ok bool
		var err error
		if got, ok, err = s.CachedKeyword(ctx, "ws", c.ID, text, 10, nil); err != nil {
			t.Fatal(err)
		}
		return ok
	}, "the builder to fill the cache")
	equalRanked(t, text, got, want)
	// 6,000 rows of 33 words on average: a posting and a little more a
	// word. The builder charges a block just after it installs it, so the
	// count may trail the answer by a moment.
	testwait.Until(t, time.Minute, func() bool { return s.KeywordCacheBytes() >= 6000*33*4/2 },
		"the cache to count at least 396,000 bytes for its blocks")
	if n := s.KeywordCacheBytes(); n > 6000*33*12 {
		t.Fatalf("the cache counts %d bytes", n)
	}
	s.SetKeywordCacheBytes(1 << 10)
	if _, ok, err := s.CachedKeyword(ctx, "ws", c.ID, text, 10, nil); ok || err != nil {
		t.Fatalf("a cache of 1 KiB answered (%v)", err)
	}
	if n := s.KeywordCacheBytes(); n != 0 {
		t.Fatalf("a cache of 1 KiB holds %d bytes", n)
	}
}

// A database from before migration 130 has no keyword blocks; the
// migration writes them from the keyword rows, and the cache then ranks
// its collections as FTS5 does.
func TestMigrateKeywordBlocks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	old, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	vocab := keywordVocab()
	cols := []*ragd.Collection{mustCollection(t, old, "ws", "m1"), mustCollection(t, old, "ws", "m2")}
	keywordCorpus(t, old, r, vocab, cols, 4, 700)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	undoMigration(t, path, "130", `DROP TABLE keyword_blocks`)
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetKeywordSyncBlocks(1 << 20)
	for _, c := range cols {
		for range 10 {
			text := skewedText(r, vocab, 3)
			got, ok, err := s.CachedKeyword(ctx, "ws", c.ID, text, 10, nil)
			if err != nil || !ok {
				t.Fatalf("cache answered %v, %v", ok, err)
			}
			want, err := s.FTS5Keyword(ctx, "ws", c.ID, text, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			equalRanked(t, text, got, want)
		}
	}
}

// A collection whose postings turn out larger than the whole budget (its
// size estimate missed their dictionary) is left to FTS5 without evicting
// the others, and not built again until it changes; so is a collection
// holding a row of more than 65,535 tokens. FTS5 then ranks both.
func TestKeywordCacheRefuses(t *testing.T) {
	s, r, vocab := keywordStore(t, 21, 1<<20)
	ctx := context.Background()
	small, wide, long := mustCollection(t, s, "ws", "small"), mustCollection(t, s, "ws", "wide"), mustCollection(t, s, "ws", "long")
	keywordCorpus(t, s, r, vocab, []*ragd.Collection{small}, 1, 300)
	var nis []ragd.NewItem
	for i := range 2000 {
		words := make([]string, 10)
		for j := range words {
			words[j] = fmt.Sprintf("u%dx%d", i, j) // every word new: a dictionary entry a token
		}
		nis = append(nis, newItem(t, strings.Join(words, " "), nil))
	}
	if _, err := s.InsertItems(ctx, "ws", wide.ID, storetest.Stamp(nis)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertItems(ctx, "ws", long.ID, storetest.Stamp([]ragd.NewItem{newItem(t, "needle "+strings.Repeat("hay ", 70_000), nil)})); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.CachedKeyword(ctx, "ws", small.ID, "river", 10, nil); !ok || err != nil {
		t.Fatalf("small collection: %v, %v", ok, err)
	}
	cached := s.KeywordCacheBytes()
	s.SetKeywordCacheBytes(cached + 2*(20_000*4+2000*6)) // twice the wide collection's estimate
	for range 2 {
		for _, c := range []*ragd.Collection{wide, long} {
			if _, ok, err := s.CachedKeyword(ctx, "ws", c.ID, "u7x3 needle", 10, nil); ok || err != nil {
				t.Fatalf("%s: the cache answered (%v)", c.Name, err)
			}
		}
		if n := s.KeywordCacheBytes(); n != cached {
			t.Fatalf("the cache holds %d bytes, %d before", n, cached)
		}
	}
	for _, c := range []*ragd.Collection{wide, long} {
		res, err := s.Search(ctx, "ws", c.ID, ragd.SearchQuery{Mode: ragd.ModeKeyword, Text: "u7x3 needle", TopK: 10})
		if err != nil || len(res) != 1 {
			t.Fatalf("%s by FTS5: %d results, %v", c.Name, len(res), err)
		}
	}
}
