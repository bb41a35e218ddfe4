package store_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

var hash = embed.NewHash(64)

func mustCollection(t testing.TB, s *store.Store, ws, name string) *ragd.Collection {
	t.Helper()
	c := &ragd.Collection{Workspace: ws, Name: name, EmbeddingModel: "hash", Dimensions: hash.Dimensions(),
		Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 64}}
	if err := s.CreateCollection(context.Background(), storetest.StampCollection(c)); err != nil {
		t.Fatal(err)
	}
	return c
}

func newItem(t testing.TB, content string, meta map[string]any) ragd.NewItem {
	v, err := hash.Embed(context.Background(), []string{content})
	if err != nil {
		t.Fatal(err)
	}
	return ragd.NewItem{ID: ragd.NewID("item"), Created: storetest.At, Content: content, Description: content, Metadata: meta,
		Chunks: []ragd.Chunk{{Content: content, Tokens: len(embed.Words(content)), End: len(content), Vector: v[0]}}}
}

func errorsAs(err error, target **ragd.Error) bool { return errors.As(err, target) }

func kindOf(err error) string {
	var e *ragd.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// The database, its WAL and shared-memory files and backups hold every
// document: only ragd's user may read them, whatever the umask, and a
// database an older ragd created 0644 is tightened on open.
func TestFilePermissions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		existing fs.FileMode // mode of a database created before Open; 0: none
	}{{"New", 0}, {"Existing0644", 0o644}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, store.FileName)
			if tc.existing != 0 {
				s, err := store.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				if err := os.Chmod(path, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			s := storetest.MustOpenIn(t, dir)
			mustCollection(t, s, "ws", "private") // writes, so the WAL exists
			backup := filepath.Join(dir, "backup.db")
			if err := s.Backup(ctx, backup); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm", backup} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != store.FileMode {
					t.Errorf("%s has mode %v, want %v", filepath.Base(p), fi.Mode().Perm(), store.FileMode)
				}
			}
			if err := s.Backup(ctx, backup); err == nil {
				t.Error("a backup over an existing file succeeded")
			}
		})
	}
}

// TestWritesNeedExplicitIDsAndTimes checks that the store refuses a write
// whose ID or time the caller left out instead of making them up: a write
// replayed on another node must carry what it records.
func TestWritesNeedExplicitIDsAndTimes(t *testing.T) {
	s := storetest.MustOpen(t)
	ctx := context.Background()
	c := mustCollection(t, s, "ws", "docs")
	item := newItem(t, "an item", nil)
	noTime := item
	noTime.Created = 0
	for name, write := range map[string]func() error{
		"collection without ID": func() error {
			return s.CreateCollection(ctx, &ragd.Collection{Workspace: "ws", Name: "x", Created: storetest.At, Dimensions: 64})
		},
		"collection without time": func() error {
			return s.CreateCollection(ctx, &ragd.Collection{ID: ragd.NewID("col"), Workspace: "ws", Name: "y", Dimensions: 64})
		},
		"item without time": func() error { _, err := s.InsertItems(ctx, "ws", c.ID, []ragd.NewItem{noTime}); return err },
		"update without time": func() error {
			_, err := s.UpdateCollection(ctx, "ws", c.ID, ragd.CollectionUpdate{})
			return err
		},
		"key without ID": func() error { return s.CreateKey(ctx, &ragd.Key{Name: "k", Created: storetest.At}, "hash") },
		"webhook without time": func() error {
			return s.CreateWebhook(ctx, &ragd.Webhook{ID: ragd.NewID("wh"), Workspace: "ws", URL: "https://example.com/hook"})
		},
		"file without time": func() error {
			_, _, err := s.CreateFile(ctx, "ws", c.ID, &ragd.File{ID: ragd.NewID("file"), Filename: "f.txt", SHA256: "abc"})
			return err
		},
	} {
		if err := write(); kindOf(err) != ragd.EINTERNAL {
			t.Errorf("%s: %v; want an internal error", name, err)
		}
	}
	if cols, _, err := s.Collections(ctx, "ws", ragd.Page{Limit: 10}); err != nil || len(cols) != 1 {
		t.Errorf("collections after refused writes: %d, %v; want only the first", len(cols), err)
	}
}
