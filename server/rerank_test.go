package server_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/embed/static"
	"github.com/ragd/ragd/embed/uselite"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/rerank/reranktest"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/tokenize"
)

// zebraFirst is the fake rerank model: documents mentioning zebras first,
// then shorter before longer. It disagrees with every search mode, which
// never sees the word in the query.
func zebraFirst(_, doc string) float64 {
	return 10*float64(strings.Count(strings.ToLower(doc), "zebra")) + 1/float64(1+len(doc))
}

// newRerankServer is a test server whose rerank models are the given fake
// servers: model "bge-reranker-base" on a TEI fake and the fake's model
// name ("test-rerank") on a Cohere one, each retried twice.
func newRerankServer(t *testing.T, s setup, fakes ...*reranktest.Server) *testServer {
	t.Helper()
	s.svc.Rerankers = rerank.NewRegistry(rerankersOf(t, fakes...)...)
	return serve(t, s)
}

// rerankersOf returns the rerank models newRerankServer makes of fakes.
func rerankersOf(t *testing.T, fakes ...*reranktest.Server) []rerank.Reranker {
	t.Helper()
	var list []rerank.Reranker
	for _, f := range fakes {
		rc := f.Config()
		rc.MaxRetries = 2
		var r rerank.Reranker
		var err error
		if f.Kind == reranktest.TEI {
			rc.Model = "bge-reranker-base"
			r, err = rerank.NewTEI(rc)
		} else {
			r, err = rerank.NewCohere(rc)
		}
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, r)
	}
	return list
}

// modelOf is the model name newRerankServer gives a fake.
func modelOf(f *reranktest.Server) string {
	if f.Kind == reranktest.TEI {
		return "bge-reranker-base"
	}
	return f.Model
}

var countTokens = tokenize.MustGet(tokenize.CL100K).Count

func TestRerankEndpoint(t *testing.T) {
	for _, kind := range []string{reranktest.TEI, reranktest.Cohere} {
		t.Run(kind, func(t *testing.T) {
			fake := reranktest.New(t, kind, zebraFirst)
			ts := newRerankServer(t, setup{}, fake)
			query := "which animal has stripes?"
			docs := []string{"Horses gallop across the plains of the savanna.", "A zebra has black and white stripes.", "Tigers hunt alone."}
			b := ts.do(t, "POST", "/v1/rerank", ts.admin, map[string]any{"model": modelOf(fake), "query": query,
				"documents": []any{docs[0], map[string]any{"text": docs[1]}, docs[2]}, "top_n": 2, "return_documents": true}).must(t, 200)
			results := list(b["results"])
			if len(results) != 2 {
				t.Fatalf("%d results, want top_n 2: %v", len(results), b)
			}
			for i, want := range []int{1, 2} { // the zebra, then the shorter of the others
				r := obj(results[i])
				idx := int(r["index"].(float64))
				if idx != want || r["relevance_score"] != zebraFirst(query, docs[idx]) || str(obj(r["document"])["text"]) != docs[idx] {
					t.Errorf("result %d = %v, want index %d with score %v and its text", i, r, want, zebraFirst(query, docs[want]))
				}
			}
			wantTokens := countTokens(query) + countTokens(docs[0]) + countTokens(docs[1]) + countTokens(docs[2])
			if u := obj(b["usage"]); u["prompt_tokens"] != float64(wantTokens) || u["total_tokens"] != float64(wantTokens) {
				t.Errorf("usage %v, want %d tokens", u, wantTokens)
			}
			if b["model"] != modelOf(fake) || str(b["id"]) == "" {
				t.Errorf("model %v id %v", b["model"], b["id"])
			}
			reqs := fake.Requests()
			if len(reqs) != 1 || reqs[0].Query != query || fmt.Sprint(reqs[0].Documents) != fmt.Sprint(docs) {
				t.Errorf("upstream got %+v", reqs)
			}

			// Without top_n and return_documents: every document, no text.
			b = ts.do(t, "POST", "/v1/rerank", ts.admin, map[string]any{"model": modelOf(fake), "query": query, "documents": docs}).must(t, 200)
			if results := list(b["results"]); len(results) != 3 || obj(results[0])["document"] != nil {
				t.Errorf("default results %v", results)
			}

			resp, err := http.Get(ts.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := fmt.Sprintf(`ragd_rerank_duration_seconds_count{model=%q,outcome="ok",provider=%q} 2`, modelOf(fake), kind)
			if !strings.Contains(string(metrics), want) {
				t.Errorf("metrics lack %s", want)
			}
		})
	}
}

func TestRerankValidation(t *testing.T) {
	fake := reranktest.New(t, reranktest.TEI, zebraFirst)
	cohere := reranktest.New(t, reranktest.Cohere, zebraFirst)
	ts := newRerankServer(t, setup{cfg: server.Config{MaxRerankDocuments: 3, MaxRerankBytes: 100}}, fake, cohere)
	ok := func(edit func(map[string]any)) map[string]any {
		b := map[string]any{"model": "bge-reranker-base", "query": "q", "documents": []any{"a", "b"}}
		edit(b)
		return b
	}
	cases := []struct {
		name    string
		body    any
		status  int
		param   string
		message string
	}{
		{"ErrModelRequired", ok(func(b map[string]any) { delete(b, "model") }), 400, "model", "model is required"},
		{"ErrModelUnknown", ok(func(b map[string]any) { b["model"] = "rerank-v9" }), 404, "model",
			`rerank model "rerank-v9" is not available; available rerank models: bge-reranker-base, test-rerank`},
		{"ErrQueryRequired", ok(func(b map[string]any) { delete(b, "query") }), 400, "query", "query is required"},
		{"ErrQueryBlank", ok(func(b map[string]any) { b["query"] = "  " }), 400, "query", "query is required"},
		{"ErrDocumentsRequired", ok(func(b map[string]any) { delete(b, "documents") }), 400, "documents", "between 1 and 3 documents"},
		{"ErrDocumentsEmpty", ok(func(b map[string]any) { b["documents"] = []any{} }), 400, "documents", "got 0"},
		{"ErrTooManyDocuments", ok(func(b map[string]any) { b["documents"] = []any{"a", "b", "c", "d"} }), 400, "documents", "(--max-rerank-documents), got 4"},
		{"ErrTooManyBytes", ok(func(b map[string]any) { b["documents"] = []any{strings.Repeat("x", 60), strings.Repeat("y", 40)} }), 413, "documents",
			"hold 101 bytes, more than the limit of 100 (--max-rerank-bytes)"},
		{"ErrDocumentNotText", ok(func(b map[string]any) { b["documents"] = []any{"a", 7} }), 400, "documents", "documents[1] must be a string or an object"},
		{"ErrDocumentObjectWithoutText", ok(func(b map[string]any) { b["documents"] = []any{map[string]any{"title": "a"}} }), 400, "documents", "documents[0] must be"},
		{"ErrDocumentEmpty", ok(func(b map[string]any) { b["documents"] = []any{"a", map[string]any{"text": " "}} }), 400, "documents", "documents[1] is empty"},
		{"ErrTopNZero", ok(func(b map[string]any) { b["top_n"] = 0 }), 400, "top_n", "top_n must be at least 1"},
		{"ErrTopNNotNumber", ok(func(b map[string]any) { b["top_n"] = "two" }), 400, "top_n", `"top_n" must be a number`},
		{"ErrUnknownField", ok(func(b map[string]any) { b["rank_fields"] = []string{"text"} }), 400, "rank_fields", "unknown field"},
		{"ErrNotJSON", "documents=a", 400, "", "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/rerank", ts.admin, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
			}
			e := obj(r.body["error"])
			if param, _ := e["param"].(string); param != c.param || !strings.Contains(str(e["message"]), c.message) {
				t.Errorf("param %v message %q, want %q and %q", e["param"], e["message"], c.param, c.message)
			}
		})
	}
	if n := len(fake.Requests()) + len(cohere.Requests()); n != 0 {
		t.Errorf("invalid requests reached the provider %d times", n)
	}
	// A top_n above the documents returns them all, as Cohere does.
	b := ts.do(t, "POST", "/v1/rerank", ts.admin, ok(func(b map[string]any) { b["top_n"] = 50 })).must(t, 200)
	if len(list(b["results"])) != 2 {
		t.Errorf("top_n 50 of 2 documents: %v", b)
	}
}

