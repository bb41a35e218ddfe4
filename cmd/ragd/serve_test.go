package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/store"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startMain runs `ragd serve` on dataDir and 127.0.0.1:0 until stop is
// called; it returns the URL and the program's stdout.
func startMain(t *testing.T, dataDir string, env map[string]string) (url string, stdout *syncBuffer, stop func()) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	stdout = &syncBuffer{}
	m := NewMain(stdout, io.Discard)
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data-dir", dataDir}); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	m.Ready = ready
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case url = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("ragd serve exited: %v", err)
	}
	return url, stdout, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ragd serve: %v", err)
		}
	}
}

func apiCall(t *testing.T, method, url, key string, body any) (int, map[string]any) {
	t.Helper()
	var out map[string]any
	return callAs(t, method, url, key, body, &out), out
}

var keyPattern = regexp.MustCompile(`ragd-[0-9a-z]{40,}`)

func TestServePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	url, out, stop := startMain(t, dir, map[string]string{"RAGD_ADMIN_KEY": ""})
	key := keyPattern.FindString(out.String())
	if key == "" {
		t.Fatalf("first start printed no admin key: %q", out.String())
	}
	st, b := apiCall(t, "POST", url+"/v1/vector_store", key, map[string]any{"name": "kept"})
	if st != 201 {
		t.Fatalf("create: %d %v", st, b)
	}
	col := b["collection"].(map[string]any)["id"].(string)
	if st, b = apiCall(t, "POST", url+"/v1/vector_store/"+col+"/items", key, map[string]any{"content": "durable words survive restarts"}); st != 201 {
		t.Fatalf("item: %d %v", st, b)
	}
	stop()

	url, out, stop = startMain(t, dir, nil)
	defer stop()
	if strings.Contains(out.String(), "Created an admin API key") {
		t.Fatal("second start created another admin key")
	}
	if !strings.Contains(out.String(), "ragd keys create --admin --data-dir "+dir+"\n") {
		t.Errorf("second start does not say how to create a key: %q", out.String())
	}
	st, b = apiCall(t, "POST", url+"/v1/vector_store/"+col+"/search", key, map[string]any{"input": "durable restarts"})
	if st != 200 || len(b["results"].([]any)) != 1 {
		t.Fatalf("search after restart: %d %v", st, b)
	}
}

func TestServeAdminKeyFromEnv(t *testing.T) {
	url, out, stop := startMain(t, t.TempDir(), map[string]string{"RAGD_ADMIN_KEY": "operator-chosen-secret-123"})
	defer stop()
	if keyPattern.MatchString(out.String()) {
		t.Fatalf("printed a generated key although RAGD_ADMIN_KEY is set: %q", out.String())
	}
	if st, b := apiCall(t, "POST", url+"/v1/keys", "operator-chosen-secret-123", map[string]any{"name": "app"}); st != 201 {
		t.Fatalf("admin route with RAGD_ADMIN_KEY: %d %v", st, b)
	}
	if st, _ := apiCall(t, "GET", url+"/v1/vector_store", "operator-chosen-secret-12", nil); st != 401 {
		t.Fatalf("a near-miss key: %d", st)
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"bogus"}, &out, &errOut); exitCode(err) != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("bogus command: %v %q", err, errOut.String())
	}
	if err := run(context.Background(), []string{"version"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "ragd") {
		t.Fatalf("version: %v %q", err, out.String())
	}
}

func TestServeChatFromEnv(t *testing.T) {
	var sent map[string]any
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&sent)
		if r.Header.Get("Authorization") != "Bearer up-key" || r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "bad request", 400)
			return
		}
		io.WriteString(w, `{"id":"x","object":"chat.completion","created":1,"model":"llama3.1","choices":[{"index":0,"message":{"role":"assistant","content":"from upstream"},"finish_reason":"stop"}]}`)
	}))
	defer up.Close()
	url, _, stop := startMain(t, t.TempDir(), map[string]string{"RAGD_ADMIN_KEY": "admin-secret-key-1",
		"RAGD_CHAT_BASE_URL": up.URL + "/v1", "RAGD_CHAT_API_KEY": "up-key", "RAGD_CHAT_MODELS": "llama3.1"})
	defer stop()
	apiCall(t, "POST", url+"/v1/vector_store", "admin-secret-key-1", map[string]any{"name": "kb"})
	apiCall(t, "POST", url+"/v1/vector_store/kb/items", "admin-secret-key-1", map[string]any{"content": "ragd stores vectors in SQLite."})
	st, b := apiCall(t, "POST", url+"/v1/chat/completions/RAG", "admin-secret-key-1", map[string]any{"collection": "kb", "model": "llama3.1",
		"messages": []any{map[string]any{"role": "user", "content": "Where does ragd store vectors?"}}})
	if st != 200 || len(b["sources"].([]any)) != 1 {
		t.Fatalf("RAG through env upstream: %d %v", st, b)
	}
	if msgs := sent["messages"].([]any); !strings.Contains(msgs[0].(map[string]any)["content"].(string), "SQLite") {
		t.Fatalf("upstream got %v", sent)
	}
}

// A second ragd serve on a data directory in use refuses to start, before
// it touches the database (where it would requeue the first one's jobs);
// once the first stops, the directory is free again.
func TestServeLocksDataDir(t *testing.T) {
	dir := t.TempDir()
	_, _, stop := startMain(t, dir, map[string]string{"RAGD_ADMIN_KEY": "admin-secret-key-1"})
	second := NewMain(io.Discard, io.Discard)
	if err := second.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data-dir", dir}); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	second.Ready = ready
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- second.Run(ctx) }()
	var err error
	select {
	case err = <-done:
	case url := <-ready:
		cancel()
		<-done
		t.Fatalf("a second serve started on the same data directory, at %s", url)
	}
	cancel()
	want := fmt.Sprintf("data directory %s is in use by another ragd serve (pid %d)", dir, os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second serve: %v, want %q", err, want)
	}
	stop()
	_, _, stop = startMain(t, dir, nil)
	stop()
}

