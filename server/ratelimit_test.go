package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/tokenize"
)

// opsServer is a test server built with operational settings; its
// server is closed (usage and logs flushed) at cleanup or by closeServer.
type opsServer struct {
	*testServer
	srv *server.Server
}

func newOpsServer(t *testing.T, ops server.OpsConfig) *opsServer {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return serveStore(t, st, ops)
}

// serveStore starts a server over an open store; cleanup closes both.
func serveStore(t *testing.T, st *store.Store, ops server.OpsConfig) *opsServer {
	t.Helper()
	reg := embed.NewRegistry(embed.HashModelName, embed.NewHash(384))
	srv := server.New(st, reg, server.Config{MaxBodyBytes: 1 << 20, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ops: ops})
	os := &opsServer{testServer: &testServer{Server: httptest.NewServer(srv.Handler()), store: st}, srv: srv}
	t.Cleanup(func() {
		os.Close()
		srv.Close(context.Background())
		st.Close()
	})
	os.admin = os.key(t, "default", true)
	return os
}

// limitedKey creates a key with its own limits.
func (ts *testServer) limitedKey(t *testing.T, workspace string, rpm, tpm int) string {
	t.Helper()
	k := &store.Key{Name: "limited", Workspace: workspace, RPM: rpm, TPM: tpm}
	if err := ts.store.CreateKey(context.Background(), k); err != nil {
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

func TestRateLimitTokens(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{})
	key := ts.limitedKey(t, "acme", 100, 40)
	input := strings.Repeat("the quick brown fox jumps over the lazy dog ", 10)
	want := tokenize.MustGet(tokenize.CL100K).Count(input)
	if want <= 40 {
		t.Fatalf("input of %d tokens does not overdraw 40", want)
	}
	r := ts.do(t, "POST", "/v1/embeddings", key, map[string]any{"input": input})
	body := r.must(t, 200)
	if got := headerInt(t, r, "X-RateLimit-Remaining-Tokens"); got != 40 {
		t.Errorf("remaining tokens before the first request %d, want 40", got)
	}
	if n := int(obj(body["usage"])["prompt_tokens"].(float64)); n != want {
		t.Fatalf("usage %v tokens, want %d", n, want)
	}
	// The first request overdrew the bucket: the next waits for it.
	r = ts.do(t, "GET", "/v1/vector_store", key, nil)
	r.must(t, 429)
	if got := headerInt(t, r, "X-RateLimit-Remaining-Tokens"); got != 0 {
		t.Errorf("remaining tokens %d, want 0", got)
	}
	// 40 tokens a minute: one token back takes 1.5 s, the whole bucket 60 s.
	if wait := headerInt(t, r, "Retry-After"); wait < 1 || wait > 60 {
		t.Errorf("Retry-After %d", wait)
	}
	if !strings.Contains(obj(r.body["error"])["message"].(string), "40 tokens per minute") {
		t.Errorf("message %v", r.body["error"])
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
