package server_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/tokenize"
)

func newOpsServer(t *testing.T, ops server.OpsConfig) *testServer {
	t.Helper()
	return serve(t, setup{cfg: server.Config{Ops: ops}})
}

// limitedKey creates a key with its own limits.
func (ts *testServer) limitedKey(t *testing.T, workspace string, rpm, tpm int) string {
	t.Helper()
	k := &ragd.Key{Name: "limited", Workspace: workspace, RPM: rpm, TPM: tpm}
	if err := service.New(service.Config{Store: ts.store}).CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k.Secret
}

func headerInt(t *testing.T, r response, name string) int {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get(name))
	if err != nil {
		t.Fatalf("header %s = %q: %v", name, r.header.Get(name), err)
	}
	return n
}

func TestRateLimitRequests(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{})
	key := ts.limitedKey(t, "acme", 3, 0)
	for i := range 3 {
		r := ts.do(t, "GET", "/v1/vector_store", key, nil)
		r.must(t, 200)
		if got := headerInt(t, r, "X-RateLimit-Limit-Requests"); got != 3 {
			t.Errorf("limit %d, want 3", got)
		}
		if got := headerInt(t, r, "X-RateLimit-Remaining-Requests"); got != 2-i {
			t.Errorf("request %d: remaining %d, want %d", i, got, 2-i)
		}
		// tpm 0 takes the default tier's (team) token limit.
		if got := headerInt(t, r, "X-RateLimit-Limit-Tokens"); got != 10_000_000 {
			t.Errorf("token limit %d, want the team tier's", got)
		}
		if reset := headerInt(t, r, "X-RateLimit-Reset"); reset < 1 || reset > 60 {
			t.Errorf("reset %d s, want 1..60", reset)
		}
	}
	r := ts.do(t, "GET", "/v1/vector_store", key, nil)
	r.must(t, 429)
	if typ := obj(r.body["error"])["type"]; typ != "rate_limit_error" {
		t.Errorf("error type %v", typ)
	}
	if code, _ := r.errCode(); code != "rate_limit_exceeded" {
		t.Errorf("code %s", code)
	}
	// One request comes back every 20 s.
	if wait := headerInt(t, r, "Retry-After"); wait < 1 || wait > 20 {
		t.Errorf("Retry-After %d, want 1..20", wait)
	}
	if got := headerInt(t, r, "X-RateLimit-Remaining-Requests"); got != 0 {
		t.Errorf("remaining %d after the limit", got)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Error("429 without x-request-id")
	}
	// Limits are per key: another key of the same workspace is served.
	ts.do(t, "GET", "/v1/vector_store", ts.limitedKey(t, "acme", 3, 0), nil).must(t, 200)
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestRateLimitTokens sends concurrent requests on a key limited to 1000
// tokens a minute while the clock stands still: each reserves its tokens
// before it runs, so exactly as many are served as fit in the minute and
// the rest are refused with Retry-After.
func TestRateLimitTokens(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	ts := newOpsServer(t, server.OpsConfig{Now: clock.Now})
	const tpm = 1000
	key := ts.limitedKey(t, "acme", 10_000, tpm)
	input := strings.Repeat("the quick brown fox jumps over the lazy dog ", 30)
	cost := tokenize.MustGet(tokenize.CL100K).Count(input)
	fits := tpm / cost
	if fits < 2 || fits > 5 {
		t.Fatalf("input of %d tokens: %d fit in %d, want a few", cost, fits, tpm)
	}
	const clients = 12
	results := make([]response, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { results[i] = ts.do(t, "POST", "/v1/embeddings", key, map[string]any{"input": input}) })
	}
	wg.Wait()
	served, used := 0, 0
	for _, r := range results {
		switch r.status {
		case 200:
			served++
			used += int(obj(r.body["usage"])["prompt_tokens"].(float64))
		case 429:
			code, _ := r.errCode()
			// 1000 tokens a minute: what one request needs comes back within the minute.
			if wait := headerInt(t, r, "Retry-After"); code != "rate_limit_exceeded" || wait < 1 || wait > 60 ||
				!strings.Contains(str(obj(r.body["error"])["message"]), "1000 tokens per minute") {
				t.Errorf("refusal %d %s (Retry-After %d)", r.status, r.raw, wait)
			}
		default:
			t.Errorf("status %d: %s", r.status, r.raw)
		}
	}
	if served != fits || used > tpm {
		t.Fatalf("%d of %d concurrent requests of %d tokens served (%d tokens) within a minute of %d tokens; want exactly %d",
			served, clients, cost, used, tpm, fits)
	}
	// A request that uses no tokens is not held back by an empty token bucket.
	ts.do(t, "GET", "/v1/vector_store", key, nil).must(t, 200)

	// A minute later the bucket is full again.
	clock.Advance(time.Minute)
	r := ts.do(t, "POST", "/v1/embeddings", key, map[string]any{"input": input})
	r.must(t, 200)
	if got := headerInt(t, r, "X-RateLimit-Remaining-Tokens"); got != tpm-cost {
		t.Errorf("remaining tokens after one request %d, want %d", got, tpm-cost)
	}

	// A chat request reserves its messages plus max_tokens: one whose
	// budget alone passes the limit can never fit.
	col := ts.collection(t, key, "kb")
	ts.item(t, key, col, "Herons wade in shallow water to catch fish.", nil)
	clock.Advance(time.Minute)
	rag := func(maxTokens int) response {
		return ts.do(t, "POST", "/v1/chat/completions/RAG", key, map[string]any{"collection": col, "max_tokens": maxTokens,
			"messages": []any{map[string]any{"role": "user", "content": "How do herons fish?"}}})
	}
	r = rag(tpm + 1)
	if code, _ := r.errCode(); r.status != 429 || code != "tokens_exceed_limit" || r.header.Get("Retry-After") == "" {
		t.Fatalf("RAG with max_tokens over the limit: %d %s", r.status, r.raw)
	}
	// One that fits is charged what it really used: the prompt with its
	// sources, the completion, and the embedding of the question that
	// retrieval searched with.
	b := rag(100).must(t, 200)
	usage := obj(b["usage"])
	enc, err := tokenize.Get(tokenize.CL100K)
	if err != nil {
		t.Fatal(err)
	}
	total := int(usage["prompt_tokens"].(float64)+usage["completion_tokens"].(float64)) + enc.Count("How do herons fish?")
	r = ts.do(t, "GET", "/v1/vector_store", key, nil)
	if got := headerInt(t, r, "X-RateLimit-Remaining-Tokens"); got != tpm-total {
		t.Errorf("remaining tokens after a RAG request of %d tokens: %d, want %d", total, got, tpm-total)
	}
}

