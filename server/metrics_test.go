package server_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ragd/ragd/server"
)

// TestMetricsCardinality sends unauthenticated requests with invented
// methods and to invented paths: each must not add series to /metrics.
func TestMetricsCardinality(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{})
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200
	for i := range n {
		method := fmt.Sprintf("X%08X", r.Uint32())
		path := []string{"/", "/v1/vector_store", "/healthz", fmt.Sprintf("/v1/nope/%d", i)}[i%4]
		req, err := http.NewRequest(method, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp := send(t, req); resp.status < 400 {
			t.Fatalf("%s %s: %d", method, path, resp.status)
		}
		ts.do(t, "GET", fmt.Sprintf("/random/%d", i), "", nil).must(t, 404)
	}
	r0 := ts.do(t, "GET", "/metrics", "", nil)
	r0.must(t, 200)
	var series []string
	for _, line := range strings.Split(string(r0.raw), "\n") {
		if strings.HasPrefix(line, "ragd_http_requests_total{") {
			series = append(series, line)
		}
	}
	// Methods fold into OTHER and unmatched paths into one route; what is
	// left is a few (method, route, status) combinations.
	if len(series) > 12 {
		t.Fatalf("%d series of ragd_http_requests_total after %d requests with invented methods and paths, want a handful:\n%s",
			len(series), 2*n, strings.Join(series[:12], "\n"))
	}
	for _, want := range []string{`method="OTHER"`, `route="unmatched"`} {
		if !strings.Contains(strings.Join(series, "\n"), want) {
			t.Errorf("no series with %s:\n%s", want, strings.Join(series, "\n"))
		}
	}
}

func TestMetricsAuth(t *testing.T) {
	for _, tt := range []struct {
		name      string
		auth      bool
		key       func(ts *testServer) string
		status    int
		wantError string
	}{
		{"OpenByDefault", false, func(*testServer) string { return "" }, 200, ""},
		{"ErrNoKey", true, func(*testServer) string { return "" }, 401, "missing_api_key"},
		{"ErrNotAdmin", true, func(ts *testServer) string { return ts.key(t, "default", false) }, 403, "admin_required"},
		{"Admin", true, func(ts *testServer) string { return ts.admin }, 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := newOpsServer(t, server.OpsConfig{MetricsAuth: tt.auth})
			r := ts.do(t, "GET", "/metrics", tt.key(ts), nil)
			r.must(t, tt.status)
			if code, _ := r.errCode(); code != tt.wantError {
				t.Fatalf("code %q, want %q", code, tt.wantError)
			}
			if tt.status == 200 && !strings.Contains(string(r.raw), "ragd_database_bytes") {
				t.Fatalf("metrics %.200s", r.raw)
			}
		})
	}
}

// The vector cache's size and loads are on /metrics: none before a
// search, the collection's one chunk after the first vector search, and
// no more after a second one, which finds it cached.
func TestMetricsVectorCache(t *testing.T) {
	ts := newTestServer(t)
	col := ts.collection(t, ts.admin, "cached")
	ts.item(t, ts.admin, col, "The mitochondria is the powerhouse of the cell.", nil)
	metric := func(name string) float64 {
		t.Helper()
		r := ts.do(t, "GET", "/metrics", "", nil)
		r.must(t, 200)
		for _, line := range strings.Split(string(r.raw), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				return f
			}
		}
		t.Fatalf("no %s on /metrics", name)
		return 0
	}
	if b, l := metric("ragd_vector_cache_bytes"), metric("ragd_vector_cache_chunk_loads_total"); b != 0 || l != 0 {
		t.Fatalf("before any search: %v bytes, %v loads; want 0 and 0", b, l)
	}
	for range 2 {
		ts.do(t, "POST", "/v1/vector_store/"+col+"/search", ts.admin, map[string]any{"input": "cell energy", "mode": "vector"}).must(t, 200)
		if b, l := metric("ragd_vector_cache_bytes"), metric("ragd_vector_cache_chunk_loads_total"); b <= 0 || l != 1 {
			t.Fatalf("after a vector search: %v bytes, %v loads; want some and 1", b, l)
		}
	}
}