func TestRerankUpstreamErrors(t *testing.T) {
	overloaded := reranktest.Reply{Status: 503, RetryAfter: "0", Body: `{"error":"Model is overloaded","error_type":"Overloaded"}`}
	cases := []struct {
		name     string
		script   []reranktest.Reply
		status   int
		code     string
		message  string
		requests int
	}{
		{"ServerErrorRetriedThenAnswered", []reranktest.Reply{overloaded}, 200, "", "", 2},
		{"ServerErrorsExhaustRetries", []reranktest.Reply{overloaded, overloaded, overloaded}, 503, "upstream_unavailable",
			`rerank provider %s (model %q) is unavailable after 3 attempts: HTTP 503: Model is overloaded`, 3},
		{"ClientErrorNotRetried", []reranktest.Reply{{Status: 422, Body: `{"message":"query is too long"}`}}, 400, "upstream_rejected",
			`rerank provider %s (model %q) rejected the request (HTTP 422): query is too long`, 1},
		{"AuthErrorNotRetried", []reranktest.Reply{{Status: 401, Body: `{"message":"invalid api token"}`}}, 422, "upstream_rejected",
			`rerank provider %s (model %q) rejected the request (HTTP 401): invalid api token`, 1},
		{"UnusableAnswer", []reranktest.Reply{{Raw: `{"unexpected":true}`}}, 503, "upstream_bad_response",
			`rerank provider %s (model %q) gave an unusable answer`, 1},
	}
	for _, kind := range []string{reranktest.TEI, reranktest.Cohere} {
		for _, c := range cases {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				fake := reranktest.New(t, kind, zebraFirst, c.script...)
				ts := newRerankServer(t, setup{}, fake)
				r := ts.do(t, "POST", "/v1/rerank", ts.admin, map[string]any{"model": modelOf(fake), "query": "q", "documents": []string{"a", "zebra"}})
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
				}
				if n := len(fake.Requests()); n != c.requests {
					t.Errorf("%d upstream requests, want %d", n, c.requests)
				}
				if c.status == 200 {
					return
				}
				code, _ := r.errCode()
				msg := str(obj(r.body["error"])["message"])
				if want := fmt.Sprintf(c.message, kind, modelOf(fake)); code != c.code || !strings.Contains(msg, want) {
					t.Errorf("code %q message %q, want %q and %q", code, msg, c.code, want)
				}
			})
		}
	}
}

