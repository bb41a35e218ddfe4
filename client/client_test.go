package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ragd/ragd"
)

const testKey = "sk-client-test"

// newTestClient returns a client of h with millisecond backoff.
func newTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testKey {
			t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/", testKey)
	if err != nil {
		t.Fatal(err)
	}
	c.Backoff, c.MaxBackoff = time.Millisecond, 4*time.Millisecond
	return c
}

func writeError(w http.ResponseWriter, status int, code, msg string, param any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "x", "code": code, "param": param}})
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, url, key, param string
	}{
		{"ErrNoScheme", "localhost:8080", "k", "url"},
		{"ErrFTP", "ftp://host", "k", "url"},
		{"ErrNoHost", "http://", "k", "url"},
		{"ErrNoKey", "http://localhost:8080", "", "key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.url, tt.key)
			var e *ragd.Error
			if !errors.As(err, &e) || e.Kind != ragd.EINVALID || e.Param != tt.param {
				t.Fatalf("err = %v, want EINVALID about %s", err, tt.param)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		json         bool
		kind, code   string
		param        any
		wantAttempts int32
	}{
		{"BadRequest", 400, true, ragd.EINVALID, "invalid_request", "name", 1},
		{"Unauthorized", 401, true, ragd.EUNAUTHORIZED, "invalid_api_key", nil, 1},
		{"NotFound", 404, true, ragd.ENOTFOUND, "not_found", nil, 1},
		{"Conflict", 409, true, ragd.ECONFLICT, "conflict", "name", 1},
		{"TooLarge", 413, true, ragd.ETOOLARGE, "too_large", "file", 1},
		{"Unsupported", 415, true, ragd.EUNSUPPORTED, "unsupported_type", "file", 1},
		{"OtherClientError", 418, true, ragd.EINVALID, "teapot", nil, 1},
		{"Internal", 500, true, ragd.EINTERNAL, "internal_error", nil, 4},
		{"BadGatewayHTML", 502, false, ragd.EINTERNAL, ragd.EINTERNAL, nil, 4},
		{"Unavailable", 503, true, ragd.EUNAVAILABLE, "upstream_unavailable", nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var attempts atomic.Int32
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				if !tt.json {
					w.WriteHeader(tt.status)
					io.WriteString(w, "<html>bad gateway</html>")
					return
				}
				writeError(w, tt.status, tt.code, "what to fix", tt.param)
			})
			c.MaxRetries = 3
			_, err := c.File(t.Context(), "col_1", "file_1")
			var e *ragd.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, not a *ragd.Error", err)
			}
			if e.Kind != tt.kind || e.ClientCode() != tt.code {
				t.Errorf("kind %s code %s, want %s %s", e.Kind, e.ClientCode(), tt.kind, tt.code)
			}
			if tt.json && (e.Message != "what to fix" || (tt.param != nil && e.Param != tt.param)) {
				t.Errorf("message %q param %q", e.Message, e.Param)
			}
			if !tt.json && e.Message != "GET /v1/vector_store/col_1/files/file_1: HTTP 502 Bad Gateway" {
				t.Errorf("message %q", e.Message)
			}
			if got := attempts.Load(); got != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		limited    int
		maxRetries int
		wantErr    string
	}{
		{"HeaderZero", "0", 5, 30, ""},
		{"NoHeader", "", 3, 30, ""},
		{"GivesUp", "0", 5, 2, ragd.ERATELIMIT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var attempts atomic.Int32
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if int(attempts.Add(1)) <= tt.limited {
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					writeError(w, 429, "rate_limit_exceeded", "slow down", nil)
					return
				}
				json.NewEncoder(w).Encode(map[string]any{"file": map[string]any{"id": "file_1", "status": "completed"}})
			})
			c.MaxRateLimitRetries = tt.maxRetries
			var retries int
			c.OnRetry = func(error, time.Duration) { retries++ }
			f, err := c.File(t.Context(), "col_1", "file_1")
			if tt.wantErr != "" {
				if ragd.ErrorKind(err) != tt.wantErr || retries != tt.maxRetries {
					t.Fatalf("err = %v after %d retries, want %s after %d", err, retries, tt.wantErr, tt.maxRetries)
				}
				return
			}
			if err != nil || f.ID != "file_1" || !f.Done() || retries != tt.limited {
				t.Fatalf("file %+v, err %v, %d retries", f, err, retries)
			}
		})
	}

	t.Run("CancelWhileWaiting", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			writeError(w, 429, "rate_limit_exceeded", "slow down", nil)
		})
		ctx, cancel := context.WithCancel(t.Context())
		c.OnRetry = func(error, time.Duration) { cancel() }
		if _, err := c.File(ctx, "col_1", "file_1"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestBackoff(t *testing.T) {
	c := &Client{Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 80: time.Second} {
		for range 20 {
			if got := c.backoff().Delay(n); got > want || got < want/2 {
				t.Fatalf("backoff().Delay(%d) = %s, want %s..%s", n, got, want/2, want)
			}
		}
	}
}

func TestUploadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.md")
	content := "# Notes\n\nsome words\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		up          Upload
		status      int
		wantCreated bool
		wantName    string
		wantFields  map[string]string
		wantQuery   string
	}{
		{"Plain", Upload{Path: path}, 202, true, "notes.md", map[string]string{}, ""},
		{"Existing", Upload{Path: path}, 200, false, "notes.md", map[string]string{}, ""},
		{"AllFields", Upload{Path: path, Name: `dir/ünï "q".md`, Metadata: map[string]any{"team": "docs"},
			MaxTokens: 256, OverlapTokens: 32, Wait: true}, 201, true, `dir/ünï "q".md`,
			map[string]string{"metadata": `{"team":"docs"}`, "max_tokens": "256", "overlap_tokens": "32"}, "wait=true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/v1/vector_store/col_1/files" || r.URL.RawQuery != tt.wantQuery {
					t.Errorf("%s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
				}
				if r.ContentLength <= int64(len(content)) {
					t.Errorf("Content-Length %d", r.ContentLength)
				}
				mr, err := r.MultipartReader()
				if err != nil {
					t.Fatal(err)
				}
				fields := map[string]string{}
				var order []string
				for {
					p, err := mr.NextPart()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					data, _ := io.ReadAll(p)
					order = append(order, p.FormName())
					if p.FormName() != "file" {
						fields[p.FormName()] = string(data)
						continue
					}
					_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
					if err != nil || params["filename"] != tt.wantName {
						t.Errorf("filename %q (%v), want %q", params["filename"], err, tt.wantName)
					}
					if string(data) != content || p.Header.Get("Content-Type") != "text/markdown; charset=utf-8" {
						t.Errorf("file part %q with type %q", data, p.Header.Get("Content-Type"))
					}
				}
				if order[len(order)-1] != "file" || fmt.Sprint(fields) != fmt.Sprint(tt.wantFields) {
					t.Errorf("parts %v, fields %v", order, fields)
				}
				w.WriteHeader(tt.status)
				json.NewEncoder(w).Encode(map[string]any{"file": map[string]any{"id": "file_9", "status": "enqueued", "bytes": len(content)}})
			})
			f, created, err := c.UploadFile(t.Context(), "col_1", tt.up)
			if err != nil || f.ID != "file_9" || f.Bytes != int64(len(content)) || created != tt.wantCreated {
				t.Fatalf("file %+v created %v err %v", f, created, err)
			}
		})
	}

	t.Run("ErrMissingFile", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent") })
		_, _, err := c.UploadFile(t.Context(), "col_1", Upload{Path: filepath.Join(dir, "missing")})
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("RetrySendsWholeFileAgain", func(t *testing.T) {
		var attempts atomic.Int32
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				t.Fatal(err)
			}
			fh, _, err := r.FormFile("file")
			if err != nil {
				t.Fatal(err)
			}
			if data, _ := io.ReadAll(fh); string(data) != content {
				t.Errorf("attempt %d got %q", attempts.Load()+1, data)
			}
			if attempts.Add(1) == 1 {
				writeError(w, 503, "upstream_unavailable", "down", nil)
				return
			}
			w.WriteHeader(202)
			io.WriteString(w, `{"file": {"id": "file_1", "status": "enqueued"}}`)
		})
		if _, _, err := c.UploadFile(t.Context(), "col_1", Upload{Path: path}); err != nil || attempts.Load() != 2 {
			t.Fatalf("err %v after %d attempts", err, attempts.Load())
		}
	})
}

