// Package reranktest provides fake rerank servers speaking the exact wire
// formats of text-embeddings-inference's POST /rerank and Cohere's POST
// /v1/rerank, for the tests of the rerank providers and of the HTTP API.
// Each request is checked (method, path, Authorization, Content-Type and a
// body with no unknown member) before it is answered.
package reranktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"

	"github.com/ragd/ragd/rerank"
)

// Provider types a Server can speak.
const (
	TEI    = "tei"
	Cohere = "cohere"
)

// TEIMaxBatch is the fake TEI's --max-client-batch-size: like the real
// server, it refuses larger requests with 413.
const TEIMaxBatch = rerank.DefaultTEIBatchSize

// Reply scripts one answer. The zero Reply scores every document with the
// server's Score function and answers 200.
type Reply struct {
	// Status, when neither 0 nor 200, is sent with Body.
	Status int
	Body   string
	// RetryAfter is sent as the Retry-After header, when set.
	RetryAfter string
	// Raw, when set, is sent as the body of a 200.
	Raw string
}

// Request is what the server received in one call.
type Request struct {
	// Query is the query ranked against.
	Query string
	// Documents are TEI's texts or Cohere's documents, in request order.
	Documents []string
}

// Server is a fake rerank provider. Its fields are read-only once it
// serves.
type Server struct {
	*httptest.Server
	// Kind is TEI or Cohere.
	Kind string
	// Key is the API key every request must carry.
	Key string
	// Model is the model name Cohere requests must carry.
	Model string

	t        testing.TB
	score    func(query, doc string) float64
	mu       sync.Mutex
	script   []Reply
	requests []Request
	pings    int
}

// Pings returns how many health checks (GETs of the rerank route with the
// right key) the server answered.
func (s *Server) Pings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pings
}

// New starts a fake server of kind on 127.0.0.1 that scores with score
// and answers the scripted replies first. It stops when the test ends.
func New(t testing.TB, kind string, score func(query, doc string) float64, script ...Reply) *Server {
	s := &Server{Kind: kind, Key: "rk-test-123", Model: "test-rerank", t: t, score: score, script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Config returns a RemoteConfig pointing at the server, with its key and
// model.
func (s *Server) Config() rerank.RemoteConfig {
	base := s.URL
	if s.Kind == Cohere {
		base += "/v1"
	}
	return rerank.RemoteConfig{BaseURL: base, APIKey: s.Key, Model: s.Model}
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// teiRequest is TEI's RerankRequest.
type teiRequest struct {
	Query               string   `json:"query"`
	Texts               []string `json:"texts"`
	RawScores           *bool    `json:"raw_scores"`
	ReturnText          *bool    `json:"return_text"`
	Truncate            *bool    `json:"truncate"`
	TruncationDirection *string  `json:"truncation_direction"`
}

// cohereRequest is Cohere's v1 rerank request.
type cohereRequest struct {
	Model           string   `json:"model"`
	Query           string   `json:"query"`
	Documents       []string `json:"documents"`
	TopN            *int     `json:"top_n"`
	ReturnDocuments *bool    `json:"return_documents"`
	MaxChunksPerDoc *int     `json:"max_chunks_per_doc"`
	RankFields      []string `json:"rank_fields"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	wantPath := map[string]string{TEI: "/rerank", Cohere: "/v1/rerank"}[s.Kind]
	if r.Method == http.MethodGet && r.URL.Path == wantPath {
		// A health check: both servers refuse a bad key first, and
		// answer a GET of the route with 405.
		if r.Header.Get("Authorization") != "Bearer "+s.Key {
			http.Error(w, `{"error":"invalid api key"}`, http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		s.pings++
		s.mu.Unlock()
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != wantPath {
		s.t.Errorf("fake %s: request %s %s, want POST %s", s.Kind, r.Method, r.URL.Path, wantPath)
	}
	if got, want := r.Header.Get("Authorization"), "Bearer "+s.Key; got != want {
		s.t.Errorf("fake %s: Authorization = %q, want %q", s.Kind, got, want)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		s.t.Errorf("fake %s: Content-Type = %q", s.Kind, ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req Request
	var tei teiRequest
	var co cohereRequest
	if s.Kind == TEI {
		if err := dec.Decode(&tei); err != nil {
			s.t.Errorf("fake tei: request body: %v", err)
		}
		if tei.RawScores == nil || *tei.RawScores || tei.Truncate == nil || !*tei.Truncate {
			s.t.Errorf("fake tei: raw_scores %v truncate %v, want false and true", tei.RawScores, tei.Truncate)
		}
		req = Request{Query: tei.Query, Documents: tei.Texts}
	} else {
		if err := dec.Decode(&co); err != nil {
			s.t.Errorf("fake cohere: request body: %v", err)
		}
		if co.Model != s.Model {
			s.t.Errorf("fake cohere: model = %q, want %q", co.Model, s.Model)
		}
		if co.TopN == nil || *co.TopN != len(co.Documents) {
			s.t.Errorf("fake cohere: top_n = %v, want the %d documents", co.TopN, len(co.Documents))
		}
		req = Request{Query: co.Query, Documents: co.Documents}
	}

	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, req)
	var rep Reply
	if n < len(s.script) {
		rep = s.script[n]
	}
	s.mu.Unlock()

	if s.Kind == TEI && len(req.Documents) > TEIMaxBatch && rep.Status == 0 {
		rep = Reply{Status: http.StatusRequestEntityTooLarge, Body: fmt.Sprintf(
			`{"error":"batch size %d > maximum allowed batch size %d","error_type":"Validation"}`, len(req.Documents), TEIMaxBatch)}
	}
	switch {
	case rep.Status != 0 && rep.Status != http.StatusOK:
		if rep.RetryAfter != "" {
			w.Header().Set("Retry-After", rep.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.Status)
		fmt.Fprint(w, rep.Body)
		return
	case rep.Raw != "":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, rep.Raw)
		return
	}
	// Both servers answer best first.
	order := make([]int, len(req.Documents))
	scores := make([]float64, len(req.Documents))
	for i, d := range req.Documents {
		order[i], scores[i] = i, s.score(req.Query, d)
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	w.Header().Set("Content-Type", "application/json")
	if s.Kind == TEI {
		ranks := make([]map[string]any, len(order))
		for i, idx := range order {
			ranks[i] = map[string]any{"index": idx, "score": scores[idx]}
		}
		json.NewEncoder(w).Encode(ranks)
		return
	}
	topN := len(order)
	if co.TopN != nil {
		topN = min(*co.TopN, topN)
	}
	results := make([]map[string]any, 0, topN)
	for _, idx := range order[:topN] {
		results = append(results, map[string]any{"index": idx, "relevance_score": scores[idx]})
	}
	json.NewEncoder(w).Encode(map[string]any{"id": "07734bd2-2473-4f07-94e1-0d9f0e6843cf", "results": results,
		"meta": map[string]any{"api_version": map[string]any{"version": "1"}, "billed_units": map[string]any{"search_units": 1}}})
}
