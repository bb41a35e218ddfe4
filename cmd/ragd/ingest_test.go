package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/client"
)

// fakeRagd speaks the collection list/create and file routes of
// shared/API.md from memory: multipart uploads hashed as they stream in,
// dedup by sha256 answering 200 with the existing file, statuses that
// advance enqueued -> processing -> completed|failed one step each time a
// file is looked at, ?wait=true, paging with limit/after, Bearer auth and
// the JSON error shape. A file whose bytes start with "%FAIL" fails in
// processing; a file named *.exe is refused at upload with 415.
type fakeRagd struct {
	key string

	mu      sync.Mutex
	cols    []map[string]any
	files   map[string][]*fakeFile // by collection id, in creation order
	byID    map[string]*fakeFile
	bySHA   map[string]*fakeFile // by collection id + "/" + sha256
	nextID  int
	deleted int

	// Hooks, set before the run.
	limit      int    // answer this many uploads with 429 first
	retryAfter string // the Retry-After of those 429s
	fail5xx    int    // then answer this many uploads with 503
	// stopAfter, when positive, calls stop once that many files exist
	// and from then on refuses with 503 every upload made with key, so
	// that requests of an interrupted run still on their way cannot land.
	// altKey is accepted too and never refused.
	stopAfter int
	stop      func()
	altKey    string

	// Observations.
	attempts   []time.Time // every upload request, in arrival order
	created    int
	dedups     int
	chunked    int // uploads without a Content-Length
	requests   map[string]int
	goroutines int // the most seen during an upload
}

// fakeFile is one stored file.
type fakeFile struct {
	id, col, name, sha, status string
	size                       int64
	meta                       map[string]any
	form                       map[string]string // the other form fields
	created                    int64
	bad                        bool // fails in processing
}

