package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// BenchmarkStartup measures, at each size RAGD_BENCH_SCALE lists (make
// bench-scale), how long a ragd process started on a data directory
// holding one collection of that many chunks x 384 (random unit vectors)
// takes to answer /readyz, and how long its first vector search then
// takes through the HTTP API (the vectors are loaded on demand) beside
// the second. Issue 13, item 6: /readyz within 30 s at 10M.
//
// The store is built in process (vectors given, 1,000 a batch) and the
// data directory dropped after.
func BenchmarkStartup(b *testing.B) {
	sizes := os.Getenv("RAGD_BENCH_SCALE")
	if sizes == "" {
		b.Skip("set RAGD_BENCH_SCALE (make bench-scale)")
	}
	const dims = 384
	ctx := context.Background()
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("RAGD_BENCH_SCALE: %q is not a chunk count", f)
		}
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			dir := b.TempDir()
			s, err := store.Open(filepath.Join(dir, store.FileName))
			if err != nil {
				b.Fatal(err)
			}
			col := storetest.CreateCollection(b, s, &ragd.Collection{Workspace: ragd.DefaultWorkspace, Name: "startup",
				EmbeddingModel: "none", Dimensions: dims, Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 64}})
			r := rand.New(rand.NewPCG(1, 2))
			unit := func() []float32 { return storetest.UnitVector(r, dims) }
			for done := 0; done < n; {
				var batch []ragd.NewItem
				for ; done < n && len(batch) < 1000; done++ {
					batch = append(batch, ragd.NewItem{Content: "c", Chunks: []ragd.Chunk{{Content: "c", Tokens: 1, End: 1, Vector: unit()}}})
				}
				if _, err := s.InsertItems(ctx, ragd.DefaultWorkspace, col.ID, storetest.Stamp(batch)); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			for range b.N {
				start := time.Now()
				// A budget the 10M collection's codes fit (README, "Large
				// collections").
				p := startRagd(b, dir, "--memory-budget", strconv.Itoa(8<<30))
				testwait.Until(b, 10*time.Minute, func() bool {
					resp, err := http.Get(p.url + "/readyz")
					if err != nil {
						return false
					}
					resp.Body.Close()
					return resp.StatusCode == http.StatusOK
				}, "/readyz")
				ready := time.Since(start)
				var searches []time.Duration
				for range 2 {
					var out struct {
						Results []any `json:"results"`
					}
					t0 := time.Now()
					if code := call(b, "POST", p.url+"/v1/vector_store/"+col.ID+"/search", map[string]any{"vector": unit(), "mode": "vector", "top_k": 10}, &out); code != 200 || len(out.Results) != 10 {
						b.Fatalf("search: %d, %d results", code, len(out.Results))
					}
					searches = append(searches, time.Since(t0))
				}
				p.cmd.Process.Kill()
				<-p.done
				b.ReportMetric(ready.Seconds(), "readyz-s")
				b.ReportMetric(searches[0].Seconds(), "first-search-s")
				b.ReportMetric(float64(searches[1])/1e6, "second-search-ms")
			}
		})
	}
}