func TestRateLimitTiers(t *testing.T) {
	free, err := server.TierByName("free")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		tier    *server.Tier
		tpm     string
		keyRPM  int
		wantRPM string
	}{
		{"DefaultIsTeam", nil, "10000000", 0, "500"},
		{"Free", &free, "100000", 0, "10"},
		{"KeyOverridesTier", &free, "100000", 1000, "1000"},
		{"Unlimited", &server.Tier{Name: "unlimited"}, "", 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := newOpsServer(t, server.OpsConfig{DefaultTier: c.tier})
			r := ts.do(t, "GET", "/v1/models", ts.limitedKey(t, "acme", c.keyRPM, 0), nil)
			r.must(t, 200)
			if got := r.header.Get("X-RateLimit-Limit-Requests"); got != c.wantRPM {
				t.Errorf("request limit %q, want %q", got, c.wantRPM)
			}
			if got := r.header.Get("X-RateLimit-Limit-Tokens"); got != c.tpm {
				t.Errorf("token limit %q, want %q", got, c.tpm)
			}
			if r.header.Get("X-RateLimit-Reset") == "" {
				t.Error("no X-RateLimit-Reset")
			}
		})
	}
	if _, err := server.TierByName("gold"); err == nil {
		t.Error("unknown tier accepted")
	}
}
