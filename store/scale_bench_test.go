package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// BenchmarkScale measures vector search at the sizes in RAGD_BENCH_SCALE
// (comma-separated chunk counts; make bench-scale sets 1,000,000), 384
// dimensions, top_k 10, on random unit vectors (the worst case for
// quantization) and on clustered ones (a mixture of 1,000 Gaussian
// centres, like real embeddings), each by every path: the exact scan of
// cached floats, the int8 codes with exact rescoring, alone and after a
// first pass over 2-bit codes (each with its recall@10 against the exact
// scan), and the exact scans of the codes' collection ("exact": true):
// from its vector file and, files off, from disk. Each p50 is printed
// beside the floor of the bytes its scan reads, measured in the same run,
// and sqlite-vec's KNN is the peer. It takes minutes a million chunks, so
// make bench leaves it out. Past 4 GiB of floats (about 2.8M chunks) the
// machine cannot hold both the floats and a floor of their size: the exact
// reference is then "exact": true on the codes,
// fewer queries are timed, and the scans of floats have no floor. A search
// with a filter passing 1% of the chunks is timed on the codes too: its
// first run, which reads the filter from the database, and the others,
// which find it kept.
func BenchmarkScale(b *testing.B) {
	const dims = 384
	ctx := context.Background()
	for _, n := range scaleSizes(b) {
		for _, clustered := range []bool{false, true} {
			name := fmt.Sprintf("%dk/random", n/1000)
			if clustered {
				name = fmt.Sprintf("%dk/clustered", n/1000)
			}
			b.Run(name, func(b *testing.B) {
				huge := int64(n)*dims*4 > 4<<30
				queries := 50
				if huge {
					queries = 20
				}
				floatFloor := func() *floorScan {
					if huge {
						return nil
					}
					return newFloorScan(n * dims * 4)
				}
				gen := newVectorSource(clustered, dims)
				s, col := openBenchStore(b, b.TempDir(), dims)
				defer s.Close()
				insertVectors(b, s, col, n, gen)
				if err := s.Checkpoint(ctx); err != nil {
					b.Fatal(err)
				}
				qs := make([][]float32, queries)
				for i := range qs {
					qs[i] = gen.next()
				}
				search := func(q []float32, exact bool) ([]string, error) {
					res, err := s.Search(ctx, "bench", col.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: 10, Exact: exact})
					var ids []string
					for _, r := range res {
						ids = append(ids, r.ID)
					}
					return ids, err
				}
				// Each sub-benchmark makes its own floor and drops it before
				// reading RSS, which then counts the store and its cache.
				s.SetVectorCacheBytes(1 << 40)
				want := make([][]string, queries)
				if !huge {
					s.SetQuantizeAbove(1 << 62)
					b.Run("exact-cached", func(b *testing.B) {
						measure(b, queries, floatFloor(), nil, func(i int) (err error) {
							want[i%queries], err = search(qs[i%queries], false)
							return err
						})
						b.ReportMetric(rssGiB(), "RSS-GiB")
					})
				} else {
					for i := range want {
						var err error
						if want[i], err = search(qs[i], true); err != nil {
							b.Fatal(err)
						}
					}
				}
				s.SetQuantizeAbove(1)
				codes := func(name string, floor int) {
					b.Run(name, func(b *testing.B) {
						got := make([][]string, queries)
						measure(b, queries, newFloorScan(floor), nil, func(i int) (err error) {
							got[i%queries], err = search(qs[i%queries], false)
							return err
						})
						var found int
						for i := range got {
							for _, id := range got[i] {
								if slices.Contains(want[i], id) {
									found++
								}
							}
						}
						b.ReportMetric(float64(found)/float64(10*queries), "recall@10")
						b.ReportMetric(rssGiB(), "RSS-GiB")
					})
				}
				// The codes alone, then with the 2-bit codes' first pass
				// (the default); each floor is the bytes its scan must
				// read: every code, or every slot's 2-bit code and
				// factors.
				// Last, the default with the candidates' vectors read
				// through sqlite-vec instead of the vector file: the
				// file's peer.
				planes := planesBytes(n, dims)
				s.SetBinaryFirstPass(false)
				codes("int8", n*(dims+4))
				s.SetBinaryFirstPass(true)
				codes("2bit+int8", planes)
				s.SetVectorFiles(false)
				codes("2bit+int8-sqlite-rescore", planes)
				s.SetVectorFiles(true)
				if _, err := search(qs[0], false); err != nil { // loads the codes again, unmeasured
					b.Fatal(err)
				}
				// A filter passing 1% of the chunks (metadata g = 7, of
				// 0..99), on the same codes: every query must still
				// return k results, all passing it.
				b.Run("int8-filtered-1pct", func(b *testing.B) {
					filter := &ragd.Filter{Key: "g", Op: "eq", Value: 7}
					search := func(i int) error {
						res, err := s.Search(ctx, "bench", col.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: qs[i%queries], TopK: 10, Filter: filter})
						if err != nil {
							return err
						}
						if len(res) != 10 {
							return fmt.Errorf("a search with a filter passing 1%% returned %d results; want 10", len(res))
						}
						for _, r := range res {
							if g, _ := r.Metadata["g"].(float64); g != 7 {
								return fmt.Errorf("a search filtered on g = 7 returned a chunk with g = %v", r.Metadata["g"])
							}
						}
						return nil
					}
					// The first search reads the filter's chunks from the
					// database; the others find them kept (store.filterCache).
					// Another filter runs before it, so that it does not also
					// pay for reading the database's pages into memory.
					if _, err := s.FilterIDs(ctx, &ragd.Filter{Key: "g", Op: "eq", Value: 8}, col.ID); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					if err := search(0); err != nil {
						b.Fatal(err)
					}
					first := time.Since(start)
					measure(b, queries, nil, nil, search)
					b.ReportMetric(ms(first), "first-ms")
				})
				// "exact": true on the codes: the floats of the vector
				// file, then, files off, of the database.
				for _, files := range []bool{true, false} {
					name := "exact-file"
					if !files {
						name = "disk"
						s.SetVectorFiles(false)
					}
					b.Run(name, func(b *testing.B) {
						measure(b, min(10, queries), floatFloor(), nil, func(i int) error {
							_, err := search(qs[i%queries], true)
							return err
						})
					})
				}
				s.SetVectorFiles(true)
				s.SetVectorCacheBytes(0)
				b.Run("sqlite-vec", func(b *testing.B) {
					measure(b, min(10, queries), floatFloor(), nil, func(i int) error {
						_, err := s.SqliteVecSearch(ctx, "bench", col.ID, qs[i%queries], 10)
						return err
					})
				})
			})
		}
	}
}

