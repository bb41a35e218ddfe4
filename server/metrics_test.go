package server_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
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