func TestPaging(t *testing.T) {
	const total = 250
	var requests atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Query().Get("limit") != "100" {
			t.Errorf("limit %q", r.URL.Query().Get("limit"))
		}
		from := 0
		if a := r.URL.Query().Get("after"); a != "" {
			n, _ := strconv.Atoi(a[len("file_"):])
			from = n + 1
		}
		var files []map[string]any
		for i := from; i < min(from+100, total); i++ {
			files = append(files, map[string]any{"id": fmt.Sprintf("file_%d", i), "sha256": fmt.Sprint(i), "status": "completed"})
		}
		var last any
		if len(files) > 0 {
			last = files[len(files)-1]["id"]
		}
		json.NewEncoder(w).Encode(map[string]any{"files": files, "has_more": from+100 < total, "last_id": last})
	})
	tests := []struct {
		name         string
		after        string
		stopAt       int
		wantN        int
		wantRequests int32
	}{
		{"All", "", -1, total, 3},
		{"After", "file_149", -1, 100, 1},
		{"StopEarly", "", 50, 51, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests.Store(0)
			n := 0
			for f, err := range c.Files(t.Context(), "col_1", tt.after) {
				if err != nil {
					t.Fatal(err)
				}
				if f.SHA256 != fmt.Sprint(f.ID[len("file_"):]) {
					t.Fatalf("file %+v", f)
				}
				n++
				if n-1 == tt.stopAt {
					break
				}
			}
			if n != tt.wantN || requests.Load() != tt.wantRequests {
				t.Errorf("%d files in %d requests, want %d in %d", n, requests.Load(), tt.wantN, tt.wantRequests)
			}
		})
	}
}

func TestCollections(t *testing.T) {
	var created atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			cols := []map[string]any{{"id": "col_1", "name": "a"}, {"id": "col_2", "name": "b"}}
			json.NewEncoder(w).Encode(map[string]any{"collections": cols, "has_more": false, "last_id": "col_2"})
		case http.MethodPost:
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			if r.Header.Get("Content-Type") != "application/json" || fmt.Sprint(body) != "map[name:new]" {
				t.Errorf("create body %v (%s)", body, r.Header.Get("Content-Type"))
			}
			created.Add(1)
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(map[string]any{"collection": map[string]any{"id": "col_3", "name": "new"}})
		}
	})
	if col, err := c.CollectionByName(t.Context(), "b"); err != nil || col.ID != "col_2" {
		t.Errorf("by name: %+v %v", col, err)
	}
	if _, err := c.CollectionByName(t.Context(), "zzz"); ragd.ErrorKind(err) != ragd.ENOTFOUND {
		t.Errorf("missing: %v", err)
	}
	if col, err := c.CreateCollection(t.Context(), NewCollection{Name: "new"}); err != nil || col.ID != "col_3" || created.Load() != 1 {
		t.Errorf("create: %+v %v", col, err)
	}
}