// planesBytes is the size of n vectors' 2-bit codes and factors: what a
// quantized scan's first pass reads.
func planesBytes(n, dims int) int { return n * (16*((dims+63)/64) + 12) }

// insertVectors inserts n items of one chunk each into col, by 1,000 a
// transaction: the chunks' vectors from gen, the items' metadata g their
// index modulo 100 (a filter on one value of g passes 1%).
func insertVectors(b *testing.B, s *store.Store, col *ragd.Collection, n int, gen *vectorSource) {
	for done := 0; done < n; {
		var batch []ragd.NewItem
		for ; done < n && len(batch) < 1000; done++ {
			batch = append(batch, ragd.NewItem{Content: "c", Metadata: map[string]any{"g": done % 100},
				Chunks: []ragd.Chunk{{Content: "c", Tokens: 1, End: 1, Vector: gen.next()}}})
		}
		if _, err := s.InsertItems(context.Background(), "bench", col.ID, storetest.Stamp(batch)); err != nil {
			b.Fatal(err)
		}
	}
}

// envCount returns the positive count in the environment variable name,
// or def when it is unset or not one.
func envCount(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// scaleSizes returns the chunk counts RAGD_BENCH_SCALE lists, skipping b
// when it is unset.
func scaleSizes(b *testing.B) []int {
	sizes := os.Getenv("RAGD_BENCH_SCALE")
	if sizes == "" {
		b.Skip("set RAGD_BENCH_SCALE (make bench-scale)")
	}
	var out []int
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("RAGD_BENCH_SCALE: %q is not a chunk count", f)
		}
		out = append(out, n)
	}
	return out
}

