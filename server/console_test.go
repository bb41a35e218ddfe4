package server_test

import (
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ragd/ragd/server"
)

// maxConsoleBytes is the most the console may load, gzip-compressed
// (issue 16: first load under 300 KB of assets).
const maxConsoleBytes = 300 << 10

// get sends a GET without following redirects, with the given headers.
func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// TestConsoleRoutes checks how ragd serves the console: / and /console
// redirect to /console/, which serves index.html without a key, with a
// strict Content-Security-Policy; files revalidate by ETag; unknown
// files are the API's JSON 404; /v1 still needs a key.
func TestConsoleRoutes(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/", "/console"} {
		t.Run("Redirect"+path, func(t *testing.T) {
			resp, _ := get(t, ts.URL+path)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
				t.Fatalf("GET %s: %d to %q, want 302 to /console/", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("Index", func(t *testing.T) {
		resp, body := get(t, ts.URL+"/console/")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /console/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
			t.Errorf("Content-Security-Policy %q allows inline code or another host", csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("X-Content-Type-Options: %q", resp.Header.Get("X-Content-Type-Options"))
		}
		if !strings.Contains(string(body), `<script type="module" src="js/app.js">`) {
			t.Errorf("index.html does not load js/app.js as a module:\n%s", body)
		}
		// The CSP would refuse inline scripts and other hosts; the
		// console must not need them.
		if m := regexp.MustCompile(`<script(?:\s[^>]*)?>[^<\s]|(?:src|href)="(?:https?:)?//`).Find(body); m != nil {
			t.Errorf("index.html has an inline script or loads from another host: %q", m)
		}
	})
	t.Run("ETag", func(t *testing.T) {
		resp, _ := get(t, ts.URL+"/console/style.css")
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || etag == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
			t.Fatalf("GET style.css: %d, ETag %q, %s", resp.StatusCode, etag, resp.Header.Get("Content-Type"))
		}
		if resp, _ := get(t, ts.URL+"/console/style.css", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
			t.Fatalf("GET style.css with its ETag: %d, want 304", resp.StatusCode)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		r := ts.do(t, "GET", "/console/nope.js", "", nil)
		if code, _ := r.errCode(); r.status != 404 || code != "route_not_found" {
			t.Fatalf("GET /console/nope.js: %d %s", r.status, r.raw)
		}
	})
	t.Run("ErrMethod", func(t *testing.T) {
		r := ts.do(t, "POST", "/console/", "", "{}")
		if r.status != 405 || !strings.Contains(r.header.Get("Allow"), "GET") {
			t.Fatalf("POST /console/: %d, Allow %q", r.status, r.header.Get("Allow"))
		}
	})
	t.Run("APINeedsAKey", func(t *testing.T) {
		if r := ts.do(t, "GET", "/v1/vector_store", "", nil); r.status != 401 {
			t.Fatalf("GET /v1/vector_store without a key: %d", r.status)
		}
	})
}

// TestConsoleSize loads every file of the console, as a browser does on
// its first visit (all are loaded then: the modules import each other
// statically), gzip-compressed, and fails past 300 KB.
func TestConsoleSize(t *testing.T) {
	ts := newTestServer(t)
	names := server.ConsoleAssets()
	slices.Sort(names)
	if !slices.Contains(names, "index.html") || len(names) < 3 {
		t.Fatalf("console files: %v", names)
	}
	total, raw := 0, 0
	for _, name := range names {
		resp, body := get(t, ts.URL+"/console/"+name, "Accept-Encoding", "gzip, deflate, br")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: %d, Content-Encoding %q", name, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		_, plain := get(t, ts.URL+"/console/"+name)
		t.Logf("%-20s %6d bytes, %6d gzip-compressed", name, len(plain), len(body))
		total += len(body)
		raw += len(plain)
	}
	t.Logf("the console: %d files, %d bytes, %d gzip-compressed", len(names), raw, total)
	if total > maxConsoleBytes {
		t.Fatalf("the console's files are %d bytes gzip-compressed, over the %d bytes of issue 16", total, maxConsoleBytes)
	}
}
