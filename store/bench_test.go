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
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/store"
)

// benchSeed fixes every generated vector, text and query.
const benchSeed = 20240611

// Sizes of the benchmark corpus.
const (
	benchChunksPerItem = 4
	benchItemsPerBatch = 250 // 1000 chunks per InsertItems call
	benchWordsPerChunk = 120
	benchVocabulary    = 20000
	benchQueries       = 200 // timed queries per latency measurement
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

// randomUnit returns a vector drawn uniformly from the unit sphere.
func randomUnit(r *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	embed.Normalize(v)
	return v
}

// benchItems generates n chunks grouped into items, with random unit
// vectors (fixed seed) when emb is nil, else with emb's vectors of the text.
func benchItems(tb testing.TB, n, dims int, emb embed.Embedder) [][]store.NewItem {
	c := newCorpus(benchSeed)
	r := rand.New(rand.NewPCG(benchSeed, 2))
	var batches [][]store.NewItem
	var batch []store.NewItem
	for i := 0; i < n; i += benchChunksPerItem {
		it := store.NewItem{Metadata: map[string]any{"n": i / benchChunksPerItem, "group": i % 10}}
		for j := 0; j < benchChunksPerItem && i+j < n; j++ {
			text := c.text(benchWordsPerChunk)
			ch := store.Chunk{Index: j, Content: text, Tokens: benchWordsPerChunk * 4 / 3, End: len(text)}
			if emb == nil {
				ch.Vector = randomUnit(r, dims)
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
func embedItems(ctx context.Context, emb embed.Embedder, items []store.NewItem) error {
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
	col *store.Collection
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
		if _, err := s.InsertItems(context.Background(), "bench", col.ID, batch); err != nil {
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

func openBenchStore(b *testing.B, dir string, dims int) (*store.Store, *store.Collection) {
	s, err := store.Open(filepath.Join(dir, store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	col := &store.Collection{Workspace: "bench", Name: "bench", EmbeddingModel: "bench", Dimensions: dims,
		Chunking: store.Chunking{MaxTokens: 512, OverlapTokens: 64}}
	if err := s.CreateCollection(context.Background(), col); err != nil {
		b.Fatal(err)
	}
	return s, col
}

// scanFloor returns the time both cores need to stream a slice of the
// given size once (median of several passes after a warm-up), the floor
// of any search that reads that many bytes, and the bandwidth in GB/s.
func scanFloor(bytes int) (time.Duration, float64) {
	data := make([]float32, bytes/4)
	for i := range data {
		data[i] = float32(i & 1023)
	}
	workers := runtime.GOMAXPROCS(0)
	var sink float32
	pass := func() time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		sums := make([]float32, workers)
		part := (len(data) + workers - 1) / workers
		for w := 0; w < workers; w++ {
			lo, hi := w*part, min((w+1)*part, len(data))
			wg.Go(func() { sums[w] = sumFloats(data[lo:hi]) })
		}
		wg.Wait()
		d := time.Since(start)
		for _, s := range sums {
			sink += s
		}
		return d
	}
	pass()
	ds := make([]time.Duration, 15)
	for i := range ds {
		ds[i] = pass()
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	if sink == -1 {
		fmt.Println(sink)
	}
	d := ds[len(ds)/2]
	return d, float64(bytes) / d.Seconds() / 1e9
}

// sumFloats sums x with eight independent accumulators, so that the loop is
// bound by memory, not by the latency of one dependent chain of adds.
func sumFloats(x []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(x) >= 8 {
		s0 += x[0]
		s1 += x[1]
		s2 += x[2]
		s3 += x[3]
		s4 += x[4]
		s5 += x[5]
		s6 += x[6]
		s7 += x[7]
		x = x[8:]
	}
	for _, v := range x {
		s0 += v
	}
	return s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
}

// latencies runs query benchQueries times after a warm-up and reports
// p50 and p95 in ms, with the floor and the ratios to it.
func latencies(b *testing.B, floor time.Duration, query func(i int) error) {
	b.Helper()
	for i := 0; i < benchWarmup; i++ {
		if err := query(i); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		ds := make([]time.Duration, benchQueries)
		for i := range ds {
			start := time.Now()
			if err := query(i); err != nil {
				b.Fatal(err)
			}
			ds[i] = time.Since(start)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		p50, p95 := ds[len(ds)/2], ds[len(ds)*95/100]
		b.ReportMetric(ms(p50), "p50-ms")
		b.ReportMetric(ms(p95), "p95-ms")
		if floor > 0 {
			b.ReportMetric(ms(floor), "floor-ms")
			b.ReportMetric(float64(p50)/float64(floor), "p50/floor")
			b.ReportMetric(float64(p95)/float64(floor), "p95/floor")
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// queryTexts returns n keyword queries of three to five words drawn from
// the corpus distribution.
func queryTexts(n int) []string {
	c := newCorpus(benchSeed + 1)
	out := make([]string, n)
	for i := range out {
		out[i] = c.text(3 + i%3)
	}
	return out
}

func queryVectors(n, dims int) [][]float32 {
	r := rand.New(rand.NewPCG(benchSeed, 3))
	out := make([][]float32, n)
	for i := range out {
		out[i] = randomUnit(r, dims)
	}
	return out
}

var benchShapes = []struct{ n, dims int }{{10_000, 384}, {100_000, 384}, {100_000, 768}}

func shapeName(n, dims int) string { return fmt.Sprintf("%dk/%dd", n/1000, dims) }

// BenchmarkSearch measures exact vector, hybrid and keyword search with
// top_k 10 over random unit vectors (fixed seed) and Zipf-distributed text.
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	texts := queryTexts(benchQueries)
	for _, sh := range benchShapes {
		b.Run(shapeName(sh.n, sh.dims), func(b *testing.B) {
			f := benchStore(b, sh.n, sh.dims)
			floor, gbs := scanFloor(sh.n * sh.dims * 4)
			b.Logf("floor: %d MB of vectors at %.1f GB/s (%d cores) = %.2f ms",
				sh.n*sh.dims*4/1e6, gbs, runtime.GOMAXPROCS(0), ms(floor))
			vecs := queryVectors(benchQueries, sh.dims)
			modes := []struct {
				mode  string
				floor time.Duration
			}{{store.ModeVector, floor}, {store.ModeHybrid, floor}, {store.ModeKeyword, 0}}
			for _, m := range modes {
				if m.mode != store.ModeVector && sh.n != 100_000 {
					continue
				}
				b.Run(m.mode, func(b *testing.B) {
					latencies(b, m.floor, func(i int) error {
						res, err := f.s.Search(ctx, "bench", f.col.ID, store.SearchQuery{
							Mode: m.mode, Text: texts[i%len(texts)], Vector: vecs[i%len(vecs)], TopK: 10})
						if err == nil && len(res) == 0 {
							err = fmt.Errorf("%s search found nothing", m.mode)
						}
						return err
					})
				})
			}
			b.Run("vector-filtered", func(b *testing.B) {
				// A filter passing 10% of the items.
				filter := &store.Filter{Key: "group", Op: "eq", Value: 0.0}
				latencies(b, floor, func(i int) error {
					_, err := f.s.Search(ctx, "bench", f.col.ID, store.SearchQuery{
						Mode: store.ModeVector, Vector: vecs[i%len(vecs)], TopK: 10, Filter: filter})
					return err
				})
			})
		})
	}
}

// BenchmarkInsert measures batch insert throughput into an empty
// collection up to 100k chunks of 384 dimensions: with vectors given
// (store only) and with the built-in hash embedder embedding the text.
func BenchmarkInsert(b *testing.B) {
	const n, dims = 100_000, 384
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
					if _, err := s.InsertItems(ctx, "bench", col.ID, batch); err != nil {
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
