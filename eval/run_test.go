package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ragd/ragd"
)

// fakeRagd speaks the routes of shared/API.md that Run uses. Keyword
// search is real BM25 over the stored items, each hit sent as two chunks
// of its item; vector search returns the third, second and first items
// whatever the question; hybrid answers 429 once before behaving like
// keyword, or like vector when the request's alpha is 1. The alphas of
// hybrid requests are recorded, -1 where none was sent.
type fakeRagd struct {
	t       *testing.T
	key     string
	mu      sync.Mutex
	items   map[string][]string // collection -> item ids
	content map[string]string   // item id -> content
	deleted []string
	limited bool
	alphas  []float64
	// rerankOff counts the searches that turned the default rerank off.
	rerankOff int
}

func (f *fakeRagd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if r.Header.Get("Authorization") != "Bearer "+f.key {
		reply(401, map[string]any{"error": map[string]any{"message": "Invalid API key.", "type": "authentication_error", "code": "invalid_api_key"}})
		return
	}
	var body map[string]any
	if r.Body != nil && r.Method == http.MethodPost {
		if r.Header.Get("Content-Type") != "application/json" {
			f.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.t.Errorf("%s %s: body: %v", r.Method, r.URL.Path, err)
		}
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		reply(200, map[string]any{"object": "list", "data": []map[string]any{
			{"id": "fake-embed", "object": "model", "type": "embedding", "dimensions": 8},
			{"id": "fake-chat", "object": "model", "type": "chat"},
		}})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/vector_store":
		if body["embedding_model"] != "fake-embed" || !strings.HasPrefix(fmt.Sprint(body["name"]), "eval-pyfaq-fake-embed-") {
			f.t.Errorf("create collection body %v", body)
		}
		id := fmt.Sprintf("vs_%d", len(f.items)+1)
		f.items[id] = nil
		reply(201, map[string]any{"collection": map[string]any{"id": id, "embedding_model": body["embedding_model"]}})
	case r.Method == http.MethodPost && len(parts) == 4 && parts[2] == "items" && parts[3] == "batch":
		var ids []map[string]any
		for i, it := range body["items"].([]any) {
			it := it.(map[string]any)
			if it["metadata"].(map[string]any)["pair"] != float64(i) {
				f.t.Errorf("item %d metadata %v", i, it["metadata"])
			}
			id := fmt.Sprintf("item_%d", len(f.content))
			f.content[id] = it["content"].(string)
			f.items[parts[1]] = append(f.items[parts[1]], id)
			ids = append(ids, map[string]any{"id": id, "metadata": it["metadata"]})
		}
		reply(201, map[string]any{"items": ids, "usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}})
	case r.Method == http.MethodPost && len(parts) == 3 && parts[2] == "search":
		if body["top_k"] != float64(Cutoff) {
			f.t.Errorf("search top_k = %v", body["top_k"])
		}
		ids := f.items[parts[1]]
		var results []map[string]any
		add := func(item string) {
			for chunk := range 2 {
				results = append(results, map[string]any{"id": fmt.Sprintf("%s_c%d", item, chunk), "item_id": item, "metadata": map[string]any{}})
			}
		}
		mode := body["mode"]
		if rr, sent := body["rerank"]; sent {
			if mode != "hybrid" || fmt.Sprint(rr) != "map[model:none]" {
				f.t.Errorf("search mode %v sent rerank %v", mode, rr)
			}
			f.rerankOff++
		}
		if mode == "hybrid" {
			alpha, sent := body["alpha"].(float64)
			if !sent {
				alpha = -1
			}
			f.alphas = append(f.alphas, alpha)
			if alpha == 1 {
				mode = "vector"
			}
		}
		switch mode {
		case "vector":
			for _, k := range []int{2, 1, 0} {
				add(ids[k])
			}
		case "hybrid":
			if !f.limited {
				f.limited = true
				w.Header().Set("Retry-After", "0")
				reply(429, map[string]any{"error": map[string]any{"message": "slow down", "type": "rate_limit_error"}})
				return
			}
			fallthrough
		case "keyword":
			docs := make([]string, len(ids))
			for i, id := range ids {
				docs[i] = f.content[id]
			}
			for _, k := range NewBM25(docs).Search(fmt.Sprint(body["input"]), Cutoff/2) {
				add(ids[k])
			}
		default:
			f.t.Errorf("search mode %v", body["mode"])
		}
		reply(200, map[string]any{"results": results, "usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}})
	case r.Method == http.MethodDelete && len(parts) == 2:
		f.deleted = append(f.deleted, parts[1])
		reply(200, map[string]any{"id": parts[1], "deleted": true})
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		reply(404, map[string]any{"error": map[string]any{"message": "no route"}})
	}
}

func TestRun(t *testing.T) {
	pairs := Dedupe(loadSample(t))
	fake := &fakeRagd{t: t, key: "sk-test", items: map[string][]string{}, content: map[string]string{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	rep, err := Run(context.Background(), Config{BaseURL: srv.URL + "/", APIKey: "sk-test", Set: "pyfaq"}, pairs)
	if err != nil {
		t.Fatal(err)
	}
	bm25 := Score(BM25Ranks(pairs))
	want := map[string]Metrics{
		"vector":       Score([]int{3, 2, 1, 0, 0}),
		"keyword":      bm25,
		"hybrid":       bm25,
		HybridNoRerank: bm25,
	}
	if rep.Pairs != len(pairs) || rep.BM25.Metrics != bm25 || len(rep.Results) != 4 {
		t.Fatalf("report %+v", rep)
	}
	for _, res := range rep.Results {
		if res.Model != "fake-embed" || res.Metrics != want[res.Mode] || res.Alpha != nil {
			t.Errorf("%s/%s = %+v, want %+v", res.Model, res.Mode, res.Metrics, want[res.Mode])
		}
	}
	if fake.rerankOff != len(pairs) {
		t.Errorf("%d searches turned the rerank off, want one per question (%d)", fake.rerankOff, len(pairs))
	}
	if len(fake.deleted) != 1 || fake.deleted[0] != "vs_1" {
		t.Errorf("deleted collections %v, want [vs_1]", fake.deleted)
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"nDCG@10", "alpha", "fake-embed", "vector", fmt.Sprintf("%.3f", want["vector"].NDCG10), "BM25", fmt.Sprintf("%.3f", bm25.NDCG10), "hybrid  default",
		"fake-embed: the default rerank adds +0.000 nDCG@10 [+0.000, +0.000] (hybrid - hybrid-norerank, paired)"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("table lacks %q:\n%s", s, buf.String())
		}
	}
	for _, a := range fake.alphas {
		if a != -1 {
			t.Errorf("hybrid search sent alpha %v with no Alphas configured", a)
		}
	}

	t.Run("Paraphrases", func(t *testing.T) {
		// The fake's keyword search is BM25, so its paraphrase ranks are
		// the baseline's; its vector search ranks the third item first.
		qs := []Query{{"gadget", 0}, {"soft cloth", 1}, {"workshops", 2}, {"zebra", 3}}
		rep, err := Run(context.Background(), Config{BaseURL: srv.URL, APIKey: "sk-test", Set: "pyfaq", Modes: []string{"vector", "keyword"}, Paraphrases: qs}, pairs)
		if err != nil {
			t.Fatal(err)
		}
		bm25 := NewRanking(BM25QueryRanks(pairs, qs))
		if rep.ParaphraseBM25 == nil || !slices.Equal(rep.ParaphraseBM25.Ranks, bm25.Ranks) || bm25.R10 == 0 || bm25.R10 == 1 {
			t.Fatalf("paraphrase baseline %+v, want %+v (some found, some not)", rep.ParaphraseBM25, bm25)
		}
		for _, res := range rep.Results {
			want := bm25.Ranks
			if res.Mode == "vector" {
				want = []int{3, 2, 1, 0}
			}
			if res.Paraphrase == nil || !slices.Equal(res.Paraphrase.Ranks, want) {
				t.Errorf("%s paraphrase ranking %+v, want ranks %v", res.Mode, res.Paraphrase, want)
			}
		}
		var buf bytes.Buffer
		if err := rep.WriteTable(&buf); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(buf.String(), "\n")
		if !strings.Contains(buf.String(), "Paraphrased questions") || !strings.Contains(buf.String(), "(4 paraphrases, top_k 10)") {
			t.Errorf("table lacks the paraphrase rows:\n%s", buf.String())
		}
		// Every row of the first table shows its interval and its ratio to
		// BM25; the baseline's own ratio is exactly 1.
		ci := fmt.Sprintf("%s  %s", fmt.Sprintf("%.3f", rep.BM25.NDCG10), MeanCI(rep.BM25.Gains()).format("%.3f"))
		if !strings.Contains(buf.String(), ci) || !strings.Contains(lines[3], "1.00x  [1.00, 1.00]") {
			t.Errorf("table lacks %q or the baseline's ratio:\n%s", ci, buf.String())
		}
	})

	t.Run("AlphaSweep", func(t *testing.T) {
		fake.alphas = nil
		rep, err := Run(context.Background(), Config{BaseURL: srv.URL, APIKey: "sk-test", Set: "pyfaq", Modes: []string{"keyword", "hybrid"}, Alphas: []float64{0, 0.25, 1}}, pairs)
		if err != nil {
			t.Fatal(err)
		}
		wantRows := []struct {
			mode  string
			alpha float64 // -1: no alpha
			m     Metrics
		}{{"keyword", -1, bm25}, {"hybrid", 0, bm25}, {"hybrid", 0.25, bm25}, {"hybrid", 1, want["vector"]}}
		if len(rep.Results) != len(wantRows) {
			t.Fatalf("%d results, want %d: %+v", len(rep.Results), len(wantRows), rep.Results)
		}
		for i, w := range wantRows {
			res := rep.Results[i]
			got := -1.0
			if res.Alpha != nil {
				got = *res.Alpha
			}
			if res.Mode != w.mode || got != w.alpha || res.Metrics != w.m {
				t.Errorf("row %d = %s alpha %v %+v, want %s alpha %v %+v", i, res.Mode, got, res.Metrics, w.mode, w.alpha, w.m)
			}
		}
		if len(fake.alphas) != 3*len(pairs) || fake.alphas[0] != 0 || fake.alphas[len(pairs)] != 0.25 || fake.alphas[2*len(pairs)] != 1 {
			t.Errorf("alphas sent %v", fake.alphas)
		}
		var buf bytes.Buffer
		if err := rep.WriteTable(&buf); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"keyword      -", "hybrid   0.00", "hybrid   0.25", "hybrid   1.00"} {
			if !strings.Contains(buf.String(), s) {
				t.Errorf("table lacks %q:\n%s", s, buf.String())
			}
		}
	})

	t.Run("ErrBadKey", func(t *testing.T) {
		_, err := Run(context.Background(), Config{BaseURL: srv.URL, APIKey: "wrong", Models: []string{"fake-embed"}}, pairs)
		var e *ragd.Error
		if !errors.As(err, &e) || e.Kind != ragd.EUNAVAILABLE || !strings.Contains(e.Message, "Invalid API key.") {
			t.Errorf("err = %v, want EUNAVAILABLE with ragd's message", err)
		}
	})
	t.Run("ErrNoPairs", func(t *testing.T) {
		_, err := Run(context.Background(), Config{BaseURL: srv.URL, APIKey: "sk-test"}, nil)
		if ragd.ErrorKind(err) != ragd.EINVALID {
			t.Errorf("err = %v, want EINVALID", err)
		}
	})
	t.Run("ErrNoServer", func(t *testing.T) {
		_, err := Run(context.Background(), Config{BaseURL: "http://127.0.0.1:1", APIKey: "k"}, pairs)
		if ragd.ErrorKind(err) != ragd.EUNAVAILABLE {
			t.Errorf("err = %v, want EUNAVAILABLE", err)
		}
	})
}