// seedAnimals fills a collection whose keyword and vector rankings of
// the question "how do I back up the database" put the zebra passage low.
func seedAnimals(t *testing.T, ts *testServer) (string, []string) {
	col := ts.collection(t, ts.admin, "kb")
	contents := []string{
		"Back up the database with ragd backup: it copies the database while the server runs.",
		"To back up the database by hand, stop the server and copy the database directory.",
		"Zebra snapshots back up the database every night and keep seven copies.",
		"The database cache size is set with a flag.",
		"Towels are the most useful thing a hitchhiker can have.",
	}
	for _, c := range contents {
		ts.item(t, ts.admin, col, c, nil)
	}
	return col, contents
}

// contentsOf lists the content of each search result.
func contentsOf(results []any) []string {
	var out []string
	for _, r := range results {
		out = append(out, str(obj(r)["content"]))
	}
	return out
}

func TestSearchRerank(t *testing.T) {
	fake := reranktest.New(t, reranktest.TEI, zebraFirst)
	ts := newRerankServer(t, setup{}, fake)
	col, _ := seedAnimals(t, ts)
	const query = "how do I back up the database"
	path := "/v1/vector_store/" + col + "/search"
	for _, mode := range []string{"hybrid", "vector", "keyword"} {
		t.Run(mode, func(t *testing.T) {
			plain := list(ts.do(t, "POST", path, ts.admin, map[string]any{"input": query, "mode": mode}).must(t, 200)["results"])
			if len(plain) < 3 {
				t.Fatalf("plain %s search found %d results", mode, len(plain))
			}
			candidates := contentsOf(plain)
			before := len(fake.Requests())
			b := ts.do(t, "POST", path, ts.admin, map[string]any{"input": query, "mode": mode,
				"rerank": map[string]any{"model": "bge-reranker-base", "top_n": 2}}).must(t, 200)
			reqs := fake.Requests()[before:]
			if len(reqs) != 1 || reqs[0].Query != query || fmt.Sprint(reqs[0].Documents) != fmt.Sprint(candidates) {
				t.Fatalf("reranker got %+v, want the %d results of the plain search", reqs, len(candidates))
			}
			// The oracle: the plain results sorted by the fake's scores.
			want := append([]string(nil), candidates...)
			sort.SliceStable(want, func(i, j int) bool { return zebraFirst(query, want[i]) > zebraFirst(query, want[j]) })
			got := list(b["results"])
			if fmt.Sprint(contentsOf(got)) != fmt.Sprint(want[:2]) {
				t.Fatalf("reranked %q, want %q", contentsOf(got), want[:2])
			}
			if candidates[0] == want[0] {
				t.Fatalf("the plain search already put %q first: the test proves nothing", want[0])
			}
			plainScore := map[string]any{}
			for _, r := range plain {
				plainScore[str(obj(r)["content"])] = obj(r)["score"]
			}
			for _, r := range got {
				r := obj(r)
				if r["rerank_score"] != zebraFirst(query, str(r["content"])) || r["score"] != plainScore[str(r["content"])] {
					t.Errorf("result %q: rerank_score %v score %v, want the reranker's and the search's own", r["content"], r["rerank_score"], r["score"])
				}
			}
			if obj(plain[0])["rerank_score"] != nil {
				t.Errorf("a plain search has rerank_score %v", obj(plain[0])["rerank_score"])
			}
			wantTokens := countTokens(query)
			if mode != "keyword" {
				wantTokens += countTokens(query) // the query embedding
			}
			for _, c := range candidates {
				wantTokens += countTokens(c)
			}
			if u := obj(b["usage"]); u["prompt_tokens"] != float64(wantTokens) {
				t.Errorf("usage %v, want %d tokens", u, wantTokens)
			}
		})
	}
	t.Run("Candidates", func(t *testing.T) {
		plain := contentsOf(list(ts.do(t, "POST", path, ts.admin, map[string]any{"input": query, "top_k": 2}).must(t, 200)["results"]))
		before := len(fake.Requests())
		b := ts.do(t, "POST", path, ts.admin, map[string]any{"input": query,
			"rerank": map[string]any{"model": "bge-reranker-base", "top_n": 1, "candidates": 2}}).must(t, 200)
		reqs := fake.Requests()[before:]
		if len(reqs) != 1 || fmt.Sprint(reqs[0].Documents) != fmt.Sprint(plain) {
			t.Fatalf("reranker got %+v, want the top 2 of the plain search %q", reqs, plain)
		}
		if got := list(b["results"]); len(got) != 1 {
			t.Fatalf("%d results, want top_n 1", len(got))
		}
	})
	t.Run("TopNDefaultsToTopK", func(t *testing.T) {
		b := ts.do(t, "POST", path, ts.admin, map[string]any{"input": query, "top_k": 3,
			"rerank": map[string]any{"model": "bge-reranker-base"}}).must(t, 200)
		if got := list(b["results"]); len(got) != 3 || !strings.HasPrefix(str(obj(got[0])["content"]), "Zebra") {
			t.Fatalf("results %q, want 3 with the zebra first", contentsOf(got))
		}
	})
}

