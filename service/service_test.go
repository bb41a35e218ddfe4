package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
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
	if tokens == 0 {
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

// TestModelErrorsAreOne checks that a collection whose model is gone fails
// alike for search and item writes: one code from one lookup.
func TestModelErrorsAreOne(t *testing.T) {
	svc, rec := newService(t, time.Unix(1_800_000_000, 0))
	ctx := context.Background()
	orphan := &ragd.Collection{Workspace: "ws", Name: "orphan", EmbeddingModel: "gone", Dimensions: 64}
	if err := rec.Store.CreateCollection(ctx, orphan); err != nil {
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