func newFakeRagd(t testing.TB) (*fakeRagd, *httptest.Server) {
	t.Helper()
	f := &fakeRagd{key: "sk-test-" + strconv.Itoa(os.Getpid()), files: map[string][]*fakeFile{},
		byID: map[string]*fakeFile{}, bySHA: map[string]*fakeFile{}, requests: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/vector_store", f.listCollections)
	mux.HandleFunc("POST /v1/vector_store", f.createCollection)
	mux.HandleFunc("POST /v1/vector_store/{id}/files", f.upload)
	mux.HandleFunc("GET /v1/vector_store/{id}/files", f.listFiles)
	mux.HandleFunc("GET /v1/vector_store/{id}/files/{fid}", f.getFile)
	mux.HandleFunc("DELETE /v1/vector_store/{id}/files/{fid}", f.deleteFile)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth := r.Header.Get("Authorization"); auth != "Bearer "+f.key && (f.altKey == "" || auth != "Bearer "+f.altKey) {
			apiErr(w, 401, "authentication_error", "invalid_api_key", "", "the API key is missing or unknown")
			return
		}
		f.mu.Lock()
		f.requests[r.Method+" "+routeOf(r.URL.Path)]++
		f.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

// routeOf replaces ids in a path by placeholders.
func routeOf(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		if i == 3 || i == 5 {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

func apiErr(w http.ResponseWriter, status int, typ, code, param, msg string) {
	var p any
	if param != "" {
		p = param
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code, "param": p}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// page applies ?limit and ?after to ids, answering 400 on a bad limit.
func page(w http.ResponseWriter, r *http.Request, ids []string) (from, to int, ok bool) {
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiErr(w, 400, "invalid_request_error", "invalid_request", "limit", "limit must be from 1 to 100")
			return 0, 0, false
		}
		limit = n
	}
	if after := r.URL.Query().Get("after"); after != "" {
		from = slices.Index(ids, after) + 1
	}
	return from, min(from+limit, len(ids)), true
}

func listBody(key string, items []map[string]any, more bool) map[string]any {
	var last any
	if len(items) > 0 {
		last = items[len(items)-1]["id"]
	}
	if items == nil {
		items = []map[string]any{}
	}
	return map[string]any{key: items, "has_more": more, "last_id": last}
}

func (f *fakeRagd) listCollections(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, c := range f.cols {
		ids = append(ids, c["id"].(string))
	}
	from, to, ok := page(w, r, ids)
	if ok {
		writeJSON(w, 200, listBody("collections", f.cols[from:to], to < len(ids)))
	}
}

func (f *fakeRagd) createCollection(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" {
		apiErr(w, 400, "invalid_request_error", "invalid_request", "name", "name is required")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cols {
		if c["name"] == req.Name {
			apiErr(w, 409, "invalid_request_error", "conflict", "name", "a collection with this name exists")
			return
		}
	}
	f.nextID++
	c := map[string]any{"id": fmt.Sprintf("col_%d", f.nextID), "name": req.Name, "description": "", "created": time.Now().Unix(),
		"updated": time.Now().Unix(), "embedding_model": "hash-384", "dimensions": 384,
		"chunking": map[string]any{"max_tokens": 512, "overlap_tokens": 64}, "item_count": 0, "file_count": 0,
		"chunk_count": 0, "bytes": 0, "metadata": map[string]any{}}
	f.cols = append(f.cols, c)
	writeJSON(w, 201, map[string]any{"collection": c})
}

// collection returns the files of the collection in the path, or answers 404.
func (f *fakeRagd) collection(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	for _, c := range f.cols {
		if c["id"] == id {
			return id, true
		}
	}
	apiErr(w, 404, "not_found_error", "not_found", "", "collection not found")
	return "", false
}

func (f *fakeRagd) upload(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.attempts = append(f.attempts, time.Now())
	f.goroutines = max(f.goroutines, runtime.NumGoroutine())
	if r.ContentLength < 0 {
		f.chunked++
	}
	col, ok := f.collection(w, r)
	switch {
	case !ok:
	case f.limit > 0:
		f.limit--
		w.Header().Set("Retry-After", f.retryAfter)
		apiErr(w, 429, "rate_limit_error", "rate_limit_exceeded", "", "too many requests")
		ok = false
	case f.fail5xx > 0:
		f.fail5xx--
		apiErr(w, 503, "server_error", "upstream_unavailable", "", "the embedding provider is down")
		ok = false
	}
	f.mu.Unlock()
	if !ok {
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		apiErr(w, 400, "invalid_request_error", "invalid_request", "file", "the body must be multipart/form-data")
		return
	}
	file := &fakeFile{col: col, form: map[string]string{}, meta: map[string]any{}}
	sawFile := false
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			apiErr(w, 400, "invalid_request_error", "invalid_request", "file", "malformed multipart body")
			return
		}
		switch p.FormName() {
		case "file":
			_, params, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
			file.name = params["filename"]
			h := sha256.New()
			head := make([]byte, 5)
			k, _ := io.ReadFull(p, head)
			h.Write(head[:k])
			n, err := io.Copy(h, p)
			if err != nil {
				apiErr(w, 400, "invalid_request_error", "invalid_request", "file", "the upload was cut short")
				return
			}
			file.sha, file.size, sawFile = hex.EncodeToString(h.Sum(nil)), n+int64(k), true
			file.bad = string(head[:k]) == "%FAIL"
		case "metadata":
			raw, _ := io.ReadAll(p)
			if json.Unmarshal(raw, &file.meta) != nil || file.meta == nil {
				apiErr(w, 400, "invalid_request_error", "invalid_request", "metadata", "metadata must be a JSON object")
				return
			}
		default:
			raw, _ := io.ReadAll(p)
			file.form[p.FormName()] = string(raw)
		}
	}
	if !sawFile {
		apiErr(w, 400, "invalid_request_error", "invalid_request", "file", "the file field is required")
		return
	}
	if strings.HasSuffix(file.name, ".exe") {
		apiErr(w, 415, "invalid_request_error", "unsupported_type", "file", "unsupported file type; supported: text, markdown, html, pdf")
		return
	}
	wait := r.URL.Query().Get("wait") == "true"
	f.mu.Lock()
	if f.stopAfter > 0 && f.created >= f.stopAfter && r.Header.Get("Authorization") == "Bearer "+f.key {
		f.mu.Unlock()
		apiErr(w, 503, "server_error", "upstream_unavailable", "", "shutting down")
		return
	}
	if old := f.bySHA[col+"/"+file.sha]; old != nil {
		f.dedups++
		body := f.view(old)
		f.mu.Unlock()
		writeJSON(w, 200, body)
		return
	}
	f.nextID++
	file.id, file.status, file.created = fmt.Sprintf("file_%d", f.nextID), "enqueued", time.Now().Unix()
	f.files[col] = append(f.files[col], file)
	f.byID[file.id] = file
	f.bySHA[col+"/"+file.sha] = file
	f.created++
	if f.created == f.stopAfter {
		f.stop()
	}
	status, body := 202, map[string]any{"file": f.json(file)}
	if wait {
		status = 201
		f.advance(file)
		body = f.view(file)
	}
	f.mu.Unlock()
	writeJSON(w, status, body)
}

// advance moves a file one status on; the first look at an enqueued file
// finds it processing, the next finds it done.
func (f *fakeRagd) advance(file *fakeFile) {
	switch file.status {
	case "enqueued":
		file.status = "processing"
	case "processing":
		file.status = "completed"
		if file.bad {
			file.status = "failed"
		}
	}
}

// view advances a file and returns its single-file body.
func (f *fakeRagd) view(file *fakeFile) map[string]any {
	f.advance(file)
	return map[string]any{"file": f.json(file)}
}

func (f *fakeRagd) json(file *fakeFile) map[string]any {
	var e any
	if file.status == "failed" {
		e = map[string]any{"code": "extract_failed", "message": "the document could not be read"}
	}
	return map[string]any{"id": file.id, "filename": file.name, "bytes": file.size, "content_type": "text/plain",
		"sha256": file.sha, "status": file.status, "error": e, "items": 1, "chunks": 1, "tokens": 10,
		"created": file.created, "metadata": file.meta}
}

func (f *fakeRagd) listFiles(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	col, ok := f.collection(w, r)
	if !ok {
		return
	}
	var ids []string
	for _, file := range f.files[col] {
		ids = append(ids, file.id)
	}
	from, to, ok := page(w, r, ids)
	if !ok {
		return
	}
	var items []map[string]any
	for _, file := range f.files[col][from:to] {
		items = append(items, f.view(file)["file"].(map[string]any))
	}
	writeJSON(w, 200, listBody("files", items, to < len(ids)))
}

func (f *fakeRagd) getFile(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	col, ok := f.collection(w, r)
	if !ok {
		return
	}
	file := f.byID[r.PathValue("fid")]
	if file == nil || file.col != col {
		apiErr(w, 404, "not_found_error", "not_found", "", "file not found")
		return
	}
	writeJSON(w, 200, f.view(file))
}

func (f *fakeRagd) deleteFile(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	col, ok := f.collection(w, r)
	if !ok {
		return
	}
	id := r.PathValue("fid")
	file := f.byID[id]
	if file == nil || file.col != col {
		apiErr(w, 404, "not_found_error", "not_found", "", "file not found")
		return
	}
	delete(f.byID, id)
	delete(f.bySHA, col+"/"+file.sha)
	f.files[col] = slices.DeleteFunc(f.files[col], func(x *fakeFile) bool { return x.id == id })
	f.deleted++
	writeJSON(w, 200, map[string]any{"id": id, "deleted": true})
}

// counts is a consistent copy of the fake's counters.
type counts struct{ attempts, created, dedups, deleted, chunked, goroutines int }

func (f *fakeRagd) counts() counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return counts{len(f.attempts), f.created, f.dedups, f.deleted, f.chunked, f.goroutines}
}

