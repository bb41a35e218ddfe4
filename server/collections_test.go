package server_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store/storetest"
)

// A collection says how vector search reads its vectors now: its floats
// in memory, its codes, or the database past the memory budget; the
// answer follows the quantization setting and the budget, and searches
// work on every path.
func TestCollectionVectorSearch(t *testing.T) {
	st := storetest.MustOpen(t)
	ts := serve(t, setup{svc: service.Config{Store: st}})
	created := obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "docs"}).must(t, 201)["collection"])
	if created["vector_search"] != "floats" {
		t.Errorf("a new collection says vector_search %v; want floats", created["vector_search"])
	}
	ts.item(t, ts.admin, "docs", "the vectors of this item are searched", nil)
	for _, tc := range []struct {
		quantization string
		budget       int64
		want         string
	}{
		{"auto", 1 << 30, "floats"},
		{"int8", 1 << 30, "codes"},
		{"none", 1 << 30, "floats"},
		{"auto", 1, "disk"}, // one vector of 384 floats is over a 1-byte budget
		{"int8", 1, "disk"},
	} {
		st.SetVectorCacheBytes(tc.budget)
		patched := obj(ts.do(t, "PATCH", "/v1/vector_store/docs", ts.admin, map[string]any{"quantization": tc.quantization}).must(t, 200)["collection"])
		got := obj(ts.do(t, "GET", "/v1/vector_store/docs", ts.admin, nil).must(t, 200)["collection"])
		listed := obj(list(ts.do(t, "GET", "/v1/vector_store", ts.admin, nil).must(t, 200)["collections"])[0])
		for name, c := range map[string]map[string]any{"PATCH": patched, "GET": got, "list": listed} {
			if c["vector_search"] != tc.want {
				t.Errorf("quantization %s, budget %d: %s says vector_search %v; want %s", tc.quantization, tc.budget, name, c["vector_search"], tc.want)
			}
		}
		res := list(ts.do(t, "POST", "/v1/vector_store/docs/search", ts.admin, map[string]any{"input": "vectors", "mode": "vector"}).must(t, 200)["results"])
		if len(res) != 1 {
			t.Errorf("quantization %s, budget %d: a vector search found %d results; want 1", tc.quantization, tc.budget, len(res))
		}
	}
}

func TestCollectionCRUD(t *testing.T) {
	ts := newTestServer(t)
	b := ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "docs", "description": "d",
		"chunking": map[string]any{"max_tokens": 200, "overlap_tokens": 20}, "metadata": map[string]any{"team": "a"}}).must(t, 201)
	c := obj(b["collection"])
	id := str(c["id"])
	if !strings.HasPrefix(id, "col_") || c["embedding_model"] != "hash" || c["dimensions"] != 384.0 ||
		obj(c["chunking"])["max_tokens"] != 200.0 || obj(c["metadata"])["team"] != "a" || c["item_count"] != 0.0 || c["quantization"] != "auto" {
		t.Fatalf("created collection %v", c)
	}
	// A collection is addressable by its name as well as its ID.
	byName := obj(ts.do(t, "GET", "/v1/vector_store/docs", ts.admin, nil).must(t, 200)["collection"])
	if byName["id"] != id {
		t.Fatalf("by name: %v", byName)
	}
	got := obj(ts.do(t, "GET", "/v1/vector_store/"+id, ts.admin, nil).must(t, 200)["collection"])
	if got["name"] != "docs" || got["description"] != "d" {
		t.Fatalf("get: %v", got)
	}
	for _, method := range []string{"PUT", "PATCH"} {
		name := "renamed-" + method
		u := obj(ts.do(t, method, "/v1/vector_store/"+id, ts.admin, map[string]any{"name": name}).must(t, 200)["collection"])
		if u["name"] != name || u["description"] != "d" {
			t.Fatalf("%s: %v", method, u)
		}
	}
	q := obj(ts.do(t, "PATCH", "/v1/vector_store/"+id, ts.admin, map[string]any{"quantization": "int8"}).must(t, 200)["collection"])
	if q["quantization"] != "int8" || q["name"] != "renamed-PATCH" {
		t.Fatalf("quantization update: %v", q)
	}
	ts.item(t, ts.admin, "renamed-PATCH", "some content to delete with the collection", nil)
	if res := list(ts.do(t, "POST", "/v1/vector_store/renamed-PATCH/search", ts.admin, map[string]any{"input": "content", "mode": "vector"}).must(t, 200)["results"]); len(res) != 1 {
		t.Fatalf("vector search of an int8 collection: %v", res)
	}
	if items := list(ts.do(t, "GET", "/v1/vector_store/renamed-PATCH/items", ts.admin, nil).must(t, 200)["items"]); len(items) != 1 {
		t.Fatalf("items by collection name: %v", items)
	}
	d := ts.do(t, "DELETE", "/v1/vector_store/"+id, ts.admin, nil).must(t, 200)
	if d["id"] != id || d["deleted"] != true {
		t.Fatalf("delete: %v", d)
	}
	ts.do(t, "GET", "/v1/vector_store/"+id, ts.admin, nil).must(t, 404)
	ts.do(t, "GET", "/v1/vector_store/"+id+"/items", ts.admin, nil).must(t, 404)
}

