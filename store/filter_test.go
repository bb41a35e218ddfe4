package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// TestMetaValuesMatchJSONExtract checks the metadata lookups of filters
// (meta_values, written with items and kept by triggers) against
// json_extract over every item's metadata, the way filters read it
// before: on items whose values mix numbers, text, booleans, null, arrays
// and missing keys, for random filters of every operator, after inserts,
// metadata updates, deletes and a collection's deletion.
func TestMetaValuesMatchJSONExtract(t *testing.T) {
	ctx := context.Background()
	s := storetest.MustOpen(t)
	c := mustCollection(t, s, "ws", "mixed")
	other := mustCollection(t, s, "ws", "other")
	rng := rand.New(rand.NewPCG(12, 1))
	values := []any{nil, true, false, 0, 1, 2.5, -3, "a", "b", "1", "", []any{1, "a"}, map[string]any{"x": 1}}
	keys := []string{"k", "n", "tag", "k2"}
	randomMeta := func() map[string]any {
		m := map[string]any{}
		for _, k := range keys {
			if rng.IntN(3) > 0 {
				m[k] = values[rng.IntN(len(values))]
			}
		}
		return m
	}
	var nis []ragd.NewItem
	for i := range 120 {
		nis = append(nis, newItem(t, fmt.Sprintf("item %d", i), randomMeta()))
	}
	items, err := s.InsertItems(ctx, "ws", c.ID, storetest.Stamp(nis))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertItems(ctx, "ws", other.ID, storetest.Stamp([]ragd.NewItem{newItem(t, "elsewhere", map[string]any{"k": 1})})); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	scalars := []any{true, false, 0.0, 1.0, 2.5, -3.0, "a", "b", "1", "", nil}
	ops := []string{"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"}
	randomComparison := func() *ragd.Filter {
		f := &ragd.Filter{Key: keys[rng.IntN(len(keys))], Op: ops[rng.IntN(len(ops))]}
		switch {
		case f.Op == "in" || f.Op == "nin":
			list := []any{}
			for range 1 + rng.IntN(3) {
				list = append(list, scalars[rng.IntN(len(scalars))])
			}
			f.Value = list
		case (f.Op == "eq" || f.Op == "ne") && rng.IntN(4) == 0:
			f.Value = nil
		default:
			f.Value = scalars[rng.IntN(len(scalars)-1)] // not null: eq and ne take it above
		}
		return f
	}
	randomFilter := func() *ragd.Filter {
		switch rng.IntN(4) {
		case 0:
			return &ragd.Filter{And: []*ragd.Filter{randomComparison(), randomComparison()}}
		case 1:
			return &ragd.Filter{Or: []*ragd.Filter{randomComparison(), randomComparison()}}
		}
		return randomComparison()
	}
	compare := func(step string) {
		t.Helper()
		for range 150 {
			f := randomFilter()
			if err := (&ragd.SearchQuery{Mode: ragd.ModeKeyword, Text: "x", TopK: 1, Filter: f}).Validate(); err != nil {
				t.Fatal(err)
			}
			got, err := s.FilterIDs(ctx, f, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := jsonExtractIDs(t, db, f, c.ID)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: filter %s passes chunks %v; json_extract passes %v", step, filterString(f), got, want)
			}
		}
	}
	compare("inserted")
	for _, it := range items[:40] {
		if _, err := s.UpdateItem(ctx, "ws", c.ID, it.ID, ragd.ItemUpdate{Metadata: randomMeta(), At: storetest.At}); err != nil {
			t.Fatal(err)
		}
	}
	for _, it := range items[40:60] {
		if err := s.DeleteItem(ctx, "ws", c.ID, it.ID, storetest.At); err != nil {
			t.Fatal(err)
		}
	}
	compare("updated and deleted")
	if _, _, err := s.DeleteCollection(ctx, "ws", c.ID); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM meta_values WHERE collection_id = ?`, c.ID).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d metadata values of a deleted collection left (%v)", left, err)
	}
}

// jsonExtractIDs is the oracle: the sorted chunk IDs of collection colID
// whose items pass f, reading the metadata with json_extract.
func jsonExtractIDs(t *testing.T, db *sql.DB, f *ragd.Filter, colID string) []int64 {
	t.Helper()
	var args []any
	var compile func(f *ragd.Filter) string
	compile = func(f *ragd.Filter) string {
		if joined, ok := joinFilters(f, " AND ", " OR ", compile); ok {
			return joined
		}
		col := `json_extract(i.metadata, '$."` + f.Key + `"')`
		bind := func(v any) string {
			if b, ok := v.(bool); ok {
				v = map[bool]int{true: 1, false: 0}[b]
			}
			args = append(args, v)
			return "?"
		}
		switch {
		case f.Op == "in" || f.Op == "nin":
			// A listed null matches a missing key or null, as eq null does.
			var marks []string
			null := "0"
			for _, v := range f.Value.([]any) {
				if v == nil {
					null = col + " IS NULL"
					continue
				}
				marks = append(marks, bind(v))
			}
			match := "(" + col + " IN (" + strings.Join(marks, ", ") + ") OR " + null + ")"
			if f.Op == "in" {
				return match
			}
			return "NOT COALESCE(" + match + ", 0)"
		case f.Value == nil && f.Op == "eq":
			return col + " IS NULL"
		case f.Value == nil:
			return col + " IS NOT NULL"
		case f.Op == "ne":
			return "(" + col + " != " + bind(f.Value) + " OR " + col + " IS NULL)"
		}
		op := map[string]string{"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[f.Op]
		return col + " " + op + " " + bind(f.Value)
	}
	cond := compile(f)
	rows, err := db.Query(`SELECT c.id FROM items i JOIN chunks c ON c.item_id = i.id WHERE i.collection_id = ? AND (`+cond+`) ORDER BY c.id`,
		append([]any{colID}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func filterString(f *ragd.Filter) string {
	if joined, ok := joinFilters(f, " and ", " or ", filterString); ok {
		return joined
	}
	return fmt.Sprintf("%s %s %#v", f.Key, f.Op, f.Value)
}

// TestMigrateMetaValues opens a database from before migration 120 whose
// items have metadata, and filters on it once migrated: the migration
// fills meta_values from the items already stored.
func TestMigrateMetaValues(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	old, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c, items := seedFruit(t, old)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	// The database as a ragd before migration 120 left it (migration 150
	// had dropped the insert trigger).
	undoMigration(t, path, "150")
	undoMigration(t, path, "120", `DROP TRIGGER items_meta_delete`, `DROP TRIGGER items_meta_update`, `DROP TABLE meta_values`)
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Search(ctx, "ws1", c.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: query(t, "zzz"), TopK: 10,
		Filter: &ragd.Filter{Key: "price", Op: "gte", Value: 2.0}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.ItemID)
	}
	want := []string{items[0].ID, items[2].ID, items[4].ID}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("price >= 2 after the migration passes %v; want %v", got, want)
	}
}

// joinFilters writes an "and" or "or" filter as its parts, each written by
// part, in parentheses and joined by and or or; ok is false for a
// comparison.
func joinFilters(f *ragd.Filter, and, or string, part func(*ragd.Filter) string) (_ string, ok bool) {
	if f.And == nil && f.Or == nil {
		return "", false
	}
	list, join := f.And, and
	if f.Or != nil {
		list, join = f.Or, or
	}
	var parts []string
	for _, sub := range list {
		parts = append(parts, "("+part(sub)+")")
	}
	return strings.Join(parts, join), true
}
