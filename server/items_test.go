package server_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestItemCRUD(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "docs")
	b := ts.do(t, "POST", "/v1/vector_store/"+col+"/items", ts.admin, map[string]any{
		"content": "The mitochondria is the powerhouse of the cell.", "metadata": map[string]any{"topic": "biology"}}).must(t, 201)
	it := obj(b["item"])
	id := str(it["id"])
	if it["description"] != "The mitochondria is the powerhouse of the cell." || it["chunk_count"] != 1.0 ||
		obj(it["metadata"])["topic"] != "biology" || it["tokens"].(float64) < 5 {
		t.Fatalf("item %v", it)
	}
	if u := obj(b["usage"]); u["total_tokens"] != it["tokens"] {
		t.Fatalf("usage %v, item tokens %v", u, it["tokens"])
	}
	got := obj(ts.do(t, "GET", "/v1/vector_store/"+col+"/items/"+id, ts.admin, nil).must(t, 200)["item"])
	if got["content"] != "The mitochondria is the powerhouse of the cell." {
		t.Fatalf("get %v", got)
	}
	// New content is re-chunked and re-embedded: the old words no longer match.
	u := obj(ts.do(t, "PATCH", "/v1/vector_store/"+col+"/items/"+id, ts.admin, map[string]any{
		"content": "Photosynthesis turns light into sugar.", "description": "plants"}).must(t, 200)["item"])
	if u["description"] != "plants" || obj(u["metadata"])["topic"] != "biology" {
		t.Fatalf("update %v", u)
	}
	for q, want := range map[string]int{"mitochondria powerhouse": 0, "photosynthesis sugar": 1} {
		res := ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": q, "mode": "keyword"}).must(t, 200)
		if n := len(list(res["results"])); n != want {
			t.Errorf("keyword search %q after update: %d results, want %d", q, n, want)
		}
	}
	c := obj(ts.do(t, "GET", "/v1/vector_store/"+col, ts.admin, nil).must(t, 200)["collection"])
	if c["item_count"] != 1.0 || c["chunk_count"] != 1.0 {
		t.Fatalf("collection counts %v", c)
	}
	ts.do(t, "PUT", "/v1/vector_store/"+col+"/items/"+id, ts.admin, map[string]any{"metadata": map[string]any{"topic": "botany"}}).must(t, 200)
	ts.do(t, "DELETE", "/v1/vector_store/"+col+"/items/"+id, ts.admin, nil).must(t, 200)
	ts.do(t, "GET", "/v1/vector_store/"+col+"/items/"+id, ts.admin, nil).must(t, 404)
	res := ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "photosynthesis"}).must(t, 200)
	if n := len(list(res["results"])); n != 0 {
		t.Fatalf("deleted item still found: %v", res)
	}
	c = obj(ts.do(t, "GET", "/v1/vector_store/"+col, ts.admin, nil).must(t, 200)["collection"])
	if c["item_count"] != 0.0 || c["chunk_count"] != 0.0 || c["bytes"] != 0.0 {
		t.Fatalf("collection counts after delete %v", c)
	}
}

func TestItemLongContentIsChunked(t *testing.T) {
	ts := newTestServer(t)
	b := ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "small-chunks",
		"chunking": map[string]any{"max_tokens": 50, "overlap_tokens": 10}}).must(t, 201)
	col := str(obj(b["collection"])["id"])
	var sb strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&sb, "Sentence number %d talks about topic %d in some detail. ", i, i)
	}
	sb.WriteString("The final sentence mentions a zebra.")
	it := obj(ts.do(t, "POST", "/v1/vector_store/"+col+"/items", ts.admin, map[string]any{"content": sb.String()}).must(t, 201)["item"])
	if n := it["chunk_count"].(float64); n < 10 {
		t.Fatalf("chunk_count %v, want a long item split into many chunks", n)
	}
	if d := str(it["description"]); len(d) > 210 || !strings.HasPrefix(d, "Sentence number 0") {
		t.Fatalf("default description %q", d)
	}
	res := list(ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "zebra", "mode": "keyword"}).must(t, 200)["results"])
	if len(res) != 1 || !strings.Contains(str(obj(res[0])["content"]), "zebra") || obj(obj(res[0])["position"])["chunk"].(float64) < 5 {
		t.Fatalf("search for the last chunk: %v", res)
	}
}

