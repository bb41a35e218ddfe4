package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/store"
)

// MustOpen opens a store on a fresh temp dir, closed at the end of the test.
func MustOpen(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

var hash = embed.NewHash(64)

func mustCollection(t testing.TB, s *store.Store, ws, name string) *store.Collection {
	t.Helper()
	c := &store.Collection{Workspace: ws, Name: name, EmbeddingModel: "hash", Dimensions: hash.Dimensions(),
		Chunking: store.Chunking{MaxTokens: 512, OverlapTokens: 64}}
	if err := s.CreateCollection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func newItem(t testing.TB, content string, meta map[string]any) store.NewItem {
	v, err := hash.Embed(context.Background(), []string{content})
	if err != nil {
		t.Fatal(err)
	}
	return store.NewItem{Content: content, Description: content, Metadata: meta,
		Chunks: []store.Chunk{{Content: content, Tokens: len(embed.Words(content)), End: len(content), Vector: v[0]}}}
}

func errorsAs(err error, target **ragd.Error) bool { return errors.As(err, target) }

func kindOf(err error) string {
	var e *ragd.Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}
