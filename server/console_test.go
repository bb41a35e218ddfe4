package server_test

import (
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

// get sends a GET with the given header pairs; a redirect is answered,
// not followed.
func get(t *testing.T, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return send(t, req)
}

// TestConsoleRoutes checks how ragd serves the console: / and /console
// redirect to /console/, which serves index.html without a key, with a
// strict Content-Security-Policy; files revalidate by ETag; unknown
// files are the API's JSON 404; /v1 still needs a key.
func TestConsoleRoutes(t *testing.T) {
	ts := newTestServer(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/", "/console"} {
		t.Run("Redirect"+path, func(t *testing.T) {
			resp, err := noRedirect.Get(ts.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
				t.Fatalf("GET %s: %d to %q, want 302 to /console/", path, resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("Index", func(t *testing.T) {
		r := get(t, ts.URL+"/console/")
		body := r.raw
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /console/: %d %s", r.status, r.header.Get("Content-Type"))
		}
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
			t.Errorf("Content-Security-Policy %q allows inline code or another host", csp)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("X-Content-Type-Options: %q", r.header.Get("X-Content-Type-Options"))
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
		r := get(t, ts.URL+"/console/style.css")
		etag := r.header.Get("ETag")
		if r.status != 200 || etag == "" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
			t.Fatalf("GET style.css: %d, ETag %q, %s", r.status, etag, r.header.Get("Content-Type"))
		}
		if r := get(t, ts.URL+"/console/style.css", "If-None-Match", etag); r.status != http.StatusNotModified {
			t.Fatalf("GET style.css with its ETag: %d, want 304", r.status)
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
		// With Accept-Encoding set by hand, Go's client hands the body
		// over as sent, compressed.
		gz := get(t, ts.URL+"/console/"+name, "Accept-Encoding", "gzip, deflate, br")
		if gz.status != 200 || gz.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: %d, Content-Encoding %q", name, gz.status, gz.header.Get("Content-Encoding"))
		}
		plain := get(t, ts.URL+"/console/"+name, "Accept-Encoding", "identity")
		t.Logf("%-20s %6d bytes, %6d gzip-compressed", name, len(plain.raw), len(gz.raw))
		total += len(gz.raw)
		raw += len(plain.raw)
	}
	t.Logf("the console: %d files, %d bytes, %d gzip-compressed", len(names), raw, total)
	if total > maxConsoleBytes {
		t.Fatalf("the console's files are %d bytes gzip-compressed, over the %d bytes of issue 16", total, maxConsoleBytes)
	}
}
