package ingest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ragdBin is the ragd binary built by TestMain with the test's own build
// environment (cgo flags and tags from the Makefile).
var ragdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ragd-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ragdBin = filepath.Join(dir, "ragd")
	build := exec.Command("go", "build", "-o", ragdBin, "github.com/ragd/ragd/cmd/ragd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ragd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testKey = "test-admin-key"

// ragdProc is a running ragd serve process.
type ragdProc struct {
	cmd *exec.Cmd
	url string
}

// startRagd runs ragd serve on dataDir and waits until it listens. The
// tests poll often and measure ingest, so there is no rate limit and the
// fast hash model embeds.
func startRagd(t testing.TB, dataDir string, args ...string) *ragdProc {
	t.Helper()
	cmd := exec.Command(ragdBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn",
		"--rate-limit-tier", "unlimited", "--embedding-model", "hash"}, args...)...)
	cmd.Env = append(os.Environ(), "RAGD_ADMIN_KEY="+testKey)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &ragdProc{cmd: cmd}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), " serving "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case p.url = <-urls:
	case <-time.After(60 * time.Second):
		t.Fatal("ragd did not start")
	}
	return p
}

// kill sends sig and waits for the process to exit.
func (p *ragdProc) kill(t testing.TB, sig syscall.Signal) *os.ProcessState {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	return p.cmd.ProcessState
}

// call sends a JSON request and decodes the JSON reply.
func (p *ragdProc) call(t testing.TB, method, path string, body any, want int) map[string]any {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, r)
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	return p.send(t, req, want)
}

func (p *ragdProc) send(t testing.TB, req *http.Request, want int) map[string]any {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %v: %s", req.Method, req.URL.Path, err, raw)
	}
	return out
}

// upload streams the file at path as a multipart upload, never holding it
// in memory, and returns the file object.
func (p *ragdProc) upload(t testing.TB, col, path, query string, want int) map[string]any {
	t.Helper()
	status, body, err := p.uploadFile(col, path, query)
	if err != nil {
		t.Fatal(err)
	}
	if status != want {
		t.Fatalf("upload %s: status %d, want %d: %v", path, status, want, body)
	}
	return body["file"].(map[string]any)
}

// uploadFile is upload for any goroutine: it returns the status and the
// decoded body.
func (p *ragdProc) uploadFile(col, path, query string) (int, map[string]any, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, err := mw.CreateFormFile("file", filepath.Base(path))
		if err == nil {
			var f *os.File
			if f, err = os.Open(path); err == nil {
				_, err = io.Copy(w, f)
				f.Close()
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", p.url+"/v1/vector_store/"+col+"/files"+query, pr)
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("upload %s: status %d: %w", path, resp.StatusCode, err)
	}
	return resp.StatusCode, body, nil
}

// collection creates a collection and returns its id.
func (p *ragdProc) collection(t testing.TB, name string) string {
	t.Helper()
	return p.call(t, "POST", "/v1/vector_store", map[string]any{"name": name}, 201)["collection"].(map[string]any)["id"].(string)
}

// files returns the collection's files by filename.
func (p *ragdProc) files(t testing.TB, col string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	after := ""
	for {
		b := p.call(t, "GET", "/v1/vector_store/"+col+"/files?limit=100"+after, nil, 200)
		for _, f := range b["files"].([]any) {
			m := f.(map[string]any)
			out[m["filename"].(string)] = m
		}
		if b["has_more"] != true {
			return out
		}
		after = "&after=" + b["last_id"].(string)
	}
}
