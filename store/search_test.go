package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

var fruit = []struct {
	text string
	meta map[string]any
}{
	{"Apples are red or green fruit that grow on trees.", map[string]any{"kind": "fruit", "price": 3, "organic": true}},
	{"Bananas are long yellow fruit rich in potassium.", map[string]any{"kind": "fruit", "price": 1}},
	{"Carrots are orange root vegetables.", map[string]any{"kind": "vegetable", "price": 2, "organic": true}},
	{"The quick brown fox jumps over the lazy dog.", map[string]any{"kind": "animal"}},
	{"Lemons are sour yellow citrus fruit.", map[string]any{"kind": "fruit", "price": 4, "tags": "citrus"}},
}

func seedFruit(t *testing.T, s *store.Store) (*ragd.Collection, []*ragd.Item) {
	c := mustCollection(t, s, "ws1", "fruit")
	var nis []ragd.NewItem
	for _, f := range fruit {
		nis = append(nis, newItem(t, f.text, f.meta))
	}
	items, err := s.InsertItems(context.Background(), "ws1", c.ID, storetest.Stamp(nis))
	if err != nil {
		t.Fatal(err)
	}
	return c, items
}

func query(t *testing.T, text string) []float32 {
	v, err := hash.Embed(context.Background(), []string{text})
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

func TestSearchModes(t *testing.T) {
	s := storetest.MustOpen(t)
	c, items := seedFruit(t, s)
	for _, mode := range []string{ragd.ModeVector, ragd.ModeKeyword, ragd.ModeHybrid} {
		t.Run(mode, func(t *testing.T) {
			res, err := s.Search(context.Background(), "ws1", c.ID, ragd.SearchQuery{
				Text: "yellow bananas potassium", Vector: query(t, "yellow bananas potassium"), Mode: mode, TopK: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) == 0 || res[0].ItemID != items[1].ID {
				t.Fatalf("best result %+v, want the banana item %s", res, items[1].ID)
			}
			for i := 1; i < len(res); i++ {
				if res[i].Score > res[i-1].Score {
					t.Errorf("results not sorted by score: %v then %v", res[i-1].Score, res[i].Score)
				}
			}
			if res[0].Content != fruit[1].text || res[0].Metadata["kind"] != "fruit" {
				t.Errorf("result content/metadata not hydrated: %+v", res[0])
			}
		})
	}
}

// TestSearchCollection searches a collection as its caller read it, in
// every mode, with and without a filter: the results equal Search's.
// A collection this store never read (another store's) and a deleted one
// are looked up as Search does.
func TestSearchCollection(t *testing.T) {
	s := storetest.MustOpen(t)
	c, _ := seedFruit(t, s)
	ctx := context.Background()
	read, err := s.Collection(ctx, "ws1", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{ragd.ModeVector, ragd.ModeKeyword, ragd.ModeHybrid} {
		for _, f := range []*ragd.Filter{nil, {Key: "kind", Op: "eq", Value: "fruit"}} {
			q := ragd.SearchQuery{Text: "yellow fruit", Vector: query(t, "yellow fruit"), Mode: mode, TopK: 3, Filter: f}
			want, err := s.Search(ctx, "ws1", c.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.SearchCollection(ctx, read, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s, filter %v: SearchCollection %v, Search %v", mode, f, got, want)
			}
		}
	}
	other := storetest.MustOpenIn(t, t.TempDir())
	if _, err := other.SearchCollection(ctx, read, ragd.SearchQuery{Text: "fruit", Mode: ragd.ModeKeyword, TopK: 3}); kindOf(err) != ragd.ENOTFOUND {
		t.Errorf("a collection of another store: %v, want not found", err)
	}
	if _, _, err := s.DeleteCollection(ctx, "ws1", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SearchCollection(ctx, read, ragd.SearchQuery{Text: "fruit", Mode: ragd.ModeKeyword, TopK: 3}); kindOf(err) != ragd.ENOTFOUND {
		t.Errorf("a deleted collection: %v, want not found", err)
	}
}

func TestSearchFilters(t *testing.T) {
	s := storetest.MustOpen(t)
	c, items := seedFruit(t, s)
	tests := []struct {
		name   string
		filter *ragd.Filter
		want   []int // indexes into fruit, any order
	}{
		{"Eq", &ragd.Filter{Key: "kind", Op: "eq", Value: "fruit"}, []int{0, 1, 4}},
		{"Ne", &ragd.Filter{Key: "kind", Op: "ne", Value: "fruit"}, []int{2, 3}},
		{"NeMissingKey", &ragd.Filter{Key: "tags", Op: "ne", Value: "citrus"}, []int{0, 1, 2, 3}},
		{"Gt", &ragd.Filter{Key: "price", Op: "gt", Value: 2.0}, []int{0, 4}},
		{"Gte", &ragd.Filter{Key: "price", Op: "gte", Value: 2.0}, []int{0, 2, 4}},
		{"Lt", &ragd.Filter{Key: "price", Op: "lt", Value: 2.0}, []int{1}},
		{"Lte", &ragd.Filter{Key: "price", Op: "lte", Value: 2.0}, []int{1, 2}},
		{"In", &ragd.Filter{Key: "kind", Op: "in", Value: []any{"vegetable", "animal"}}, []int{2, 3}},
		{"Nin", &ragd.Filter{Key: "kind", Op: "nin", Value: []any{"fruit"}}, []int{2, 3}},
		{"Bool", &ragd.Filter{Key: "organic", Op: "eq", Value: true}, []int{0, 2}},
		{"And", &ragd.Filter{And: []*ragd.Filter{{Key: "kind", Op: "eq", Value: "fruit"}, {Key: "price", Op: "gte", Value: 3.0}}}, []int{0, 4}},
		{"Or", &ragd.Filter{Or: []*ragd.Filter{{Key: "kind", Op: "eq", Value: "animal"}, {Key: "price", Op: "eq", Value: 1.0}}}, []int{1, 3}},
		{"ItemID", &ragd.Filter{Key: "item_id", Op: "eq", Value: items[2].ID}, []int{2}},
		{"Nothing", &ragd.Filter{Key: "kind", Op: "eq", Value: "mineral"}, nil},
	}
	for _, tt := range tests {
		for _, mode := range []string{ragd.ModeVector, ragd.ModeHybrid} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				// The query matches nothing in particular: every chunk that
				// passes the filter must come back, however it ranks.
				res, err := s.Search(context.Background(), "ws1", c.ID, ragd.SearchQuery{
					Text: "fruit", Vector: query(t, "zzz"), Mode: mode, TopK: 10, Filter: tt.filter})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]bool{}
				for _, r := range res {
					got[r.ItemID] = true
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d items %v, want %d", len(got), got, len(tt.want))
				}
				for _, i := range tt.want {
					if !got[items[i].ID] {
						t.Errorf("missing item %d (%q)", i, fruit[i].text)
					}
				}
			})
		}
	}
}

// TestFilterCacheIsNeverStale searches with one filter between writes
// of every kind that changes which chunks pass it: the answer kept from
// the search before must never be served after it.
func TestFilterCacheIsNeverStale(t *testing.T) {
	s := storetest.MustOpen(t)
	ctx := context.Background()
	c, items := seedFruit(t, s)
	filter := &ragd.Filter{Key: "kind", Op: "eq", Value: "fruit"}
	check := func(step string, want ...string) {
		t.Helper()
		for range 2 { // read, then served from the cache
			res, err := s.Search(ctx, "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: query(t, "zzz"), TopK: 10, Filter: filter})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res {
				got = append(got, r.ItemID)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: the filter passes %v; want %v", step, got, want)
			}
		}
		if store.FilterAnswers(s) == 0 {
			t.Fatalf("%s: no filter answer kept", step)
		}
	}
	check("seeded", items[0].ID, items[1].ID, items[4].ID)
	added, err := s.InsertItems(ctx, "ws1", c.ID, storetest.Stamp([]ragd.NewItem{newItem(t, "Pears are sweet fruit.", map[string]any{"kind": "fruit"})}))
	if err != nil {
		t.Fatal(err)
	}
	check("after an insert", items[0].ID, items[1].ID, items[4].ID, added[0].ID)
	if _, err := s.UpdateItem(ctx, "ws1", c.ID, items[1].ID, ragd.ItemUpdate{Metadata: map[string]any{"kind": "snack"}, At: storetest.At}); err != nil {
		t.Fatal(err)
	}
	check("after a metadata update", items[0].ID, items[4].ID, added[0].ID)
	if err := s.DeleteItem(ctx, "ws1", c.ID, items[0].ID, storetest.At); err != nil {
		t.Fatal(err)
	}
	check("after a delete", items[4].ID, added[0].ID)
	// Bookkeeping no search reads leaves the kept answers alone.
	before := store.Writes(s)
	if err := s.InsertRequestLogs(ctx, []ragd.RequestLog{{Workspace: "ws1", Method: "GET", Path: "/", Status: 200, Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUsage(ctx, map[ragd.UsageKey]ragd.UsageCounts{{Workspace: "ws1", Month: "2026-12"}: {Requests: 1}}); err != nil {
		t.Fatal(err)
	}
	if after := store.Writes(s); after != before {
		t.Errorf("request logs and usage moved the write count from %d to %d", before, after)
	}
}

// A filter is applied inside the query: a selective filter over many
// chunks still returns every match, not the few that made a global top-k.
func TestSearchFilterIsNotPostFilter(t *testing.T) {
	s := storetest.MustOpen(t)
	c := mustCollection(t, s, "ws1", "many")
	var nis []ragd.NewItem
	for i := 0; i < 600; i++ {
		nis = append(nis, newItem(t, fmt.Sprintf("common words about apples number %d", i), map[string]any{"n": i}))
	}
	if _, err := s.InsertItems(context.Background(), "ws1", c.ID, storetest.Stamp(nis)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(context.Background(), "ws1", c.ID, ragd.SearchQuery{Text: "apples", Vector: query(t, "apples"),
		Mode: ragd.ModeVector, TopK: 10, Filter: &ragd.Filter{Key: "n", Op: "gte", Value: 595.0}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 {
		t.Fatalf("got %d results, want the 5 chunks with n >= 595", len(res))
	}
}

func TestSearchErrors(t *testing.T) {
	s := storetest.MustOpen(t)
	c, _ := seedFruit(t, s)
	nothing := &ragd.Filter{Key: "kind", Op: "eq", Value: "mineral"}
	tests := []struct {
		name  string
		ws    string
		q     ragd.SearchQuery
		kind  string
		param string
	}{
		{"ErrTopKZero", "ws1", ragd.SearchQuery{Mode: "keyword", Text: "x", TopK: 0}, ragd.EINVALID, "top_k"},
		{"ErrTopKTooBig", "ws1", ragd.SearchQuery{Mode: "keyword", Text: "x", TopK: 101}, ragd.EINVALID, "top_k"},
		{"ErrMode", "ws1", ragd.SearchQuery{Mode: "semantic", Text: "x", TopK: 1}, ragd.EINVALID, "mode"},
		{"ErrDimensions", "ws1", ragd.SearchQuery{Mode: "vector", Vector: make([]float32, 3), TopK: 1}, ragd.EUNPROCESSABLE, ""},
		{"ErrUnknownOp", "ws1", ragd.SearchQuery{Mode: "keyword", Text: "x", TopK: 1, Filter: &ragd.Filter{Key: "a", Op: "like", Value: "x"}}, ragd.EINVALID, "filter.op"},
		{"ErrEmptyAnd", "ws1", ragd.SearchQuery{Mode: "keyword", Text: "x", TopK: 1, Filter: &ragd.Filter{And: []*ragd.Filter{}}}, ragd.EINVALID, "filter.and"},
		{"ErrInNotArray", "ws1", ragd.SearchQuery{Mode: "keyword", Text: "x", TopK: 1, Filter: &ragd.Filter{Key: "a", Op: "in", Value: "x"}}, ragd.EINVALID, "filter.value"},
		{"ErrBadKey", "ws1", ragd.SearchQuery{Mode: "keyword", Text: "x", TopK: 1, Filter: &ragd.Filter{Key: `a"b`, Op: "eq", Value: "x"}}, ragd.EINVALID, "filter.key"},
		{"ErrOtherWorkspace", "ws2", ragd.SearchQuery{Mode: "keyword", Text: "x", TopK: 1}, ragd.ENOTFOUND, ""},
		// A filter that passes nothing does not hide a bad request.
		{"ErrModeFilterPassingNothing", "ws1", ragd.SearchQuery{Mode: "semantic", Text: "x", TopK: 1, Filter: nothing}, ragd.EINVALID, "mode"},
		{"ErrDimensionsFilterPassingNothing", "ws1", ragd.SearchQuery{Mode: "hybrid", Text: "x", Vector: make([]float32, 3), TopK: 1, Filter: nothing}, ragd.EUNPROCESSABLE, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Search(context.Background(), tt.ws, c.ID, tt.q)
			var e *ragd.Error
			if !errorsAs(err, &e) || e.Kind != tt.kind || e.Param != tt.param {
				t.Fatalf("got %v, want kind %s param %q", err, tt.kind, tt.param)
			}
		})
	}
}

func TestKeywordQuerySyntaxIsLiteral(t *testing.T) {
	s := storetest.MustOpen(t)
	c, _ := seedFruit(t, s)
	for _, q := range []string{`"unbalanced`, `AND OR NOT`, `a* NEAR(b c)`, `col:value`, `^`, ``} {
		if _, err := s.Search(context.Background(), "ws1", c.ID, ragd.SearchQuery{Mode: "keyword", Text: q, TopK: 5}); err != nil {
			t.Errorf("query %q: %v", q, err)
		}
	}
}

func TestHybridScores(t *testing.T) {
	s := storetest.MustOpen(t)
	c, items := seedFruit(t, s)
	res, err := s.Search(context.Background(), "ws1", c.ID, ragd.SearchQuery{Text: "sour lemons", Vector: query(t, "sour lemons"), Mode: ragd.ModeHybrid, TopK: 5})
	if err != nil {
		t.Fatal(err)
	}
	// The item best in both rankings scores exactly 1; every score is in 0..1.
	if res[0].ItemID != items[4].ID || res[0].Score != 1 {
		t.Fatalf("best %+v, want the lemon item with score 1", res[0])
	}
	for _, r := range res {
		if r.Score < 0 || r.Score > 1 {
			t.Errorf("hybrid score %v out of 0..1", r.Score)
		}
	}
}

// Terms found in half the chunks or more are dropped from large keyword
// queries; the results are those of the full query.
func TestKeywordPruning(t *testing.T) {
	for _, cache := range []bool{true, false} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) { testKeywordPruning(t, cache) })
	}
}

// testKeywordPruning is TestKeywordPruning from the keyword cache, which
// scores every term, or from FTS5, which drops the common ones.
func testKeywordPruning(t *testing.T, cache bool) {
	s := storetest.MustOpen(t)
	if !cache {
		s.SetKeywordCacheBytes(0)
	}
	ctx := context.Background()
	c := mustCollection(t, s, "ws", "prune")
	var nis []ragd.NewItem
	for i := 0; i < 2400; i++ {
		text := fmt.Sprintf("widget report number %d", i)
		switch {
		case i%100 == 7:
			text += " zanzibar"
		case i == 5 || i == 900:
			text += " quokka"
		}
		nis = append(nis, newItem(t, text, map[string]any{"i": i}))
	}
	if _, err := s.InsertItems(ctx, "ws", c.ID, storetest.Stamp(nis)); err != nil {
		t.Fatal(err)
	}
	search := func(q string, k int) []string {
		res, err := s.Search(ctx, "ws", c.ID, ragd.SearchQuery{Mode: ragd.ModeKeyword, Text: q, TopK: k})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range res {
			ids = append(ids, r.ItemID)
		}
		return ids
	}
	// 24 chunks hold zanzibar: enough for top 10 without "widget".
	if got, want := search("widget zanzibar", 10), search("zanzibar", 10); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pruned query %v, want %v", got, want)
	}
	// Only 2 chunks hold quokka: the full query fills the other 8 places.
	got := search("widget quokka", 10)
	if len(got) != 10 {
		t.Fatalf("got %d results, want 10", len(got))
	}
	rare := map[string]bool{got[0]: true, got[1]: true}
	want := search("quokka", 10)
	if len(want) != 2 || !rare[want[0]] || !rare[want[1]] {
		t.Fatalf("quokka chunks %v are not the top 2 of %v", want, got)
	}
	// Words in every chunk still find chunks by keyword, but add nothing
	// to a hybrid search, which then ranks like the vector search.
	if got := search("widget report", 10); len(got) != 10 {
		t.Fatalf("keyword search for common words found %d chunks, want 10", len(got))
	}
	for _, text := range []string{"widget report", "widget"} {
		v := query(t, "report number 7 zanzibar")
		hybrid := searchString(t, s, c.ID, ragd.SearchQuery{Mode: ragd.ModeHybrid, Text: text, Vector: v, TopK: 10})
		vector := searchString(t, s, c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: v, TopK: 10})
		if ids(hybrid) != ids(vector) {
			t.Errorf("hybrid search for %q ranks\n%s\nwant the vector ranking\n%s", text, hybrid, vector)
		}
	}
	// One informative word is enough for the keyword ranking to count.
	v := query(t, "report number 7 zanzibar")
	hybrid := searchString(t, s, c.ID, ragd.SearchQuery{Mode: ragd.ModeHybrid, Text: "widget quokka", Vector: v, TopK: 10})
	vector := searchString(t, s, c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: v, TopK: 10})
	if ids(hybrid) == ids(vector) {
		t.Errorf("hybrid search for \"widget quokka\" ranks like the vector search alone:\n%s", hybrid)
	}
}