func TestSearchRerankErrors(t *testing.T) {
	fake := reranktest.New(t, reranktest.TEI, zebraFirst, reranktest.Reply{Status: 500, RetryAfter: "0"},
		reranktest.Reply{Status: 502, RetryAfter: "0"}, reranktest.Reply{Status: 503, RetryAfter: "0"})
	ts := newRerankServer(t, setup{}, fake)
	col, _ := seedAnimals(t, ts)
	path := "/v1/vector_store/" + col + "/search"
	cases := []struct {
		name    string
		rerank  any
		status  int
		param   string
		message string
	}{
		{"ErrModelRequired", map[string]any{"top_n": 2}, 400, "rerank.model", "rerank.model is required"},
		{"ErrModelUnknown", map[string]any{"model": "nope"}, 404, "rerank.model", "available rerank models: bge-reranker-base"},
		{"ErrTopNZero", map[string]any{"model": "bge-reranker-base", "top_n": 0}, 400, "rerank.top_n", "between 1 and 100"},
		{"ErrCandidatesBelowTopN", map[string]any{"model": "bge-reranker-base", "top_n": 5, "candidates": 3}, 400, "rerank.candidates", "between top_n (5) and 100"},
		{"ErrCandidatesAboveMax", map[string]any{"model": "bge-reranker-base", "candidates": 500}, 400, "rerank.candidates", "got 500"},
		{"ErrUnknownMember", map[string]any{"model": "bge-reranker-base", "topn": 2}, 400, "topn", `unknown field "topn"`},
		{"ErrNotObject", "bge-reranker-base", 400, "rerank", `"rerank" must be an object`},
		{"UpstreamDown", map[string]any{"model": "bge-reranker-base"}, 503, "", "rerank provider tei (model \"bge-reranker-base\") is unavailable after 3 attempts"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, "POST", path, ts.admin, map[string]any{"input": "back up", "rerank": c.rerank})
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
			}
			e := obj(r.body["error"])
			if param, _ := e["param"].(string); param != c.param || !strings.Contains(str(e["message"]), c.message) {
				t.Errorf("param %v message %q, want %q and %q", e["param"], e["message"], c.param, c.message)
			}
		})
	}
	if n := len(fake.Requests()); n != 3 {
		t.Errorf("%d upstream requests, want 3 (only the last case reaches it, retried twice)", n)
	}
}

