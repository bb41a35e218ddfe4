package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// newIngester opens an Ingester with one worker over st, files in dir.
func newIngester(t *testing.T, st *store.Store, dir string) *ingest.Ingester {
	t.Helper()
	emb := embed.NewHash(embed.HashDimensions)
	g, err := ingest.New(st, embed.NewRegistry(emb.Name(), emb),
		ingest.Config{Dir: filepath.Join(dir, "files"), Workers: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestCloseRequeues closes an Ingester whose grace has already run out
// while it ingests a large file: the job is cut short, queued again with
// nothing left staged, and the next Ingester on the same store completes
// it.
func TestCloseRequeues(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := storetest.MustOpenIn(t, dir)
	col := &ragd.Collection{Workspace: "ws", Name: "c", EmbeddingModel: embed.HashModelName, Dimensions: embed.HashDimensions,
		Chunking: ragd.Chunking{MaxTokens: 128, OverlapTokens: 16}}
	if err := st.CreateCollection(ctx, storetest.StampCollection(col)); err != nil {
		t.Fatal(err)
	}
	path := writeCorpus(t, t.TempDir(), 1, 4<<20)[0]

	g := newIngester(t, st, dir)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	up, err := g.Receive(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	file, created, err := g.Add(ctx, col.Workspace, col.ID, up, ingest.NewFile{Filename: "big.txt", Chunking: col.Chunking})
	if err != nil || !created {
		t.Fatal(err)
	}
	testwait.Until(t, time.Minute, func() bool {
		got, err := st.File(ctx, col.Workspace, col.ID, file.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status == ragd.FileProcessing
	}, "the worker did not take the file")
	expired, cancel := context.WithCancel(ctx)
	cancel()
	if err := g.Close(expired); err != nil {
		t.Fatal(err)
	}
	got, err := st.File(ctx, col.Workspace, col.ID, file.ID)
	if err != nil || got.Status != ragd.FileEnqueued || got.Chunks != 0 {
		t.Fatalf("after Close: %+v, %v", got, err)
	}
	if items, _, err := st.Items(ctx, col.Workspace, col.ID, ragd.Page{Limit: 10}); err != nil || len(items) != 0 {
		t.Fatalf("items left staged: %v %v", items, err)
	}

	g = newIngester(t, st, dir)
	defer g.Close(ctx)
	done, err := g.Wait(ctx, col.Workspace, col.ID, file.ID)
	if err != nil || done.Status != ragd.FileCompleted || done.Chunks < 100 {
		t.Fatalf("after restart: %+v, %v", done, err)
	}
}