// ids keeps the chunk IDs of a searchString result.
func ids(results string) string {
	var out []string
	for _, f := range strings.Fields(results) {
		out = append(out, strings.SplitN(f, ":", 2)[0])
	}
	return strings.Join(out, " ")
}

// A filter reads the collection's items through the covering index of
// migration 030, never the item rows (whose content can be large) and
// never another collection's rows.
func TestFilterQueryPlan(t *testing.T) {
	s, ctx := storetest.MustOpen(t), context.Background()
	c := mustCollection(t, s, "ws", "plan")
	for _, tt := range []struct {
		f    *ragd.Filter
		meta bool // compares metadata
	}{
		{&ragd.Filter{Key: "kind", Op: "eq", Value: "fruit"}, true},
		{&ragd.Filter{Key: "kind", Op: "nin", Value: []any{"fruit", "tool"}}, true},
		{&ragd.Filter{Key: "price", Op: "eq", Value: nil}, true},
		{&ragd.Filter{Key: "file_id", Op: "in", Value: []any{"file_a", "file_b"}}, false},
		{&ragd.Filter{Key: "filename", Op: "eq", Value: "a.pdf"}, false},
		{&ragd.Filter{Or: []*ragd.Filter{{Key: "item_id", Op: "ne", Value: "item_a"}, {Key: "price", Op: "lt", Value: 3.0}}}, true},
	} {
		plan, err := s.FilterPlan(ctx, tt.f, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "SEARCH i USING COVERING INDEX items_collection_meta (collection_id=?") ||
			!strings.Contains(plan, "SEARCH c USING COVERING INDEX chunks_item (item_id=?)") || strings.Contains(plan, "SCAN") ||
			tt.meta != strings.Contains(plan, "SEARCH meta_values USING COVERING INDEX meta_values_lookup (collection_id=? AND key=?") {
			t.Errorf("filter %+v runs as\n%s\nwant covering-index searches of items, chunks and (for metadata) meta_values", tt.f, plan)
		}
	}
}

