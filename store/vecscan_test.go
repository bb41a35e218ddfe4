package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// exactSet is a brute-force reference: the items of a collection with
// their vectors and metadata.
type exactSet struct {
	ids   []string
	vecs  map[string][]float32
	group map[string]int
}

// nearest returns the IDs and cosine scores (1 - d^2/2) of the k items
// nearest to q by L2 distance in float64, among those passing keep.
func (e *exactSet) nearest(q []float32, k int, keep func(id string) bool) ([]string, []float64) {
	type hit struct {
		id string
		d  float64
	}
	var hits []hit
	for _, id := range e.ids {
		if keep != nil && !keep(id) {
			continue
		}
		var d float64
		for i, x := range e.vecs[id] {
			diff := float64(x) - float64(q[i])
			d += diff * diff
		}
		hits = append(hits, hit{id, d})
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return cmpFloat(a.d, b.d) })
	var ids []string
	var scores []float64
	for _, h := range hits[:min(k, len(hits))] {
		ids = append(ids, h.id)
		scores = append(scores, 1-h.d/2)
	}
	return ids, scores
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// add inserts n more items of one chunk each into c with random unit
// vectors drawn from r, and metadata {"group": i % 7, "n": i}, i counting
// the set's items.
func (e *exactSet) add(t *testing.T, s *store.Store, c *ragd.Collection, r *rand.Rand, n int) {
	t.Helper()
	var nis []ragd.NewItem
	first := len(e.ids)
	for i := first; i < first+n; i++ {
		text := fmt.Sprintf("item %d", i)
		nis = append(nis, ragd.NewItem{Content: text, Metadata: map[string]any{"group": i % 7, "n": i},
			Chunks: []ragd.Chunk{{Content: text, Tokens: 2, End: len(text), Vector: storetest.UnitVector(r, c.Dimensions)}}})
	}
	items, err := s.InsertItems(context.Background(), "ws1", c.ID, storetest.Stamp(nis))
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		e.ids = append(e.ids, it.ID)
		e.vecs[it.ID] = nis[i].Chunks[0].Vector
		e.group[it.ID] = (first + i) % 7
	}
}

// seedExact inserts n items of one chunk each with random unit vectors
// (fixed seed) and metadata {"group": i % 7, "n": i}.
func seedExact(t *testing.T, s *store.Store, dims, n int) (*ragd.Collection, *exactSet) {
	t.Helper()
	c := &ragd.Collection{Workspace: "ws1", Name: "exact", EmbeddingModel: "random", Dimensions: dims,
		Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 64}}
	if err := s.CreateCollection(context.Background(), storetest.StampCollection(c)); err != nil {
		t.Fatal(err)
	}
	e := &exactSet{vecs: map[string][]float32{}, group: map[string]int{}}
	e.add(t, s, c, rand.New(rand.NewPCG(7, uint64(dims))), n)
	return c, e
}

// insert adds an item of one chunk of vector v to collection c and to e.
func (e *exactSet) insert(t *testing.T, s *store.Store, c *ragd.Collection, v []float32) {
	t.Helper()
	it, err := s.InsertItems(context.Background(), "ws1", c.ID, storetest.Stamp([]ragd.NewItem{{Content: "new",
		Chunks: []ragd.Chunk{{Content: "new", Tokens: 1, End: 3, Vector: v}}}}))
	if err != nil {
		t.Fatal(err)
	}
	e.ids = append(e.ids, it[0].ID)
	e.vecs[it[0].ID] = v
}

// checkExact searches s and compares the results with the reference.
func checkExact(t *testing.T, s *store.Store, c *ragd.Collection, e *exactSet, q []float32, k int, f *ragd.Filter, keep func(string) bool) {
	t.Helper()
	checkQuery(t, s, c, e, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: k, Filter: f}, keep)
}

