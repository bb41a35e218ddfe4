package store_test

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store/storetest"
)

// A bulk load keeps the WAL bounded: a commit checkpoints it once it holds
// 64 MiB of pages (wal_autocheckpoint, store.go), so through 230 MB of
// vectors (7,000 of 8,192 dimensions, in transactions of 6.5 MB) it never
// passes 64 MiB and a transaction's pages, among them, when it begins a
// sqlite-vec chunk, the chunk's whole blob (1,024 vectors, 32 MiB).
func TestBulkLoadBoundsWAL(t *testing.T) {
	const dims, batches, per = ragd.MaxDimensions, 35, 200
	s := storetest.MustOpen(t)
	col := storetest.CreateCollection(t, s, &ragd.Collection{Workspace: "ws", Name: "wal", EmbeddingModel: ragd.NoEmbeddingModel,
		Dimensions: dims, Chunking: ragd.Chunking{MaxTokens: 512}})
	vec := storetest.UnitVector(rand.New(rand.NewPCG(7, 7)), dims) // the WAL's size does not depend on the values
	var most int64
	for b := range batches {
		items := make([]ragd.NewItem, per)
		for i := range items {
			items[i] = ragd.NewItem{Content: "bulk", Chunks: []ragd.Chunk{{Content: "bulk", Tokens: 1, End: 4, Vector: vec}}}
		}
		if _, err := s.InsertItems(context.Background(), "ws", col.ID, storetest.Stamp(items)); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
		fi, err := os.Stat(s.Path() + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		most = max(most, fi.Size())
	}
	const checkpointAt, batchBytes, chunkBlob = 64 << 20, per * dims * 4, 1024 * dims * 4
	if bound := int64(checkpointAt + 2*batchBytes + chunkBlob); most > bound {
		t.Errorf("the WAL reached %d MiB; want at most %d", most>>20, bound>>20)
	}
}
