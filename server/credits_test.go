package server_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
)

// TestCreditsUsed checks x-credits-used (seed 004) on metered responses
// and the credits /v1/usage reports by endpoint and model.
func TestCreditsUsed(t *testing.T) {
	up := newUpstream(t)
	router, err := rag.NewRouter(rag.Config{Providers: []rag.ProviderConfig{{Name: "fake", BaseURL: up.URL + "/v1", APIKey: "upstream-secret",
		Models: []rag.ModelConfig{{ID: "gpt-4o-mini"}, {ID: "backup"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	prices := map[string]ragd.Price{
		"gpt-4o-mini":       {InputPer1K: 2, OutputPer1K: 10, PerRequest: 0.5},
		embed.HashModelName: {InputPer1K: 1},
	}
	ts := serve(t, setup{cfg: server.Config{Prices: prices},
		svc: service.Config{Chat: router, Embedders: embed.NewRegistry(embed.HashModelName, embed.NewHash(384))}})
	chat := map[string]any{"model": "gpt-4o-mini", "messages": user("hi")}
	// The upstream reports 50 prompt and 7 completion tokens:
	// 50/1000*2 + 7/1000*10 + 0.5 = 0.67.
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		credits            string
	}{
		{"Chat", "POST", "/v1/chat/completions", chat, 200, "0.67"},
		{"Infer", "POST", "/v1/infer", map[string]any{"model": "gpt-4o-mini", "prompt": "hi"}, 200, "0.67"},
		{"SeedChat", "POST", "/v1/chat", chat, 200, "0.67"},
		{"UnpricedModel", "POST", "/v1/chat/completions", map[string]any{"model": "backup", "messages": user("hi")}, 200, "0"},
		// "hello world" is 2 tokens: 2/1000*1.
		{"Embeddings", "POST", "/v1/embeddings", map[string]any{"model": "hash", "input": "hello world"}, 200, "0.002"},
		{"NoTokens", "GET", "/v1/models", nil, 200, "0"},
		{"Refused", "POST", "/v1/infer", map[string]any{"prompt": 5}, 400, "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(t, tc.method, tc.path, ts.admin, tc.body)
			r.must(t, tc.status)
			if got := r.header.Get("x-credits-used"); got != tc.credits {
				t.Fatalf("x-credits-used %q, want %q", got, tc.credits)
			}
		})
	}
	t.Run("StreamTrailer", func(t *testing.T) {
		req, _ := http.NewRequest("POST", ts.URL+"/v1/stream", strings.NewReader(`{"model":"gpt-4o-mini","prompt":"hi"}`))
		req.Header.Set("Authorization", "Bearer "+ts.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		// The cost is known once the stream ends: a trailer.
		credits, err := strconv.ParseFloat(resp.Trailer.Get("x-credits-used"), 64)
		if _, declared := resp.Trailer["X-Credits-Used"]; !declared || err != nil || credits <= 0.5 {
			t.Fatalf("trailer %v: %v", resp.Trailer, err)
		}
	})
	t.Run("NoKey", func(t *testing.T) {
		if r := ts.do(t, "GET", "/v1/models", "", nil); r.status != 401 || r.header.Get("x-credits-used") != "" {
			t.Fatalf("unauthenticated: %d %v", r.status, r.header)
		}
	})

	t.Run("Usage", func(t *testing.T) {
		var use map[string]any
		testwait.Until(t, 30*time.Second, func() bool {
			use = obj(ts.do(t, "GET", "/v1/usage", ts.admin, nil).must(t, 200)["current_month"])
			return obj(obj(use["by_endpoint"])["POST /v1/stream"])["requests"] == 1.0
		}, "the stream was not counted")
		byEndpoint, byModel := obj(use["by_endpoint"]), obj(use["by_model"])
		streamed := obj(byEndpoint["POST /v1/stream"])["credits"].(float64)
		for ep, want := range map[string]float64{"POST /v1/chat/completions": 0.67, "POST /v1/infer": 0.67, "POST /v1/chat": 0.67,
			"POST /v1/embeddings": 0.002, "GET /v1/models": 0} {
			if got := obj(byEndpoint[ep])["credits"]; got != want {
				t.Errorf("%s credits %v, want %v", ep, got, want)
			}
		}
		// The chat completions endpoint served two requests, one of each
		// chat model; the model counters count the requests that used them.
		if cc := obj(byEndpoint["POST /v1/chat/completions"]); cc["requests"] != 2.0 || cc["prompt_tokens"] != 100.0 {
			t.Errorf("chat completions usage %v", cc)
		}
		mini := obj(byModel["gpt-4o-mini"])
		if mini["requests"] != 4.0 || mini["credits"] != roundCredits(3*0.67+streamed) || mini["completion_tokens"].(float64) <= 21 {
			t.Errorf("gpt-4o-mini usage %v (stream cost %v)", mini, streamed)
		}
		if b := obj(byModel["backup"]); b["requests"] != 1.0 || b["credits"] != 0.0 || b["prompt_tokens"] != 50.0 {
			t.Errorf("backup usage %v", b)
		}
		if h := obj(byModel["hash"]); h["requests"] != 1.0 || h["credits"] != 0.002 || h["embedding_tokens"] != 2.0 {
			t.Errorf("hash usage %v", h)
		}
		if use["credits"] != roundCredits(3*0.67+streamed+0.002) {
			t.Errorf("month credits %v", use["credits"])
		}
	})
	// /v1/models shows the prices.
	for _, m := range list(ts.do(t, "GET", "/v1/models", ts.admin, nil).must(t, 200)["data"]) {
		if m := obj(m); m["id"] == "gpt-4o-mini" && obj(m["price"])["per_request"] != 0.5 {
			t.Errorf("gpt-4o-mini price %v", m["price"])
		}
	}
}

func roundCredits(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 9, 64), 64)
	return f
}

// The embedding tokens of a collection's items, searches, RAG retrieval
// and file ingest cost the price of the collection's model.
func TestCollectionCredits(t *testing.T) {
	ts := serve(t, setup{cfg: server.Config{Prices: map[string]ragd.Price{"hash-64": {InputPer1K: 1000}}},
		ingest: &ingest.Config{Workers: 1}})
	col := str(obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "priced", "embedding_model": "hash-64"}).must(t, 201)["collection"])["id"])
	free := ts.collection(t, ts.admin, "free")
	for _, c := range []struct {
		name, path string
		body       map[string]any
		priced     bool
	}{
		{"Item", "/v1/vector_store/" + col + "/items", map[string]any{"content": "four words of content"}, true},
		{"Search", "/v1/vector_store/" + col + "/search", map[string]any{"input": "content words"}, true},
		{"KeywordSearch", "/v1/vector_store/" + col + "/search", map[string]any{"input": "content words", "mode": "keyword"}, false},
		{"RAG", "/v1/chat/completions/RAG", map[string]any{"collection": col, "model": "ragd-extractive", "messages": user("content words?")}, true},
		{"UnpricedModel", "/v1/vector_store/" + free + "/items", map[string]any{"content": "four words of content"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, "POST", c.path, ts.admin, c.body)
			if r.status/100 != 2 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
			credits, err := strconv.ParseFloat(r.header.Get("x-credits-used"), 64)
			if err != nil || (credits > 0) != c.priced {
				t.Errorf("x-credits-used %q, priced %v", r.header.Get("x-credits-used"), c.priced)
			}
		})
	}
	fs := &fileServer{testServer: ts}
	fs.upload(t, ts.admin, col, "?wait=true", "notes.md", []byte("# Notes\n\nIngested words cost the model's price too.\n"), nil).must(t, 201)
	testwait.Until(t, 30*time.Second, func() bool {
		use := obj(ts.do(t, "GET", "/v1/usage", ts.admin, nil).must(t, 200)["current_month"])
		ingest := obj(obj(use["by_endpoint"])["ingest"])
		m := obj(obj(use["by_model"])["hash-64"])
		return ingest["credits"] != nil && ingest["credits"].(float64) > 0 && m["credits"].(float64) > ingest["credits"].(float64)
	}, "the ingest's tokens were not charged at hash-64's price")
}
