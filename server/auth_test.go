package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// Another workspace's collection and items are indistinguishable from
// missing ones, on every route that names them.
func TestWorkspaceIsolation(t *testing.T) {
	ts := newTestServer(t)
	alice := ts.key(t, "alice", false)
	bob := ts.key(t, "bob", false)
	col := ts.collection(t, alice, "private")
	item := ts.item(t, alice, col, "alice's secret notes about the merger", nil)
	// Bob may use the same collection name in his own workspace.
	bobCol := ts.collection(t, bob, "private")
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/vector_store/" + col, nil},
		{"PUT", "/v1/vector_store/" + col, map[string]any{"name": "stolen"}},
		{"PATCH", "/v1/vector_store/" + col, map[string]any{"name": "stolen"}},
		{"DELETE", "/v1/vector_store/" + col, nil},
		{"POST", "/v1/vector_store/" + col + "/search", map[string]any{"input": "merger"}},
		{"POST", "/v1/vector_store/" + col + "/items", map[string]any{"content": "planted"}},
		{"POST", "/v1/vector_store/" + col + "/items/batch", map[string]any{"items": []any{map[string]any{"content": "planted"}}}},
		{"GET", "/v1/vector_store/" + col + "/items", nil},
		{"GET", "/v1/vector_store/" + col + "/items/" + item, nil},
		{"PATCH", "/v1/vector_store/" + col + "/items/" + item, map[string]any{"description": "x"}},
		{"DELETE", "/v1/vector_store/" + col + "/items/" + item, nil},
		// Alice's item through Bob's own collection.
		{"GET", "/v1/vector_store/" + bobCol + "/items/" + item, nil},
		{"DELETE", "/v1/vector_store/" + bobCol + "/items/" + item, nil},
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			resp := ts.do(t, r.method, r.path, bob, r.body)
			if code, _ := resp.errCode(); resp.status != http.StatusNotFound || code != "not_found" {
				t.Fatalf("bob got %d %s, want 404", resp.status, resp.raw)
			}
		})
	}
	b := ts.do(t, "GET", "/v1/vector_store", bob, nil).must(t, 200)
	if l := list(b["collections"]); len(l) != 1 || str(obj(l[0])["id"]) != bobCol {
		t.Fatalf("bob lists %v", l)
	}
	// Nothing Bob did touched Alice's data.
	c := obj(ts.do(t, "GET", "/v1/vector_store/"+col, alice, nil).must(t, 200)["collection"])
	if c["name"] != "private" || c["item_count"] != 1.0 {
		t.Fatalf("alice's collection changed: %v", c)
	}
	ws := ts.do(t, "GET", "/v1/workspaces", bob, nil).must(t, 200)
	if l := list(ws["workspaces"]); len(l) != 1 || obj(l[0])["name"] != "bob" {
		t.Fatalf("bob's workspaces %v", ws)
	}
}

func TestKeys(t *testing.T) {
	ts := newTestServer(t)
	user := ts.key(t, "default", false)
	for _, r := range []struct{ method, path string }{{"POST", "/v1/keys"}, {"GET", "/v1/keys"}, {"DELETE", "/v1/keys/key_x"}} {
		resp := ts.do(t, r.method, r.path, user, map[string]any{"name": "x"})
		if code, _ := resp.errCode(); resp.status != 403 || code != "admin_required" {
			t.Fatalf("non-admin %s %s: %d %s", r.method, r.path, resp.status, resp.raw)
		}
	}
	k := obj(ts.do(t, "POST", "/v1/keys", ts.admin, map[string]any{"name": "app", "workspace": "team-a", "rpm": 60}).must(t, 201)["key"])
	secret := str(k["secret"])
	if len(secret) < 40 || k["workspace"] != "team-a" || k["admin"] != false || k["rpm"] != 60.0 {
		t.Fatalf("created key %v", k)
	}
	// The new key works at once, in its own workspace.
	col := ts.collection(t, secret, "team docs")
	if b := ts.do(t, "GET", "/v1/vector_store/"+col, ts.admin, nil); b.status != 404 {
		t.Fatalf("admin of another workspace sees team-a's collection: %d", b.status)
	}
	keys := list(ts.do(t, "GET", "/v1/keys", ts.admin, nil).must(t, 200)["keys"])
	found := false
	for _, x := range keys {
		if _, has := obj(x)["secret"]; has {
			t.Fatalf("key list shows a secret: %v", x)
		}
		found = found || obj(x)["id"] == k["id"]
	}
	if !found {
		t.Fatalf("new key not listed: %v", keys)
	}
	ts.do(t, "DELETE", "/v1/keys/"+str(k["id"]), ts.admin, nil).must(t, 200)
	// Revocation takes effect on the next request.
	if r := ts.do(t, "GET", "/v1/vector_store", secret, nil); r.status != 401 {
		t.Fatalf("revoked key: %d", r.status)
	}
	ts.do(t, "DELETE", "/v1/keys/"+str(k["id"]), ts.admin, nil).must(t, 404)
	for _, bad := range []any{map[string]any{}, map[string]any{"name": "x", "workspace": "bad name!"}, map[string]any{"name": "x", "rpm": -1},
		map[string]any{"name": "nul\x00"}, map[string]any{"name": "esc\x1b[2J"}, map[string]any{"name": strings.Repeat("k", 257)}} {
		r := ts.do(t, "POST", "/v1/keys", ts.admin, bad)
		r.must(t, 400)
		if _, param := r.errCode(); param == nil {
			t.Errorf("%v: error names no field: %s", bad, r.raw)
		}
	}
}

func TestAuthentication(t *testing.T) {
	ts := newTestServer(t)
	for name, header := range map[string]string{"Missing": "", "NotBearer": "Basic abc", "Empty": "Bearer ", "Unknown": "Bearer ragd-nope"} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.URL+"/v1/vector_store", nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || resp.Header.Get("x-request-id") == "" {
				t.Fatalf("status %d, request id %q", resp.StatusCode, resp.Header.Get("x-request-id"))
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	ts := newTestServer(t)
	for _, tt := range []struct{ sent, want string }{{"client-id-123", "client-id-123"}, {"bad id with spaces", ""}, {"", ""}} {
		req, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
		if tt.sent != "" {
			req.Header.Set("x-request-id", tt.sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("x-request-id")
		if tt.want != "" && got != tt.want || tt.want == "" && len(got) != 36 {
			t.Errorf("sent %q, got request id %q", tt.sent, got)
		}
	}
}

func TestHealthProbes(t *testing.T) {
	ts := newTestServer(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if b := ts.do(t, "GET", p, "", nil).must(t, 200); b["status"] != "ok" {
			t.Fatalf("%s: %v", p, b)
		}
	}
}