// A filter does not change how FTS5 runs a keyword query: the allowed
// rowids are checked by SQLite, never handed to FTS5 as rowid constraints,
// which would make FTS5 run the query once per allowed rowid.
func TestKeywordFilterPlan(t *testing.T) {
	s, ctx := storetest.MustOpen(t), context.Background()
	c := mustCollection(t, s, "ws", "plan")
	ftsStep := func(filtered bool) string {
		plan, err := s.KeywordPlan(ctx, "ws", c.ID, filtered)
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range strings.Split(plan, "\n") {
			if strings.Contains(step, "fts_chunks") {
				return step
			}
		}
		t.Fatalf("no FTS5 step in the plan\n%s", plan)
		return ""
	}
	if plain, filtered := ftsStep(false), ftsStep(true); filtered != plain {
		t.Errorf("filtered keyword search runs FTS5 as %q, want %q as without a filter", filtered, plain)
	}
}

// A keyword query ranked in parallel over rowid ranges returns exactly
// what one ranking over the whole table returns: the same chunks, scores
// and order, ties included, with and without a filter, alone and in
// hybrid search.
func TestKeywordSplitMatchesWhole(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3)) // three uneven ranges
	s := storetest.MustOpen(t)
	s.SetKeywordCacheBytes(0) // FTS5's ranking, split
	ctx := context.Background()
	c := mustCollection(t, s, "ws", "split")
	r := rand.New(rand.NewPCG(7, 7))
	vocab := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon")
	var nis []ragd.NewItem
	for i := range 1500 {
		words := make([]string, 3+r.IntN(12))
		for j := range words {
			words[j] = vocab[min(r.IntN(len(vocab)), r.IntN(len(vocab)))] // skewed to the first words
		}
		nis = append(nis, newItem(t, strings.Join(words, " "), map[string]any{"group": i % 3}))
	}
	if _, err := s.InsertItems(ctx, "ws", c.ID, storetest.Stamp(nis)); err != nil {
		t.Fatal(err)
	}
	search := func(q ragd.SearchQuery) string { return searchString(t, s, c.ID, q) }
	for _, tc := range []struct {
		name   string
		text   string
		mode   string
		k      int
		filter *ragd.Filter
	}{
		{"OneCommonTerm", "alpha", ragd.ModeKeyword, 10, nil},
		{"ManyTies", "upsilon", ragd.ModeKeyword, 100, nil},
		{"MixedTerms", "beta kappa upsilon", ragd.ModeKeyword, 40, nil},
		{"Filtered", "gamma sigma", ragd.ModeKeyword, 25, &ragd.Filter{Key: "group", Op: "eq", Value: 1.0}},
		{"Hybrid", "delta tau", ragd.ModeHybrid, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := ragd.SearchQuery{Text: tc.text, Vector: query(t, tc.text), Mode: tc.mode, TopK: tc.k, Filter: tc.filter}
			s.SetKeywordSplitRows(1 << 30)
			whole := search(q)
			s.SetKeywordSplitRows(1)
			if n, err := s.KeywordRanges(ctx, "ws", c.ID); err != nil || n != 3 {
				t.Fatalf("split into %d ranges (%v), want 3", n, err)
			}
			if split := search(q); split != whole {
				t.Errorf("split ranking\n%s\nwant\n%s", split, whole)
			}
			if whole == "" {
				t.Fatal("no results")
			}
		})
	}
}