// requestCount returns the number of requests to a route.
func (f *fakeRagd) requestCount(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[route]
}

// stored returns the number of stored files per sha256 and per status.
func (f *fakeRagd) stored() (bySHA map[string]int, byStatus map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	bySHA, byStatus = map[string]int{}, map[string]int{}
	for _, files := range f.files {
		for _, file := range files {
			bySHA[file.sha]++
			byStatus[file.status]++
		}
	}
	return bySHA, byStatus
}

// ingestCLI runs ragd ingest against url with key and returns its output.
func ingestCLI(ctx context.Context, url, key string, args ...string) (stdout, stderr string, err error) {
	var out, errw bytes.Buffer
	full := append([]string{"ingest", "--url", url, "--key", key, "--poll-interval", "2ms"}, args...)
	err = run(ctx, full, &out, &errw)
	return out.String(), errw.String(), err
}

// writeFiles creates files (path -> content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// uploadedNames returns the filenames and form fields the fake received.
func (f *fakeRagd) uploadedNames() map[string]*fakeFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]*fakeFile{}
	for _, file := range f.byID {
		out[file.name] = file
	}
	return out
}

// summaryCount reads "  label   N" from a summary.
func summaryCount(t *testing.T, out, label string) int {
	t.Helper()
	for line := range strings.SplitSeq(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && fields[0] == label {
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				t.Fatalf("summary line %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no %q line in summary:\n%s", label, out)
	return 0
}

func TestIngestTree(t *testing.T) {
	fake, srv := newFakeRagd(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"docs/a.md":            "# A\n\nalpha",
		"docs/sub/b.txt":       "beta",
		"docs/sub/deep/c.html": "<p>gamma</p>",
		"docs/.hidden.md":      "hidden file",
		"docs/.git/config":     "hidden dir",
		"docs/dup.txt":         "beta", // same bytes as sub/b.txt
		"single.txt":           "a file named on the command line",
	})
	// A link back up the tree must not loop; a link to a file is followed.
	if err := os.Symlink("..", filepath.Join(dir, "docs/sub/deep/up")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "single.txt"), filepath.Join(dir, "docs/link.txt")); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "docs", "--create",
		"--metadata", `{"team":"infra","path":"overridden"}`, "--max-tokens", "256", "--overlap-tokens", "32",
		filepath.Join(dir, "docs"), filepath.Join(dir, "single.txt"))
	if err != nil {
		t.Fatalf("ingest: %v\n%s\n%s", err, stdout, stderr)
	}
	got := fake.uploadedNames()
	// dup.txt and link.txt repeat bytes already sent: the server or the
	// local check skips them, whichever sees them first.
	var names []string
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	wantAny := [][]string{
		{"a.md", "single.txt", "sub/b.txt", "sub/deep/c.html"},
		{"a.md", "dup.txt", "single.txt", "sub/deep/c.html"},
		{"a.md", "link.txt", "sub/b.txt", "sub/deep/c.html"},
		{"a.md", "dup.txt", "link.txt", "sub/deep/c.html"},
	}
	if !slices.ContainsFunc(wantAny, func(w []string) bool { return slices.Equal(w, names) }) {
		t.Errorf("uploaded %v", names)
	}
	if f := got["a.md"]; f == nil || f.meta["team"] != "infra" || f.meta["path"] != "overridden" ||
		f.form["max_tokens"] != "256" || f.form["overlap_tokens"] != "32" {
		t.Errorf("a.md form: %+v", f)
	}
	for label, want := range map[string]int{"uploaded": 4, "skipped": 2, "completed": 6, "failed": 0} {
		if n := summaryCount(t, stdout, label); n != want {
			t.Errorf("%s = %d, want %d\n%s", label, n, want, stdout)
		}
	}
	if fake.counts().chunked != 0 {
		t.Errorf("%d uploads without Content-Length", fake.counts().chunked)
	}
	if strings.Contains(stdout+stderr, fake.key) {
		t.Error("the API key appears in the output")
	}

	t.Run("PathMetadata", func(t *testing.T) {
		stdout, stderr, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "other", "--create", filepath.Join(dir, "docs", "sub"))
		if err != nil {
			t.Fatalf("ingest: %v\n%s\n%s", err, stdout, stderr)
		}
		for _, f := range fake.uploadedNames() {
			if f.name == "deep/c.html" && f.meta["path"] != "deep/c.html" {
				t.Errorf("path metadata %v", f.meta)
			}
		}
	})
}

