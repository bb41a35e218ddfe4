package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/tokenize"
)

// TestUsageAfterKnownWorkload runs a fixed workload and checks every
// counter, then that closing the server flushed them to the database.
func TestUsageAfterKnownWorkload(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{FlushInterval: time.Hour})
	key := ts.key(t, "acme", false)
	count := tokenize.MustGet(tokenize.CL100K).Count
	contents := []string{
		"SQLite stores the whole database in one file.",
		"The write-ahead log lets readers run while a writer commits.",
		"Vectors live in a vec0 virtual table per collection.",
	}
	const query, embedInput = "how does sqlite store data", "embeddings are unit vectors"
	wantEmbedding := 2*count(query) + count(embedInput)
	col := ts.collection(t, key, "docs")
	for _, c := range contents {
		ts.item(t, key, col, c, nil)
		wantEmbedding += count(c)
	}
	for range 2 {
		ts.do(t, "POST", "/v1/vector_store/"+col+"/search", key, map[string]any{"input": query}).must(t, 200)
	}
	ts.do(t, "POST", "/v1/embeddings", key, map[string]any{"input": embedInput}).must(t, 200)
	ts.do(t, "GET", "/v1/vector_store/col_missing", key, nil).must(t, 404)
	colBytes := obj(ts.do(t, "GET", "/v1/vector_store/"+col, key, nil).must(t, 200)["collection"])["bytes"]

	wantByEndpoint := map[string][2]int{ // requests, embedding tokens
		"POST /v1/vector_store":            {1, 0},
		"POST /v1/vector_store/:id/items":  {3, count(contents[0]) + count(contents[1]) + count(contents[2])},
		"POST /v1/vector_store/:id/search": {2, 2 * count(query)},
		"POST /v1/embeddings":              {1, count(embedInput)},
		"GET /v1/vector_store/:id":         {2, 0},
	}
	check := func(t *testing.T, month map[string]any) {
		t.Helper()
		if month["requests"] != 9.0 || month["embedding_tokens"] != float64(wantEmbedding) || month["total_tokens"] != float64(wantEmbedding) ||
			month["prompt_tokens"] != 0.0 || month["completion_tokens"] != 0.0 {
			t.Errorf("month totals %v, want 9 requests and %d embedding tokens", month, wantEmbedding)
		}
		by := obj(month["by_endpoint"])
		if len(by) != len(wantByEndpoint) {
			t.Errorf("endpoints %v", by)
		}
		for ep, want := range wantByEndpoint {
			got := obj(by[ep])
			if got["requests"] != float64(want[0]) || got["embedding_tokens"] != float64(want[1]) {
				t.Errorf("%s: %v, want %v", ep, got, want)
			}
		}
	}
	body := ts.do(t, "GET", "/v1/usage", key, nil).must(t, 200)
	cur := obj(body["current_month"])
	if cur["month"] != ragd.Month(time.Now()) {
		t.Errorf("month %v", cur["month"])
	}
	check(t, cur)
	if cur["stored_bytes"] != colBytes || colBytes == 0.0 {
		t.Errorf("stored_bytes %v, want the collection's %v", cur["stored_bytes"], colBytes)
	}
	if prev := obj(body["previous_month"]); prev["requests"] != 0.0 || len(obj(prev["by_endpoint"])) != 0 {
		t.Errorf("previous month %v", prev)
	}
	// Another workspace sees none of it.
	other := obj(ts.do(t, "GET", "/v1/usage", ts.key(t, "globex", false), nil).must(t, 200)["current_month"])
	if other["requests"] != 0.0 || other["stored_bytes"] != 0.0 {
		t.Errorf("globex usage %v", other)
	}

	// Nothing was flushed yet (hourly interval); closing the server
	// writes everything, including the GET /v1/usage calls.
	if err := ts.srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	stored, err := ts.store.Usage(context.Background(), "acme", ragd.Month(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	// An endpoint's counter (model "") counts its requests; the tokens of
	// a named model are on that model's counter.
	byEndpoint := map[string]ragd.UsageCounts{}
	for k, c := range stored {
		if k.Model != "" {
			c.Requests = 0
		}
		e := byEndpoint[k.Endpoint]
		e.Add(c)
		byEndpoint[k.Endpoint] = e
	}
	for ep, want := range wantByEndpoint {
		if got := byEndpoint[ep]; got.Requests != int64(want[0]) || got.EmbeddingTokens != int64(want[1]) {
			t.Errorf("stored %s: %+v, want %v", ep, got, want)
		}
	}
	if got := byEndpoint["GET /v1/usage"].Requests; got != 1 {
		t.Errorf("stored GET /v1/usage requests %d, want 1", got)
	}
	if n, err := ts.store.StoredBytesIn(context.Background(), "acme", ragd.Month(time.Now())); err != nil || float64(n) != colBytes {
		t.Errorf("stored bytes snapshot %d (%v), want %v", n, err, colBytes)
	}
}

// TestUsageByBackgroundWork counts tokens reported without a request.
func TestUsageByBackgroundWork(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{})
	ts.srv.RecordUsage("acme", "ingest", server.TokenUse{Embedding: 1200})
	ts.srv.RecordUsage("acme", "ingest", server.TokenUse{Embedding: 34})
	cur := obj(ts.do(t, "GET", "/v1/usage", ts.key(t, "acme", false), nil).must(t, 200)["current_month"])
	if got := obj(obj(cur["by_endpoint"])["ingest"]); got["embedding_tokens"] != 1234.0 || got["requests"] != 0.0 {
		t.Errorf("ingest usage %v", got)
	}
}