// checkQuery runs the vector search q on s and compares its results with
// the reference's exact nearest.
func checkQuery(t *testing.T, s *store.Store, c *ragd.Collection, e *exactSet, q ragd.SearchQuery, keep func(string) bool) {
	t.Helper()
	k := q.TopK
	res, err := s.Search(context.Background(), "ws1", c.ID, q)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs, wantScores := e.nearest(q.Vector, k, keep)
	if len(res) != len(wantIDs) {
		t.Fatalf("got %d results, want %d", len(res), len(wantIDs))
	}
	for i, r := range res {
		if r.ItemID != wantIDs[i] {
			t.Fatalf("result %d is %s (score %.7f), want %s (score %.7f)", i, r.ItemID, r.Score, wantIDs[i], wantScores[i])
		}
		if math.Abs(r.Score-wantScores[i]) > 1e-5 {
			t.Fatalf("result %d score %.7f, want %.7f", i, r.Score, wantScores[i])
		}
	}
}

// Vector search returns exactly the brute-force top k, from the vector
// cache and read from the database (cache off, a collection beyond the
// memory budget; one sqlite-vec chunk a batch, so that its three chunks
// are scanned in three batches), with and without filters, for dimensions
// that do and do not fill whole SIMD registers.
func TestVectorSearchIsExact(t *testing.T) {
	for _, dims := range []int{64, 67, 384} {
		s := storetest.MustOpen(t)
		c, e := seedExact(t, s, dims, 2500)
		s.SetDiskScanBatch(1)
		r := rand.New(rand.NewPCG(99, uint64(dims)))
		filters := []struct {
			name string
			f    *ragd.Filter
			keep func(string) bool
		}{
			{"NoFilter", nil, nil},
			{"Group3", &ragd.Filter{Key: "group", Op: "eq", Value: 3.0}, func(id string) bool { return e.group[id] == 3 }},
			// Fewer matches than top_k: every one must come back.
			{"FewMatches", &ragd.Filter{Key: "n", Op: "lt", Value: 40.0}, func(id string) bool { return slices.Index(e.ids, id) < 40 }},
			{"NoMatch", &ragd.Filter{Key: "group", Op: "eq", Value: 99.0}, func(string) bool { return false }},
		}
		for _, cache := range []struct {
			name  string
			bytes int64
		}{{"Cache", store.DefaultVectorCacheBytes}, {"Disk", 0}} {
			for _, f := range filters {
				t.Run(fmt.Sprintf("%dd/%s/%s", dims, cache.name, f.name), func(t *testing.T) {
					s.SetVectorCacheBytes(cache.bytes)
					for _, k := range []int{1, 10, 100} {
						checkExact(t, s, c, e, storetest.UnitVector(r, dims), k, f.f, f.keep)
					}
				})
			}
		}
	}
}

// A store opened with a memory budget smaller than a collection scans it
// from the database, exactly.
func TestMemoryBudget(t *testing.T) {
	s := storetest.MustOpen(t, store.WithMemoryBudget(1<<10))
	c, e := seedExact(t, s, 64, 1500)
	r := rand.New(rand.NewPCG(5, 5))
	for range 5 {
		checkExact(t, s, c, e, storetest.UnitVector(r, 64), 10, nil, nil)
	}
	if n := s.CachedVectorBytes(); n != 0 {
		t.Errorf("the vector cache holds %d bytes, over its budget of 1 KiB", n)
	}
}

