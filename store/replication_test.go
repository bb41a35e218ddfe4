package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// TestCommitGate checks the commit of a write under WithCommitGate: kept
// with the gate's log position when the gate passes, and rolled back
// without a trace, in the rows and in what keyword and vector search
// read, when it refuses.
func TestCommitGate(t *testing.T) {
	ctx := context.Background()
	st := storetest.MustOpen(t)
	c := mustCollection(t, st, ragd.DefaultWorkspace, "docs")
	if _, err := st.InsertItems(store.WithApplied(ctx, 7), ragd.DefaultWorkspace, c.ID, []ragd.NewItem{newItem(t, "kept before the gate", nil)}); err != nil {
		t.Fatal(err)
	}
	// Searched once, so that the vector and keyword caches hold the
	// collection when the refused write comes.
	search := func(mode string) []ragd.SearchResult {
		t.Helper()
		v, _ := hash.Embed(ctx, []string{"gated write"})
		res, err := st.Search(ctx, ragd.DefaultWorkspace, c.ID, ragd.SearchQuery{Text: "gated write", Vector: v[0], Mode: mode, TopK: 10})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, mode := range []string{ragd.ModeKeyword, ragd.ModeVector} {
		if n := len(search(mode)); mode == ragd.ModeVector && n != 1 {
			t.Fatalf("%s search before the gated writes: %d results; want 1", mode, n)
		}
	}

	refusal := errors.New("another op was logged first")
	refused := newItem(t, "gated write refused", nil)
	calls := 0
	_, err := st.InsertItems(store.WithCommitGate(ctx, func() (uint64, error) { calls++; return 0, refusal }),
		ragd.DefaultWorkspace, c.ID, []ragd.NewItem{refused})
	if !errors.Is(err, refusal) || calls != 1 {
		t.Fatalf("a write whose gate refuses: %v after %d calls of the gate; want the gate's error after 1", err, calls)
	}
	if _, err := st.Item(ctx, ragd.DefaultWorkspace, c.ID, refused.ID); ragd.ErrorKind(err) != ragd.ENOTFOUND {
		t.Errorf("the refused write's item reads back: %v", err)
	}
	for _, mode := range []string{ragd.ModeKeyword, ragd.ModeVector} {
		for _, r := range search(mode) {
			if r.ItemID == refused.ID {
				t.Errorf("%s search finds the refused write's item", mode)
			}
		}
	}
	if seq, err := st.Applied(ctx); err != nil || seq != 7 {
		t.Errorf("applied after the refused write: %d, %v; want 7", seq, err)
	}

	kept := newItem(t, "gated write kept", nil)
	if _, err := st.InsertItems(store.WithCommitGate(ctx, func() (uint64, error) { return 8, nil }),
		ragd.DefaultWorkspace, c.ID, []ragd.NewItem{kept}); err != nil {
		t.Fatal(err)
	}
	if seq, err := st.Applied(ctx); err != nil || seq != 8 {
		t.Errorf("applied after the gate passed at 8: %d, %v", seq, err)
	}
	for _, mode := range []string{ragd.ModeKeyword, ragd.ModeVector} {
		found := false
		for _, r := range search(mode) {
			found = found || r.ItemID == kept.ID
		}
		if !found {
			t.Errorf("%s search does not find the item the gate let through", mode)
		}
	}
}
