package rerank_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/rerank/reranktest"
)

// overlap is the fake model: the number of query words in the document,
// plus a tie-breaker that favours shorter documents.
func overlap(query, doc string) float64 {
	n := 0.0
	for _, w := range strings.Fields(query) {
		if strings.Contains(doc, w) {
			n++
		}
	}
	return n + 1/float64(1+len(doc))
}

var kinds = []string{reranktest.TEI, reranktest.Cohere}

// newReranker returns the provider of kind configured by cfg (whose
// BaseURL, key and model come from srv), retrying without waiting.
func newReranker(t *testing.T, srv *reranktest.Server, cfg rerank.RemoteConfig) rerank.Reranker {
	t.Helper()
	base := srv.Config()
	cfg.BaseURL, cfg.APIKey, cfg.Model = base.BaseURL, base.APIKey, base.Model
	var (
		r   rerank.Reranker
		err error
	)
	if srv.Kind == reranktest.TEI {
		r, err = rerank.NewTEI(cfg)
	} else {
		r, err = rerank.NewCohere(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	rerank.SetSleep(r, func(ctx context.Context, d time.Duration) error { return ctx.Err() })
	return r
}

func TestRemoteRerank(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			srv := reranktest.New(t, kind, overlap)
			r := newReranker(t, srv, rerank.RemoteConfig{})
			docs := []string{"nothing relevant here", "sqlite stores data in one file", "sqlite"}
			scores, err := r.Rerank(context.Background(), "sqlite file", docs)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range docs {
				if want := overlap("sqlite file", d); scores[i] != want {
					t.Errorf("score of %q = %v, want %v (input order)", d, scores[i], want)
				}
			}
			reqs := srv.Requests()
			if len(reqs) != 1 || reqs[0].Query != "sqlite file" || fmt.Sprint(reqs[0].Documents) != fmt.Sprint(docs) {
				t.Errorf("requests %+v", reqs)
			}
			if r.Name() != srv.Model {
				t.Errorf("Name = %q", r.Name())
			}
		})
	}
}

func TestRemoteBatching(t *testing.T) {
	cases := []struct {
		kind  string
		cfg   rerank.RemoteConfig
		docs  int
		sizes string
	}{
		// TEI's default batch is its server's default limit: 70 documents
		// pass a server that refuses batches over 32.
		{reranktest.TEI, rerank.RemoteConfig{}, 70, "[32 32 6]"},
		{reranktest.TEI, rerank.RemoteConfig{BatchSize: 10}, 25, "[10 10 5]"},
		{reranktest.Cohere, rerank.RemoteConfig{}, 1001, "[1000 1]"},
		{reranktest.Cohere, rerank.RemoteConfig{BatchSize: 3}, 7, "[3 3 1]"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%d", c.kind, c.docs), func(t *testing.T) {
			srv := reranktest.New(t, c.kind, overlap)
			r := newReranker(t, srv, c.cfg)
			docs := make([]string, c.docs)
			for i := range docs {
				docs[i] = strings.Repeat("x", i%50) + fmt.Sprint(i)
			}
			scores, err := r.Rerank(context.Background(), "q", docs)
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, req := range srv.Requests() {
				sizes = append(sizes, len(req.Documents))
			}
			if fmt.Sprint(sizes) != c.sizes {
				t.Fatalf("batches %v, want %s", sizes, c.sizes)
			}
			for i, d := range docs {
				if scores[i] != overlap("q", d) {
					t.Fatalf("score %d = %v, want %v: batches reassembled out of order", i, scores[i], overlap("q", d))
				}
			}
		})
	}
}

func wantKind(t *testing.T, err error, kind string) *ragd.Error {
	t.Helper()
	var e *ragd.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a *ragd.Error of kind %s", err, err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("kind %s (%v), want %s", e.Kind, err, kind)
	}
	return e
}

