package server_test

import (
	"bytes"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd/server"
)

// adminRoutes are the routes only admin keys may use. The matrix fails
// when a route answers 403 to a non-admin key without being listed here,
// or is listed and does not.
var adminRoutes = map[string]bool{
	"POST /v1/keys":                   true,
	"GET /v1/keys":                    true,
	"DELETE /v1/keys/:id":             true,
	"POST /v1/webhooks":               true,
	"GET /v1/webhooks":                true,
	"GET /v1/webhooks/:id":            true,
	"DELETE /v1/webhooks/:id":         true,
	"GET /v1/webhooks/:id/deliveries": true,
	"POST /v1/cluster/snapshot":       true,
}

// globalRoutes act on the whole server rather than a workspace's
// resources: keys are managed by any admin, models are shared.
var globalRoutes = map[string]bool{
	"DELETE /v1/keys/:id":   true,
	"GET /v1/models/:model": true,
}

// validBodies are request bodies that pass validation, so a request
// about another workspace's resource fails on the lookup (404) and not
// on the body (400). Routes not listed get "{}".
var validBodies = map[string]string{
	"POST /v1/vector_store/:id/items":          `{"content":"a valid item"}`,
	"POST /v1/vector_store/:id/items/batch":    `{"items":[{"content":"a valid item"}]}`,
	"POST /v1/vector_store/:id/search":         `{"input":"a query"}`,
	"PUT /v1/vector_store/:id":                 `{"description":"changed"}`,
	"PATCH /v1/vector_store/:id":               `{"description":"changed"}`,
	"PUT /v1/vector_store/:id/items/:itemid":   `{"description":"changed"}`,
	"PATCH /v1/vector_store/:id/items/:itemid": `{"description":"changed"}`,
}

// resources names one workspace's resources by route parameter.
type resources struct{ collection, item, webhook, key string }

// path fills the route's parameters with r's resources.
func (r resources) path(route string) string {
	var out []string
	parts := strings.Split(route, "/")
	for i, p := range parts {
		switch {
		case p == ":id" && parts[i-1] == "vector_store":
			p = r.collection
		case p == ":id" && parts[i-1] == "webhooks":
			p = r.webhook
		case p == ":id" && parts[i-1] == "keys":
			p = r.key
		case p == ":itemid":
			p = r.item
		case p == ":model":
			p = "hash"
		case strings.HasPrefix(p, ":"):
			p = "unknown_" + p[1:]
		}
		out = append(out, p)
	}
	return strings.Join(out, "/")
}

