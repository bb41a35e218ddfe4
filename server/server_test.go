package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
)

// testServer is a real ragd HTTP server on a temp database.
type testServer struct {
	*httptest.Server
	store *store.Store
	admin string // an admin key of workspace "default"
}

func newTestServer(t *testing.T) *testServer { return newTestServerWith(t, server.Config{}) }

// newTestServerWith is newTestServer with the settings of cfg; a body
// limit and logger left unset are the tests' (1 MiB, discarded).
func newTestServerWith(t *testing.T, cfg server.Config) *testServer {
	return newTestServerOf(t, cfg, nil)
}

// newTestServerOf is newTestServerWith whose service has the rerank
// models rr (nil: none). It is the one builder of test servers: the
// server, its HTTP listener and its store close when the test ends.
func newTestServerOf(t *testing.T, cfg server.Config, rr *rerank.Registry) *testServer {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	reg := embed.NewRegistry(embed.HashModelName, embed.NewHash(384), renamed{embed.NewHash(64), "hash-64"})
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv := server.New(service.New(service.Config{Store: st, Embedders: reg, Rerankers: rr}), cfg)
	srv.Start()
	ts := &testServer{Server: httptest.NewServer(srv.Handler()), store: st}
	t.Cleanup(func() {
		ts.Close()
		srv.Close(context.Background())
		st.Close()
	})
	ts.admin = ts.key(t, "default", true)
	return ts
}

// key creates a key directly in the store and returns its secret.
func (ts *testServer) key(t *testing.T, workspace string, admin bool) string {
	t.Helper()
	k := &ragd.Key{Name: "test", Workspace: workspace, Admin: admin}
	if err := service.New(service.Config{Store: ts.store}).CreateKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return k.Secret
}

// response is a decoded reply.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// do sends a request; body is JSON-encoded unless it is a string (sent
// as is).
func (ts *testServer) do(t *testing.T, method, path, key string, body any) response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	return send(t, req)
}

// send sends req and reads the reply, decoding a JSON object body.
func send(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", req.Method, req.URL.Path, raw, err)
		}
	}
	return out
}

// must checks the status and returns the body.
func (r response) must(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r.body
}

// errCode returns the error's code and param.
func (r response) errCode() (string, any) {
	e, _ := r.body["error"].(map[string]any)
	return str(e["code"]), e["param"]
}

func str(v any) string { s, _ := v.(string); return s }

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func list(v any) []any { l, _ := v.([]any); return l }

// collection creates a collection and returns its id.
func (ts *testServer) collection(t *testing.T, key, name string) string {
	t.Helper()
	b := ts.do(t, "POST", "/v1/vector_store", key, map[string]any{"name": name}).must(t, 201)
	return str(obj(b["collection"])["id"])
}

// item adds an item and returns its id.
func (ts *testServer) item(t *testing.T, key, col, content string, meta map[string]any) string {
	t.Helper()
	b := ts.do(t, "POST", "/v1/vector_store/"+col+"/items", key, map[string]any{"content": content, "metadata": meta}).must(t, 201)
	return str(obj(b["item"])["id"])
}

// renamed serves an embedder under another model name.
type renamed struct {
	embed.Embedder
	name string
}

func (r renamed) Name() string { return r.name }