// The term counts cached for keyword pruning follow every write: each
// insert, delete and content change gives the keyword table a new
// version, and a store whose cache saw every earlier version ranks like a
// store opened afresh on the same file, also once a term crosses half
// the rows and stops being scored.
func TestTermCountsFollowWrites(t *testing.T) {
	s := storetest.MustOpen(t)
	s.SetKeywordCacheBytes(0) // the counts serve FTS5's ranking only
	ctx := context.Background()
	c := mustCollection(t, s, "ws", "counts")
	var nis []ragd.NewItem
	for i := range 2400 {
		text := fmt.Sprintf("report number %d", i)
		if i%3 == 0 {
			text += " widget" // 800 of 2400: counted and scored
		}
		if i%100 == 1 {
			text += " zanzibar"
		}
		nis = append(nis, newItem(t, text, nil))
	}
	items, err := s.InsertItems(ctx, "ws", c.ID, storetest.Stamp(nis))
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	check := func(step string) {
		t.Helper()
		v, err := s.TermVersion(ctx, "ws", c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if prev, seen := versions[v]; seen {
			t.Fatalf("after %s the keyword table has the version it had after %s", step, prev)
		}
		versions[v] = step
		fresh, err := store.Open(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		fresh.SetKeywordCacheBytes(0)
		q := ragd.SearchQuery{Mode: ragd.ModeKeyword, Text: "widget zanzibar report", TopK: 10}
		if got, want := searchString(t, s, c.ID, q), searchString(t, fresh, c.ID, q); got != want {
			t.Fatalf("after %s the cached store ranks\n%s\nwant\n%s", step, got, want)
		}
	}
	check("insert")
	more := make([]ragd.NewItem, 1000)
	for i := range more {
		more[i] = newItem(t, fmt.Sprintf("widget gadget %d", i), nil) // 1800 of 3400: past half
	}
	if _, err := s.InsertItems(ctx, "ws", c.ID, storetest.Stamp(more)); err != nil {
		t.Fatal(err)
	}
	check("second insert")
	if err := s.DeleteItem(ctx, "ws", c.ID, items[1].ID, storetest.At); err != nil {
		t.Fatal(err)
	}
	check("delete")
	same := newItem(t, "report number 4 zanzibar", nil) // as many words as item 4
	if _, err := s.UpdateItem(ctx, "ws", c.ID, items[4].ID, ragd.ItemUpdate{Content: &same.Content, Chunks: same.Chunks, At: storetest.At}); err != nil {
		t.Fatal(err)
	}
	check("content change")
}

// searchString runs q on collection colID of workspace "ws" and returns
// its results' chunk IDs and scores.
func searchString(t *testing.T, s *store.Store, colID string, q ragd.SearchQuery) string {
	t.Helper()
	res, err := s.Search(context.Background(), "ws", colID, q)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, r := range res {
		fmt.Fprintf(&sb, "%s:%.12g ", r.ID, r.Score)
	}
	return sb.String()
}

// Alpha weighs the rankings of a hybrid search: at 1 it orders like the
// vector search, at 0 like the keyword search.
func TestHybridAlpha(t *testing.T) {
	s := storetest.MustOpen(t)
	c, _ := seedFruit(t, s)
	ctx := context.Background()
	q := "yellow fruit trees"
	ids := func(mode string, alpha *float64) []string {
		res, err := s.Search(ctx, "ws1", c.ID, ragd.SearchQuery{Text: q, Vector: query(t, q), Mode: mode, TopK: 2, Alpha: alpha})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range res {
			out = append(out, r.ItemID)
		}
		return out
	}
	one, zero := 1.0, 0.0
	if got, want := ids(ragd.ModeHybrid, &one), ids(ragd.ModeVector, nil); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alpha 1: %v, vector search: %v", got, want)
	}
	if got, want := ids(ragd.ModeHybrid, &zero), ids(ragd.ModeKeyword, nil); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("alpha 0: %v, keyword search: %v", got, want)
	}
}