// TestDailyUsage counts today's requests and tokens of each workspace
// from its request logs, one entry per day, oldest first.
func TestDailyUsage(t *testing.T) {
	ts := newOpsServer(t, server.OpsConfig{FlushInterval: time.Hour})
	key, other := ts.key(t, "acme", false), ts.key(t, "globex", false)
	col := ts.collection(t, key, "docs")
	ts.item(t, key, col, "SQLite stores the whole database in one file.", nil)
	ts.do(t, "POST", "/v1/vector_store/"+col+"/search", key, map[string]any{"input": "how does sqlite store data"}).must(t, 200)
	ts.do(t, "GET", "/v1/vector_store/col_missing", key, nil).must(t, 404)
	tokens := tokenize.MustGet(tokenize.CL100K).Count
	wantTokens := float64(tokens("SQLite stores the whole database in one file.") + tokens("how does sqlite store data"))

	days := list(ts.do(t, "GET", "/v1/usage/daily?days=3", key, nil).must(t, 200)["days"])
	today := time.Now().UTC()
	if len(days) != 3 {
		t.Fatalf("days %v, want 3", days)
	}
	for i, d := range days {
		d := obj(d)
		date := today.AddDate(0, 0, i-2).Format("2006-01-02")
		want := [2]float64{0, 0}
		if i == 2 {
			want = [2]float64{4, wantTokens} // the collection, the item, the search, the 404
		}
		if d["date"] != date || d["requests"] != want[0] || d["tokens"] != want[1] {
			t.Errorf("day %d: %v, want %s with %v requests and tokens", i, d, date, want)
		}
	}
	if d := list(ts.do(t, "GET", "/v1/usage/daily", other, nil).must(t, 200)["days"]); len(d) != 7 || obj(d[6])["requests"] != 0.0 {
		t.Errorf("another workspace's days: %v, want 7 without acme's requests", d)
	}
	for _, bad := range []string{"0", "32", "x"} {
		r := ts.do(t, "GET", "/v1/usage/daily?days="+bad, key, nil)
		if _, param := r.errCode(); r.status != 400 || param != "days" {
			t.Errorf("days=%s: %d %s", bad, r.status, r.raw)
		}
	}
}
