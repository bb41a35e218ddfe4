package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver, to write a row as an older ragd could have
	"github.com/ragd/ragd"
	"github.com/ragd/ragd/store"
)

// nested returns metadata whose value nests depth objects deep in all
// (the top-level object counts as one).
func nested(depth int) map[string]any {
	var v any = "leaf"
	for range depth - 1 {
		v = map[string]any{"a": v}
	}
	return map[string]any{"a": v}
}

// nestedJSON is nested(depth) as JSON text, built without recursion.
func nestedJSON(depth int) string {
	return strings.Repeat(`{"a":`, depth) + `"leaf"` + strings.Repeat("}", depth)
}

func TestMetadataLimits(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "meta")
	id := ts.item(t, ts.admin, col, "a plain item about otters", map[string]any{"kind": "otter"})
	manyKeys := map[string]any{}
	for i := range ragd.MaxMetadataKeys + 1 {
		manyKeys[fmt.Sprint("k", i)] = i
	}
	longKey := map[string]any{strings.Repeat("k", ragd.MaxMetadataKeyBytes+1): 1}
	big := map[string]any{"text": strings.Repeat("x", ragd.MaxMetadataBytes)}
	items := "/v1/vector_store/" + col + "/items"
	tests := []struct {
		name         string
		method, path string
		body         any
		param, limit string
	}{
		{"ErrItemDepth", "POST", items, map[string]any{"content": "x", "metadata": nested(1001)}, "metadata", fmt.Sprint(ragd.MaxMetadataDepth)},
		{"ErrItemDepthJustOver", "POST", items, map[string]any{"content": "x", "metadata": nested(ragd.MaxMetadataDepth + 1)}, "metadata", fmt.Sprint(ragd.MaxMetadataDepth)},
		{"ErrItemKeys", "POST", items, map[string]any{"content": "x", "metadata": manyKeys}, "metadata", fmt.Sprint(ragd.MaxMetadataKeys)},
		{"ErrItemKeyLength", "POST", items, map[string]any{"content": "x", "metadata": longKey}, "metadata", fmt.Sprint(ragd.MaxMetadataKeyBytes)},
		{"ErrItemSize", "POST", items, map[string]any{"content": "x", "metadata": big}, "metadata", fmt.Sprint(ragd.MaxMetadataBytes)},
		{"ErrBatchDepth", "POST", items + "/batch", map[string]any{"items": []any{map[string]any{"content": "ok"},
			map[string]any{"content": "x", "metadata": nested(1001)}}}, "items[1].metadata", fmt.Sprint(ragd.MaxMetadataDepth)},
		{"ErrItemUpdateDepth", "PATCH", items + "/" + id, map[string]any{"metadata": nested(1001)}, "metadata", fmt.Sprint(ragd.MaxMetadataDepth)},
		{"ErrCollectionDepth", "POST", "/v1/vector_store", map[string]any{"name": "deep", "metadata": nested(1001)}, "metadata", fmt.Sprint(ragd.MaxMetadataDepth)},
		{"ErrCollectionUpdateKeys", "PATCH", "/v1/vector_store/" + col, map[string]any{"metadata": manyKeys}, "metadata", fmt.Sprint(ragd.MaxMetadataKeys)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, ts.admin, tt.body)
			r.must(t, 400)
			code, param := r.errCode()
			if code != "invalid_metadata" || param != tt.param || !strings.Contains(str(obj(r.body["error"])["message"]), tt.limit) {
				t.Fatalf("code %q param %v, want invalid_metadata %q with the limit %s in the message: %s", code, param, tt.param, tt.limit, r.raw)
			}
		})
	}
	t.Run("AtTheLimits", func(t *testing.T) {
		atKeys := map[string]any{}
		for i := range ragd.MaxMetadataKeys {
			atKeys[fmt.Sprint("k", i)] = i
		}
		for _, meta := range []map[string]any{nested(ragd.MaxMetadataDepth), atKeys,
			{strings.Repeat("k", ragd.MaxMetadataKeyBytes): 1}} {
			ts.item(t, ts.admin, col, "an item at the metadata limits", meta)
		}
	})
	// Nothing rejected was stored: the filtered search still answers.
	for _, mode := range []string{"vector", "keyword", "hybrid"} {
		b := ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "otters", "mode": mode,
			"filter": map[string]any{"key": "kind", "op": "eq", "value": "otter"}}).must(t, 200)
		if n := len(list(b["results"])); n != 1 {
			t.Fatalf("%s search after rejected writes: %d results, want 1: %v", mode, n, b)
		}
	}
}

func TestFileMetadataLimits(t *testing.T) {
	fs := newFileServer(t, 1<<20)
	col := fs.collection(t, fs.admin, "docs")
	r := fs.upload(t, fs.admin, col, "", "a.txt", []byte("text"), map[string]string{"metadata": nestedJSON(1001)})
	if code, param := r.errCode(); r.status != 400 || code != "invalid_metadata" || param != "metadata" {
		t.Fatalf("upload with metadata nested 1001 deep: %d %s", r.status, r.raw)
	}
	// A JSON Lines row whose fields nest too deep fails the file and says
	// which line; the rows before it are not published.
	jsonl := `{"text": "first row about herons", "kind": "bird"}` + "\n" +
		`{"text": "second row", "deep": ` + nestedJSON(200) + "}\n"
	// ?wait=true answers with the failed file's own error.
	r = fs.upload(t, fs.admin, col, "?wait=true", "rows.jsonl", []byte(jsonl), nil)
	if code, _ := r.errCode(); r.status != 422 || code != "invalid_metadata" || !strings.Contains(string(r.raw), "line 2") ||
		!strings.Contains(string(r.raw), fmt.Sprint(ragd.MaxMetadataDepth)) {
		t.Fatalf("file with a row nested too deep: %d %s", r.status, r.raw)
	}
	if res := fs.search(t, col, map[string]any{"input": "herons", "filter": map[string]any{"key": "kind", "op": "eq", "value": "bird"}}); len(res) != 0 {
		t.Fatalf("rows of a failed file are searchable: %v", res)
	}
}

