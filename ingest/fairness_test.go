package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// blocking is the hash model under another name whose every Embed call
// announces itself on started and then blocks until release is closed (or
// its context ends): it makes a file as slow as a test needs, without
// sleeping.
type blocking struct {
	*embed.Hash
	started chan struct{}
	release chan struct{}
}

func newBlocking() *blocking {
	return &blocking{Hash: embed.NewHash(embed.HashDimensions), started: make(chan struct{}, 100), release: make(chan struct{})}
}

func (b *blocking) Name() string { return "blocking" }

func (b *blocking) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	b.started <- struct{}{}
	select {
	case <-b.release:
		return b.Hash.Embed(ctx, texts)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// testIngester starts an Ingester with the hash model and the given
// others over a new store; it is closed at the end of the test.
func testIngester(t testing.TB, cfg ingest.Config, others ...embed.Embedder) (*ingest.Ingester, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	st := storetest.MustOpenIn(t, dir)
	cfg.Dir = filepath.Join(dir, "files")
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	g, err := ingest.New(st, embed.NewRegistry(embed.HashModelName, append(others, embed.NewHash(embed.HashDimensions))...), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // cut running ingests short
		g.Close(ctx)
	})
	return g, st
}

// testCollection creates collection name in workspace ws with model.
func testCollection(t testing.TB, st *store.Store, ws, name, model string) *ragd.Collection {
	t.Helper()
	col := &ragd.Collection{Workspace: ws, Name: name, EmbeddingModel: model, Dimensions: embed.HashDimensions,
		Chunking: ragd.Chunking{MaxTokens: 128, OverlapTokens: 16}}
	if err := st.CreateCollection(context.Background(), storetest.StampCollection(col)); err != nil {
		t.Fatal(err)
	}
	return col
}

// addFile uploads data as a file named name into col and queues it.
func addFile(t testing.TB, g *ingest.Ingester, col *ragd.Collection, name string, data []byte) *ragd.File {
	t.Helper()
	up, err := g.Receive(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	f, created, err := g.Add(context.Background(), col.Workspace, col.ID, up, ingest.NewFile{Filename: name, Chunking: col.Chunking})
	if err != nil || !created {
		t.Fatalf("Add %s: %v (created %v)", name, err, created)
	}
	return f
}

// waitFile waits, at most a generous minute, for a file's ingest to end.
func waitFile(t testing.TB, g *ingest.Ingester, col *ragd.Collection, f *ragd.File) *ragd.File {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done, err := g.Wait(ctx, col.Workspace, col.ID, f.ID)
	if err != nil {
		t.Fatalf("waiting for %s: %v", f.Filename, err)
	}
	return done
}

// While workspace a's slow files hold every worker and more wait behind
// them, workspace b's small file is ingested at once.
func TestFairnessAcrossWorkspaces(t *testing.T) {
	slow := newBlocking()
	const workers = 2
	g, st := testIngester(t, ingest.Config{Workers: workers}, slow)
	a := testCollection(t, st, "a", "docs", slow.Name())
	b := testCollection(t, st, "b", "docs", embed.HashModelName)
	var backlog []*ragd.File
	for i := range 2 * workers {
		backlog = append(backlog, addFile(t, g, a, fmt.Sprintf("slow-%d.txt", i), fmt.Appendf(nil, "slow file number %d of workspace a", i)))
	}
	for range workers { // every regular worker is held by a's files
		select {
		case <-slow.started:
		case <-time.After(time.Minute):
			t.Fatal("a's files did not start")
		}
	}

	f := waitFile(t, g, b, addFile(t, g, b, "small.txt", []byte("twenty bytes of text")))
	if f.Status != ragd.FileCompleted || f.Chunks != 1 {
		t.Fatalf("b's file %+v", f)
	}
	queued := 0
	for _, f := range backlog {
		got, err := st.File(context.Background(), a.Workspace, a.ID, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == ragd.FileEnqueued {
			queued++
		}
	}
	if queued != len(backlog)-workers {
		t.Fatalf("%d of a's files queued while b's ran, want %d: a ran more than %d at once", queued, len(backlog)-workers, workers)
	}

	close(slow.release)
	for _, f := range backlog {
		if got := waitFile(t, g, a, f); got.Status != ragd.FileCompleted {
			t.Fatalf("a's file %+v", got)
		}
	}
}