func TestIngestErrors(t *testing.T) {
	fake, srv := newFakeRagd(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.txt": "alpha", ".hidden": "x"})
	if _, _, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "exists", "--create", filepath.Join(dir, "a.txt")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  string
		args []string
		want string // in the error
	}{
		{"ErrCollectionMissing", fake.key, []string{"--collection", "nope", dir}, `collection "nope" not found; add --create`},
		{"ErrBadKey", "sk-wrong", []string{"--collection", "exists", dir}, "invalid_api_key"},
		{"ErrNoKey", "", []string{"--collection", "exists", dir}, "RAGD_API_KEY"},
		{"ErrNoCollectionFlag", fake.key, []string{dir}, "--collection is required"},
		{"ErrNoPaths", fake.key, []string{"--collection", "exists"}, "at least one file or directory"},
		{"ErrBadMetadata", fake.key, []string{"--collection", "exists", "--metadata", "[1]", dir}, "--metadata must be a JSON object"},
		{"ErrParallel", fake.key, []string{"--collection", "exists", "--parallel", "0", dir}, "--parallel must be from 1 to 64"},
		{"ErrMissingPath", fake.key, []string{"--collection", "exists", filepath.Join(dir, "missing")}, "no such file or directory"},
		{"ErrOnlyHidden", fake.key, []string{"--collection", "exists", filepath.Join(dir, "empty")}, "no files found"},
		{"ErrBadURL", fake.key, []string{"--url", "localhost:8080", "--collection", "exists", dir}, "http://host:port"},
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"empty/.only-hidden": "x"})
	t.Setenv("RAGD_API_KEY", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := ingestCLI(t.Context(), srv.URL, tt.key, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q\n%s%s", err, tt.want, stdout, stderr)
			}
			if exitCode(err) == 0 {
				t.Error("exit code 0")
			}
			if strings.Contains(stdout+stderr+err.Error(), fake.key) {
				t.Error("the API key appears in the output")
			}
		})
	}

	t.Run("KeyFromEnv", func(t *testing.T) {
		t.Setenv("RAGD_API_KEY", fake.key)
		if stdout, stderr, err := ingestCLI(t.Context(), srv.URL, "", "--collection", "exists", dir); err != nil {
			t.Fatalf("ingest: %v\n%s%s", err, stdout, stderr)
		}
	})
}

func TestIngestFailures(t *testing.T) {
	fake, srv := newFakeRagd(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"good.md":     "# fine",
		"broken.pdf":  "%FAIL this is not a PDF",
		"tool.exe":    "MZ binary",
		"also-ok.txt": "fine too",
	})
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling.txt")); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "c", "--create", dir)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "2 of 5 files failed") {
		t.Fatalf("err = %v (exit %d), want 2 of 5 failed\n%s%s", err, exitCode(err), stdout, stderr)
	}
	for _, want := range []string{
		"broken.pdf: extract_failed: the document could not be read",
		"unsupported 1 (not ingested: .exe 1)",
		"dangling.txt: unreadable:",
		"--retry-failed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if n := summaryCount(t, stdout, "completed"); n != 2 {
		t.Errorf("completed = %d\n%s", n, stdout)
	}

	if strings.Contains(stdout, "tool.exe") || fake.uploadedNames()["tool.exe"] != nil {
		t.Errorf("the unsupported file was uploaded or listed as a failure:\n%s", stdout)
	}
	t.Run("FailUnsupported", func(t *testing.T) {
		stdout, _, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "c", dir, "--fail-unsupported")
		if err == nil || !strings.Contains(err.Error(), "3 of 5 files failed") || !strings.Contains(stdout, "tool.exe: unsupported_type:") {
			t.Fatalf("err = %v\n%s", err, stdout)
		}
	})
	t.Run("RerunReportsAgain", func(t *testing.T) {
		stdout, _, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "c", dir)
		if err == nil || !strings.Contains(stdout, "broken.pdf: extract_failed") {
			t.Fatalf("err = %v\n%s", err, stdout)
		}
		if n := summaryCount(t, stdout, "uploaded"); n != 0 {
			t.Errorf("uploaded %d on a re-run", n)
		}
	})
	t.Run("RetryFailed", func(t *testing.T) {
		before := fake.counts().created
		stdout, _, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "c", "--retry-failed", dir)
		if err == nil || !strings.Contains(stdout, "broken.pdf: extract_failed") {
			t.Fatalf("err = %v\n%s", err, stdout)
		}
		if fake.counts().deleted != 1 || fake.counts().created != before+1 {
			t.Errorf("deleted %d, created %d: want the failed file deleted and uploaded again", fake.counts().deleted, fake.counts().created-before)
		}
	})
}