func TestCollectionModel(t *testing.T) {
	ts := newTestServer(t)
	c := obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "small", "embedding_model": "hash-64"}).must(t, 201)["collection"])
	if c["embedding_model"] != "hash-64" || c["dimensions"] != 64.0 {
		t.Fatalf("collection %v", c)
	}
	id := ts.item(t, ts.admin, str(c["id"]), "vectors of sixty-four dimensions", nil)
	res := ts.do(t, "POST", "/v1/vector_store/"+str(c["id"])+"/search", ts.admin, map[string]any{"input": "sixty-four", "mode": "vector"}).must(t, 200)
	if len(list(res["results"])) != 1 || obj(list(res["results"])[0])["item_id"] != id {
		t.Fatalf("search: %v", res)
	}
}

func TestCollectionPagination(t *testing.T) {
	ts := newTestServer(t)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, ts.collection(t, ts.admin, fmt.Sprintf("c%d", i)))
	}
	var seen []string
	after := ""
	for pages := 0; pages < 10; pages++ {
		b := ts.do(t, "GET", "/v1/vector_store?limit=2&after="+after, ts.admin, nil).must(t, 200)
		for _, c := range list(b["collections"]) {
			seen = append(seen, str(obj(c)["id"]))
		}
		if b["has_more"] != true {
			break
		}
		after = str(b["last_id"])
	}
	if strings.Join(seen, ",") != strings.Join(ids, ",") {
		t.Fatalf("pages gave %v, want %v", seen, ids)
	}
	empty := newTestServer(t).do(t, "GET", "/v1/vector_store", "", nil)
	empty.must(t, 401)
}