// TestAuthorizationMatrix sends every /v1 route registered on the server
// with no key, a bad key, a revoked key, a non-admin key and another
// workspace's key, and checks each status.
func TestAuthorizationMatrix(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{DefaultTier: &server.Tier{Name: "unlimited"}})
	adminA, userA := ts.key(t, "alpha", true), ts.key(t, "alpha", false)
	adminB := ts.key(t, "beta", true)
	setup := func(key, name string) resources {
		col := ts.collection(t, key, name)
		wh := obj(ts.do(t, "POST", "/v1/webhooks", key, map[string]any{"url": "http://127.0.0.1:9/h", "events": []string{"file.completed"}}).must(t, 201)["webhook"])
		k := obj(ts.do(t, "POST", "/v1/keys", ts.admin, map[string]any{"name": "throwaway " + name, "workspace": name}).must(t, 201)["key"])
		return resources{collection: col, item: ts.item(t, key, col, "the "+name+" item", nil), webhook: str(wh["id"]), key: str(k["id"])}
	}
	resA, resB := setup(adminA, "alpha"), setup(adminB, "beta")
	revoked := obj(ts.do(t, "POST", "/v1/keys", ts.admin, map[string]any{"name": "soon revoked", "workspace": "alpha", "admin": true}).must(t, 201)["key"])
	ts.do(t, "GET", "/v1/vector_store", str(revoked["secret"]), nil).must(t, 200)
	ts.do(t, "DELETE", "/v1/keys/"+str(revoked["id"]), ts.admin, nil).must(t, 200)

	send := func(t *testing.T, method, path, key, body string) response {
		t.Helper()
		var b any
		if method == "POST" || method == "PUT" || method == "PATCH" {
			b = body
		}
		return ts.do(t, method, path, key, b)
	}
	seen := 0
	for _, rt := range ts.srv.Routes() {
		route := rt.Method + " " + rt.Path
		if !strings.HasPrefix(rt.Path, "/v1/") || strings.HasPrefix(rt.Method, "echo_") {
			continue
		}
		seen++
		body := validBodies[route]
		if body == "" {
			body = "{}"
		}
		t.Run(strings.ReplaceAll(route, "/", "_"), func(t *testing.T) {
			for _, c := range []struct{ who, key string }{{"NoKey", ""}, {"BadKey", "ragd-not-a-real-key"}, {"RevokedKey", str(revoked["secret"])}} {
				r := send(t, rt.Method, resA.path(rt.Path), c.key, body)
				if r.status != 401 || obj(r.body["error"])["type"] != "authentication_error" {
					t.Errorf("%s: %d %s, want 401 authentication_error", c.who, r.status, r.raw)
				}
			}
			r := send(t, rt.Method, resA.path(rt.Path), userA, body)
			if got403 := r.status == 403; got403 != adminRoutes[route] {
				t.Errorf("non-admin key: %d %s (admin route: %v)", r.status, r.raw, adminRoutes[route])
			}
			if r.status == 401 {
				t.Errorf("non-admin key: 401")
			}
			if globalRoutes[route] {
				return
			}
			r = send(t, rt.Method, resB.path(rt.Path), adminA, body)
			hasParams := strings.Contains(rt.Path, ":")
			switch {
			case hasParams && (rt.Method == "GET" || rt.Method == "DELETE" || validBodies[route] != ""):
				if r.status != 404 {
					t.Errorf("another workspace's resource: %d %s, want 404", r.status, r.raw)
				}
			case hasParams:
				if r.status != 404 && r.status != 400 && r.status != 422 {
					t.Errorf("another workspace's resource: %d %s, want 404 (or 400 for the placeholder body)", r.status, r.raw)
				}
			default:
				if r.status == 401 || r.status == 403 || r.status >= 500 {
					t.Errorf("own workspace: %d %s", r.status, r.raw)
				}
			}
			if rt.Method == "POST" {
				uploadHostileFile(t, ts.URL+resA.path(rt.Path), adminA)
			}
		})
	}
	if seen < 30 {
		t.Errorf("only %d /v1 routes found", seen)
	}
	// Beta's resources survived alpha's attempts.
	ts.do(t, "GET", "/v1/vector_store/"+resB.collection+"/items/"+resB.item, adminB, nil).must(t, 200)
	ts.do(t, "GET", "/v1/webhooks/"+resB.webhook, adminB, nil).must(t, 200)
	// No uploaded file name reached the file system.
	roots := []string{filepath.Dir(ts.store.Path()), os.TempDir()}
	for _, root := range roots {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && strings.Contains(d.Name(), "ragd-evil") {
				t.Errorf("uploaded file name reached the file system: %s", path)
			}
			if err != nil || (d.IsDir() && path != root && root == os.TempDir()) {
				return fs.SkipDir
			}
			return nil
		})
	}
}

// uploadHostileFile POSTs a multipart file whose name tries to escape the
// data directory.
func uploadHostileFile(t *testing.T, url, key string) {
	t.Helper()
	for _, name := range []string{"../../../../../../tmp/ragd-evil-upload.txt", `..\..\ragd-evil-upload.txt`, "/tmp/ragd-evil-abs.txt"} {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write([]byte("hostile file name\n"))
		mw.Close()
		req, _ := http.NewRequest("POST", url, &buf)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("multipart upload %q: %d", name, resp.StatusCode)
		}
	}
}
