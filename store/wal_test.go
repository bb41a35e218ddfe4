package store_test

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
	"github.com/ragd/ragd/store/walvfs"
)

// A bulk load keeps the WAL bounded while its checkpoints run beside the
// writer (checkpoint.go): with checkpoints from 1 MiB of pages, and so a
// limit of 4 MiB from which a commit checkpoints itself, 36 MB of
// vectors in transactions of 300 KB never take the WAL past twice the
// limit and a transaction's pages, among them, when it begins a
// sqlite-vec chunk, the chunk's whole blob (1,024 vectors, 1.5 MiB).
// Every item is there afterwards. The writer wrote the WAL through walvfs,
// its frames held back and written together, while checkpoints started
// the WAL over and cut it back.
func TestBulkLoadBoundsWAL(t *testing.T) {
	const dims, batches, per, checkpointAt = 384, 120, 200, 1 << 20
	before := walvfs.ReadStats()
	s := storetest.MustOpen(t, store.CheckpointAt(checkpointAt))
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
	const batchBytes, chunkBlob, loaded = per * dims * 4, 1024 * dims * 4, batches * per * dims * 4
	bound := 2*store.CheckpointLimit(checkpointAt) + 2*batchBytes + chunkBlob
	if loaded < 3*bound {
		t.Fatalf("the test loads %d bytes, too few to need a checkpoint to stay under %d", loaded, bound)
	}
	if most > bound {
		t.Errorf("the WAL reached %.1f MiB; want at most %.1f", float64(most)/(1<<20), float64(bound)/(1<<20))
	}
	got, err := s.Collection(context.Background(), "ws", col.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ItemCount != batches*per || got.ChunkCount != batches*per {
		t.Errorf("after the load: %d items and %d chunks, want %d of each", got.ItemCount, got.ChunkCount, batches*per)
	}
	after := walvfs.ReadStats()
	if held, pages := after.Held-before.Held, int64(loaded/8192); held < 2*pages || after.Pending != 0 {
		t.Errorf("walvfs held %d writes for %d pages of vectors, and holds %d bytes after the load; want two writes a page held, none left", held, pages, after.Pending)
	}
}

// The background vacuum after a large delete keeps the WAL bounded too:
// its steps commit outside the store's write seam, and each checks the
// WAL as a write does. The collection deleted here lies before another
// as large, whose pages the vacuum moves into the freed space.
func TestVacuumBoundsWAL(t *testing.T) {
	const dims, batches, per, checkpointAt = 384, 120, 200, 1 << 20
	s := storetest.MustOpen(t, store.CheckpointAt(checkpointAt))
	ctx := context.Background()
	vec := storetest.UnitVector(rand.New(rand.NewPCG(7, 7)), dims)
	load := func(name string) *ragd.Collection {
		col := storetest.CreateCollection(t, s, &ragd.Collection{Workspace: "ws", Name: name, EmbeddingModel: ragd.NoEmbeddingModel,
			Dimensions: dims, Chunking: ragd.Chunking{MaxTokens: 512}})
		for b := range batches {
			items := make([]ragd.NewItem, per)
			for i := range items {
				items[i] = ragd.NewItem{Content: "bulk", Chunks: []ragd.Chunk{{Content: "bulk", Tokens: 1, End: 4, Vector: vec}}}
			}
			if _, err := s.InsertItems(ctx, "ws", col.ID, storetest.Stamp(items)); err != nil {
				t.Fatalf("%s, batch %d: %v", name, b, err)
			}
		}
		return col
	}
	gone := load("gone")
	kept := load("kept")
	if err := s.Checkpoint(ctx); err != nil { // the WAL file back to nothing
		t.Fatal(err)
	}
	if _, _, err := s.DeleteCollection(ctx, "ws", gone.ID); err != nil {
		t.Fatal(err)
	}
	waitFreed(t, s)
	fi, err := os.Stat(s.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	// A step moves vacuumStep pages and rewrites their parents.
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bound := 2*store.CheckpointLimit(checkpointAt) + 2*store.VacuumStep*st.PageSize
	if fi.Size() > bound {
		t.Errorf("the WAL reached %.1f MiB during the vacuum; want at most %.1f", float64(fi.Size())/(1<<20), float64(bound)/(1<<20))
	}
	got, err := s.Collection(ctx, "ws", kept.ID)
	if err != nil || got.ChunkCount != batches*per {
		t.Fatalf("the kept collection: %+v, %v", got, err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}