func TestItemBatch(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "batch")
	items := []map[string]any{}
	for i := 0; i < 25; i++ {
		items = append(items, map[string]any{"content": fmt.Sprintf("document %d about subject%d", i, i), "metadata": map[string]any{"n": i}})
	}
	b := ts.do(t, "POST", "/v1/vector_store/"+col+"/items/batch", ts.admin, map[string]any{"items": items}).must(t, 201)
	if n := len(list(b["items"])); n != 25 {
		t.Fatalf("batch returned %d items", n)
	}
	// All or nothing: one bad item rejects the whole batch.
	bad := append(items[:3:3], map[string]any{"content": ""})
	r := ts.do(t, "POST", "/v1/vector_store/"+col+"/items/batch", ts.admin, map[string]any{"items": bad})
	if code, param := r.errCode(); r.status != 400 || code != "invalid_request" || param != "items[3].content" {
		t.Fatalf("bad batch: %d %s", r.status, r.raw)
	}
	c := obj(ts.do(t, "GET", "/v1/vector_store/"+col, ts.admin, nil).must(t, 200)["collection"])
	if c["item_count"] != 25.0 {
		t.Fatalf("item_count %v after a rejected batch, want 25", c["item_count"])
	}
	// Pagination over items.
	var seen int
	after := ""
	for {
		p := ts.do(t, "GET", "/v1/vector_store/"+col+"/items?limit=10&after="+after, ts.admin, nil).must(t, 200)
		seen += len(list(p["items"]))
		if p["has_more"] != true {
			break
		}
		after = str(p["last_id"])
	}
	if seen != 25 {
		t.Fatalf("paged through %d items, want 25", seen)
	}
	tooMany := make([]map[string]any, 1001)
	for i := range tooMany {
		tooMany[i] = map[string]any{"content": "x"}
	}
	r = ts.do(t, "POST", "/v1/vector_store/"+col+"/items/batch", ts.admin, map[string]any{"items": tooMany})
	if code, param := r.errCode(); r.status != 400 || code != "invalid_request" || param != "items" {
		t.Fatalf("1001 items: %d %s", r.status, r.raw)
	}
}

func TestItemErrors(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "errs")
	id := ts.item(t, ts.admin, col, "hello", nil)
	base := "/v1/vector_store/" + col + "/items"
	tests := []struct {
		name         string
		method, path string
		body         any
		status       int
		param        any
	}{
		{"ErrContentRequired", "POST", base, map[string]any{"description": "x"}, 400, "content"},
		{"ErrContentEmpty", "POST", base, map[string]any{"content": " \n"}, 400, "content"},
		{"ErrContentType", "POST", base, `{"content": ["a"]}`, 400, "content"},
		{"ErrMetadataType", "POST", base, `{"content": "a", "metadata": [1]}`, 400, "metadata"},
		{"ErrDescriptionNUL", "POST", base, map[string]any{"content": "a", "description": "a\x00b"}, 400, "description"},
		{"ErrBatchDescriptionControl", "POST", base + "/batch", map[string]any{"items": []any{map[string]any{"content": "a", "description": "\x07"}}}, 400, "items[0].description"},
		{"ErrUpdateDescriptionNUL", "PATCH", base + "/" + id, map[string]any{"description": "\x00"}, 400, "description"},
		{"ErrUnknownCollection", "POST", "/v1/vector_store/col_nope/items", map[string]any{"content": "a"}, 404, nil},
		{"ErrUnknownCollectionList", "GET", "/v1/vector_store/col_nope/items", nil, 404, nil},
		{"ErrUnknownItem", "GET", base + "/item_nope", nil, 404, nil},
		{"ErrUpdateUnknownItem", "PATCH", base + "/item_nope", map[string]any{"description": "a"}, 404, nil},
		{"ErrUpdateEmptyContent", "PATCH", base + "/" + id, map[string]any{"content": ""}, 400, "content"},
		{"ErrDeleteUnknownItem", "DELETE", base + "/item_nope", nil, 404, nil},
		{"ErrBatchEmpty", "POST", base + "/batch", map[string]any{"items": []any{}}, 400, "items"},
		{"ErrBatchType", "POST", base + "/batch", `{"items": {"content": "a"}}`, 400, "items"},
		{"ErrItemsAfter", "GET", base + "?after=item_nope", nil, 400, "after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, ts.admin, tt.body)
			r.must(t, tt.status)
			if _, param := r.errCode(); param != tt.param {
				t.Fatalf("param %v, want %v: %s", param, tt.param, r.raw)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "big")
	r := ts.do(t, "POST", "/v1/vector_store/"+col+"/items", ts.admin, map[string]any{"content": strings.Repeat("a ", 600_000)})
	if code, _ := r.errCode(); r.status != 413 || code != "body_too_large" {
		t.Fatalf("oversize body: %d %s", r.status, r.raw)
	}
	c := obj(ts.do(t, "GET", "/v1/vector_store/"+col, ts.admin, nil).must(t, 200)["collection"])
	if c["item_count"] != 0.0 {
		t.Fatalf("an oversize request stored something: %v", c)
	}
}
