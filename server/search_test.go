package server_test

import (
	"testing"
)

func TestSearch(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "animals")
	docs := map[string]map[string]any{
		"Cheetahs are the fastest land animals, reaching 100 km/h.": {"class": "mammal", "legs": 4},
		"Penguins cannot fly but swim very well in cold water.":     {"class": "bird", "legs": 2},
		"Eagles are birds of prey with excellent eyesight.":         {"class": "bird", "legs": 2},
		"Octopuses have eight arms and three hearts.":               {"class": "mollusc", "legs": 8},
	}
	ids := map[string]string{}
	for content, meta := range docs {
		ids[content] = ts.item(t, ts.admin, col, content, meta)
	}
	path := "/v1/vector_store/" + col + "/search"
	for _, mode := range []string{"vector", "keyword", "hybrid", ""} {
		t.Run("Mode_"+mode, func(t *testing.T) {
			body := map[string]any{"input": "which animal has three hearts", "top_k": 2}
			if mode != "" {
				body["mode"] = mode
			}
			b := ts.do(t, "POST", path, ts.admin, body).must(t, 200)
			res := list(b["results"])
			if len(res) == 0 || len(res) > 2 {
				t.Fatalf("%d results, want 1..2: %v", len(res), b)
			}
			r := obj(res[0])
			if r["item_id"] != ids["Octopuses have eight arms and three hearts."] || r["content"] != "Octopuses have eight arms and three hearts." ||
				r["file_id"] != nil || r["filename"] != nil || obj(r["metadata"])["class"] != "mollusc" || obj(r["position"])["chunk"] != 0.0 {
				t.Fatalf("best result %v", r)
			}
			if mode == "keyword" {
				if obj(b["usage"])["total_tokens"] != 0.0 {
					t.Errorf("keyword search embeds nothing, usage %v", b["usage"])
				}
			} else if obj(b["usage"])["total_tokens"].(float64) < 5 {
				t.Errorf("usage %v", b["usage"])
			}
		})
	}
	birds := map[string]any{"and": []any{map[string]any{"key": "class", "op": "eq", "value": "bird"}, map[string]any{"key": "legs", "op": "lte", "value": 2}}}
	none := map[string]any{"key": "class", "op": "eq", "value": "mineral"}
	for _, mode := range []string{"vector", "keyword", "hybrid"} {
		t.Run("Filter_"+mode, func(t *testing.T) {
			// The cheetah matches the words best but is not a bird.
			b := ts.do(t, "POST", path, ts.admin, map[string]any{"input": "fastest cheetahs swim like birds", "mode": mode, "filter": birds}).must(t, 200)
			res := list(b["results"])
			if len(res) != 2 {
				t.Fatalf("filtered search %v, want the 2 birds", b)
			}
			for _, r := range res {
				if obj(obj(r)["metadata"])["class"] != "bird" {
					t.Errorf("filtered search returned %v", r)
				}
			}
			b = ts.do(t, "POST", path, ts.admin, map[string]any{"input": "fastest cheetahs", "mode": mode, "filter": none}).must(t, 200)
			if res := list(b["results"]); len(res) != 0 {
				t.Fatalf("a filter passing nothing found %v", res)
			}
		})
	}
	t.Run("ScoreThreshold", func(t *testing.T) {
		b := ts.do(t, "POST", path, ts.admin, map[string]any{"input": "penguins swim", "mode": "vector", "score_threshold": 0.99}).must(t, 200)
		if res := list(b["results"]); len(res) != 0 {
			t.Fatalf("threshold 0.99 kept %v", res)
		}
		b = ts.do(t, "POST", path, ts.admin, map[string]any{"input": "penguins swim", "mode": "vector", "score_threshold": -1}).must(t, 200)
		if res := list(b["results"]); len(res) != 4 {
			t.Fatalf("threshold -1 kept %d, want all 4", len(res))
		}
	})
	t.Run("Exact", func(t *testing.T) {
		// The collection is small, so exact or not, the same four chunks.
		for _, exact := range []bool{false, true} {
			b := ts.do(t, "POST", path, ts.admin, map[string]any{"input": "penguins swim", "mode": "vector", "exact": exact}).must(t, 200)
			if res := list(b["results"]); len(res) != 4 {
				t.Fatalf("exact %v: %d results, want all 4", exact, len(res))
			}
		}
	})
	t.Run("IncludeContentFalse", func(t *testing.T) {
		b := ts.do(t, "POST", path, ts.admin, map[string]any{"input": "eagles", "include_content": false}).must(t, 200)
		if _, has := obj(list(b["results"])[0])["content"]; has {
			t.Fatalf("content included: %v", b)
		}
	})
	errs := []struct {
		name  string
		body  any
		param any
	}{
		{"ErrInputMissing", map[string]any{"top_k": 3}, "input"},
		{"ErrInputBlank", map[string]any{"input": "  "}, "input"},
		{"ErrInputType", `{"input": 42}`, "input"},
		{"ErrTopKZero", map[string]any{"input": "a", "top_k": 0}, "top_k"},
		{"ErrTopKTooBig", map[string]any{"input": "a", "top_k": 101}, "top_k"},
		{"ErrTopKType", `{"input": "a", "top_k": "ten"}`, "top_k"},
		{"ErrMode", map[string]any{"input": "a", "mode": "fuzzy"}, "mode"},
		{"ErrAlpha", map[string]any{"input": "a", "alpha": 1.5}, "alpha"},
		{"ErrExactType", `{"input": "a", "exact": "yes"}`, "exact"},
		{"ErrFilterOp", map[string]any{"input": "a", "filter": map[string]any{"key": "class", "op": "like", "value": "b"}}, "filter.op"},
		{"ErrFilterShape", map[string]any{"input": "a", "filter": map[string]any{"key": "class", "op": "eq", "value": 1, "and": []any{}}}, "filter"},
		{"ErrFilterNested", map[string]any{"input": "a", "filter": map[string]any{"or": []any{map[string]any{"key": "x", "op": "in", "value": 3}}}}, "filter.or[0].value"},
		{"ErrFilterValueType", map[string]any{"input": "a", "filter": map[string]any{"key": "x", "op": "eq", "value": map[string]any{"a": 1}}}, "filter.value"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "POST", path, ts.admin, tt.body)
			r.must(t, 400)
			if _, param := r.errCode(); param != tt.param {
				t.Fatalf("param %v, want %v: %s", param, tt.param, r.raw)
			}
		})
	}
	ts.do(t, "POST", "/v1/vector_store/col_nope/search", ts.admin, map[string]any{"input": "a"}).must(t, 404)
}