// BenchmarkKeywordScale measures keyword search at each size of
// RAGD_BENCH_SCALE (make bench-scale), from the keyword cache and, as its
// peer, from FTS5, on the same store in the same run: chunks of the
// benchmark's Zipf text (120 words), 8-dimension vectors, natural and
// rare-word queries. It also reports the cache's build time and size.
func BenchmarkKeywordScale(b *testing.B) {
	const dims = 8
	ctx := context.Background()
	natural, rare := queryTexts(benchQueries, false), queryTexts(benchQueries, true)
	for _, n := range scaleSizes(b) {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			s, col := openBenchStore(b, b.TempDir(), dims)
			defer s.Close()
			c := newCorpus(benchSeed)
			r := rand.New(rand.NewPCG(benchSeed, 2))
			for done := 0; done < n; {
				var batch []ragd.NewItem
				for ; done < n && len(batch) < 1000; done++ {
					text := c.text(benchWordsPerChunk)
					batch = append(batch, ragd.NewItem{Content: text,
						Chunks: []ragd.Chunk{{Content: text, Tokens: benchWordsPerChunk * 4 / 3, End: len(text), Vector: storetest.UnitVector(r, dims)}}})
				}
				if _, err := s.InsertItems(ctx, "bench", col.ID, storetest.Stamp(batch)); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := s.BuildKeywordCache(ctx, "bench", col.ID); err != nil {
				b.Fatal(err)
			}
			build := time.Since(start)
			for _, m := range []struct {
				name  string
				texts []string
				fts5  bool
			}{
				{"natural", natural, false},
				{"natural-fts5", natural, true},
				{"rare-words", rare, false},
				{"rare-words-fts5", rare, true},
			} {
				b.Run(m.name, func(b *testing.B) {
					if m.fts5 {
						s.SetKeywordCacheBytes(0)
						defer s.SetKeywordCacheBytes(store.DefaultKeywordCacheBytes)
					} else if err := s.BuildKeywordCache(ctx, "bench", col.ID); err != nil {
						b.Fatal(err)
					}
					measure(b, benchQueries, nil, nil, func(i int) error {
						res, err := s.Search(ctx, "bench", col.ID, ragd.SearchQuery{Mode: ragd.ModeKeyword, Text: m.texts[i%len(m.texts)], TopK: 10})
						if err == nil && len(res) == 0 {
							err = fmt.Errorf("%q found nothing", m.texts[i%len(m.texts)])
						}
						return err
					})
					if !m.fts5 {
						b.ReportMetric(build.Seconds(), "build-s")
						b.ReportMetric(float64(s.KeywordCacheBytes())/(1<<20), "cache-MiB")
					}
					b.ReportMetric(rssGiB(), "RSS-GiB")
				})
			}
		})
	}
}

// vectorSource yields unit vectors: uniformly random, or around one of
// 1,000 random centres with Gaussian noise of the centres' own size.
type vectorSource struct {
	r       *rand.Rand
	dims    int
	centres [][]float32
}

func newVectorSource(clustered bool, dims int) *vectorSource {
	v := &vectorSource{r: rand.New(rand.NewPCG(benchSeed, 3)), dims: dims}
	if clustered {
		for range 1000 {
			v.centres = append(v.centres, storetest.UnitVector(v.r, dims))
		}
	}
	return v
}

func (v *vectorSource) next() []float32 {
	x := storetest.UnitVector(v.r, v.dims)
	if v.centres != nil {
		c := v.centres[v.r.IntN(len(v.centres))]
		for i := range x {
			x[i] = c[i] + 0.8*x[i]
		}
		embed.Normalize(x)
	}
	return x
}

// rssGiB returns the process's resident memory, after returning freed
// memory to the system, in GiB.
func rssGiB() float64 {
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	fmt.Sscan(string(b), &size, &resident)
	return float64(resident*int64(os.Getpagesize())) / (1 << 30)
}

// BenchmarkLoadCodes measures a quantized collection's first vector
// search after the store is opened again, which reads every vector and
// makes its codes (RAGD_BENCH_LOAD chunks x 384, random unit vectors,
// default 300,000), beside the same first search of the collection held
// as floats, which only copies them: the floor of the reads. Each is
// reported in seconds; the store is reopened before each.
func BenchmarkLoadCodes(b *testing.B) {
	const dims = 384
	n := envCount("RAGD_BENCH_LOAD", 300_000)
	ctx := context.Background()
	dir := b.TempDir()
	s, col := openBenchStore(b, dir, dims)
	gen := newVectorSource(false, dims)
	insertVectors(b, s, col, n, gen)
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	q := gen.next()
	for range b.N {
		for _, tc := range []struct {
			name  string
			above int64
		}{{"codes", 1}, {"floats", 1 << 62}} {
			s, err := store.Open(filepath.Join(dir, store.FileName))
			if err != nil {
				b.Fatal(err)
			}
			s.SetQuantizeAbove(tc.above)
			start := time.Now()
			if _, err := s.Search(ctx, "bench", col.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: 10}); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), tc.name+"-first-search-s")
			s.Close()
		}
	}
}
