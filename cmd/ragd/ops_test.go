package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// TestMain lets the tests start this test binary as a real ragd process.
func TestMain(m *testing.M) {
	if os.Getenv("RAGD_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is ragd running as a child process.
type process struct {
	cmd    *exec.Cmd
	url    string
	stderr chan string // log lines
	done   chan error
}

const testAdminKey = "ragd-test-admin-key-0123456789"

// startRagd starts "ragd serve" on dataDir and waits until it listens.
func startRagd(t testing.TB, dataDir string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, args...)...)
	cmd.Env = append(os.Environ(), "RAGD_TEST_MAIN=1", "RAGD_ADMIN_KEY="+testAdminKey)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: make(chan string, 1000), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case p.stderr <- sc.Text():
			default:
			}
		}
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 4 && f[2] == "serving" {
				urls <- f[3]
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	select {
	case p.url = <-urls:
	case err := <-p.done:
		t.Fatalf("ragd exited: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("ragd did not start")
	}
	return p
}

// waitLog waits for a log line containing s.
func (p *process) waitLog(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-p.stderr:
			if strings.Contains(l, s) {
				return
			}
		case <-timeout:
			t.Fatalf("no log line with %q", s)
		}
	}
}

// call sends a JSON request with the admin key and decodes the reply.
func call(t testing.TB, method, url string, body any, out any) int {
	t.Helper()
	return callAs(t, method, url, testAdminKey, body, out)
}

// callAs sends a JSON request with key and decodes the reply into out.
func callAs(t testing.TB, method, url, key string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

type idObject struct {
	Collection struct{ ID string } `json:"collection"`
	Item       struct{ ID string } `json:"item"`
}

// TestGracefulShutdown sends SIGTERM to a real ragd while a request is
// in flight: the listener closes at once, the request completes, usage is
// flushed, the WAL is checkpointed and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	p := startRagd(t, dir, "--usage-flush-interval", "1h", "--shutdown-grace", "30s")
	var col idObject
	if st := call(t, "POST", p.url+"/v1/vector_store", map[string]any{"name": "drain"}, &col); st != 201 {
		t.Fatalf("create collection: %d", st)
	}
	// An in-flight request: its headers sent with Expect: 100-continue,
	// its body held back. The server's 100 Continue says a handler is
	// reading the body, so the request is in flight when SIGTERM comes,
	// not a connection still waiting to be read (which Shutdown may close
	// as idle after 5 s).
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"content":"written while the server shuts down"}`
	fmt.Fprintf(conn, "POST /v1/vector_store/%s/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		col.Collection.ID, testAdminKey, len(body))
	replies := bufio.NewReader(conn)
	if cont, err := http.ReadResponse(replies, nil); err != nil || cont.StatusCode != http.StatusContinue {
		t.Fatalf("in-flight request: want 100 Continue, got %v (%v)", cont, err)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitLog(t, "shutting down")
	testwait.Until(t, 10*time.Second, func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
		if err != nil {
			return true
		}
		c.Close()
		return false
	}, "still accepting connections after SIGTERM")
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(replies, nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	var item idObject
	json.NewDecoder(resp.Body).Decode(&item)
	resp.Body.Close()
	if resp.StatusCode != 201 || item.Item.ID == "" {
		t.Fatalf("in-flight request: %d", resp.StatusCode)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ragd did not exit")
	}
	if fi, err := os.Stat(filepath.Join(dir, store.FileName+"-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("WAL holds %d bytes after shutdown", fi.Size())
	}
	st := storetest.MustOpenIn(t, dir)
	ctx := context.Background()
	if _, err := st.Item(ctx, ragd.DefaultWorkspace, col.Collection.ID, item.Item.ID); err != nil {
		t.Errorf("drained write lost: %v", err)
	}
	usage, err := st.Usage(ctx, ragd.DefaultWorkspace, ragd.Month(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	for ep, want := range map[string]int64{"POST /v1/vector_store": 1, "POST /v1/vector_store/:id/items": 1} {
		if got := usage[ragd.UsageKey{Workspace: ragd.DefaultWorkspace, Month: ragd.Month(time.Now()), Endpoint: ep}].Requests; got != want {
			t.Errorf("flushed usage of %s: %d, want %d", ep, got, want)
		}
	}
}

// TestBackupDuringWrites takes a backup while clients add items through
// the API, restores it, and finds every item acknowledged before the
// backup began and an intact database.
func TestBackupDuringWrites(t *testing.T) {
	dir := t.TempDir()
	st := storetest.MustOpenIn(t, dir)
	srv := server.New(service.New(service.Config{Store: st, Embedders: embed.NewRegistry(embed.HashModelName, embed.NewHash(384))}), server.Config{
		AdminKey: testAdminKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ops: server.OpsConfig{DefaultTier: &server.Tier{Name: "unlimited"}}})
	defer srv.Close(context.Background())
	srv.Start()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	var col idObject
	if s := call(t, "POST", ts.URL+"/v1/vector_store", map[string]any{"name": "backed up"}, &col); s != 201 {
		t.Fatalf("create collection: %d", s)
	}
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var it idObject
				if s := call(t, "POST", ts.URL+"/v1/vector_store/"+col.Collection.ID+"/items",
					map[string]any{"content": fmt.Sprintf("writer %d item %d: the backup must hold every acknowledged write", w, i)}, &it); s != 201 {
					t.Errorf("insert: %d", s)
					return
				}
				mu.Lock()
				acked = append(acked, it.Item.ID)
				mu.Unlock()
			}
		}()
	}
	testwait.Until(t, time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 50
	}, "the writers did not add 50 items")
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	out := filepath.Join(t.TempDir(), "backup.db")
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"backup", "--data-dir", dir, out}, &stdout, io.Discard)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(acked) <= len(before) {
		t.Errorf("no writes during the backup: %d before, %d after", len(before), len(acked))
	}

	// Restore: the backup file becomes the database of a new data dir.
	restored := t.TempDir()
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, store.FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	var check bytes.Buffer
	if err := run(context.Background(), []string{"check", "--data-dir", restored}, &check, io.Discard); err != nil || !strings.Contains(check.String(), "ok") {
		t.Fatalf("check: %v %s", err, check.String())
	}
	rst := storetest.MustOpenIn(t, restored)
	for _, id := range before {
		if _, err := rst.Item(context.Background(), ragd.DefaultWorkspace, col.Collection.ID, id); err != nil {
			t.Errorf("item %s acknowledged before the backup is missing: %v", id, err)
		}
	}
	c, err := rst.Collection(context.Background(), ragd.DefaultWorkspace, col.Collection.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ItemCount < len(before) || c.ItemCount > len(acked) {
		t.Errorf("restored %d items; %d acknowledged before the backup, %d in all", c.ItemCount, len(before), len(acked))
	}
}