func TestCollectionErrors(t *testing.T) {
	ts := newTestServer(t)
	id := ts.collection(t, ts.admin, "taken")
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		code         string
		param        any
	}{
		{"ErrNameRequired", "POST", "/v1/vector_store", map[string]any{"description": "x"}, 400, "invalid_request", "name"},
		{"ErrNameBlank", "POST", "/v1/vector_store", map[string]any{"name": "  "}, 400, "invalid_request", "name"},
		{"ErrNameType", "POST", "/v1/vector_store", `{"name": 5}`, 400, "invalid_request", "name"},
		{"ErrMalformed", "POST", "/v1/vector_store", `{"name": "x"`, 400, "invalid_request", nil},
		{"ErrSyntax", "POST", "/v1/vector_store", `{"name": x}`, 400, "invalid_request", nil},
		{"ErrEmptyBody", "POST", "/v1/vector_store", ``, 400, "invalid_request", nil},
		{"ErrNotObject", "POST", "/v1/vector_store", `[1,2]`, 400, "invalid_request", nil},
		{"ErrUnknownField", "POST", "/v1/vector_store", map[string]any{"name": "y", "nmae": "z"}, 400, "invalid_request", "nmae"},
		{"ErrDuplicate", "POST", "/v1/vector_store", map[string]any{"name": "taken"}, 409, "collection_exists", "name"},
		{"ErrUnknownModel", "POST", "/v1/vector_store", map[string]any{"name": "m", "embedding_model": "nope"}, 400, "model_not_found", "embedding_model"},
		{"ErrMaxTokens", "POST", "/v1/vector_store", map[string]any{"name": "m", "chunking": map[string]any{"max_tokens": 0}}, 400, "invalid_request", "max_tokens"},
		{"ErrMaxTokensOverLimit", "POST", "/v1/vector_store", map[string]any{"name": "m", "chunking": map[string]any{"max_tokens": 100000}}, 400, "invalid_request", "max_tokens"},
		{"ErrOverlap", "POST", "/v1/vector_store", map[string]any{"name": "m", "chunking": map[string]any{"max_tokens": 100, "overlap_tokens": 100}}, 400, "invalid_request", "overlap_tokens"},
		{"ErrMetadataType", "POST", "/v1/vector_store", map[string]any{"name": "m", "metadata": "x"}, 400, "invalid_request", "metadata"},
		{"ErrQuantization", "POST", "/v1/vector_store", map[string]any{"name": "m", "quantization": "fp16"}, 400, "invalid_request", "quantization"},
		{"ErrQuantizationType", "POST", "/v1/vector_store", map[string]any{"name": "m", "quantization": 8}, 400, "invalid_request", "quantization"},
		{"ErrUpdateQuantization", "PATCH", "/v1/vector_store/" + id, map[string]any{"quantization": ""}, 400, "invalid_request", "quantization"},
		{"ErrNameSlash", "POST", "/v1/vector_store", map[string]any{"name": "a/b"}, 400, "invalid_request", "name"},
		{"ErrNameLooksLikeID", "POST", "/v1/vector_store", map[string]any{"name": id}, 400, "invalid_request", "name"},
		{"ErrNameIDPrefix", "POST", "/v1/vector_store", map[string]any{"name": "col_notes"}, 400, "invalid_request", "name"},
		{"ErrNameDotDot", "POST", "/v1/vector_store", map[string]any{"name": ".."}, 400, "invalid_request", "name"},
		{"ErrNameNUL", "POST", "/v1/vector_store", map[string]any{"name": "a\x00b"}, 400, "invalid_request", "name"},
		{"ErrNameEscape", "POST", "/v1/vector_store", map[string]any{"name": "red\x1b[31m"}, 400, "invalid_request", "name"},
		{"ErrNameNewline", "POST", "/v1/vector_store", map[string]any{"name": "two\nlines"}, 400, "invalid_request", "name"},
		{"ErrNameTooLong", "POST", "/v1/vector_store", map[string]any{"name": strings.Repeat("n", 257)}, 400, "invalid_request", "name"},
		{"ErrDescriptionNUL", "POST", "/v1/vector_store", map[string]any{"name": "d", "description": "x\x00"}, 400, "invalid_request", "description"},
		{"ErrRenameSlash", "PATCH", "/v1/vector_store/" + id, map[string]any{"name": "a/b"}, 400, "invalid_request", "name"},
		{"ErrUpdateDescriptionControl", "PATCH", "/v1/vector_store/" + id, map[string]any{"description": "bell\a"}, 400, "invalid_request", "description"},
		{"ErrGetUnknown", "GET", "/v1/vector_store/col_nope", nil, 404, "not_found", nil},
		{"ErrUpdateUnknown", "PATCH", "/v1/vector_store/col_nope", map[string]any{"name": "a"}, 404, "not_found", nil},
		{"ErrUpdateRenameTaken", "PATCH", "/v1/vector_store/" + id, map[string]any{"name": "taken2"}, 200, "", nil},
		{"ErrDeleteUnknown", "DELETE", "/v1/vector_store/col_nope", nil, 404, "not_found", nil},
		{"ErrLimit", "GET", "/v1/vector_store?limit=0", nil, 400, "invalid_request", "limit"},
		{"ErrLimitTooBig", "GET", "/v1/vector_store?limit=101", nil, 400, "invalid_request", "limit"},
		{"ErrLimitNotNumber", "GET", "/v1/vector_store?limit=ten", nil, 400, "invalid_request", "limit"},
		{"ErrAfter", "GET", "/v1/vector_store?after=col_nope", nil, 400, "invalid_request", "after"},
		{"ErrRoute", "GET", "/v1/nothing/here", nil, 404, "route_not_found", nil},
		{"ErrMethod", "POST", "/healthz", nil, 405, "method_not_allowed", nil},
	}
	ts.collection(t, ts.admin, "taken3")
	// Spaces, accents and punctuation are fine in names, and descriptions hold lines.
	b := ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": " Notes d'été (v2) ", "description": "line one\n\tline two"}).must(t, 201)
	if c := obj(b["collection"]); c["name"] != "Notes d'été (v2)" {
		t.Fatalf("created %v", c)
	}
	ts.do(t, "GET", "/v1/vector_store/"+url.PathEscape("Notes d'été (v2)"), ts.admin, nil).must(t, 200)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, ts.admin, tt.body)
			r.must(t, tt.status)
			if tt.status < 400 {
				return
			}
			code, param := r.errCode()
			if code != tt.code || param != tt.param {
				t.Fatalf("code %q param %v, want %q %v: %s", code, param, tt.code, tt.param, r.raw)
			}
			e := obj(r.body["error"])
			if str(e["message"]) == "" || str(e["type"]) == "" {
				t.Fatalf("error without message or type: %s", r.raw)
			}
		})
	}
	r := ts.do(t, "PATCH", "/v1/vector_store/"+id, ts.admin, map[string]any{"name": "taken3"})
	if code, _ := r.errCode(); r.status != 409 || code != "collection_exists" {
		t.Fatalf("rename onto an existing name: %d %s", r.status, r.raw)
	}
}

