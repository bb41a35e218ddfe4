package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// Deleting a collection removes its rows and hands the pages back to the
// file system; the WAL is checkpointed back to nothing.
func TestDeleteCollectionFreesSpace(t *testing.T) {
	s := storetest.MustOpen(t)
	ctx := context.Background()
	keep := mustCollection(t, s, "ws", "keep")
	if _, err := s.InsertItems(ctx, "ws", keep.ID, storetest.Stamp([]ragd.NewItem{newItem(t, "a small item that stays", nil)})); err != nil {
		t.Fatal(err)
	}
	before, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	big := mustCollection(t, s, "ws", "big")
	var items []ragd.NewItem
	for i := 0; i < 3000; i++ {
		items = append(items, newItem(t, fmt.Sprintf("item %d with enough words to take some room in the index number %d", i, i*7), map[string]any{"i": i}))
	}
	if _, err := s.InsertItems(ctx, "ws", big.ID, storetest.Stamp(items)); err != nil {
		t.Fatal(err)
	}
	grown, _ := s.Stats(ctx)
	if grown.Pages < before.Pages+100 {
		t.Fatalf("3000 items grew the file from %d to only %d pages", before.Pages, grown.Pages)
	}
	c, _, err := s.DeleteCollection(ctx, "ws", "big")
	if err != nil || c.ID != big.ID {
		t.Fatalf("delete by name: %v %v", c, err)
	}
	after := waitFreed(t, s)
	if after.Pages > before.Pages+20 {
		t.Fatalf("after delete: %d pages (%d free), before insert %d", after.Pages, after.FreePages, before.Pages)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(s.Path() + "-wal"); err != nil || fi.Size() != 0 {
		t.Fatalf("WAL after checkpoint: %v %v", fi, err)
	}
	if _, err := s.Collection(ctx, "ws", big.ID); kindOf(err) != ragd.ENOTFOUND {
		t.Fatalf("deleted collection: %v", err)
	}
	res, err := s.Search(ctx, "ws", keep.ID, ragd.SearchQuery{Mode: "keyword", Text: "stays", TopK: 5})
	if err != nil || len(res) != 1 {
		t.Fatalf("the other collection after delete: %v %v", res, err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitFreed waits until the store's background vacuum has returned every
// free page to the file system, and returns the file's size then.
func waitFreed(t *testing.T, s *store.Store) store.FileStats {
	t.Helper()
	var st store.FileStats
	testwait.Until(t, time.Minute, func() bool {
		var err error
		if st, err = s.Stats(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st.FreePages == 0
	}, "the background vacuum left free pages")
	return st
}

// Free pages left by an earlier run (here: a table dropped behind the
// store's back) are returned to the file system after the next Open.
func TestOpenFreesLeftoverPages(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	var pageSize int
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE junk (b BLOB)`,
		// A page a row, whatever the page size.
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO junk SELECT randomblob(%d) FROM n`, pageSize-100),
		`DROP TABLE junk`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var free int
	if err := db.QueryRow(`PRAGMA freelist_count`).Scan(&free); err != nil || free < 2000 {
		t.Fatalf("the dropped table left %d free pages (%v), want 2000 or more", free, err)
	}
	db.Close()
	s = storetest.MustOpenIn(t, dir)
	if st := waitFreed(t, s); st.Pages > 200 {
		t.Fatalf("%d pages after the leftovers were freed", st.Pages)
	}
}

// Metadata that does not decode, written behind the store's back, reads as
// {} with a warning through the store's logger, and the row still reads.
func TestUnreadableMetadata(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	s := storetest.MustOpen(t, store.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	c := mustCollection(t, s, "ws", "docs")
	items, err := s.InsertItems(ctx, "ws", c.ID, storetest.Stamp([]ragd.NewItem{newItem(t, "an item whose metadata is damaged", map[string]any{"k": "v"})}))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tt := range []struct {
		name, table, id string
		read            func() (map[string]any, error)
	}{
		{"Collection", "collections", c.ID, func() (map[string]any, error) {
			c, err := s.Collection(ctx, "ws", c.ID)
			if err != nil {
				return nil, err
			}
			return c.Metadata, nil
		}},
		{"Item", "items", items[0].ID, func() (map[string]any, error) {
			it, err := s.Item(ctx, "ws", c.ID, items[0].ID)
			if err != nil {
				return nil, err
			}
			return it.Metadata, nil
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			if _, err := db.Exec(`UPDATE `+tt.table+` SET metadata = '[1, 2' WHERE id = ?`, tt.id); err != nil {
				t.Fatal(err)
			}
			m, err := tt.read()
			if err != nil || m == nil || len(m) != 0 {
				t.Fatalf("metadata %v, %v; want {}", m, err)
			}
			if !strings.Contains(logs.String(), "stored metadata is not a JSON object") {
				t.Errorf("the store's Logger got %q, want the warning", logs.String())
			}
		})
	}
}
