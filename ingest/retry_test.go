package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/store/storetest"
)

// flaky is the hash model behind a provider that is down for its first
// failures calls.
type flaky struct {
	*embed.Hash
	failures int32
	calls    atomic.Int32
}

func (f *flaky) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if f.calls.Add(1) <= f.failures {
		return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "upstream_unavailable", Message: "embedding provider test is down"}
	}
	return f.Hash.Embed(ctx, texts)
}

// A provider outage does not fail a file at once: its job waits and runs
// again, and the file completes when the provider is back, or fails after
// MaxAttempts.
func TestTransientFailuresRetry(t *testing.T) {
	for _, tt := range []struct {
		name        string
		failures    int32
		maxAttempts int
		status      string
	}{
		{"ProviderBack", 2, 5, ragd.FileCompleted},
		{"ProviderStaysDown", 100, 2, ragd.FileFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			st := storetest.MustOpenIn(t, dir)
			emb := &flaky{Hash: embed.NewHash(embed.HashDimensions), failures: tt.failures}
			g, err := ingest.New(st, embed.NewRegistry(emb.Name(), emb), ingest.Config{Dir: filepath.Join(dir, "files"), Workers: 1,
				RetryBackoff: 10 * time.Millisecond, MaxAttempts: tt.maxAttempts, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer g.Close(ctx)
			col := &ragd.Collection{Workspace: "ws", Name: "c", EmbeddingModel: emb.Name(), Dimensions: emb.Dimensions(),
				Chunking: ragd.Chunking{MaxTokens: 128, OverlapTokens: 16}}
			if err := st.CreateCollection(ctx, storetest.StampCollection(col)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "note.txt")
			os.WriteFile(path, []byte(strings.Repeat("The provider comes back after a while. ", 50)), 0o600)
			f, _ := os.Open(path)
			up, err := g.Receive(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			file, _, err := g.Add(ctx, col.Workspace, col.ID, up, ingest.NewFile{Filename: "note.txt", Chunking: col.Chunking})
			if err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			done, err := g.Wait(wctx, col.Workspace, col.ID, file.ID)
			if err != nil {
				t.Fatal(err)
			}
			if done.Status != tt.status {
				t.Fatalf("file %+v, want %s", done, tt.status)
			}
			switch tt.status {
			case ragd.FileCompleted:
				if done.Chunks == 0 || emb.calls.Load() < 3 {
					t.Fatalf("completed with %d chunks after %d embed calls", done.Chunks, emb.calls.Load())
				}
			case ragd.FileFailed:
				if done.Error == nil || done.Error.Code != "upstream_unavailable" || !strings.Contains(done.Error.Message, "after 2 attempts") || emb.calls.Load() != 2 {
					t.Fatalf("failed with %+v after %d calls", done.Error, emb.calls.Load())
				}
			}
		})
	}
}