func TestRAGRerank(t *testing.T) {
	const question = "How do I back up the database?"
	ask := func(retrieval map[string]any, model string) map[string]any {
		return map[string]any{"collection": "kb", "model": model, "retrieval": retrieval,
			"messages": []any{map[string]any{"role": "user", "content": question}}}
	}
	t.Run("ExtractiveCitesTheRerankedPassage", func(t *testing.T) {
		fake := reranktest.New(t, reranktest.Cohere, zebraFirst)
		ts := newRerankServer(t, setup{}, fake)
		seedAnimals(t, ts)
		plain := list(ts.do(t, "POST", "/v1/chat/completions/RAG", ts.admin, ask(map[string]any{"top_k": 5}, "ragd-extractive")).must(t, 200)["sources"])
		if strings.HasPrefix(str(obj(plain[0])["content"]), "Zebra") {
			t.Fatal("plain retrieval already puts the zebra passage first: the test proves nothing")
		}
		b := ts.do(t, "POST", "/v1/chat/completions/RAG", ts.admin, ask(map[string]any{"top_k": 5,
			"rerank": map[string]any{"model": fake.Model, "top_n": 1}}, "ragd-extractive")).must(t, 200)
		sources := list(b["sources"])
		content := str(obj(obj(list(b["choices"])[0])["message"])["content"])
		if len(sources) != 1 || !strings.HasPrefix(str(obj(sources[0])["content"]), "Zebra") || obj(sources[0])["rerank_score"] == nil {
			t.Fatalf("sources %v, want only the zebra passage with its rerank_score", sources)
		}
		if !strings.Contains(content, "seven copies") || !strings.Contains(content, "[1]") {
			t.Errorf("answer %q does not quote and cite the reranked passage", content)
		}
		reqs := fake.Requests()
		if len(reqs) != 1 || reqs[0].Query != question || len(reqs[0].Documents) != 5 {
			t.Fatalf("reranker got %+v, want the question and all 5 passages", reqs)
		}
		// The retrieval tokens count in the workspace's usage: the plain
		// request embedded the question; the reranked one embedded it and
		// had the reranker read it with every candidate.
		wantTokens := 3 * countTokens(question)
		for _, d := range reqs[0].Documents {
			wantTokens += countTokens(d)
		}
		u := obj(obj(ts.do(t, "GET", "/v1/usage", ts.admin, nil).must(t, 200)["current_month"])["by_endpoint"])["POST /v1/chat/completions/RAG"]
		if got := obj(u)["embedding_tokens"]; got != float64(wantTokens) {
			t.Errorf("RAG embedding tokens %v, want %d", got, wantTokens)
		}
	})
	t.Run("PromptHoldsRerankedPassagesInOrder", func(t *testing.T) {
		up := newUpstream(t)
		router, err := rag.NewRouter(rag.Config{Providers: []rag.ProviderConfig{
			{Name: "fake", BaseURL: up.URL + "/v1", APIKey: "upstream-secret", Models: []rag.ModelConfig{{ID: "gpt-4o-mini"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		fake := reranktest.New(t, reranktest.TEI, zebraFirst)
		ts := newRerankServer(t, setup{svc: service.Config{Chat: router}}, fake)
		_, contents := seedAnimals(t, ts)
		b := ts.do(t, "POST", "/v1/chat/completions/RAG", ts.admin, ask(map[string]any{
			"rerank": map[string]any{"model": "bge-reranker-base", "top_n": 2}}, "gpt-4o-mini")).must(t, 200)
		sources := contentsOf(list(b["sources"]))
		if len(sources) != 2 || sources[0] != contents[2] {
			t.Fatalf("sources %q, want 2 with the zebra passage first", sources)
		}
		system := str(obj(list(up.last()["messages"])[0])["content"])
		first, second := strings.Index(system, sources[0]), strings.Index(system, sources[1])
		if first < 0 || second < first {
			t.Fatalf("system prompt %q does not hold the reranked passages in order", system)
		}
		for _, c := range contents {
			if c != sources[0] && c != sources[1] && strings.Contains(system, c) {
				t.Errorf("system prompt holds %q, which reranking dropped", c)
			}
		}
	})
	t.Run("Errors", func(t *testing.T) {
		fake := reranktest.New(t, reranktest.TEI, zebraFirst)
		ts := newRerankServer(t, setup{}, fake)
		seedAnimals(t, ts)
		cases := []struct {
			name      string
			retrieval map[string]any
			status    int
			param     string
		}{
			{"ErrModelUnknown", map[string]any{"rerank": map[string]any{"model": "nope"}}, 404, "retrieval.rerank.model"},
			{"ErrModelRequired", map[string]any{"rerank": map[string]any{}}, 400, "retrieval.rerank.model"},
			{"ErrTopNAboveMax", map[string]any{"rerank": map[string]any{"model": "bge-reranker-base", "top_n": 101}}, 400, "retrieval.rerank.top_n"},
			{"ErrCandidatesBelowTopN", map[string]any{"top_k": 8, "rerank": map[string]any{"model": "bge-reranker-base", "candidates": 4}}, 400, "retrieval.rerank.candidates"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := ts.do(t, "POST", "/v1/chat/completions/RAG", ts.admin, ask(c.retrieval, "ragd-extractive"))
				if _, param := r.errCode(); r.status != c.status || param != c.param {
					t.Errorf("status %d param %v, want %d and %s: %s", r.status, param, c.status, c.param, r.raw)
				}
			})
		}
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("invalid requests reached the reranker %d times", n)
		}
	})
}

// GET /v1/health checks every rerank model on its provider without
// running it: a live one is ok, one whose server is gone or refuses the
// key makes the status "degraded" and names it.
func TestHealthRerankers(t *testing.T) {
	tei := reranktest.New(t, reranktest.TEI, zebraFirst)
	cohere := reranktest.New(t, reranktest.Cohere, zebraFirst)
	refused := reranktest.New(t, reranktest.Cohere, zebraFirst)
	refused.Key = "rotated-key" // the server now wants another key
	refusedCfg := refused.Config()
	refusedCfg.APIKey, refusedCfg.Model = "rk-test-123", "stale-rerank"
	stale, err := rerank.NewCohere(refusedCfg)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := rerank.NewTEI(rerank.RemoteConfig{BaseURL: deadURL(t), Model: "gone-rerank"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		extra []rerank.Reranker
		want  string
		down  map[string]string // model -> part of its error
	}{
		{"OK", nil, "ok", nil},
		{"Down", []rerank.Reranker{stale, gone}, "degraded", map[string]string{
			"stale-rerank": "refused ragd's API key (HTTP 401)",
			"gone-rerank":  `rerank provider tei (model "gone-rerank") is unreachable`,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			models := append(rerankersOf(t, tei, cohere), c.extra...)
			ts := serve(t, setup{svc: service.Config{Rerankers: rerank.NewRegistry(models...)}})
			before := tei.Pings() + cohere.Pings()
			b := ts.do(t, "GET", "/v1/health", ts.admin, nil).must(t, 200)
			if b["status"] != c.want {
				t.Errorf("status %v, want %s", b["status"], c.want)
			}
			if got := tei.Pings() + cohere.Pings() - before; got != 2 {
				t.Errorf("the live fakes answered %d health checks, want 2", got)
			}
			seen := 0
			for _, p := range list(b["providers"]) {
				h := obj(p)
				if h["type"] != "rerank" {
					continue
				}
				seen++
				want, down := c.down[str(h["name"])]
				if (h["status"] == "down") != down || !strings.Contains(str(h["error"]), want) {
					t.Errorf("rerank model %v: %v", h["name"], h)
				}
			}
			if seen != 2+len(c.extra) {
				t.Errorf("%d rerank models in the health report, want %d: %v", seen, 2+len(c.extra), b["providers"])
			}
			if len(tei.Requests())+len(cohere.Requests()) != 0 {
				t.Error("a health check ran the model")
			}
		})
	}
}

// newDefaultRerankServer is a test server as ragd runs by default: the
// default embedding model ragd-static beside hash, the built-in reranker
// and the vector store routes of OpenAI's API. The default rerank is the
// built-in one, or the first of others, which are registered too.
func newDefaultRerankServer(t *testing.T, others ...rerank.Reranker) *testServer {
	t.Helper()
	st, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := uselite.New()
	if err != nil {
		t.Fatal(err)
	}
	def := rerank.DefaultOptions(rerank.LiteName)
	if len(others) > 0 {
		def.Model = others[0].Name()
	}
	return serve(t, setup{svc: service.Config{
		Embedders:     embed.NewRegistry(static.Name, st, embed.NewHash(384)),
		Rerankers:     rerank.NewRegistry(append(others, rerank.NewLite(enc))...),
		DefaultRerank: def,
	}, ingest: &ingest.Config{Workers: 1}}) // files, for OpenAI's vector store routes
}

// faqPassages are answers of a small FAQ, for the built-in reranker.
var faqPassages = []string{
	"Use the backup command: it copies the database to a file while the server keeps running.",
	"The server listens on port 8080 unless the addr flag names another address.",
	"Each collection records its embedding model; a model cannot be changed once items are stored.",
	"Keys are created by an admin and belong to one workspace; a key of one workspace never sees another's collections.",
	"Large uploads are refused with 413 when they exceed the file size limit, which a flag raises.",
	"Search modes are vector, keyword and hybrid; hybrid fuses the two rankings.",
	"Metrics are served in the Prometheus text format on the metrics route.",
	"Webhooks tell your application when a file has been ingested or has failed.",
	"To restore, stop the server and replace the data directory with the backup's contents.",
	"Chunks are cut by tokens with an overlap, so a sentence at a boundary is found from either side.",
	"The console is a web page for browsing collections and trying searches.",
	"Rate limits answer 429 with a Retry-After header that says when to try again.",
}

func TestDefaultRerank(t *testing.T) {
	ts := newDefaultRerankServer(t)
	col := ts.collection(t, ts.admin, "faq")
	for _, p := range faqPassages {
		ts.item(t, ts.admin, col, p, nil)
	}
	const query = "How can I save a copy of my data and bring it back later?"
	path := "/v1/vector_store/" + col + "/search"

	// The oracle: the first stage's 30 candidates (the rerank turned off),
	// their scores from the built-in reranker through /v1/rerank, blended
	// two thirds search, one third rerank, each min-max normalised (the
	// scores cross JSON as float32 values, hence the tolerance below).
	plain := list(ts.do(t, "POST", path, ts.admin, map[string]any{"input": query, "top_k": rerank.LiteCandidates,
		"rerank": map[string]any{"model": "none"}}).must(t, 200)["results"])
	if len(plain) != len(faqPassages) {
		t.Fatalf("the first stage found %d results, want all %d", len(plain), len(faqPassages))
	}
	docs := contentsOf(plain)
	rr := list(ts.do(t, "POST", "/v1/rerank", ts.admin, map[string]any{"model": rerank.LiteName, "query": query, "documents": docs}).must(t, 200)["results"])
	lite := make([]float64, len(docs))
	for _, r := range rr {
		lite[int(obj(r)["index"].(float64))] = obj(r)["relevance_score"].(float64)
	}
	own := make([]float64, len(plain))
	for i, r := range plain {
		if obj(r)["rerank_score"] != nil {
			t.Fatalf("a search with rerank none has rerank_score: %v", r)
		}
		own[i] = obj(r)["score"].(float64)
	}
	own, lite = minMaxOf(own), minMaxOf(lite)
	want := map[string]float64{}
	order := append([]string(nil), docs...)
	for i, d := range docs {
		want[d] = 2.0/3*own[i] + 1.0/3*lite[i]
	}
	sort.SliceStable(order, func(i, j int) bool { return want[order[i]] > want[order[j]] })
	if fmt.Sprint(order[:3]) == fmt.Sprint(docs[:3]) {
		t.Fatalf("the blend keeps the first stage's top 3 %q: the test proves nothing", docs[:3])
	}

	got := list(ts.do(t, "POST", path, ts.admin, map[string]any{"input": query, "top_k": 3}).must(t, 200)["results"])
	if fmt.Sprint(contentsOf(got)) != fmt.Sprint(order[:3]) {
		t.Fatalf("default search %q, want the blended order %q", contentsOf(got), order[:3])
	}
	for _, r := range got {
		r := obj(r)
		if s, ok := r["rerank_score"].(float64); !ok || math.Abs(s-want[str(r["content"])]) > 1e-6 {
			t.Errorf("%q: rerank_score %v, want the blend %v", r["content"], r["rerank_score"], want[str(r["content"])])
		}
	}
	if !strings.Contains(str(obj(got[0])["content"]), "backup") {
		t.Errorf("the reranked search put %q first, not a backup answer", obj(got[0])["content"])
	}

	t.Run("NotForOtherModesAndModels", func(t *testing.T) {
		hash := str(obj(ts.do(t, "POST", "/v1/vector_store", ts.admin, map[string]any{"name": "h", "embedding_model": "hash"}).must(t, 201)["collection"])["id"])
		ts.item(t, ts.admin, hash, faqPassages[0], nil)
		for _, c := range []struct {
			col  string
			body map[string]any
		}{
			{col, map[string]any{"input": query, "mode": "keyword"}},
			{col, map[string]any{"input": query, "mode": "vector"}},
			{col, map[string]any{"input": query, "rerank": map[string]any{"model": "none", "top_n": 0}}},
			{hash, map[string]any{"input": query}},
		} {
			res := list(ts.do(t, "POST", "/v1/vector_store/"+c.col+"/search", ts.admin, c.body).must(t, 200)["results"])
			if len(res) == 0 || obj(res[0])["rerank_score"] != nil {
				t.Errorf("%v in %s: results %v, want some, none reranked", c.body, c.col, res)
			}
		}
	})

	t.Run("VectorOnlyOptOut", func(t *testing.T) {
		// A vector search by vector alone needs no input, "none" or not.
		emb := list(ts.do(t, "POST", "/v1/embeddings", ts.admin, map[string]any{"model": static.Name, "input": query}).must(t, 200)["data"])
		vec := obj(emb[0])["embedding"]
		for _, body := range []map[string]any{
			{"vector": vec, "mode": "vector"},
			{"vector": vec, "mode": "vector", "rerank": map[string]any{"model": "none"}},
		} {
			if res := list(ts.do(t, "POST", path, ts.admin, body).must(t, 200)["results"]); len(res) == 0 {
				t.Errorf("%v found nothing", body["rerank"])
			}
		}
	})

	t.Run("Explicit", func(t *testing.T) {
		// Named in the request, the built-in reranker reads top_n and
		// candidates as any reranker does, and still blends.
		res := list(ts.do(t, "POST", path, ts.admin, map[string]any{"input": query, "top_k": 3,
			"rerank": map[string]any{"model": rerank.LiteName, "candidates": rerank.LiteCandidates}}).must(t, 200)["results"])
		if fmt.Sprint(contentsOf(res)) != fmt.Sprint(order[:3]) {
			t.Errorf("explicit rerank %q, want the default's %q", contentsOf(res), order[:3])
		}
	})

	t.Run("OpenAIRanker", func(t *testing.T) {
		// OpenAI's vector store search: ranker "none" is the first stage,
		// "auto" (like no ranking_options) the blend, scored by it.
		for _, c := range []struct {
			ranker string
			want   []string
		}{{"none", docs[:3]}, {"auto", order[:3]}} {
			b := ts.do(t, "POST", "/v1/vector_stores/"+col+"/search", ts.admin, map[string]any{"query": query, "max_num_results": 3,
				"ranking_options": map[string]any{"ranker": c.ranker}}).must(t, 200)
			var got []string
			for _, r := range list(b["data"]) {
				text := str(obj(list(obj(r)["content"])[0])["text"])
				got = append(got, text)
				if score := obj(r)["score"].(float64); c.ranker == "auto" && math.Abs(score-want[text]) > 1e-6 {
					t.Errorf("ranker auto: %q scored %v, want the blend %v", text, score, want[text])
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("ranker %s: %q, want %q", c.ranker, got, c.want)
			}
		}
	})

	t.Run("RAG", func(t *testing.T) {
		// RAG retrieval is reranked the same way, and opts out the same way
		// (the other fields of a "none" are not checked).
		for _, c := range []struct {
			retrieval map[string]any
			want      []string
		}{
			{map[string]any{"top_k": 3}, order[:3]},
			{map[string]any{"top_k": 3, "rerank": map[string]any{"model": "none", "top_n": 0}}, docs[:3]},
		} {
			b := ts.do(t, "POST", "/v1/chat/completions/RAG", ts.admin, map[string]any{"collection": col, "model": "ragd-extractive",
				"messages": []map[string]string{{"role": "user", "content": query}}, "retrieval": c.retrieval}).must(t, 200)
			if got := contentsOf(list(b["sources"])); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("retrieval %v: sources %q, want %q", c.retrieval, got, c.want)
			}
		}
	})

	t.Run("Usage", func(t *testing.T) {
		// The default rerank is part of the search: only the query's
		// embedding is counted. Named, the reranker counts the query and
		// what it reads of each candidate, its lead.
		leads := countTokens(query)
		for _, d := range docs {
			leads += countTokens(rerank.Lead(d))
		}
		for _, c := range []struct {
			name string
			path string
			body map[string]any
			want int
		}{
			{"Default", path, map[string]any{"input": query, "top_k": 3}, countTokens(query)},
			{"Named", path, map[string]any{"input": query, "top_k": 3, "rerank": map[string]any{"model": rerank.LiteName}}, countTokens(query) + leads},
			{"Endpoint", "/v1/rerank", map[string]any{"model": rerank.LiteName, "query": query, "documents": docs}, leads},
		} {
			b := ts.do(t, "POST", c.path, ts.admin, c.body).must(t, 200)
			if u := obj(b["usage"]); u["prompt_tokens"] != float64(c.want) {
				t.Errorf("%s: usage %v, want %d prompt tokens", c.name, u, c.want)
			}
		}
	})

	t.Run("OpenAIThreshold", func(t *testing.T) {
		// A reranked result's score is the blend, and score_threshold
		// bounds it too.
		b := ts.do(t, "POST", "/v1/vector_stores/"+col+"/search", ts.admin, map[string]any{"query": query,
			"ranking_options": map[string]any{"score_threshold": 0.5}}).must(t, 200)
		res := list(b["data"])
		if len(res) == 0 || len(res) == len(faqPassages) {
			t.Fatalf("score_threshold 0.5 kept %d of %d results", len(res), len(faqPassages))
		}
		for _, r := range res {
			if score := obj(r)["score"].(float64); score < 0.5 {
				t.Errorf("a result scored %v under the threshold 0.5", score)
			}
		}
	})

	t.Run("Listed", func(t *testing.T) {
		var found bool
		for _, m := range list(ts.do(t, "GET", "/v1/models", ts.admin, nil).must(t, 200)["data"]) {
			m := obj(m)
			if m["id"] == rerank.LiteName {
				found = m["type"] == "rerank" && m["owned_by"] == "ragd"
			}
		}
		if !found {
			t.Errorf("GET /v1/models does not list %s as a rerank model owned by ragd", rerank.LiteName)
		}
	})
}

// minMaxOf maps xs onto 0..1 by their least and greatest values.
func minMaxOf(xs []float64) []float64 {
	lo, hi := slices.Min(xs), slices.Max(xs)
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = (x - lo) / (hi - lo)
	}
	return out
}

// Past the default's 30 candidates (top_k 40) every result is reranked,
// and below them the first stage ranks and scores as the same search with
// the rerank off: its heads are sized by the request's top_k, not the
// reranker's candidates.
func TestDefaultRerankDepth(t *testing.T) {
	ts := newDefaultRerankServer(t)
	col := ts.collection(t, ts.admin, "gpl")
	data, err := os.ReadFile("../rag/testdata/gpl-3.0.txt")
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields(string(data))
	for i := range 60 {
		ts.item(t, ts.admin, col, strings.Join(words[i*40:i*40+40], " "), nil)
	}
	const query = "may I distribute modified versions of the program?"
	path := "/v1/vector_store/" + col + "/search"
	search := func(topK int, rr map[string]any) []any {
		body := map[string]any{"input": query, "top_k": topK}
		if rr != nil {
			body["rerank"] = rr
		}
		return list(ts.do(t, "POST", path, ts.admin, body).must(t, 200)["results"])
	}
	none := map[string]any{"model": "none"}

	scores := func(res []any) map[string]float64 {
		m := map[string]float64{}
		for _, r := range res {
			m[str(obj(r)["id"])] = obj(r)["score"].(float64)
		}
		return m
	}
	plain10 := scores(search(10, none))
	shared := 0
	for id, s := range scores(search(5, nil)) {
		if want, ok := plain10[id]; ok {
			shared++
			if math.Abs(s-want) > 1e-6 { // float32 keyword scores, summed in another order
				t.Errorf("chunk %s: score %v reranked, %v without: the first stage changed", id, s, want)
			}
		}
	}
	if shared == 0 {
		t.Fatal("the reranked top 5 shares no chunk with the plain top 10")
	}

	deep := search(40, nil)
	plain := search(40, none)
	if len(deep) != 40 || len(plain) != 40 {
		t.Fatalf("%d and %d results, want 40", len(deep), len(plain))
	}
	rr := list(ts.do(t, "POST", "/v1/rerank", ts.admin, map[string]any{"model": rerank.LiteName, "query": query, "documents": contentsOf(plain)}).must(t, 200)["results"])
	lite := make([]float64, len(plain))
	for _, r := range rr {
		lite[int(obj(r)["index"].(float64))] = obj(r)["relevance_score"].(float64)
	}
	own := make([]float64, len(plain))
	for i, r := range plain {
		own[i] = obj(r)["score"].(float64)
	}
	own, lite = minMaxOf(own), minMaxOf(lite)
	want := map[string]float64{}
	for i, r := range plain {
		want[str(obj(r)["id"])] = 2.0/3*own[i] + 1.0/3*lite[i]
	}
	for i, r := range deep {
		r := obj(r)
		got, ok := r["rerank_score"].(float64)
		if !ok || math.Abs(got-want[str(r["id"])]) > 1e-6 {
			t.Fatalf("result %d: rerank_score %v, want the blend %v", i, r["rerank_score"], want[str(r["id"])])
		}
		if i > 0 && got > obj(deep[i-1])["rerank_score"].(float64) {
			t.Fatalf("result %d scores above the one before it", i)
		}
	}
}

// A default rerank that fails (here a remote model that refuses the
// request) leaves the search in its own order instead of failing it.
func TestDefaultRerankFallsBack(t *testing.T) {
	fake := reranktest.New(t, reranktest.Cohere, zebraFirst, reranktest.Reply{Status: 400, Body: `{"message":"no"}`})
	remote, err := rerank.NewCohere(fake.Config())
	if err != nil {
		t.Fatal(err)
	}
	ts := newDefaultRerankServer(t, remote)
	col := ts.collection(t, ts.admin, "faq")
	for _, p := range faqPassages {
		ts.item(t, ts.admin, col, p, nil)
	}
	path := "/v1/vector_store/" + col + "/search"
	plain := list(ts.do(t, "POST", path, ts.admin, map[string]any{"input": "how do I back up", "top_k": 3, "rerank": map[string]any{"model": "none"}}).must(t, 200)["results"])
	got := list(ts.do(t, "POST", path, ts.admin, map[string]any{"input": "how do I back up", "top_k": 3}).must(t, 200)["results"])
	if len(fake.Requests()) != 1 {
		t.Fatalf("the remote reranker got %d requests, want 1", len(fake.Requests()))
	}
	if fmt.Sprint(contentsOf(got)) != fmt.Sprint(contentsOf(plain)) || obj(got[0])["rerank_score"] != nil {
		t.Errorf("after a failed default rerank: %v, want the plain search %v", got, plain)
	}
}