func TestIngestRetries(t *testing.T) {
	tests := []struct {
		name       string
		limit      int
		retryAfter string
		fail5xx    int
		minWait    time.Duration // between the first and second attempt
	}{
		{"RateLimitedRetryAfter", 2, "1", 0, time.Second},
		{"RateLimitedNoHeader", 3, "", 0, 0},
		{"Unavailable", 0, "", 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, srv := newFakeRagd(t)
			fake.limit, fake.retryAfter, fake.fail5xx = tt.limit, tt.retryAfter, tt.fail5xx
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"only.txt": "one file"})
			stdout, stderr, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "c", "--create", "-v", dir)
			if err != nil {
				t.Fatalf("ingest: %v\n%s%s", err, stdout, stderr)
			}
			want := tt.limit + tt.fail5xx
			if n := summaryCount(t, stdout, "retries"); n != want {
				t.Errorf("retries = %d, want %d", n, want)
			}
			if fake.counts().attempts != want+1 || fake.counts().created != 1 {
				t.Fatalf("%d attempts, %d created", fake.counts().attempts, fake.counts().created)
			}
			fake.mu.Lock()
			gap := fake.attempts[1].Sub(fake.attempts[0])
			fake.mu.Unlock()
			if gap < tt.minWait {
				t.Errorf("retried after %s, before Retry-After %s", gap, tt.minWait)
			}
			if !strings.Contains(stderr, "retrying in") {
				t.Errorf("verbose output lacks the retries:\n%s", stderr)
			}
		})
	}

	t.Run("ConnectionDropped", func(t *testing.T) {
		fake, srv := newFakeRagd(t)
		var drops sync.Once
		dropping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/files") {
				dropped := false
				drops.Do(func() {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
						dropped = true
					}
				})
				if dropped {
					return
				}
			}
			srv.Config.Handler.ServeHTTP(w, r)
		}))
		defer dropping.Close()
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"only.txt": "one file"})
		stdout, stderr, err := ingestCLI(t.Context(), dropping.URL, fake.key, "--collection", "c", "--create", dir)
		if err != nil {
			t.Fatalf("ingest: %v\n%s%s", err, stdout, stderr)
		}
		if n := summaryCount(t, stdout, "retries"); n != 1 || fake.counts().created != 1 {
			t.Errorf("retries %d, created %d", n, fake.counts().created)
		}
	})
}

// makeTree writes n small distinct files into dirs of 100, plus hidden
// ones that must be skipped, and returns the root.
func makeTree(t testing.TB, n int) string {
	t.Helper()
	root := t.TempDir()
	for d := 0; d*100 < n; d++ {
		dir := filepath.Join(root, fmt.Sprintf("d%03d", d))
		if err := os.MkdirAll(filepath.Join(dir, ".cache"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, ".cache", "skip.txt"), []byte("hidden"), 0o644)
		for i := d * 100; i < min(n, (d+1)*100); i++ {
			body := fmt.Sprintf("# Document %d\n\nThis is file number %d of the bulk ingest test.\n", i, i)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.md", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func TestIngest10000Files(t *testing.T) {
	const n = 10000
	fake, srv := newFakeRagd(t)
	root := makeTree(t, n)
	start := time.Now()
	stdout, stderr, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "bulk", "--create", "--parallel", "8", root)
	if err != nil {
		t.Fatalf("ingest: %v\n%s%s", err, stdout, stderr)
	}
	first := time.Since(start)
	bySHA, byStatus := fake.stored()
	if len(bySHA) != n || byStatus["completed"] != n {
		t.Fatalf("stored %d distinct files, statuses %v", len(bySHA), byStatus)
	}
	for sha, k := range bySHA {
		if k != 1 {
			t.Fatalf("%s stored %d times", sha, k)
		}
	}
	if fake.counts().attempts != n || fake.counts().dedups != 0 {
		t.Errorf("%d upload requests, %d dedups for %d files", fake.counts().attempts, fake.counts().dedups, n)
	}
	// Not a goroutine per file: workers, connections and the test's own.
	if fake.counts().goroutines > 150 {
		t.Errorf("%d goroutines during the run", fake.counts().goroutines)
	}
	polls := fake.requestCount("GET /v1/vector_store/{id}/files") + fake.requestCount("GET /v1/vector_store/{id}/files/{id}")
	if strings.Count(stderr, "\n") > 20 {
		t.Errorf("%d lines of progress for a non-verbose run:\n%s", strings.Count(stderr, "\n"), stderr)
	}
	if n := summaryCount(t, stdout, "completed"); n != 10000 {
		t.Errorf("completed = %d", n)
	}

	// A re-run lists the collection (100 pages) and uploads nothing.
	reqs := fake.requestCount("GET /v1/vector_store/{id}/files")
	start = time.Now()
	stdout, stderr, err = ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "bulk", "--parallel", "8", root)
	if err != nil {
		t.Fatalf("re-run: %v\n%s%s", err, stdout, stderr)
	}
	if fake.counts().attempts != n || summaryCount(t, stdout, "skipped") != n {
		t.Errorf("re-run uploaded %d files\n%s", fake.counts().attempts-n, stdout)
	}
	if got := fake.requestCount("GET /v1/vector_store/{id}/files") - reqs; got != n/100 {
		t.Errorf("re-run listed %d pages, want %d", got, n/100)
	}
	t.Logf("10,000 files: first run %s (%d status requests), re-run %s", first.Round(time.Millisecond), polls, time.Since(start).Round(time.Millisecond))
}

