package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/store/storetest"
)

// waitFor waits, at most a generous minute, until cond holds (read under
// m's lock).
func waitFor(t *testing.T, m *memoryBudget, what string, cond func() bool) {
	t.Helper()
	testwait.Until(t, time.Minute, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return cond()
	}, "timed out waiting until %s", what)
}

func TestMemoryBudget(t *testing.T) {
	t.Run("NeverOverBudget", func(t *testing.T) {
		m := newMemoryBudget(100)
		var inUse, peak atomic.Int64
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 1))
				for range 300 {
					n := 1 + rng.Int64N(100)
					if err := m.acquire(context.Background(), n); err != nil {
						t.Error(err)
						return
					}
					now := inUse.Add(n)
					for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
					}
					inUse.Add(-n)
					m.release(n)
				}
			})
		}
		wg.Wait()
		if p := peak.Load(); p > 100 || m.used != 0 || m.waiters.Len() != 0 {
			t.Fatalf("peak %d of 100, %d left reserved, %d waiting", p, m.used, m.waiters.Len())
		}
	})
	t.Run("CancelledWaiterReservesNothing", func(t *testing.T) {
		m := newMemoryBudget(100)
		m.acquire(context.Background(), 90)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := m.acquire(ctx, 50); err != context.Canceled {
			t.Fatalf("err = %v", err)
		}
		m.release(90)
		if m.used != 0 || m.waiters.Len() != 0 {
			t.Fatalf("%d reserved, %d waiting", m.used, m.waiters.Len())
		}
	})
	t.Run("FirstComeFirstServed", func(t *testing.T) {
		m := newMemoryBudget(100)
		m.acquire(context.Background(), 90)
		big, small := make(chan error), make(chan error)
		go func() { big <- m.acquire(context.Background(), 50) }()
		waitFor(t, m, "the large reservation waits", func() bool { return m.waiters.Len() == 1 })
		go func() { small <- m.acquire(context.Background(), 10) }()
		waitFor(t, m, "the small one waits behind it", func() bool { return m.waiters.Len() == 2 })
		m.release(90) // both fit now
		if err := errorsOf(<-big, <-small); err != nil {
			t.Fatal(err)
		}
		if m.used != 60 {
			t.Fatalf("%d reserved, want 60", m.used)
		}
	})
}

func errorsOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// held is the hash model under another name whose Embed calls wait until
// release is closed.
type held struct {
	*embed.Hash
	release chan struct{}
}

func (h *held) Name() string { return "held" }

func (h *held) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case <-h.release:
		return h.Hash.Embed(ctx, texts)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// With a budget that holds one file, workers take turns: while one file
// runs, the other worker's file waits for memory, and every file ends.
func TestMemoryBudgetIngest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := storetest.MustOpenIn(t, dir)
	emb := &held{Hash: embed.NewHash(embed.HashDimensions), release: make(chan struct{})}
	g, err := New(st, embed.NewRegistry(emb.Name(), emb), Config{Dir: filepath.Join(dir, "files"), Workers: 2,
		MemoryBudget: workerMemory, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	var files []*ragd.File
	for i := range 3 {
		up, err := g.Receive(bytes.NewReader(fmt.Appendf(nil, "file number %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := g.Add(ctx, col.Workspace, col.ID, up, NewFile{Filename: fmt.Sprintf("f%d.txt", i), Chunking: col.Chunking})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	waitFor(t, g.memory, "one file runs and another waits for memory", func() bool {
		return g.memory.used == workerMemory && g.memory.waiters.Len() == 1
	})
	close(emb.release)
	for _, f := range files {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		done, err := g.Wait(wctx, col.Workspace, col.ID, f.ID)
		cancel()
		if err != nil || done.Status != ragd.FileCompleted {
			t.Fatalf("%+v %v", done, err)
		}
	}
}
