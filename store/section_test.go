package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// sectionItem is an item whose one chunk lies under section.
func sectionItem(t *testing.T, content, section string) ragd.NewItem {
	ni := newItem(t, content, nil)
	ni.Chunks[0].Section = section
	return ni
}

// keywordHit returns the best keyword result for text in collection colID.
func keywordHit(t *testing.T, s *store.Store, colID, text string) *ragd.SearchResult {
	t.Helper()
	res, err := s.Search(context.Background(), "ws1", colID, ragd.SearchQuery{Text: text, Mode: ragd.ModeKeyword, TopK: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 {
		return nil
	}
	return &res[0]
}

// A chunk's section is keyword-indexed with its content and returned as
// position.section, while its content stays the passage alone; a
// database made before sections existed migrates and keeps its chunks,
// which have none.
func TestChunkSection(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c := mustCollection(t, s, "ws1", "docs")
	if _, err := s.InsertItems(ctx, "ws1", c.ID, storetest.Stamp([]ragd.NewItem{newItem(t, "Older passages were stored before sections.", nil)})); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Take the database back to before migration 040.
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE chunks DROP COLUMN section`, `DELETE FROM schema_migrations WHERE version = '040_chunk_section'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s = storetest.MustOpenIn(t, dir)
	const passage = "Run the installer and follow its steps."
	if _, err := s.InsertItems(ctx, "ws1", c.ID, storetest.Stamp([]ragd.NewItem{
		sectionItem(t, passage, "Guide > Installing on Windows"),
		sectionItem(t, "Bananas are long yellow fruit.", "Fruit"),
	})); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query, content, section string
	}{
		{"SectionWordsFindThePassage", "windows installing", passage, "Guide > Installing on Windows"},
		{"ContentWordsStillFindIt", "installer steps", passage, "Guide > Installing on Windows"},
		{"OlderChunkHasNoSection", "older passages", "Older passages were stored before sections.", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := keywordHit(t, s, c.ID, tc.query)
			if r == nil || r.Content != tc.content || r.Position.Section != tc.section {
				t.Fatalf("best result %+v, want content %q in section %q", r, tc.content, tc.section)
			}
		})
	}
}
