package service_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// recorder is the write seam over a real store, recording what each
// operation carried when it reached the seam.
type recorder struct {
	*store.Store
	collections []ragd.Collection
	items       [][]ragd.NewItem
	revoked     []int64
	// writes lists the file operations as "op id at".
	writes []string
}

func (r *recorder) CreateFile(ctx context.Context, ws, colID string, f *ragd.File) (*ragd.File, bool, error) {
	r.writes = append(r.writes, fmt.Sprint("CreateFile ", f.ID, " ", f.Created))
	return r.Store.CreateFile(ctx, ws, colID, f)
}

func (r *recorder) StageChunks(ctx context.Context, job *store.Job, items []*store.StagedItem) error {
	for _, it := range items {
		if len(it.Chunks) == 0 || len(it.Chunks[0].Vector) == 0 {
			return fmt.Errorf("item %s staged without embedded chunks", it.ID)
		}
		r.writes = append(r.writes, fmt.Sprint("StageChunks ", it.ID, " ", it.Created))
	}
	return r.Store.StageChunks(ctx, job, items)
}

func (r *recorder) PublishFile(ctx context.Context, job *store.Job, pages int, texts []*store.StagedItem, at int64) (*ragd.File, error) {
	r.writes = append(r.writes, fmt.Sprint("PublishFile ", job.File.ID, " ", at))
	return r.Store.PublishFile(ctx, job, pages, texts, at)
}

func (r *recorder) DeleteFile(ctx context.Context, ws, colID, fileID string, at int64) error {
	r.writes = append(r.writes, fmt.Sprint("DeleteFile ", fileID, " ", at))
	return r.Store.DeleteFile(ctx, ws, colID, fileID, at)
}

func (r *recorder) DeleteItem(ctx context.Context, ws, colID, itemID string, at int64) error {
	r.writes = append(r.writes, fmt.Sprint("DeleteItem ", itemID, " ", at))
	return r.Store.DeleteItem(ctx, ws, colID, itemID, at)
}

func (r *recorder) CreateCollection(ctx context.Context, c *ragd.Collection) error {
	r.collections = append(r.collections, *c)
	return r.Store.CreateCollection(ctx, c)
}

func (r *recorder) InsertItems(ctx context.Context, ws, colID string, items []ragd.NewItem) ([]*ragd.Item, error) {
	r.items = append(r.items, append([]ragd.NewItem(nil), items...))
	return r.Store.InsertItems(ctx, ws, colID, items)
}

func (r *recorder) RevokeKey(ctx context.Context, id string, at int64) error {
	r.revoked = append(r.revoked, at)
	return r.Store.RevokeKey(ctx, id, at)
}

func newService(t *testing.T, now time.Time) (*service.Service, *recorder) {
	t.Helper()
	st := storetest.MustOpen(t)
	rec := &recorder{Store: st}
	reg := embed.NewRegistry(embed.HashModelName, embed.NewHash(64))
	return service.New(service.Config{Store: st, Writer: rec, Embedders: reg, Now: func() time.Time { return now }}), rec
}