func TestIngestInterruptAndResume(t *testing.T) {
	const n = 600
	fake, srv := newFakeRagd(t)
	root := makeTree(t, n)
	ctx, cancel := context.WithCancel(t.Context())
	fake.stopAfter, fake.stop, fake.altKey = n/2, cancel, "sk-second-run"
	stdout, stderr, err := ingestCLI(ctx, srv.URL, fake.key, "--collection", "resume", "--create", "--parallel", "8", root)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want interrupted\n%s%s", err, stdout, stderr)
	}
	firstRun := fake.counts().created
	if firstRun != n/2 {
		t.Fatalf("first run created %d of %d", firstRun, n)
	}
	if summaryCount(t, stdout, "unfinished") == 0 {
		t.Errorf("no unfinished files reported:\n%s", stdout)
	}

	stdout, stderr, err = ingestCLI(t.Context(), srv.URL, fake.altKey, "--collection", "resume", "--parallel", "8", root)
	if err != nil {
		t.Fatalf("re-run: %v\n%s%s", err, stdout, stderr)
	}
	bySHA, byStatus := fake.stored()
	if len(bySHA) != n || byStatus["completed"] != n || fake.counts().created != n || fake.counts().dedups != 0 {
		t.Fatalf("after resume: %d distinct, statuses %v, %d created, %d dedups", len(bySHA), byStatus, fake.counts().created, fake.counts().dedups)
	}
	for sha, k := range bySHA {
		if k != 1 {
			t.Fatalf("%s stored %d times", sha, k)
		}
	}
	if up, sk := summaryCount(t, stdout, "uploaded"), summaryCount(t, stdout, "skipped"); up != n-firstRun || sk != firstRun {
		t.Errorf("re-run uploaded %d, skipped %d; first run had created %d", up, sk, firstRun)
	}
}

func TestIngestWaitFalse(t *testing.T) {
	fake, srv := newFakeRagd(t)
	root := makeTree(t, 30)
	stdout, stderr, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "c", "--create", "--wait=false", root)
	if err != nil {
		t.Fatalf("ingest: %v\n%s%s", err, stdout, stderr)
	}
	if fake.requestCount("GET /v1/vector_store/{id}/files/{id}") != 0 || summaryCount(t, stdout, "unfinished") != 30 {
		t.Errorf("--wait=false polled or finished files:\n%s", stdout)
	}
}

func TestIngestStreamsFromDisk(t *testing.T) {
	const size = 64 << 20
	fake, srv := newFakeRagd(t)
	dir := t.TempDir()
	fh, err := os.Create(filepath.Join(dir, "big.txt"))
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Repeat([]byte("A line of plain text, so that the file is one ragd reads.\n"), 1<<10)
	for n := 0; n < size; n += len(line) {
		if _, err := fh.Write(line[:min(len(line), size-n)]); err != nil {
			t.Fatal(err)
		}
	}
	fh.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stdout, stderr, err := ingestCLI(t.Context(), srv.URL, fake.key, "--collection", "c", "--create", dir)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("ingest: %v\n%s%s", err, stdout, stderr)
	}
	if f := fake.uploadedNames()["big.txt"]; f == nil || f.size != size {
		t.Fatalf("uploaded %+v", f)
	}
	// Client and fake server together allocate far less than the file.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("allocated %d MiB to upload a %d MiB file", alloc>>20, size>>20)
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, tty: true, every: time.Millisecond}
	var done atomic.Int64
	p.start(10, func() (int64, string) { return done.Load(), "7 uploaded, 3 skipped" })
	p.printf("uploaded %s", "a.md")
	done.Store(10)
	p.stop(false)
	out := buf.String()
	for _, want := range []string{"uploaded a.md\n", "10/10", "files", "7 uploaded, 3 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output lacks %q: %q", want, out)
		}
	}
}