// Everything ragd serve writes in its data directory (database, WAL, lock,
// uploaded files) is readable by its user only, whatever the umask.
func TestServeDataDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, _, stop := startMain(t, dir, map[string]string{"RAGD_ADMIN_KEY": "admin-secret-key-1"})
	if st, b := apiCall(t, "POST", url+"/v1/vector_store", "admin-secret-key-1", map[string]any{"name": "private"}); st != 201 {
		t.Fatalf("create: %d %v", st, b)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "notes.txt")
	io.WriteString(fw, "Private notes about otters.\n")
	mw.Close()
	req, _ := http.NewRequest("POST", url+"/v1/vector_store/private/files?wait=true", &body)
	req.Header.Set("Authorization", "Bearer admin-secret-key-1")
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	check := func() {
		t.Helper()
		n := 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
			}
			n++
			return nil
		})
		if err != nil || n < 5 { // the dir, ragd.db, -wal, -shm, ragd.lock, files/...
			t.Fatalf("walked %d entries: %v", n, err)
		}
	}
	check()
	stop()
	check()
}

// Every line ragd logs is in the format of --log-format, including those
// of packages that use the standard loggers, and probes of /healthz and
// /readyz are logged only at debug level.
func TestServeLogFormat(t *testing.T) {
	for _, tc := range []struct {
		format, level string
		probesLogged  bool
	}{{"json", "info", false}, {"text", "info", false}, {"text", "debug", true}} {
		t.Run(tc.format+"_"+tc.level, func(t *testing.T) {
			t.Setenv("RAGD_ADMIN_KEY", "admin-secret-key-1")
			stderr := &syncBuffer{}
			m := NewMain(io.Discard, stderr)
			if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", tc.format, "--log-level", tc.level}); err != nil {
				t.Fatal(err)
			}
			ready := make(chan string, 1)
			m.Ready = ready
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx) }()
			url := <-ready
			for _, p := range []string{"/healthz", "/readyz"} {
				resp, err := http.Get(url + p)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			apiCall(t, "GET", url+"/v1/models", "admin-secret-key-1", nil)
			log.Print("a line of a package using the log package")
			slog.Warn("a line of a package using slog's default")
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var all []map[string]any
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				rec := map[string]any{}
				if tc.format == "json" {
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						t.Fatalf("not a JSON line: %q", line)
					}
				} else {
					if !strings.HasPrefix(line, "time=") {
						t.Fatalf("not a text line: %q", line)
					}
					for _, m := range regexp.MustCompile(`(\w+)=("(?:[^"\\]|\\.)*"|\S*)`).FindAllStringSubmatch(line, -1) {
						v, err := strconv.Unquote(m[2])
						if err != nil {
							v = m[2]
						}
						rec[m[1]] = v
					}
				}
				all = append(all, rec)
			}
			seen := map[string]string{} // msg or route -> level
			for _, rec := range all {
				key := fmt.Sprint(rec["msg"])
				if key == "request" {
					key = fmt.Sprint(rec["route"])
				}
				seen[key] = fmt.Sprint(rec["level"])
			}
			for _, want := range []string{"serving", "/v1/models", "a line of a package using the log package", "a line of a package using slog's default"} {
				if _, ok := seen[want]; !ok {
					t.Errorf("no line for %q in %s", want, stderr.String())
				}
			}
			for _, probe := range []string{"/healthz", "/readyz"} {
				if level, ok := seen[probe]; ok != tc.probesLogged || (ok && level != "DEBUG") {
					t.Errorf("probe %s logged %v at %q\n%s", probe, ok, level, stderr.String())
				}
			}
		})
	}
}

func TestServeFlags(t *testing.T) {
	for _, tt := range []struct {
		name        string
		args        []string
		timeouts    server.Timeouts
		metricsAuth bool
		memory      int64
		keywords    int64
	}{
		{"Defaults", nil, server.DefaultTimeouts, false, store.DefaultVectorCacheBytes, store.DefaultKeywordCacheBytes},
		{"Set", []string{"--read-header-timeout", "1s", "--read-timeout", "2s", "--write-timeout", "3s", "--idle-timeout", "4s", "--metrics-auth",
			"--memory-budget", "1048576", "--keyword-memory", "0"},
			server.Timeouts{ReadHeader: time.Second, Read: 2 * time.Second, Write: 3 * time.Second, Idle: 4 * time.Second}, true, 1 << 20, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMain(io.Discard, io.Discard)
			if err := m.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			ops, err := m.ops.config()
			if err != nil {
				t.Fatal(err)
			}
			if m.Timeouts != tt.timeouts || ops.MetricsAuth != tt.metricsAuth || m.MemoryBudget != tt.memory || m.KeywordMemory != tt.keywords {
				t.Fatalf("timeouts %+v, metrics auth %v, memory budget %d, keyword memory %d; want %+v, %v, %d, %d",
					m.Timeouts, ops.MetricsAuth, m.MemoryBudget, m.KeywordMemory, tt.timeouts, tt.metricsAuth, tt.memory, tt.keywords)
			}
		})
	}
	for _, flag := range []string{"--memory-budget", "--keyword-memory"} {
		if err := NewMain(io.Discard, io.Discard).ParseFlags([]string{flag, "-1"}); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s -1: %v, want an error naming the flag", flag, err)
		}
	}
}
