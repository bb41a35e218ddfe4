package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/server"
)

func TestRequestLogs(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{LogBodies: true, FlushInterval: 10 * time.Millisecond})
	admin := ts.key(t, "acme", true)
	req, _ := http.NewRequest("POST", ts.URL+"/v1/vector_store", strings.NewReader(`{"name":"logged"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("X-Request-Id", "req-log-test-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// "ſecret" (long s) sets the secret: Go decodes JSON keys under
	// Unicode case folding. The log must redact it all the same.
	const whSecret = "whsec_do_not_log_this_0123"
	wh := obj(ts.do(t, "POST", "/v1/webhooks", admin, map[string]any{"url": "http://127.0.0.1:1/hook", "events": []string{"file.completed"}, "ſecret": whSecret}).must(t, 201)["webhook"])
	if wh["secret"] != whSecret {
		t.Fatalf("the look-alike key did not set the secret: %v", wh)
	}
	// A key pasted into a field is redacted too.
	ts.do(t, "POST", "/v1/vector_store", admin, map[string]any{"name": admin}).must(t, 201)
	ts.do(t, "GET", "/v1/vector_store/col_nope", admin, nil).must(t, 404)

	// A request is logged once its answer is written, so the client may
	// read it before its log is queued.
	testwait.Until(t, 10*time.Second, func() bool {
		return len(list(ts.do(t, "GET", "/v1/request-logs?endpoint=/v1/vector_store/col_nope", admin, nil).must(t, 200)["requests"])) == 1
	}, "the last request was not logged")
	var logs []any
	for _, l := range list(ts.do(t, "GET", "/v1/request-logs?period=15", admin, nil).must(t, 200)["requests"]) {
		if obj(l)["endpoint"] != "/v1/request-logs" {
			logs = append(logs, l)
		}
	}
	if len(logs) != 4 {
		t.Fatalf("%d logs, want 4: %v", len(logs), logs)
	}
	// Newest first.
	first, last := obj(logs[3]), obj(logs[0])
	if first["request_id"] != "req-log-test-1" || first["method"] != "POST" || first["endpoint"] != "/v1/vector_store" ||
		first["status"] != 201.0 || first["path"] != "/v1/vector_store" || first["created"] == 0.0 {
		t.Errorf("first log %v", first)
	}
	if last["status"] != 404.0 || last["endpoint"] != "/v1/vector_store/:id" || last["path"] != "/v1/vector_store/col_nope" {
		t.Errorf("last log %v", last)
	}
	for _, l := range logs {
		body := str(obj(l)["body"])
		if strings.Contains(body, whSecret) || strings.Contains(body, admin) || strings.Contains(strings.ToLower(body), "bearer") {
			t.Errorf("secret in logged body %q", body)
		}
	}
	if body := str(obj(logs[2])["body"]); !strings.Contains(body, `"ſecret":"[redacted]"`) || !strings.Contains(body, "http://127.0.0.1:1/hook") {
		t.Errorf("webhook body logged as %q", body)
	}

	for _, c := range []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"EndpointFilter", "GET", "/v1/request-logs?period=30&endpoint=/v1/webhooks", nil, 1},
		{"PathFilter", "GET", "/v1/request-logs?endpoint=/v1/vector_store/col_nope", nil, 1},
		{"PostForm", "POST", "/v1/request-logs", map[string]any{"period": 60, "endpoint": "/v1/vector_store"}, 2},
		{"BeforeTimestamp", "POST", "/v1/request-logs", map[string]any{"period": 60, "timestamp": time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)}, 0},
		{"Limit", "GET", "/v1/request-logs?limit=3", nil, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := list(ts.do(t, c.method, c.path, admin, c.body).must(t, 200)["requests"]); len(got) != c.want {
				t.Errorf("%d logs, want %d: %v", len(got), c.want, got)
			}
		})
	}
	for _, c := range []struct{ name, method, path, body, param string }{
		{"ErrPeriod", "GET", "/v1/request-logs?period=20", "", "period"},
		{"ErrPeriodNotNumber", "GET", "/v1/request-logs?period=abc", "", "period"},
		{"ErrTimestamp", "POST", "/v1/request-logs", `{"timestamp":"yesterday"}`, "timestamp"},
		{"ErrLimit", "GET", "/v1/request-logs?limit=0", "", "limit"},
		{"ErrUnknownField", "POST", "/v1/request-logs", `{"periods":15}`, "periods"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := ts.do(t, c.method, c.path, admin, body)
			r.must(t, 400)
			if _, p := r.errCode(); p != c.param {
				t.Errorf("param %v, want %s", p, c.param)
			}
		})
	}
	// The default workspace sees none of acme's requests.
	if got := list(ts.do(t, "GET", "/v1/request-logs?period=60", ts.admin, nil).must(t, 200)["requests"]); len(got) != 0 {
		t.Errorf("other workspace sees %v", got)
	}
	// Once flushed, the database holds them without the Authorization
	// header or any key secret.
	if err := ts.srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored, _, err := ts.store.RequestLogs(context.Background(), ragd.RequestLogQuery{Workspace: "acme", From: time.Now().Add(-time.Hour), To: time.Now(), Page: ragd.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) < 4 {
		t.Errorf("%d logs stored, want at least 4", len(stored))
	}
}

func TestRequestLogsWithoutBodies(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{})
	ts.collection(t, ts.admin, "quiet")
	// The creation is logged once its answer is written, so the client
	// may ask for the logs before it is queued.
	var logs []any
	testwait.Until(t, 10*time.Second, func() bool {
		logs = list(ts.do(t, "GET", "/v1/request-logs?endpoint=/v1/vector_store", ts.admin, nil).must(t, 200)["requests"])
		return len(logs) >= 1
	}, "the collection's creation was not logged")
	if len(logs) != 1 || obj(logs[0])["body"] != nil {
		t.Errorf("logs %v, want one without body", logs)
	}
}

func TestPruneRequestLogs(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{})
	now := time.Now()
	old := ragd.RequestLog{Workspace: "acme", KeyID: "key_1", RequestID: "old", Method: "GET", Endpoint: "/v1/models", Path: "/v1/models", Status: 200, Time: now.Add(-8 * 24 * time.Hour)}
	recent := old
	recent.RequestID, recent.Time = "recent", now.Add(-time.Hour)
	ctx := context.Background()
	if err := ts.store.InsertRequestLogs(ctx, []ragd.RequestLog{old, recent}); err != nil {
		t.Fatal(err)
	}
	n, err := ts.store.PruneRequestLogs(ctx, now.Add(-server.DefaultLogRetention))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	left, _, err := ts.store.RequestLogs(ctx, ragd.RequestLogQuery{Workspace: "acme", From: now.Add(-30 * 24 * time.Hour), To: now, Page: ragd.Page{Limit: 10}})
	if err != nil || len(left) != 1 || left[0].RequestID != "recent" {
		t.Errorf("left %+v (%v)", left, err)
	}
}