// bareUploads posts every file as a multipart form built in memory with
// parallel workers and nothing else: no walk, hash, listing, retry or
// polling. It is the peer the benchmark compares ragd ingest with.
func bareUploads(b *testing.B, url, key string, entries []entry, parallel int) {
	jobs := make(chan entry)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for e := range jobs {
				data, err := os.ReadFile(e.path)
				if err != nil {
					b.Error(err)
					continue
				}
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				fw, _ := mw.CreateFormFile("file", e.name)
				fw.Write(data)
				mw.Close()
				req, _ := http.NewRequest(http.MethodPost, url, &body)
				req.Header.Set("Authorization", "Bearer "+key)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					b.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	for _, e := range entries {
		jobs <- e
	}
	close(jobs)
	wg.Wait()
}

// BenchmarkIngest10000Files loads 10,000 small files into the fake server
// and prints files/s beside two references measured on the same tree in
// the same run: reading and hashing every file (the local floor), and
// bareUploads with the same parallelism (the network and fake-server
// floor).
func BenchmarkIngest10000Files(b *testing.B) {
	const n, parallel = 10000, 8
	root := makeTree(b, n)
	entries, err := walkPaths([]string{root}, &pathFilter{})
	if err != nil || len(entries) != n {
		b.Fatalf("walk: %d entries, %v", len(entries), err)
	}
	rate := func(start time.Time) float64 { return n / time.Since(start).Seconds() }
	for b.Loop() {
		start := time.Now()
		buf := make([]byte, 64<<10)
		for _, e := range entries {
			if _, err := hashFile(e.path, buf); err != nil {
				b.Fatal(err)
			}
		}
		hashRate := rate(start)

		fake, srv := newFakeRagd(b)
		if _, _, err := ingestCLI(b.Context(), srv.URL, fake.key, "--collection", "bare", "--create", entries[0].path); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		bareUploads(b, srv.URL+"/v1/vector_store/col_1/files", fake.key, entries, parallel)
		bareRate := rate(start)

		ingest := func(args ...string) float64 {
			fake, srv := newFakeRagd(b)
			start := time.Now()
			args = append([]string{"--collection", "bulk", "--create", "--parallel", strconv.Itoa(parallel)}, args...)
			if stdout, stderr, err := ingestCLI(b.Context(), srv.URL, fake.key, append(args, root)...); err != nil {
				b.Fatalf("ingest: %v\n%s%s", err, stdout, stderr)
			}
			return rate(start)
		}
		noWait := ingest("--wait=false")
		full := ingest()
		b.ReportMetric(full, "files/s")
		b.Logf("ragd ingest: %.0f files/s waiting for completion, %.0f files/s uploading only; bare upload loop %.0f files/s; read+sha256 alone %.0f files/s",
			full, noWait, bareRate, hashRate)
	}
}

// realServer runs `ragd serve` (the whole program, as a user starts it)
// on a temp directory with the fast hash model and no rate limit, and
// returns its URL and an admin key.
func realServer(t *testing.T) (url, key string) {
	t.Helper()
	key = "cli-e2e-admin-key-0123456789"
	url, _, stop := startMain(t, t.TempDir(), map[string]string{"RAGD_ADMIN_KEY": key,
		"RAGD_EMBEDDING_MODEL": "hash", "RAGD_RATE_LIMIT_TIER": "unlimited"})
	t.Cleanup(stop)
	return url, key
}

func TestIngestRealServer(t *testing.T) {
	url, key := realServer(t)
	root := filepath.Join("..", "..", "testdata", "extract")
	want, err := walkPaths([]string{root}, &pathFilter{})
	if err != nil || len(want) < 10 {
		t.Fatalf("walk %s: %d files, %v", root, len(want), err)
	}
	stdout, stderr, err := ingestCLI(t.Context(), url, key, "--collection", "docs", "--create", "--parallel", "4",
		"--metadata", `{"source":"testdata"}`, root)
	if err != nil {
		t.Fatalf("ingest: %v\n%s%s", err, stdout, stderr)
	}
	for label, n := range map[string]int{"uploaded": len(want), "completed": len(want), "failed": 0} {
		if got := summaryCount(t, stdout, label); got != n {
			t.Errorf("%s = %d, want %d\n%s", label, got, n, stdout)
		}
	}

	// The server holds every file, completed, chunked, with its path.
	c, err := client.New(url, key)
	if err != nil {
		t.Fatal(err)
	}
	col, err := c.CollectionByName(t.Context(), "docs")
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]bool{}
	for f, err := range c.Files(t.Context(), col.ID, "") {
		if err != nil {
			t.Fatal(err)
		}
		if f.Status != ragd.FileCompleted || f.Chunks == 0 || f.Metadata["source"] != "testdata" {
			t.Errorf("%s: status %s, %d chunks, metadata %v", f.Filename, f.Status, f.Chunks, f.Metadata)
		}
		paths[fmt.Sprint(f.Metadata["path"])] = true
	}
	for _, e := range want {
		if !paths[e.name] {
			t.Errorf("no file with path %q on the server", e.name)
		}
	}

	// A sentence of the Markdown file is found in it, by its path.
	body := `{"input": "rustfmt configuration options", "mode": "keyword", "top_k": 3,
		"filter": {"key": "path", "op": "eq", "value": "markdown-rustfmt/input.md"}}`
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/vector_store/"+col.ID+"/search", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var found struct {
		Results []struct {
			Filename string `json:"filename"`
		} `json:"results"`
	}
	json.NewDecoder(resp.Body).Decode(&found)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(found.Results) == 0 || found.Results[0].Filename != "input.md" {
		t.Errorf("search by path: status %d, %+v", resp.StatusCode, found)
	}

	t.Run("RerunSkipsAll", func(t *testing.T) {
		stdout, stderr, err := ingestCLI(t.Context(), url, key, "--collection", "docs", root)
		if err != nil {
			t.Fatalf("re-run: %v\n%s%s", err, stdout, stderr)
		}
		if up, sk := summaryCount(t, stdout, "uploaded"), summaryCount(t, stdout, "skipped"); up != 0 || sk != len(want) {
			t.Errorf("re-run uploaded %d, skipped %d", up, sk)
		}
	})

	t.Run("RefusedFiles", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"empty.txt": "", "blob.bin": "\x00\x01\x02\xff\xfe binary \x00\x00", "fine.md": "# Fine\n\nA fine file."})
		stdout, stderr, err := ingestCLI(t.Context(), url, key, "--collection", "docs", "-v", dir)
		if err == nil || !strings.Contains(err.Error(), "1 of 3 files failed") {
			t.Fatalf("err = %v\n%s%s", err, stdout, stderr)
		}
		for _, want := range []string{"empty.txt: empty_file:", "unsupported 1 (not ingested: .bin 1)"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("summary lacks %q:\n%s", want, stdout)
			}
		}
		if !strings.Contains(stderr, "unsupported blob.bin (skipped)") {
			t.Errorf("-v does not name the unsupported file:\n%s", stderr)
		}
		if strings.Contains(stdout, "--retry-failed") {
			t.Errorf("files refused at upload are not in the collection, yet the summary offers --retry-failed:\n%s", stdout)
		}
	})
}

