package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// testServer is a real ragd HTTP server on a temp database.
type testServer struct {
	*httptest.Server // nil for a server of setup.open
	srv              *server.Server
	svc              *service.Service
	store            *store.Store
	admin            string // an admin key of workspace "default"
}

func newTestServer(t *testing.T) *testServer { return serve(t, setup{}) }

// newTestServerWith is newTestServer with the settings of cfg.
func newTestServerWith(t *testing.T, cfg server.Config) *testServer { return serve(t, setup{cfg: cfg}) }

// setup describes a test server; zero fields take the tests' defaults.
type setup struct {
	// cfg is the server's settings; a body limit and logger left unset
	// are the tests' (1 MiB, discarded).
	cfg server.Config
	// svc is the service's; Store and Embedders left unset are serve's
	// (a new store, the hash models of 384 and 64 dimensions).
	svc service.Config
	// dir is the data directory of a new store and of the ingester's
	// files (default: a new temporary directory).
	dir string
	// ingest, when set, serves files with an ingester of these settings
	// (Dir, Logger and Writer left unset are serve's).
	ingest *ingest.Config
	// open serves with Server.Open on 127.0.0.1:0, as ragd does, instead
	// of through httptest.
	open bool
}

// serve is the one builder of test servers: it builds and starts the
// server (and ingester) of s and registers their Close, and that of the
// listener and of a store it opened, for when the test ends.
func serve(t *testing.T, s setup) *testServer {
	t.Helper()
	if s.dir == "" {
		s.dir = t.TempDir()
	}
	if s.cfg.MaxBodyBytes == 0 {
		s.cfg.MaxBodyBytes = 1 << 20
	}
	if s.cfg.Logger == nil {
		s.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.svc.WebhookDestinations = s.cfg.Ops.Webhooks.Destinations
	if s.svc.Store == nil {
		s.svc.Store = storetest.MustOpenIn(t, s.dir)
	}
	if s.svc.Embedders == nil {
		s.svc.Embedders = embed.NewRegistry(embed.HashModelName, embed.NewHash(384), renamed{embed.NewHash(64), "hash-64"})
	}
	if s.ingest != nil {
		if s.ingest.Dir == "" {
			s.ingest.Dir = filepath.Join(s.dir, "files")
		}
		if s.ingest.Logger == nil {
			s.ingest.Logger = s.cfg.Logger
		}
		s.ingest.Writer = s.svc.Writer
		ing, err := ingest.New(s.svc.Store, s.svc.Embedders, *s.ingest)
		if err != nil {
			t.Fatal(err)
		}
		s.svc.Ingester = ing
	}
	// The server times the embedders it shares with the ingester, so it
	// is built before the workers start.
	svc := service.New(s.svc)
	srv := server.New(svc, s.cfg)
	ts := &testServer{srv: srv, svc: svc, store: s.svc.Store}
	t.Cleanup(func() {
		if ts.Server != nil {
			ts.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		if s.svc.Ingester != nil {
			err = s.svc.Ingester.Close(ctx)
		}
		if err := errors.Join(err, srv.Close(ctx)); err != nil {
			t.Error(err)
		}
	})
	if s.svc.Ingester != nil {
		if err := s.svc.Ingester.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if s.open {
		if err := srv.Open("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	} else {
		srv.Start()
		ts.Server = httptest.NewServer(srv.Handler())
	}
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

// postMultipart posts a multipart form of fields and, unless data is
// nil, a part "file" named filename holding data.
func (ts *testServer) postMultipart(t *testing.T, path, key, filename string, data []byte, fields map[string]string) response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if data != nil {
		w, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	mw.Close()
	req, err := http.NewRequest("POST", ts.URL+path, &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
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