// A collection quantized to int8 codes returns the exact nearest when the
// rescored candidates cover every match (40 for top_k 10), with and
// without filters, after writes, and when a query asks for exact results;
// its cache holds about a byte a dimension and two bits, not four bytes.
func TestQuantizedSearchIsExactWhenCandidatesCoverAll(t *testing.T) {
	for _, dims := range []int{64, 67, 384} {
		t.Run(fmt.Sprint(dims), func(t *testing.T) {
			s := storetest.MustOpen(t)
			s.SetQuantizeAbove(1)
			c, e := seedExact(t, s, dims, 40)
			r := rand.New(rand.NewPCG(11, uint64(dims)))
			for range 5 {
				checkExact(t, s, c, e, storetest.UnitVector(r, dims), 10, nil, nil)
				checkExact(t, s, c, e, storetest.UnitVector(r, dims), 3, &ragd.Filter{Key: "group", Op: "eq", Value: 3.0}, func(id string) bool { return e.group[id] == 3 })
			}
			if got, want := s.CachedVectorBytes(), quantizedBytes(40, dims); got <= 0 || got > want {
				t.Errorf("the cache holds %d bytes for 40 vectors of %d dimensions, want %d (codes and 2-bit codes), not %d (floats)", got, dims, want, 40*dims*4)
			}
			// An exact query reads the full vectors, and leaves the codes cached.
			for range 3 {
				checkQuery(t, s, c, e, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: storetest.UnitVector(r, dims), TopK: 10, Exact: true}, nil)
			}
			if s.CachedVectorBytes() == 0 {
				t.Error("an exact query dropped the collection's codes from the cache")
			}
		})
	}
}

// An exact search of a quantized collection reads the floats of its
// vector file (zeroed there, every score becomes 0.5), on all cores, with
// and without a filter, and stays exact as writes reload chunks and
// rewrite their records; with records that are not their slots' current
// vectors it reads the database instead.
func TestExactSearchReadsVectorFile(t *testing.T) {
	const dims = 64
	ctx := context.Background()
	s := storetest.MustOpen(t)
	s.SetQuantizeAbove(1)
	c, e := seedExact(t, s, dims, 5000) // 5 chunks, over 1 MB of floats: two workers
	r := rand.New(rand.NewPCG(25, 26))
	exact := func(when string) {
		t.Helper()
		for range 3 {
			checkQuery(t, s, c, e, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: storetest.UnitVector(r, dims), TopK: 10, Exact: true}, nil)
			checkQuery(t, s, c, e, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: storetest.UnitVector(r, dims), TopK: 5, Exact: true,
				Filter: &ragd.Filter{Key: "group", Op: "eq", Value: 3.0}}, func(id string) bool { return e.group[id] == 3 })
		}
		if t.Failed() {
			t.Fatalf("%s: exact search is not exact", when)
		}
	}
	exact("loaded")
	// A write reloads the chunks it touches and rewrites their records.
	for _, id := range e.ids[:3000] {
		if err := s.DeleteItem(ctx, "ws1", c.ID, id, storetest.At); err != nil {
			t.Fatal(err)
		}
		delete(e.vecs, id)
	}
	e.ids = e.ids[3000:]
	e.add(t, s, c, r, 500)
	exact("after deletes and inserts")
	if err := s.ZeroVectorFiles(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctx, "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: storetest.UnitVector(r, dims), TopK: 10, Exact: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range res {
		if math.Abs(x.Score-0.5) > 1e-6 {
			t.Fatalf("result %d scored %.6f with the file's vectors zeroed, want 0.5: the exact search did not read the file", i, x.Score)
		}
	}
	// Records zeroed and no longer their slots': the database answers.
	if err := s.BreakVectorFileRowids(); err != nil {
		t.Fatal(err)
	}
	exact("with every record stale")
}