func TestIngestFlagsAfterPaths(t *testing.T) {
	t.Setenv("RAGD_API_KEY", "k")
	for _, tc := range []struct {
		name     string
		args     []string
		paths    []string
		parallel int
		exclude  []string
	}{
		{"FlagsFirst", []string{"--collection", "c", "--parallel", "2", "a", "b"}, []string{"a", "b"}, 2, nil},
		{"FlagsAfter", []string{"a", "--collection", "c", "b", "--parallel", "3", "--exclude", "*.png"}, []string{"a", "b"}, 3, []string{"*.png"}},
		{"DoubleDash", []string{"--collection", "c", "a", "--", "--parallel", "-b"}, []string{"a", "--parallel", "-b"}, 4, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseIngestFlags(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.paths, tc.paths) || o.parallel != tc.parallel || o.collection != "c" || !slices.Equal(o.filter.exclude, tc.exclude) {
				t.Errorf("paths %q, parallel %d, collection %q, exclude %q", o.paths, o.parallel, o.collection, o.filter.exclude)
			}
		})
	}
	if _, err := parseIngestFlags([]string{"--collection", "c", "a", "--include", "[x"}, io.Discard); err == nil || !strings.Contains(err.Error(), "bad glob") {
		t.Errorf("a bad glob: %v", err)
	}
}

// A tree like /usr/share/doc/<pkg>: text, gzip-compressed text and an
// image. The image is skipped as unsupported (not a failure), the .gz
// files are uploaded uncompressed under their name without .gz, and
// --include and --exclude choose what is walked.
func TestIngestDocTree(t *testing.T) {
	changelog := strings.Repeat("pkg (1.2-3) unstable; urgency=medium\n\n  * Fix the frobnicator.\n\n", 50)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, changelog)
	zw.Close()
	var logo bytes.Buffer
	if err := png.Encode(&logo, image.NewRGBA(image.Rect(0, 0, 16, 16))); err != nil {
		t.Fatal(err)
	}
	tree := map[string]string{
		"pkg/README":              "The pkg package frobnicates widgets.\n",
		"pkg/changelog.Debian.gz": gz.String(),
		"pkg/copyright":           "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n",
		"pkg/examples/logo.png":   logo.String(),
		"pkg/html/index.html":     "<html><body><p>Frobnicating widgets, the manual.</p></body></html>",
	}
	for _, tc := range []struct {
		name        string
		flags       []string
		uploaded    []string
		unsupported int
	}{
		{"All", nil, []string{"README", "changelog.Debian", "copyright", "html/index.html"}, 1},
		{"ExcludeDir", []string{"--exclude", "html", "--exclude", "examples/*"}, []string{"README", "changelog.Debian", "copyright"}, 0},
		{"IncludeGz", []string{"--include", "*.gz"}, []string{"changelog.Debian"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, srv := newFakeRagd(t)
			dir := t.TempDir()
			writeFiles(t, dir, tree)
			args := append([]string{"--collection", "doc", filepath.Join(dir, "pkg"), "--create"}, tc.flags...) // flags after the path
			stdout, stderr, err := ingestCLI(t.Context(), srv.URL, fake.key, args...)
			if err != nil {
				t.Fatalf("ingest: %v\n%s%s", err, stdout, stderr)
			}
			got := fake.uploadedNames()
			if names := slices.Sorted(maps.Keys(got)); !slices.Equal(names, tc.uploaded) {
				t.Errorf("uploaded %q, want %q", names, tc.uploaded)
			}
			if f := got["changelog.Debian"]; f != nil && (f.size != int64(len(changelog)) || f.meta["path"] != "changelog.Debian.gz") {
				t.Errorf("changelog uploaded as %d bytes with metadata %v, want %d uncompressed bytes", f.size, f.meta, len(changelog))
			}
			if n := summaryCount(t, stdout, "unsupported"); n != tc.unsupported {
				t.Errorf("unsupported %d, want %d\n%s", n, tc.unsupported, stdout)
			}
			if tc.unsupported > 0 && !strings.Contains(stdout, "(not ingested: .png 1)") {
				t.Errorf("the summary does not list the unsupported type:\n%s", stdout)
			}
			if n := summaryCount(t, stdout, "failed"); n != 0 {
				t.Errorf("failed %d\n%s", n, stdout)
			}
		})
	}
}

// Interrupted, the bar stays where the run got, not full, and a line
// says so.
func TestProgressBarInterrupted(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, tty: true, every: time.Millisecond}
	p.start(10, func() (int64, string) { return 3, "3 uploaded" })
	p.stop(true)
	out := buf.String()
	if strings.Contains(out, "10/10") || !strings.Contains(out, "ingest: interrupted with 3/10 files done: 3 uploaded\n") {
		t.Errorf("progress output %q", out)
	}
}
