package store_test

// Benchmarks of search and insert at realistic sizes (run with make bench).
// Every latency is printed next to its physical floor measured in the same
// run: the time to stream the bytes a search must read (the collection's
// vectors) through both cores, summed by a tight loop over a slice of the
// same size. The large stores are built lazily by the first benchmark that
// needs them, so go test without -bench builds nothing.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// benchSeed fixes every generated vector, text and query.
const benchSeed = 20240611

// Sizes of the benchmark corpus.
const (
	benchChunksPerItem = 4
	benchItemsPerBatch = 250 // 1000 chunks per InsertItems call
	benchWordsPerChunk = 120
	benchVocabulary    = 20000
	benchQueries       = 100 // timed queries per latency measurement
	benchWarmup        = 10
)

// corpus generates chunk texts with Zipf-distributed word frequencies over
// a fixed vocabulary of made-up words, like natural text.
type corpus struct {
	words []string
	r     *rand.Rand
	zipf  *rand.Zipf
}

// newCorpus returns a generator over the one benchmark vocabulary whose
// word draws follow seed.
func newCorpus(seed uint64) *corpus {
	r := rand.New(rand.NewPCG(benchSeed, 1))
	vocab := make([]string, benchVocabulary)
	seen := map[string]bool{}
	for i := range vocab {
		for {
			b := make([]byte, 3+r.IntN(8))
			for j := range b {
				b[j] = byte('a' + r.IntN(26))
			}
			if w := string(b); !seen[w] {
				seen[w], vocab[i] = true, w
				break
			}
		}
	}
	r = rand.New(rand.NewPCG(seed, 1))
	return &corpus{words: vocab, r: r, zipf: rand.NewZipf(r, 1.1, 2, benchVocabulary-1)}
}

func (c *corpus) text(n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(c.words[c.zipf.Uint64()])
	}
	return sb.String()
}

// benchItems generates n chunks grouped into items, with random unit
// vectors (fixed seed) when emb is nil, else with emb's vectors of the text.
func benchItems(tb testing.TB, n, dims int, emb embed.Embedder) [][]ragd.NewItem {
	c := newCorpus(benchSeed)
	r := rand.New(rand.NewPCG(benchSeed, 2))
	var batches [][]ragd.NewItem
	var batch []ragd.NewItem
	for i := 0; i < n; i += benchChunksPerItem {
		it := ragd.NewItem{Metadata: map[string]any{"n": i / benchChunksPerItem, "group": i % 10}}
		for j := 0; j < benchChunksPerItem && i+j < n; j++ {
			text := c.text(benchWordsPerChunk)
			ch := ragd.Chunk{Index: j, Content: text, Tokens: benchWordsPerChunk * 4 / 3, End: len(text)}
			if emb == nil {
				ch.Vector = storetest.UnitVector(r, dims)
			}
			it.Chunks = append(it.Chunks, ch)
			it.Content += text + "\n"
		}
		batch = append(batch, it)
		if len(batch) == benchItemsPerBatch {
			batches, batch = append(batches, batch), nil
		}
	}
	if len(batch) > 0 {
		batches = append(batches, batch)
	}
	return batches
}

// embedItems fills in the chunk vectors of items with emb.
func embedItems(ctx context.Context, emb embed.Embedder, items []ragd.NewItem) error {
	var texts []string
	for _, it := range items {
		for _, ch := range it.Chunks {
			texts = append(texts, ch.Content)
		}
	}
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		return err
	}
	for i := range items {
		for j := range items[i].Chunks {
			items[i].Chunks[j].Vector, vecs = vecs[0], vecs[1:]
		}
	}
	return nil
}

