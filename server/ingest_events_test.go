package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/webhook"
)

// A finished ingest becomes a signed webhook event, a job outcome metric
// and embedding usage of the workspace.
func TestFileIngestEvents(t *testing.T) {
	var mu sync.Mutex
	type delivery struct {
		sig  string
		body []byte
	}
	var got []delivery
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Get("X-Ragd-Signature"), body})
		mu.Unlock()
	}))
	defer receiver.Close()
	fs := newFileServer(t, 1<<20)
	hook := obj(fs.do(t, "POST", "/v1/webhooks", fs.admin, map[string]any{"url": receiver.URL, "events": []string{"file.completed", "file.failed"}}).must(t, 201)["webhook"])
	secret := str(hook["secret"])
	if secret == "" {
		t.Fatalf("webhook %v", hook)
	}
	col := fs.collection(t, fs.admin, "events")
	good := obj(fs.upload(t, fs.admin, col, "?wait=true", "README.md", readTestdata(t, "markdown-rustfmt/input.md"), nil).must(t, 201)["file"])
	fs.upload(t, fs.admin, col, "?wait=true", "broken.pdf", readTestdata(t, "pdf-pdftex/input.pdf")[:40<<10], nil).must(t, 422)
	bad := fileNamed(t, fs, col, "broken.pdf")
	if good["status"] != "completed" || bad["status"] != "failed" {
		t.Fatalf("files %v %v", good, bad)
	}
	testwait.Until(t, 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	}, "the two file events were not delivered")
	mu.Lock()
	defer mu.Unlock()
	events := map[string]string{} // type -> file id
	for _, d := range got {
		var ts int64
		fmt.Sscanf(d.sig, "t=%d,", &ts)
		if d.sig != webhook.Sign(secret, ts, d.body) {
			t.Fatalf("bad signature %q on %s", d.sig, d.body)
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				File struct {
					ID string `json:"id"`
				} `json:"file"`
			} `json:"data"`
		}
		if err := json.Unmarshal(d.body, &ev); err != nil {
			t.Fatal(err)
		}
		events[ev.Type] = ev.Data.File.ID
	}
	if events["file.completed"] != good["id"] || events["file.failed"] != bad["id"] {
		t.Fatalf("events %v, want completed %v and failed %v", events, good["id"], bad["id"])
	}
	resp, err := http.Get(fs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ragd_ingest_jobs_total{outcome="completed"} 1`, `ragd_ingest_jobs_total{outcome="failed"} 1`, "ragd_ingest_queue_depth 0"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	use := obj(obj(fs.do(t, "GET", "/v1/usage", fs.admin, nil).must(t, 200)["current_month"])["by_endpoint"])
	if tok := obj(use["ingest"])["embedding_tokens"]; tok != good["tokens"] {
		t.Fatalf("ingest usage %v, file tokens %v", use["ingest"], good["tokens"])
	}
}