// A quantized search rescores its candidates with the vectors of the
// collection's vector file (zeroed there, every score becomes that of a
// zero vector: 1 - |q|^2/2 = 0.5), and stays exact after deletes and
// inserts rewrite the collection's chunks.
func TestRescoringReadsVectorFile(t *testing.T) {
	const dims = 64
	s := storetest.MustOpen(t)
	s.SetQuantizeAbove(1)
	c, e := seedExact(t, s, dims, 40)
	r := rand.New(rand.NewPCG(5, 6))
	checkExact(t, s, c, e, storetest.UnitVector(r, dims), 10, nil, nil)
	if err := s.ZeroVectorFiles(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(context.Background(), "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: storetest.UnitVector(r, dims), TopK: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range res {
		if math.Abs(x.Score-0.5) > 1e-6 {
			t.Fatalf("result %d scored %.6f with the file's vectors zeroed, want 0.5: rescoring did not read the file", i, x.Score)
		}
	}
	// Deletes and inserts reload the chunks they touch, and rewrite their records.
	for _, id := range e.ids[:20] {
		if err := s.DeleteItem(context.Background(), "ws1", c.ID, id, storetest.At); err != nil {
			t.Fatal(err)
		}
		delete(e.vecs, id)
	}
	e.ids = e.ids[20:]
	e.add(t, s, c, r, 30)
	for range 5 {
		checkExact(t, s, c, e, storetest.UnitVector(r, dims), 10, nil, nil)
	}
}

// A collection's quantization setting decides what the cache holds: codes
// for "int8" whatever its size, floats for "none" even past the size at
// which "auto" takes codes; an update takes effect at the next search.
func TestQuantizationSetting(t *testing.T) {
	const dims = 64
	s := storetest.MustOpen(t)
	s.SetQuantizeAbove(1) // "auto" quantizes any collection
	c, e := seedExact(t, s, dims, 300)
	r := rand.New(rand.NewPCG(21, 22))
	floats := int64(300 * dims * 4)
	for _, tc := range []struct {
		setting string
		codes   bool
	}{{ragd.QuantizationNone, false}, {ragd.QuantizationInt8, true}, {ragd.QuantizationAuto, true}, {ragd.QuantizationNone, false}} {
		if _, err := s.UpdateCollection(context.Background(), "ws1", c.ID, ragd.CollectionUpdate{Quantization: &tc.setting, At: storetest.At}); err != nil {
			t.Fatal(err)
		}
		// Searches take the collection as the update left it.
		checkExact(t, s, c, e, storetest.UnitVector(r, dims), 10, nil, nil)
		got := s.CachedVectorBytes()
		if tc.codes && (got <= 0 || got > quantizedBytes(300, dims)) || !tc.codes && got < floats {
			t.Errorf("%s: the cache holds %d bytes for %d float bytes; want codes: %v", tc.setting, got, floats, tc.codes)
		}
	}
	bad := "fp16"
	if _, err := s.UpdateCollection(context.Background(), "ws1", c.ID, ragd.CollectionUpdate{Quantization: &bad, At: storetest.At}); err == nil {
		t.Error("the store took quantization \"fp16\"")
	}
}

// By default ("auto"), a collection is cached as floats until its floats
// take store.DefaultQuantizeAbove bytes, and as codes from then on: at
// 4,096 dimensions, from its 4,096th vector.
func TestDefaultQuantizeAbove(t *testing.T) {
	const dims = 4096
	n := int(store.DefaultQuantizeAbove / (dims * 4))
	s := storetest.MustOpen(t)
	c, e := seedExact(t, s, dims, n-1)
	r := rand.New(rand.NewPCG(23, 24))
	checkExact(t, s, c, e, storetest.UnitVector(r, dims), 10, nil, nil)
	if got, floats := s.CachedVectorBytes(), int64(n-1)*dims*4; got < floats {
		t.Errorf("%d vectors: the cache holds %d bytes; want their %d bytes of floats", n-1, got, floats)
	}
	e.insert(t, s, c, storetest.UnitVector(r, dims))
	checkExact(t, s, c, e, storetest.UnitVector(r, dims), 10, nil, nil)
	if got := s.CachedVectorBytes(); got <= 0 || got > quantizedBytes(n, dims) {
		t.Errorf("%d vectors: the cache holds %d bytes; want their codes, at most %d bytes", n, got, quantizedBytes(n, dims))
	}
}

// On 50k random unit vectors (the hardest case for quantization: no
// clusters, neighbours close in distance) a quantized search finds at
// least 95% of the exact top 10, and with "exact" all of it.
func TestQuantizedSearchRecall(t *testing.T) {
	const n, dims, queries = 50_000, 128, 20
	s := storetest.MustOpen(t)
	s.SetQuantizeAbove(1)
	c, e := seedExact(t, s, dims, n)
	r := rand.New(rand.NewPCG(12, 13))
	var found int
	for range queries {
		q := storetest.UnitVector(r, dims)
		res, err := s.Search(context.Background(), "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: 10})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := e.nearest(q, 10, nil)
		for _, r := range res {
			if slices.Contains(want, r.ItemID) {
				found++
			}
		}
	}
	if recall := float64(found) / (10 * queries); recall < 0.95 {
		t.Errorf("recall@10 of quantized search %.3f, want at least 0.95", recall)
	} else {
		t.Logf("recall@10 of quantized search: %.3f", recall)
	}
	checkQuery(t, s, c, e, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: storetest.UnitVector(r, dims), TopK: 10, Exact: true}, nil)
}

// Deleting and updating items changes the next search, and concurrent
// searches during writes never fail or return a deleted item after the
// delete returned.
func TestVectorSearchSeesWrites(t *testing.T) {
	const dims = 32
	s := storetest.MustOpen(t)
	c, e := seedExact(t, s, dims, 3000)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 5))
	q := storetest.UnitVector(r, dims)
	checkExact(t, s, c, e, q, 20, nil, nil) // fills the cache

	t.Run("Delete", func(t *testing.T) {
		ids, _ := e.nearest(q, 5, nil)
		for _, id := range ids {
			if err := s.DeleteItem(ctx, "ws1", c.ID, id, storetest.At); err != nil {
				t.Fatal(err)
			}
			e.ids = slices.DeleteFunc(e.ids, func(x string) bool { return x == id })
			checkExact(t, s, c, e, q, 20, nil, nil)
		}
	})
	t.Run("Update", func(t *testing.T) {
		// Move a far item right onto the query.
		far := e.ids[len(e.ids)-1]
		content := "moved"
		if _, err := s.UpdateItem(ctx, "ws1", c.ID, far, ragd.ItemUpdate{At: storetest.At, Content: &content,
			Chunks: []ragd.Chunk{{Content: content, Tokens: 1, End: len(content), Vector: q}}}); err != nil {
			t.Fatal(err)
		}
		e.vecs[far] = q
		checkExact(t, s, c, e, q, 20, nil, nil)
		res, err := s.Search(ctx, "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: 1})
		if err != nil || len(res) != 1 || res[0].ItemID != far || math.Abs(res[0].Score-1) > 1e-6 {
			t.Fatalf("got %+v, %v; want the updated item %s with score 1", res, err, far)
		}
	})
	t.Run("Insert", func(t *testing.T) {
		e.insert(t, s, c, q)
		checkExact(t, s, c, e, q, 20, nil, nil)
	})
	t.Run("ConcurrentDeletes", func(t *testing.T) {
		victims, _ := e.nearest(q, 30, nil)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.Search(ctx, "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: 10}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for _, id := range victims {
			if err := s.DeleteItem(ctx, "ws1", c.ID, id, storetest.At); err != nil {
				t.Fatal(err)
			}
			e.ids = slices.DeleteFunc(e.ids, func(x string) bool { return x == id })
			checkExact(t, s, c, e, q, 10, nil, nil)
		}
		close(stop)
		wg.Wait()
	})
	t.Run("DeleteCollection", func(t *testing.T) {
		if _, _, err := s.DeleteCollection(ctx, "ws1", c.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.Search(ctx, "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: 1})
		if kindOf(err) != ragd.ENOTFOUND {
			t.Fatalf("search of a deleted collection: %v", err)
		}
	})
}

// quantizedBytes is what the cache holds for n vectors of dims dimensions
// as int8 codes with 2-bit codes: a code a dimension and a scale, the two
// bit planes and the first pass's three factors, the last two by blocks of
// 8.
func quantizedBytes(n, dims int) int64 {
	blocks := int64(n+7) / 8
	return int64(n)*int64(dims+4) + 8*blocks*int64(16*((dims+63)/64)+12)
}

// A quantized collection's 2-bit codes lie in one run of memory, in chunk
// order, once loaded; a write that reloads one chunk of 18 leaves it
// apart, and one that reloads a second, more than a sixteenth, packs
// them all again (packPlanes). Searches stay exact throughout.
func TestPlanesPacked(t *testing.T) {
	const dims, chunks = 32, 18
	ctx := context.Background()
	s := storetest.MustOpen(t)
	s.SetQuantizeAbove(1)
	c, e := seedExact(t, s, dims, (chunks-1)*1024+100)
	r := rand.New(rand.NewPCG(13, 14))
	check := func(when string, want int) {
		t.Helper()
		for range 3 {
			checkExact(t, s, c, e, storetest.UnitVector(r, dims), 10, nil, nil)
		}
		packed, total, err := s.PlanesPacked(ctx, "ws1", c.ID)
		if err != nil || total != chunks || packed != want {
			t.Fatalf("%s: %d of %d chunks packed, %v; want %d of %d", when, packed, total, err, want, chunks)
		}
	}
	check("loaded", chunks)
	e.insert(t, s, c, storetest.UnitVector(r, dims)) // reloads the last chunk
	check("after an insert", chunks-1)
	first := e.ids[0] // in the first chunk
	if err := s.DeleteItem(ctx, "ws1", c.ID, first, storetest.At); err != nil {
		t.Fatal(err)
	}
	e.ids = slices.DeleteFunc(e.ids, func(id string) bool { return id == first })
	check("after a delete", chunks)
}

// Searches that arrive together at a quantized collection not yet loaded
// load each of its chunks once between them, not once each.
func TestConcurrentSearchesLoadOnce(t *testing.T) {
	const dims, chunks = 32, 3
	s := storetest.MustOpen(t)
	s.SetQuantizeAbove(1)
	c, e := seedExact(t, s, dims, (chunks-1)*1024+100)
	r := rand.New(rand.NewPCG(15, 16))
	queries := make([][]float32, 8)
	for i := range queries {
		queries[i] = storetest.UnitVector(r, dims)
	}
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, q := range queries {
		wg.Go(func() {
			_, errs[i] = s.Search(context.Background(), "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: 10})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if _, loads := s.VectorCacheStats(); loads != chunks {
		t.Errorf("%d searches loaded %d chunks; want the collection's %d once", len(queries), loads, chunks)
	}
	for _, q := range queries {
		checkExact(t, s, c, e, q, 10, nil, nil)
	}
}

// A search that waits for another's load of the collection gives up when
// its context ends, with the context's error, and searches after the load
// are exact.
func TestSearchWaitingForLoadIsCancelled(t *testing.T) {
	const dims = 32
	ctx := context.Background()
	s := storetest.MustOpen(t)
	c, e := seedExact(t, s, dims, 100)
	r := rand.New(rand.NewPCG(17, 18))
	checkExact(t, s, c, e, storetest.UnitVector(r, dims), 10, nil, nil) // cached
	e.insert(t, s, c, storetest.UnitVector(r, dims))                    // the next search syncs
	release, err := s.HoldVectorLoad(ctx, "ws1", c.ID)
	if err != nil {
		t.Fatal(err)
	}
	waiting, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	q := storetest.UnitVector(r, dims)
	go func() {
		_, err := s.Search(waiting, "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: 10})
		done <- err
	}()
	// Cancel only once the search waits for the load, past its own
	// transaction's start, which a cancelled context would fail first.
	testwait.Until(t, time.Minute, func() bool {
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "[select") && strings.Contains(g, "store.(*Store).syncChunks") {
				return true
			}
		}
		return false
	}, "the search never waited for the load")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("a cancelled search waiting for a load returned %v; want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a cancelled search waiting for a load did not return")
	}
	release()
	checkExact(t, s, c, e, q, 10, nil, nil)
}