// TestMethodNotAllowed sends wrong methods to existing routes: 405 with
// an Allow header listing the right ones, after authentication.
func TestMethodNotAllowed(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "docs")
	for _, tt := range []struct {
		method, path string
		allow        []string
	}{
		{"DELETE", "/v1/vector_store", []string{"GET", "POST"}},
		{"POST", "/v1/vector_store/" + col, []string{"GET", "PUT", "PATCH", "DELETE"}},
		{"GET", "/v1/vector_store/" + col + "/search", []string{"POST"}},
		{"PUT", "/v1/keys", []string{"GET", "POST"}},
		{"GET", "/v1/embeddings", []string{"POST"}},
		{"POST", "/healthz", []string{"GET"}},
		{"DELETE", "/metrics", []string{"GET"}},
	} {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, ts.admin, nil)
			r.must(t, 405)
			if code, _ := r.errCode(); code != "method_not_allowed" {
				t.Fatalf("code %q: %s", code, r.raw)
			}
			allow := r.header.Get("Allow")
			for _, m := range tt.allow {
				if !strings.Contains(allow, m) {
					t.Errorf("Allow %q lacks %s", allow, m)
				}
			}
			if strings.Contains(allow, tt.method) {
				t.Errorf("Allow %q lists the refused %s", allow, tt.method)
			}
		})
	}
	// Routes under /v1 still authenticate first, and unknown paths are 404.
	if r := ts.do(t, "DELETE", "/v1/vector_store", "", nil); r.status != 401 {
		t.Errorf("wrong method without a key: %d %s", r.status, r.raw)
	}
	if code, _ := ts.do(t, "GET", "/v1/nothing/here", ts.admin, nil).errCode(); code != "route_not_found" {
		t.Errorf("unknown route: %s", code)
	}
	if r := ts.do(t, "GET", "/v1/nothing/here", "", nil); r.status != 401 {
		t.Errorf("unknown route without a key: %d %s", r.status, r.raw)
	}
}