func TestRemoteErrors(t *testing.T) {
	cases := []struct {
		name     string
		script   []reranktest.Reply
		kind     string
		code     string
		message  string
		requests int
	}{
		{"BadRequestNotRetried", []reranktest.Reply{{Status: 400, Body: `{"message":"invalid request: query must not be empty"}`}},
			ragd.EINVALID, "upstream_rejected", "rejected the request (HTTP 400): invalid request: query must not be empty", 1},
		{"UnauthorizedNotRetried", []reranktest.Reply{{Status: 401, Body: `{"error":"Unauthorized","error_type":"Unauthorized"}`}},
			ragd.EUNPROCESSABLE, "upstream_rejected", "(HTTP 401): Unauthorized", 1},
		{"ServerErrorRetried", []reranktest.Reply{{Status: 503, Body: `{"error":"Model is overloaded","error_type":"Overloaded"}`}},
			"", "", "", 2},
		{"RetriesExhausted", []reranktest.Reply{{Status: 500}, {Status: 502}, {Status: 503, Body: `{"error":"Model is overloaded","error_type":"Overloaded"}`}},
			ragd.EUNAVAILABLE, "upstream_unavailable", "unavailable after 3 attempts: HTTP 503: Model is overloaded", 3},
		{"NotJSON", []reranktest.Reply{{Raw: `<html>bad gateway</html>`}},
			ragd.EUNAVAILABLE, "upstream_bad_response", "could not be read", 1},
	}
	for _, kind := range kinds {
		for _, c := range cases {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				srv := reranktest.New(t, kind, overlap, c.script...)
				r := newReranker(t, srv, rerank.RemoteConfig{MaxRetries: 2})
				scores, err := r.Rerank(context.Background(), "q", []string{"a", "b"})
				if n := len(srv.Requests()); n != c.requests {
					t.Errorf("%d requests, want %d", n, c.requests)
				}
				if c.kind == "" {
					if err != nil || len(scores) != 2 {
						t.Fatalf("after a retry: %v, %v", scores, err)
					}
					return
				}
				wantError(t, err, c.kind, c.code, fmt.Sprintf("rerank provider %s (model %q)", kind, srv.Model), c.message)
			})
		}
	}
}

func wantError(t *testing.T, err error, kind, code string, messages ...string) {
	t.Helper()
	e := wantKind(t, err, kind)
	if e.ClientCode() != code {
		t.Errorf("code %q, want %q", e.ClientCode(), code)
	}
	for _, m := range messages {
		if !strings.Contains(e.Message, m) {
			t.Errorf("message %q, want it to contain %q", e.Message, m)
		}
	}
}

// Answers that do not score every document exactly once are refused
// rather than leaving a document at score 0.
func TestRemoteBadScores(t *testing.T) {
	cases := []struct {
		name, tei, cohere, message string
	}{
		{"MissingScore", `[{"index":0},{"index":1,"score":0.5}]`,
			`{"results":[{"index":0},{"index":1,"relevance_score":0.5}]}`, "a result lacks its index or score"},
		{"RepeatedIndex", `[{"index":1,"score":0.9},{"index":1,"score":0.5}]`,
			`{"results":[{"index":1,"relevance_score":0.9},{"index":1,"relevance_score":0.5}]}`, "index 1 is out of range or repeated"},
		{"IndexOutOfRange", `[{"index":0,"score":0.9},{"index":2,"score":0.5}]`,
			`{"results":[{"index":0,"relevance_score":0.9},{"index":2,"relevance_score":0.5}]}`, "index 2 is out of range or repeated"},
		{"FewerResults", `[{"index":0,"score":0.9}]`,
			`{"results":[{"index":0,"relevance_score":0.9}]}`, "returned 1 scores for 2 documents"},
		{"WrongShape", `{"results":[]}`, `[]`, "could not be read"},
	}
	for _, kind := range kinds {
		for _, c := range cases {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				raw := map[string]string{reranktest.TEI: c.tei, reranktest.Cohere: c.cohere}[kind]
				srv := reranktest.New(t, kind, overlap, reranktest.Reply{Raw: raw})
				r := newReranker(t, srv, rerank.RemoteConfig{MaxRetries: 2})
				_, err := r.Rerank(context.Background(), "q", []string{"a", "b"})
				wantError(t, err, ragd.EUNAVAILABLE, "upstream_bad_response", c.message)
				if n := len(srv.Requests()); n != 1 {
					t.Errorf("%d requests, want 1 (a bad answer is not retried)", n)
				}
			})
		}
	}
}

func TestRemoteConfigInvalid(t *testing.T) {
	ok := rerank.RemoteConfig{BaseURL: "http://127.0.0.1:1", Model: "m"}
	cases := []struct {
		name  string
		edit  func(*rerank.RemoteConfig)
		param string
	}{
		{"NoBaseURL", func(c *rerank.RemoteConfig) { c.BaseURL = "" }, "base_url"},
		{"BaseURLNoScheme", func(c *rerank.RemoteConfig) { c.BaseURL = "localhost:8082" }, "base_url"},
		{"NoModel", func(c *rerank.RemoteConfig) { c.Model = " " }, "model"},
		{"NegativeBatch", func(c *rerank.RemoteConfig) { c.BatchSize = -1 }, "batch_size"},
		{"NegativeTimeout", func(c *rerank.RemoteConfig) { c.Timeout = -time.Second }, "timeout"},
		{"NegativeRetries", func(c *rerank.RemoteConfig) { c.MaxRetries = -1 }, "max_retries"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.edit(&cfg)
			_, err1 := rerank.NewTEI(cfg)
			_, err2 := rerank.NewCohere(cfg)
			for _, err := range []error{err1, err2} {
				if e := wantKind(t, err, ragd.EINVALID); e.Param != c.param {
					t.Errorf("param %q, want %q (%v)", e.Param, c.param, err)
				}
			}
		})
	}
}