// TestStoredMetadataCannotBreakSearch plants metadata that ragd now
// refuses (nested past SQLite's JSON depth of 1000, and not JSON at all)
// as an older ragd could have stored it, and checks that filtered
// searches and RAG of the collection still answer.
func TestStoredMetadataCannotBreakSearch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, store.FileName)
	ts := serve(t, setup{dir: dir})
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	filter := map[string]any{"key": "kind", "op": "eq", "value": "bird"}
	for _, tt := range []struct{ name, meta string }{{"NestedPastSQLite", nestedJSON(1500)}, {"NotJSON", `{"kind": "bird"`}} {
		t.Run(tt.name, func(t *testing.T) {
			col := ts.collection(t, ts.admin, tt.name)
			good := ts.item(t, ts.admin, col, "Herons wade in shallow water to catch fish.", map[string]any{"kind": "bird"})
			bad := ts.item(t, ts.admin, col, "Herons nest in colonies called heronries.", map[string]any{"kind": "bird"})
			if _, err := db.ExecContext(context.Background(), `UPDATE items SET metadata = ? WHERE id = ?`, tt.meta, bad); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []string{"vector", "keyword", "hybrid"} {
				b := ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "herons", "mode": mode, "filter": filter}).must(t, 200)
				if res := list(b["results"]); len(res) != 1 || obj(res[0])["item_id"] != good {
					t.Fatalf("%s search filtered over unreadable metadata: %v, want only %s", mode, b, good)
				}
				// Unfiltered, both items are found.
				b = ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "herons", "mode": mode}).must(t, 200)
				if res := list(b["results"]); len(res) != 2 {
					t.Fatalf("%s search: %d results, want both items", mode, len(res))
				}
			}
			ts.do(t, "POST", "/v1/chat/completions/RAG", ts.admin, map[string]any{"collection": col,
				"messages":  []any{map[string]any{"role": "user", "content": "Where do herons nest?"}},
				"retrieval": map[string]any{"filter": filter}}).must(t, 200)
			if n := len(list(ts.do(t, "GET", "/v1/vector_store/"+col+"/items", ts.admin, nil).must(t, 200)["items"])); n != 2 {
				t.Fatalf("%d items listed, want 2", n)
			}
			ts.do(t, "GET", "/v1/vector_store/"+col+"/items/"+bad, ts.admin, nil).must(t, 200)
		})
	}
}

func TestFilterTooWide(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "wide")
	ts.item(t, ts.admin, col, "a heron", map[string]any{"n": 1})
	terms := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"key": "n", "op": "eq", "value": i}
		}
		return out
	}
	values := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	// 33 in-lists of 1000 values each: more values than SQLite binds.
	var ins []any
	for range 33 {
		ins = append(ins, map[string]any{"key": "n", "op": "in", "value": values(1000)})
	}
	tests := []struct {
		name   string
		filter map[string]any
		limit  int
	}{
		{"ErrOr999", map[string]any{"or": terms(999)}, ragd.MaxFilterTerms},
		{"ErrAndJustOver", map[string]any{"and": terms(ragd.MaxFilterTerms + 1)}, ragd.MaxFilterTerms},
		{"ErrValues", map[string]any{"or": ins}, ragd.MaxFilterValues},
		{"ErrInList", map[string]any{"key": "n", "op": "in", "value": values(ragd.MaxFilterValues + 1)}, ragd.MaxFilterValues},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "heron", "filter": tt.filter})
			r.must(t, 400)
			if _, param := r.errCode(); param != "filter" || !strings.Contains(str(obj(r.body["error"])["message"]), fmt.Sprint(tt.limit)) {
				t.Fatalf("param %v, want filter with the limit %d in the message: %s", param, tt.limit, r.raw)
			}
		})
	}
	t.Run("AtTheLimits", func(t *testing.T) {
		for _, f := range []map[string]any{{"or": terms(ragd.MaxFilterTerms)},
			{"key": "n", "op": "in", "value": values(ragd.MaxFilterValues)}} {
			b := ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "heron", "filter": f}).must(t, 200)
			if n := len(list(b["results"])); n != 1 {
				t.Fatalf("%d results, want 1", n)
			}
		}
	})
}

// A null in an "in" or "nin" list stands for a missing or null value, as
// "eq" null does, through the search API in every mode.
func TestFilterNullInLists(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "nulls")
	bird := ts.item(t, ts.admin, col, "herons wade", map[string]any{"kind": "bird"})
	otter := ts.item(t, ts.admin, col, "herons and otters", map[string]any{"kind": "otter"})
	null := ts.item(t, ts.admin, col, "herons again", map[string]any{"kind": nil})
	missing := ts.item(t, ts.admin, col, "herons once more", map[string]any{"other": 1})
	for _, tt := range []struct {
		op   string
		want []string
	}{
		{"in", []string{bird, null, missing}},
		{"nin", []string{otter}},
	} {
		for _, mode := range []string{"vector", "keyword", "hybrid"} {
			filter := map[string]any{"key": "kind", "op": tt.op, "value": []any{nil, "bird"}}
			b := ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "herons", "mode": mode, "filter": filter}).must(t, 200)
			var got []string
			for _, r := range list(b["results"]) {
				got = append(got, str(obj(r)["item_id"]))
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("%s %s [null, bird]: items %v, want %v", mode, tt.op, got, want)
			}
		}
	}
}