// TestWriteSeamInputsAreExplicit checks that every operation reaching the
// write seam already carries its IDs, times (from the injected clock) and
// vectors, so that replaying it elsewhere writes the same rows.
func TestWriteSeamInputsAreExplicit(t *testing.T) {
	now := time.Date(2026, 12, 31, 23, 59, 30, 0, time.UTC)
	svc, rec := newService(t, now)
	ctx := context.Background()
	col, err := svc.CreateCollection(ctx, "ws", service.NewCollection{Name: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.collections[0]; got.ID == "" || got.ID != col.ID || got.Created != now.Unix() || got.Updated != now.Unix() || got.Dimensions != 64 {
		t.Errorf("CreateCollection reached the seam as %+v; want the ID returned (%s), created and updated %d, 64 dimensions", got, col.ID, now.Unix())
	}
	content := "Replicated writes carry their vectors."
	items, tokens, err := svc.AddItems(ctx, "ws", col.ID, []service.ItemInput{{Content: &content}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if tokens.Total() == 0 {
		t.Error("AddItems reported no embedding tokens")
	}
	got := rec.items[0][0]
	if got.ID == "" || got.ID != items[0].ID || got.Created != now.Unix() || items[0].Created != now.Unix() {
		t.Errorf("item reached the seam with id %q created %d, stored as %q created %d; want the same id and %d", got.ID, got.Created, items[0].ID, items[0].Created, now.Unix())
	}
	if len(got.Chunks) == 0 || len(got.Chunks[0].Vector) != 64 {
		t.Fatalf("item reached the seam without its embedded chunks: %+v", got.Chunks)
	}
	k := &ragd.Key{Name: "ops"}
	if err := svc.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if k.ID == "" || k.Created != now.Unix() || k.Secret == "" || k.Workspace != ragd.DefaultWorkspace {
		t.Errorf("key created as %+v; want an id, a secret, created %d, workspace default", k, now.Unix())
	}
	if err := svc.RevokeKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if len(rec.revoked) != 1 || rec.revoked[0] != now.Unix() {
		t.Errorf("RevokeKey reached the seam at %v; want [%d]", rec.revoked, now.Unix())
	}
}

// TestFileWritesPassTheSeam checks that an upload's ingest writes through
// the same seam as the service, with the IDs and times it decided: the
// file's, each staged item's, and the clock's for publishing and deleting.
func TestFileWritesPassTheSeam(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	st := storetest.MustOpenIn(t, dir, store.WithClock(func() time.Time { return now }))
	rec := &recorder{Store: st}
	reg := embed.NewRegistry(embed.HashModelName, embed.NewHash(64))
	ing, err := ingest.New(st, reg, ingest.Config{Dir: filepath.Join(dir, "files"), Workers: 1, Writer: rec,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := ing.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ing.Close(context.Background()) })
	svc := service.New(service.Config{Store: st, Writer: rec, Embedders: reg, Ingester: ing, Now: func() time.Time { return now }})
	ctx := context.Background()
	col, err := svc.CreateCollection(ctx, "ws", service.NewCollection{Name: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	up, err := svc.ReceiveFile(strings.NewReader("# Seams\n\nEvery write of an upload goes through the seam.\n"))
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := svc.AddFile(ctx, "ws", col.ID, up, ingest.NewFile{Filename: "seam.md"}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	items, _, err := st.Items(ctx, "ws", col.ID, ragd.Page{Limit: 10})
	if err != nil || len(items) != 1 {
		t.Fatalf("the file's items: %v, %v; want one", items, err)
	}
	if err := svc.DeleteItem(ctx, "ws", col.ID, items[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteFile(ctx, "ws", col.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	at := now.Unix()
	want := []string{
		fmt.Sprint("CreateFile ", f.ID, " ", at),
		fmt.Sprint("StageChunks ", items[0].ID, " ", at),
		fmt.Sprint("PublishFile ", f.ID, " ", at),
		fmt.Sprint("DeleteItem ", items[0].ID, " ", at),
		fmt.Sprint("DeleteFile ", f.ID, " ", at),
	}
	if !slices.Equal(rec.writes, want) {
		t.Errorf("file writes through the seam:\n%s\nwant\n%s", strings.Join(rec.writes, "\n"), strings.Join(want, "\n"))
	}
}

// TestModelErrorsAreOne checks that a collection whose model is gone fails
// alike for search and item writes: one code from one lookup.
func TestModelErrorsAreOne(t *testing.T) {
	svc, rec := newService(t, time.Unix(1_800_000_000, 0))
	ctx := context.Background()
	orphan := &ragd.Collection{Workspace: "ws", Name: "orphan", EmbeddingModel: "gone", Dimensions: 64}
	if err := rec.Store.CreateCollection(ctx, storetest.StampCollection(orphan)); err != nil {
		t.Fatal(err)
	}
	text := "anything"
	_, _, errSearch := svc.Search(ctx, "ws", orphan.ID, service.SearchRequest{Input: text, Query: ragd.SearchQuery{TopK: 5, Mode: ragd.ModeHybrid}})
	_, _, errAdd := svc.AddItems(ctx, "ws", orphan.ID, []service.ItemInput{{Content: &text}}, false)
	for name, err := range map[string]error{"search": errSearch, "add items": errAdd} {
		var e *ragd.Error
		if !errors.As(err, &e) || e.Kind != ragd.EUNPROCESSABLE || e.Code != "model_unavailable" {
			t.Errorf("%s on a collection of a missing model: %v; want EUNPROCESSABLE model_unavailable", name, err)
		}
	}
	// Keyword search needs no model.
	if _, _, err := svc.Search(ctx, "ws", orphan.ID, service.SearchRequest{Input: text, Query: ragd.SearchQuery{TopK: 5, Mode: ragd.ModeKeyword}}); err != nil {
		t.Errorf("keyword search of a collection of a missing model: %v", err)
	}
}