// fixture is a store holding one collection of n chunks, shared by the
// benchmarks of one run.
type fixture struct {
	s   *store.Store
	col *ragd.Collection
	dir string
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*fixture{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range fixtures {
		f.s.Close()
		os.RemoveAll(f.dir)
	}
	os.Exit(code)
}

// benchStore returns the shared store with n random unit vectors of dims
// dimensions, building it on first use.
func benchStore(b *testing.B, n, dims int) *fixture {
	b.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	key := fmt.Sprintf("%d/%d", n, dims)
	if f := fixtures[key]; f != nil {
		return f
	}
	dir, err := os.MkdirTemp("", "ragd-bench-")
	if err != nil {
		b.Fatal(err)
	}
	s, col := openBenchStore(b, dir, dims)
	start := time.Now()
	for _, batch := range benchItems(b, n, dims, nil) {
		if _, err := s.InsertItems(context.Background(), "bench", col.ID, storetest.Stamp(batch)); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Checkpoint(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d x %d store in %v", n, dims, time.Since(start).Round(time.Millisecond))
	f := &fixture{s: s, col: col, dir: dir}
	fixtures[key] = f
	return f
}

func openBenchStore(b *testing.B, dir string, dims int) (*store.Store, *ragd.Collection) {
	s, err := store.Open(filepath.Join(dir, store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	col := &ragd.Collection{Workspace: "bench", Name: "bench", EmbeddingModel: "bench", Dimensions: dims,
		Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 64}}
	if err := s.CreateCollection(context.Background(), storetest.StampCollection(col)); err != nil {
		b.Fatal(err)
	}
	return s, col
}

// floorScan is the physical floor of a search reading a given number of
// bytes: one pass of all cores over a slice of that size, read by a tight
// loop (sumFloats). Timed passes alternate with the queries they are compared
// with, so that both see the same machine load.
type floorScan struct {
	data []float32
	sink float32
}

func newFloorScan(bytes int) *floorScan {
	f := &floorScan{data: make([]float32, bytes/4)}
	for i := range f.data {
		f.data[i] = float32(i & 1023)
	}
	f.pass()
	return f
}

// pass streams the slice once with GOMAXPROCS goroutines and returns the
// time it took.
func (f *floorScan) pass() time.Duration {
	workers := runtime.GOMAXPROCS(0)
	sums := make([]float32, workers)
	part := (len(f.data) + workers - 1) / workers
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*part, min((w+1)*part, len(f.data))
		wg.Go(func() { sums[w] = sumFloats(f.data[lo:hi]) })
	}
	wg.Wait()
	d := time.Since(start)
	for _, s := range sums {
		f.sink += s
	}
	return d
}

// sumFloats sums one float of every 64-byte cache line of x with four
// independent accumulators: it moves every byte of x from memory into the
// cache, which any scan of x must do, with too little arithmetic to be
// bound by anything but memory.
func sumFloats(x []float32) float32 {
	const line = 16 // floats per cache line
	var s0, s1, s2, s3 float32
	for len(x) >= 4*line {
		s0 += x[0]
		s1 += x[line]
		s2 += x[2*line]
		s3 += x[3*line]
		x = x[4*line:]
	}
	for ; len(x) > 0; x = x[min(line, len(x)):] {
		s0 += x[0]
	}
	return s0 + s1 + s2 + s3
}

// latencies runs query benchQueries times after a warm-up and reports
// p50 and p95 in ms; with a floor, also the floor's median over passes
// alternating with the queries, and the ratios to it.
func latencies(b *testing.B, floor *floorScan, query func(i int) error) {
	b.Helper()
	measure(b, benchQueries, floor, nil, query)
}

// measure times n calls of query after a warm-up, calling before (untimed,
// unless nil) ahead of each, and reports their p50 and p95 as latencies
// does.
func measure(b *testing.B, n int, floor *floorScan, before, query func(i int) error) {
	b.Helper()
	for i := 0; i < benchWarmup; i++ {
		if err := query(i); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		ds := make([]time.Duration, n)
		var fs []time.Duration
		for i := range ds {
			if floor != nil {
				fs = append(fs, floor.pass())
			}
			if before != nil {
				b.StopTimer()
				if err := before(i); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			start := time.Now()
			if err := query(i); err != nil {
				b.Fatal(err)
			}
			ds[i] = time.Since(start)
		}
		p50, p95 := percentile(ds, 50), percentile(ds, 95)
		b.ReportMetric(ms(p50), "p50-ms")
		b.ReportMetric(ms(p95), "p95-ms")
		if floor != nil {
			f := percentile(fs, 50)
			b.ReportMetric(ms(f), "floor-ms")
			b.ReportMetric(float64(len(floor.data)*4)/f.Seconds()/1e9, "floor-GB/s")
			b.ReportMetric(float64(p50)/float64(f), "p50/floor")
			b.ReportMetric(float64(p95)/float64(f), "p95/floor")
		}
	}
}

// percentile returns the p-th percentile of ds, sorting ds.
func percentile(ds []time.Duration, p int) time.Duration {
	slices.Sort(ds)
	return ds[(len(ds)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// queryTexts returns n keyword queries of three to five words: drawn from
// the corpus distribution (common words included, like the stop words of
// natural questions) or, when rare, uniformly from the less frequent 90% of
// the vocabulary (content words only).
func queryTexts(n int, rare bool) []string {
	c := newCorpus(benchSeed + 1)
	out := make([]string, n)
	for i := range out {
		if !rare {
			out[i] = c.text(3 + i%3)
			continue
		}
		words := make([]string, 3+i%3)
		for j := range words {
			words[j] = c.words[benchVocabulary/10+c.r.IntN(benchVocabulary*9/10)]
		}
		out[i] = strings.Join(words, " ")
	}
	return out
}

func queryVectors(n, dims int) [][]float32 {
	r := rand.New(rand.NewPCG(benchSeed, 3))
	out := make([][]float32, n)
	for i := range out {
		out[i] = storetest.UnitVector(r, dims)
	}
	return out
}

var benchShapes = []struct{ n, dims int }{{10_000, 384}, {100_000, 384}, {100_000, 768}}

func shapeName(n, dims int) string { return fmt.Sprintf("%dk/%dd", n/1000, dims) }

// BenchmarkSearch measures vector, hybrid and keyword search with top_k
// 10 over random unit vectors (fixed seed) and Zipf-distributed text, by
// the default path of each shape: the exact scan of cached floats below
// store.DefaultQuantizeAbove, the codes with exact rescoring from it on
// (vector-exact is then the exact scan, forced).
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	natural, rare := queryTexts(benchQueries, false), queryTexts(benchQueries, true)
	for _, sh := range benchShapes {
		b.Run(shapeName(sh.n, sh.dims), func(b *testing.B) {
			f := benchStore(b, sh.n, sh.dims)
			vecs := queryVectors(benchQueries, sh.dims)
			// Each floor is the bytes its scan reads: every float, or
			// every 2-bit code and its factors.
			floats := sh.n * sh.dims * 4
			quantized := int64(floats) >= store.DefaultQuantizeAbove
			floatFloor := newFloorScan(floats)
			floor := floatFloor
			if quantized {
				b.Run("vector-exact", func(b *testing.B) {
					f.s.SetQuantizeAbove(1 << 62)
					defer f.s.SetQuantizeAbove(store.DefaultQuantizeAbove)
					latencies(b, floatFloor, func(i int) error {
						_, err := f.s.Search(ctx, "bench", f.col.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: vecs[i%len(vecs)], TopK: 10})
						return err
					})
				})
				floor = newFloorScan(planesBytes(sh.n, sh.dims))
			}
			// The -fts5 modes are the peers of the keyword cache: the same
			// queries ranked by FTS5 (store/keywords.go).
			modes := []struct {
				name, mode string
				texts      []string
				floor      *floorScan
				fts5       bool
			}{
				{"vector", ragd.ModeVector, nil, floor, false},
				{"hybrid", ragd.ModeHybrid, natural, floor, false},
				{"hybrid-fts5", ragd.ModeHybrid, natural, floor, true},
				{"hybrid-rare-words", ragd.ModeHybrid, rare, floor, false},
				{"keyword", ragd.ModeKeyword, natural, nil, false},
				{"keyword-fts5", ragd.ModeKeyword, natural, nil, true},
				{"keyword-rare-words", ragd.ModeKeyword, rare, nil, false},
				{"keyword-rare-words-fts5", ragd.ModeKeyword, rare, nil, true},
			}
			for _, m := range modes {
				if m.mode != ragd.ModeVector && (sh.n != 100_000 || sh.dims != 384) {
					continue
				}
				b.Run(m.name, func(b *testing.B) {
					keywordPath(b, f, m.fts5)
					latencies(b, m.floor, func(i int) error {
						q := ragd.SearchQuery{Mode: m.mode, Vector: vecs[i%len(vecs)], TopK: 10}
						if m.texts != nil {
							q.Text = m.texts[i%len(m.texts)]
						}
						res, err := f.s.Search(ctx, "bench", f.col.ID, q)
						if err == nil && len(res) == 0 {
							err = fmt.Errorf("%s search found nothing", m.name)
						}
						return err
					})
				})
			}
			if sh.n == 100_000 && sh.dims == 384 {
				// A collection beyond the memory budget: the same scan,
				// reading the vectors from the database.
				b.Run("vector-disk", func(b *testing.B) {
					f.s.SetVectorCacheBytes(0)
					defer f.s.SetVectorCacheBytes(store.DefaultVectorCacheBytes)
					latencies(b, floatFloor, func(i int) error {
						_, err := f.s.Search(ctx, "bench", f.col.ID, ragd.SearchQuery{
							Mode: ragd.ModeVector, Vector: vecs[i%len(vecs)], TopK: 10})
						return err
					})
				})
				// The peer: sqlite-vec's own KNN over the same table.
				b.Run("vector-sqlite-vec", func(b *testing.B) {
					latencies(b, floatFloor, func(i int) error {
						_, err := f.s.SqliteVecSearch(ctx, "bench", f.col.ID, vecs[i%len(vecs)], 10)
						return err
					})
				})
			}
			// A filter passing 20% of the items: groups are i % 10 of every
			// fourth i, so 0, 4, 8, 2 and 6.
			filter := &ragd.Filter{Key: "group", Op: "eq", Value: 0.0}
			for _, mode := range []string{ragd.ModeVector, ragd.ModeHybrid} {
				if mode != ragd.ModeVector && (sh.n != 100_000 || sh.dims != 384) {
					continue
				}
				b.Run(mode+"-filtered", func(b *testing.B) {
					if mode == ragd.ModeHybrid {
						keywordPath(b, f, false)
					}
					latencies(b, floor, func(i int) error {
						res, err := f.s.Search(ctx, "bench", f.col.ID, ragd.SearchQuery{Mode: mode,
							Vector: vecs[i%len(vecs)], Text: natural[i%len(natural)], TopK: 10, Filter: filter})
						if err == nil && len(res) == 0 {
							err = fmt.Errorf("%s-filtered search found nothing", mode)
						}
						return err
					})
				})
			}
			if sh.n == 100_000 && sh.dims == 384 {
				// A keyword query right after an item of 4 chunks was
				// inserted (untimed): the cache rebuilds the block the
				// item touched, tokenizing only its chunks; last, as the
				// inserts grow the collection.
				var extra []ragd.NewItem
				for _, fts5 := range []bool{false, true} {
					name := "keyword-after-insert"
					if fts5 {
						name += "-fts5"
					}
					b.Run(name, func(b *testing.B) {
						keywordPath(b, f, fts5)
						measure(b, benchQueries, nil, func(int) error {
							if len(extra) == 0 { // enough for a run of both paths at -benchtime 1x, made again as longer runs need
								extra = benchItems(b, 4*2*(benchQueries+benchWarmup), sh.dims, nil)[0]
							}
							_, err := f.s.InsertItems(ctx, "bench", f.col.ID, storetest.Stamp(extra[:1]))
							extra = extra[1:]
							return err
						}, func(i int) error {
							_, err := f.s.Search(ctx, "bench", f.col.ID, ragd.SearchQuery{Mode: ragd.ModeKeyword, Text: natural[i%len(natural)], TopK: 10})
							return err
						})
					})
				}
			}
		})
	}
}

// keywordPath makes f's keyword queries FTS5's until b ends when fts5 is
// set, and otherwise builds f's keyword cache before b measures it.
func keywordPath(b *testing.B, f *fixture, fts5 bool) {
	b.Helper()
	if fts5 {
		f.s.SetKeywordCacheBytes(0)
		b.Cleanup(func() { f.s.SetKeywordCacheBytes(store.DefaultKeywordCacheBytes) })
		return
	}
	start := time.Now()
	if err := f.s.BuildKeywordCache(context.Background(), "bench", f.col.ID); err != nil {
		b.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		b.Logf("keyword cache built in %v", d.Round(time.Millisecond))
	}
}

// BenchmarkInsert measures batch insert throughput into an empty
// collection up to RAGD_BENCH_INSERT chunks of 384 dimensions (default
// 100,000): with vectors given (store only) and with the built-in hash
// embedder embedding the text.
func BenchmarkInsert(b *testing.B) {
	const dims = 384
	n := envCount("RAGD_BENCH_INSERT", 100_000)
	ctx := context.Background()
	for _, withHash := range []bool{false, true} {
		name := "vectors"
		var emb embed.Embedder
		if withHash {
			name, emb = "hash", embed.NewHash(dims)
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				batches := benchItems(b, n, dims, emb)
				dir := b.TempDir()
				s, col := openBenchStore(b, dir, dims)
				b.StartTimer()
				start := time.Now()
				for _, batch := range batches {
					if emb != nil {
						if err := embedItems(ctx, emb, batch); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := s.InsertItems(ctx, "bench", col.ID, storetest.Stamp(batch)); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Checkpoint(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "chunks/s")
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkManyCollections measures how creating collections slows the
// searches of another one: a hybrid search of a 2,000-chunk collection
// while nothing else happens (search-alone, its floor), the same search
// right after another workspace created a collection (search-after-create:
// with one creation a second and searches far shorter than that, every
// search follows a creation), the creation itself, and a new reader
// connection's load of the schema (schema-load).
//
// Collections share their search tables (index.go), so the schema does not
// grow with them; when each had tables of its own, every creation made
// each reader re-read a schema that grew by 12 rows a collection, in
// quadratic time: 2-4 s per search after a creation at 1k collections
// (docs/benchmarks.md).
func BenchmarkManyCollections(b *testing.B) {
	ctx := context.Background()
	const chunks, dims = 2000, 384
	const afterCreate = 20 // searches timed after a creation, each paying for it
	texts, vecs := queryTexts(benchQueries, false), queryVectors(benchQueries, dims)
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			s, col := openBenchStore(b, b.TempDir(), dims)
			defer s.Close()
			for _, batch := range benchItems(b, chunks, dims, nil) {
				if _, err := s.InsertItems(ctx, "bench", col.ID, storetest.Stamp(batch)); err != nil {
					b.Fatal(err)
				}
			}
			created := 1
			create := func(int) error {
				created++
				return s.CreateCollection(ctx, storetest.StampCollection(&ragd.Collection{Workspace: "other", Name: fmt.Sprint("c", created),
					EmbeddingModel: "bench", Dimensions: dims, Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 64}}))
			}
			start := time.Now()
			for created < n {
				if err := create(0); err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("created %d collections in %v", n, time.Since(start).Round(time.Millisecond))
			search := func(i int) error {
				res, err := s.Search(ctx, "bench", col.ID, ragd.SearchQuery{Mode: ragd.ModeHybrid,
					Vector: vecs[i%len(vecs)], Text: texts[i%len(texts)], TopK: 10})
				if err == nil && len(res) == 0 {
					err = fmt.Errorf("search found nothing")
				}
				return err
			}
			// The peer of a creation: any write, here an item in another
			// workspace, makes each reader drop its page cache at its next
			// read transaction (SQLite's WAL), whatever it changed.
			other := storetest.CreateCollection(b, s, &ragd.Collection{Workspace: "other", Name: "items",
				EmbeddingModel: "bench", Dimensions: dims, Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 64}})
			items := slices.Concat(benchItems(b, afterCreate*benchChunksPerItem, dims, nil)...)
			insert := func(i int) error {
				_, err := s.InsertItems(ctx, "other", other.ID, storetest.Stamp(items[i:i+1]))
				return err
			}
			b.Run("search-alone", func(b *testing.B) { latencies(b, nil, search) })
			b.Run("search-after-insert", func(b *testing.B) { measure(b, afterCreate, nil, insert, search) })
			b.Run("search-after-create", func(b *testing.B) { measure(b, afterCreate, nil, create, search) })
			b.Run("create", func(b *testing.B) { measure(b, afterCreate, nil, nil, create) })
			b.Run("schema-load", func(b *testing.B) {
				measure(b, afterCreate, nil, nil, func(int) error { return s.LoadSchema(ctx) })
			})
		})
	}
}
