package server_test

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ragd/ragd/server"
)

// pageAll walks a list page by page with ?limit=limit and returns the ids
// (idKey of each element) in order, checking has_more and last_id.
func pageAll(t *testing.T, ts *testServer, path, key, arrayKey, idKey string, limit int, extra ...string) (ids []string, pages int) {
	t.Helper()
	after := ""
	for {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Set(extra[i], extra[i+1])
		}
		if after != "" {
			q.Set("after", after)
		}
		b := ts.do(t, "GET", path+"?"+q.Encode(), key, nil).must(t, 200)
		page := list(b[arrayKey])
		pages++
		if len(page) > limit {
			t.Fatalf("%s: %d elements on a page of %d", path, len(page), limit)
		}
		for _, e := range page {
			ids = append(ids, fmt.Sprint(obj(e)[idKey]))
		}
		if len(page) == 0 {
			if b["last_id"] != nil || b["has_more"] != false {
				t.Fatalf("%s: empty page with last_id %v, has_more %v", path, b["last_id"], b["has_more"])
			}
			return ids, pages
		}
		if last := str(b["last_id"]); last != ids[len(ids)-1] {
			t.Fatalf("%s: last_id %q, last element %q", path, last, ids[len(ids)-1])
		}
		if b["has_more"] != true {
			return ids, pages
		}
		after = str(b["last_id"])
	}
}

func TestListPagination(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{})
	t.Run("Keys", func(t *testing.T) {
		want := []string{}
		for _, k := range list(ts.do(t, "GET", "/v1/keys", ts.admin, nil).must(t, 200)["keys"]) {
			want = append(want, str(obj(k)["id"]))
		}
		for i := range 22 {
			k := obj(ts.do(t, "POST", "/v1/keys", ts.admin, map[string]any{"name": fmt.Sprint("k", i), "workspace": "acme"}).must(t, 201)["key"])
			want = append(want, str(k["id"]))
		}
		revoked := want[5]
		ts.do(t, "DELETE", "/v1/keys/"+revoked, ts.admin, nil).must(t, 200)
		want = slices.Delete(want, 5, 6)
		ids, pages := pageAll(t, ts, "/v1/keys", ts.admin, "keys", "id", 10)
		if !slices.Equal(ids, want) || pages != 3 {
			t.Fatalf("%d pages of keys %v, want 3 pages of %v", pages, ids, want)
		}
		r := ts.do(t, "GET", "/v1/keys?after="+revoked, ts.admin, nil)
		if _, param := r.errCode(); r.status != 400 || param != "after" {
			t.Fatalf("after a revoked key: %d %s", r.status, r.raw)
		}
		// Without ?limit, a page holds 20.
		b := ts.do(t, "GET", "/v1/keys", ts.admin, nil).must(t, 200)
		if len(list(b["keys"])) != 20 || b["has_more"] != true {
			t.Fatalf("default page: %d keys, has_more %v", len(list(b["keys"])), b["has_more"])
		}
	})
	t.Run("Webhooks", func(t *testing.T) {
		var want []string
		for i := range 7 {
			w := obj(ts.do(t, "POST", "/v1/webhooks", ts.admin, map[string]any{"url": fmt.Sprintf("http://127.0.0.1:1/hook%d", i),
				"events": []string{"file.completed"}}).must(t, 201)["webhook"])
			want = append(want, str(w["id"]))
		}
		ts.do(t, "DELETE", "/v1/webhooks/"+want[6], ts.admin, nil).must(t, 200)
		want = want[:6]
		ids, pages := pageAll(t, ts, "/v1/webhooks", ts.admin, "webhooks", "id", 3)
		if !slices.Equal(ids, want) || pages != 2 {
			t.Fatalf("%d pages of webhooks %v, want 2 pages of %v", pages, ids, want)
		}
		// Another workspace's admin sees none of them, and cannot page from them.
		other := ts.key(t, "elsewhere", true)
		if ids, _ := pageAll(t, ts, "/v1/webhooks", other, "webhooks", "id", 3); len(ids) != 0 {
			t.Fatalf("other workspace lists %v", ids)
		}
		ts.do(t, "GET", "/v1/webhooks?after="+want[0], other, nil).must(t, 400)
		ts.do(t, "GET", "/v1/webhooks?limit=101", ts.admin, nil).must(t, 400)
	})
	t.Run("Workspaces", func(t *testing.T) {
		ids, _ := pageAll(t, ts, "/v1/workspaces", ts.admin, "workspaces", "name", 1)
		if !slices.Equal(ids, []string{"default"}) {
			t.Fatalf("workspaces %v", ids)
		}
		ts.do(t, "GET", "/v1/workspaces?after=acme", ts.admin, nil).must(t, 400)
		ts.do(t, "GET", "/v1/workspaces?limit=0", ts.admin, nil).must(t, 400)
	})
	t.Run("RequestLogs", func(t *testing.T) {
		// More requests than the 100 a listing used to stop at.
		key := ts.key(t, "logged", false)
		for range 130 {
			ts.do(t, "GET", "/v1/models", key, nil).must(t, 200)
		}
		// Logs are listed up to a timestamp, exclusive, to the millisecond:
		// one a minute ahead takes in every request just made.
		until := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
		ids, pages := pageAll(t, ts, "/v1/request-logs", key, "requests", "id", 50, "timestamp", until)
		if len(ids) != 130 || pages != 3 {
			t.Fatalf("%d logs in %d pages, want 130 in 3", len(ids), pages)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 130 {
			t.Fatalf("pages repeat logs: %v", ids)
		}
		// The same through the POST form.
		b := ts.do(t, "POST", "/v1/request-logs", key, map[string]any{"limit": 100, "after": ids[9], "timestamp": until}).must(t, 200)
		if got := list(b["requests"]); len(got) != 100 || fmt.Sprint(obj(got[0])["id"]) != ids[10] || b["has_more"] != true {
			t.Fatalf("POST page after the 10th: %d logs from %v, has_more %v", len(got), obj(got[0])["id"], b["has_more"])
		}
		for _, after := range []string{"abc", "99999999", ids[0] + "0"} {
			r := ts.do(t, "GET", "/v1/request-logs?after="+after, key, nil)
			if _, param := r.errCode(); r.status != 400 || param != "after" {
				t.Errorf("after=%s: %d %s", after, r.status, r.raw)
			}
		}
		// Another workspace cannot page from this workspace's logs.
		ts.do(t, "GET", "/v1/request-logs?after="+ids[0], ts.admin, nil).must(t, 400)
		ts.do(t, "GET", "/v1/request-logs?limit=101", key, nil).must(t, 400)
	})
}
