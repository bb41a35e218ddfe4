package store_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

func BenchmarkZZLoad(b *testing.B) {
	const n, dims = 1_000_000, 384
	ctx := context.Background()
	dir := "/tmp/zzload"
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, store.FileName)
	_, statErr := os.Stat(path)
	s, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var colID string
	if statErr != nil {
		col := &ragd.Collection{Workspace: "bench", Name: "bench", EmbeddingModel: "bench", Dimensions: dims, Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 64}}
		if err := s.CreateCollection(ctx, storetest.StampCollection(col)); err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		for done := 0; done < n; {
			var batch []ragd.NewItem
			for ; done < n && len(batch) < 1000; done++ {
				batch = append(batch, ragd.NewItem{Content: "c", Chunks: []ragd.Chunk{{Content: "c", Tokens: 1, End: 1, Vector: storetest.UnitVector(r, dims)}}})
			}
			if _, err := s.InsertItems(ctx, "bench", col.ID, storetest.Stamp(batch)); err != nil {
				b.Fatal(err)
			}
		}
		s.Checkpoint(ctx)
		colID = col.ID
		os.WriteFile(filepath.Join(dir, "col"), []byte(colID), 0o644)
	} else {
		x, _ := os.ReadFile(filepath.Join(dir, "col"))
		colID = string(x)
	}
	q := storetest.UnitVector(rand.New(rand.NewPCG(3, 4)), dims)
	pf, _ := os.Create("/tmp/load.prof")
	pprof.StartCPUProfile(pf)
	for range 2 {
		s.SetVectorCacheBytes(0)
		s.SetVectorCacheBytes(8 << 30)
		start := time.Now()
		if _, err := s.Search(ctx, "bench", colID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: q, TopK: 10}); err != nil {
			b.Fatal(err)
		}
		b.Logf("first search %v", time.Since(start))
	}
	pprof.StopCPUProfile()
	pf.Close()
}
