package server_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/server"
	"github.com/ragd/ragd/service"
)

// newVectorStoreServer is a test server with an ingester, whose service
// clock reads now. Its keys have no rate limit: the tests poll while
// files are ingested, as the SDKs' poll helpers do.
func newVectorStoreServer(t *testing.T, limit int64, now *atomic.Int64) *testServer {
	t.Helper()
	svc := service.Config{StorageLimit: limit}
	if now != nil {
		svc.Now = func() time.Time { return time.Unix(now.Load(), 0) }
	}
	return serve(t, setup{svc: svc, ingest: &ingest.Config{Workers: 2},
		cfg: server.Config{Ops: server.OpsConfig{DefaultTier: &server.Tier{Name: "unlimited"}}}})
}

// uploadFile sends a file to /v1/files with the given multipart fields.
func (ts *testServer) uploadFile(t *testing.T, key, filename, content string, fields map[string]string) response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if filename != "" {
		w, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	mw.Close()
	req, err := http.NewRequest("POST", ts.URL+"/v1/files", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return send(t, req)
}

// newFile uploads a file for the assistants purpose and returns its id.
func (ts *testServer) newFile(t *testing.T, key, filename, content string) string {
	t.Helper()
	return str(ts.uploadFile(t, key, filename, content, map[string]string{"purpose": "assistants"}).must(t, 200)["id"])
}

// settled waits until vector store vs has no file in progress and
// returns it.
func (ts *testServer) settled(t *testing.T, key, vs string) map[string]any {
	t.Helper()
	var v map[string]any
	testwait.Until(t, 30*time.Second, func() bool {
		v = ts.do(t, "GET", "/v1/vector_stores/"+vs, key, nil).must(t, 200)
		return obj(v["file_counts"])["in_progress"] == 0.0
	}, "the files of vector store %s are still in progress", vs)
	return v
}

const (
	ottersDoc = "# Otters\n\nSea otters hold hands while they sleep so that they do not drift apart on the waves.\n"
	cometsDoc = "# Comets\n\nA comet's tail always points away from the Sun, pushed by the solar wind and radiation pressure.\n"
	basaltDoc = "# Basalt\n\nBasalt is a fine-grained volcanic rock formed from the rapid cooling of lava rich in magnesium and iron.\n"
)

func TestOpenAIFiles(t *testing.T) {
	ts := newVectorStoreServer(t, 0, nil)
	r := ts.uploadFile(t, ts.admin, "otters.md", ottersDoc, map[string]string{"purpose": "assistants"})
	f := r.must(t, 200)
	id := str(f["id"])
	if !strings.HasPrefix(id, "file-") || f["object"] != "file" || f["bytes"] != float64(len(ottersDoc)) || f["filename"] != "otters.md" ||
		f["purpose"] != "assistants" || f["status"] != "processed" || f["created_at"] == 0.0 {
		t.Fatalf("file object %v", f)
	}
	if r.header.Get("X-Storage-Used-Bytes") != fmt.Sprint(len(ottersDoc)) || r.header.Get("X-Storage-Limit-Bytes") != "0" {
		t.Errorf("storage headers %v", r.header)
	}
	// A Windows path is not a file name: only its base name is kept.
	if f := ts.uploadFile(t, ts.admin, "C:\\docs\\notes.md", ottersDoc, map[string]string{"purpose": "assistants"}).must(t, 200); f["filename"] != "notes.md" {
		t.Errorf("filename %v, want notes.md", f["filename"])
	} else {
		ts.do(t, "DELETE", "/v1/files/"+str(f["id"]), ts.admin, nil).must(t, 200)
	}
	second := str(ts.uploadFile(t, ts.admin, "comets.md", cometsDoc, map[string]string{"purpose": "user_data"}).must(t, 200)["id"])
	ids := func(path string) []string {
		var out []string
		for _, x := range list(ts.do(t, "GET", path, ts.admin, nil).must(t, 200)["data"]) {
			out = append(out, str(obj(x)["id"]))
		}
		return out
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/v1/files", []string{second, id}},
		{"/v1/files?order=asc", []string{id, second}},
		{"/v1/files?purpose=user_data", []string{second}},
		{"/v1/files?limit=1", []string{second}},
		{"/v1/files?limit=1&after=" + second, []string{id}},
		{"/v1/files?order=asc&before=" + second, []string{id}},
	} {
		if got := ids(c.path); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("GET %s: %v, want %v", c.path, got, c.want)
		}
	}
	page := ts.do(t, "GET", "/v1/files?limit=1", ts.admin, nil).must(t, 200)
	if page["object"] != "list" || page["has_more"] != true || page["first_id"] != second || page["last_id"] != second {
		t.Errorf("page %v", page)
	}
	if got := ts.do(t, "GET", "/v1/files/"+id, ts.admin, nil).must(t, 200); got["filename"] != "otters.md" {
		t.Errorf("GET file %v", got)
	}
	if r := ts.do(t, "GET", "/v1/files/"+id+"/content", ts.admin, nil); r.status != 200 || string(r.raw) != ottersDoc {
		t.Errorf("content %d %q", r.status, r.raw)
	}
	other := ts.key(t, "other", true)
	ts.do(t, "GET", "/v1/files/"+id, other, nil).must(t, 404)
	ts.do(t, "DELETE", "/v1/files/"+id, other, nil).must(t, 404)
	if del := ts.do(t, "DELETE", "/v1/files/"+id, ts.admin, nil).must(t, 200); del["id"] != id || del["object"] != "file" || del["deleted"] != true {
		t.Errorf("delete %v", del)
	}
	ts.do(t, "GET", "/v1/files/"+id+"/content", ts.admin, nil).must(t, 404)
	if got := ids("/v1/files"); len(got) != 1 || got[0] != second {
		t.Errorf("after delete: %v", got)
	}
	for _, c := range []struct {
		name, filename string
		fields         map[string]string
		status         int
		param          string
	}{
		{"ErrNoPurpose", "a.md", nil, 400, "purpose"},
		{"ErrPurpose", "a.md", map[string]string{"purpose": "fun"}, 400, "purpose"},
		{"ErrNoFile", "", map[string]string{"purpose": "assistants"}, 400, "file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.uploadFile(t, ts.admin, c.filename, "text", c.fields)
			r.must(t, c.status)
			if e := obj(r.body["error"]); e["param"] != c.param || e["type"] != "invalid_request_error" || str(e["message"]) == "" {
				t.Errorf("error %v, want param %s", e, c.param)
			}
		})
	}
	if got := ids("/v1/files"); len(got) != 1 {
		t.Errorf("refused uploads were kept: %v", got)
	}
}

// A workspace over its storage limit gets a 413 and keeps nothing, on
// both upload routes.
func TestStorageLimit(t *testing.T) {
	limit := int64(len(ottersDoc) + len(cometsDoc))
	ts := newVectorStoreServer(t, limit, nil)
	ts.newFile(t, ts.admin, "otters.md", ottersDoc)
	r := ts.uploadFile(t, ts.admin, "basalt.md", basaltDoc+basaltDoc, map[string]string{"purpose": "assistants"})
	r.must(t, 413)
	if code, _ := r.errCode(); code != "storage_limit_exceeded" || r.header.Get("X-Storage-Limit-Bytes") != fmt.Sprint(limit) {
		t.Errorf("over the limit: %s, headers %v", r.raw, r.header)
	}
	col := ts.collection(t, ts.admin, "direct")
	fs := &fileServer{testServer: ts}
	fs.upload(t, ts.admin, col, "", "basalt.md", []byte(basaltDoc+basaltDoc), nil).must(t, 413)
	ts.newFile(t, ts.admin, "comets.md", cometsDoc) // exactly at the limit
	if r := ts.do(t, "GET", "/v1/files", ts.admin, nil); r.header.Get("X-Storage-Used-Bytes") != fmt.Sprint(limit) || len(list(r.body["data"])) != 2 {
		t.Errorf("after the refusals: %s, headers %v", r.raw, r.header)
	}
	// Another workspace has its own budget.
	ts.newFile(t, ts.key(t, "other", true), "basalt.md", basaltDoc)
}

func TestVectorStoreLifecycle(t *testing.T) {
	ts := newVectorStoreServer(t, 0, nil)
	otters, comets := ts.newFile(t, ts.admin, "otters.md", ottersDoc), ts.newFile(t, ts.admin, "comets.md", cometsDoc)
	vs := ts.do(t, "POST", "/v1/vector_stores", ts.admin, map[string]any{"name": "nature", "file_ids": []string{otters, comets},
		"metadata": map[string]any{"team": "science"}, "expires_after": map[string]any{"anchor": "last_active_at", "days": 7},
		"chunking_strategy": map[string]any{"type": "static", "static": map[string]any{"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}}}).must(t, 200)
	id := str(vs["id"])
	if vs["object"] != "vector_store" || vs["name"] != "nature" || obj(vs["metadata"])["team"] != "science" ||
		obj(vs["expires_after"])["days"] != 7.0 || vs["expires_at"] != vs["last_active_at"].(float64)+7*86400 {
		t.Fatalf("vector store %v", vs)
	}
	vs = ts.settled(t, ts.admin, id)
	if c := obj(vs["file_counts"]); c["completed"] != 2.0 || c["total"] != 2.0 || vs["status"] != "completed" || vs["usage_bytes"] == 0.0 {
		t.Fatalf("settled vector store %v", vs)
	}
	files := list(ts.do(t, "GET", "/v1/vector_stores/"+id+"/files?order=asc", ts.admin, nil).must(t, 200)["data"])
	if len(files) != 2 || obj(files[0])["id"] != otters || obj(files[1])["id"] != comets {
		t.Fatalf("files %v", files)
	}
	f := obj(files[0])
	if f["object"] != "vector_store.file" || f["vector_store_id"] != id || f["status"] != "completed" || f["last_error"] != nil ||
		obj(obj(f["chunking_strategy"])["static"])["max_chunk_size_tokens"] != 200.0 {
		t.Errorf("vector store file %v", f)
	}
	upd := ts.do(t, "POST", "/v1/vector_stores/"+id+"/files/"+otters, ts.admin, map[string]any{"attributes": map[string]any{"kind": "animal", "year": 2024, "verified": true}}).must(t, 200)
	if a := obj(upd["attributes"]); a["kind"] != "animal" || a["year"] != 2024.0 || a["verified"] != true {
		t.Errorf("updated attributes %v", upd)
	}
	ts.do(t, "POST", "/v1/vector_stores/"+id+"/files/"+comets, ts.admin, map[string]any{"attributes": map[string]any{"kind": "space", "year": 2020}}).must(t, 200)

	search := func(body map[string]any) []any {
		return list(ts.do(t, "POST", "/v1/vector_stores/"+id+"/search", ts.admin, body).must(t, 200)["data"])
	}
	res := search(map[string]any{"query": "what keeps sleeping otters together", "max_num_results": 5})
	if len(res) == 0 || obj(res[0])["file_id"] != otters || obj(res[0])["filename"] != "otters.md" ||
		!strings.Contains(str(obj(list(obj(res[0])["content"])[0])["text"]), "hold hands") || obj(obj(res[0])["attributes"])["kind"] != "animal" {
		t.Fatalf("search %v", res)
	}
	// A compound filter: only the file it selects comes back.
	res = search(map[string]any{"query": []string{"otters sleep", "comet tail"}, "filters": map[string]any{"type": "and", "filters": []any{
		map[string]any{"type": "eq", "key": "kind", "value": "space"}, map[string]any{"type": "gte", "key": "year", "value": 2019}}}})
	if len(res) == 0 {
		t.Fatal("the filtered search found nothing")
	}
	for _, r := range res {
		if obj(r)["file_id"] != comets {
			t.Errorf("filtered search returned %v", r)
		}
	}
	// One store, two faces: ragd's own search sees the attached files,
	// and a file uploaded through ragd's route is a vector store file.
	results := list(ts.do(t, "POST", "/v1/vector_store/"+id+"/search", ts.admin, map[string]any{"input": "comet tail solar wind", "top_k": 3}).must(t, 200)["results"])
	if len(results) == 0 || !strings.Contains(str(obj(results[0])["content"]), "tail") {
		t.Errorf("ragd search of the vector store: %v", results)
	}
	fs := &fileServer{testServer: ts}
	direct := str(obj(fs.upload(t, ts.admin, id, "?wait=true", "basalt.md", []byte(basaltDoc), nil).must(t, 201)["file"])["id"])
	if got := ts.do(t, "GET", "/v1/vector_stores/"+id+"/files/"+direct, ts.admin, nil).must(t, 200); got["status"] != "completed" {
		t.Errorf("a file uploaded through ragd: %v", got)
	}
	if res := search(map[string]any{"query": "volcanic rock cooling lava"}); len(res) == 0 || obj(res[0])["file_id"] != direct {
		t.Errorf("search for the direct upload: %v", res)
	}
	content := ts.do(t, "GET", "/v1/vector_stores/"+id+"/files/"+otters+"/content", ts.admin, nil).must(t, 200)
	if d := list(content["data"]); len(d) == 0 || !strings.Contains(str(obj(d[0])["text"]), "Sea otters") {
		t.Errorf("content %v", content)
	}
	// Detaching removes the file from the store, not from /v1/files.
	if del := ts.do(t, "DELETE", "/v1/vector_stores/"+id+"/files/"+otters, ts.admin, nil).must(t, 200); del["object"] != "vector_store.file.deleted" || del["deleted"] != true {
		t.Errorf("detach %v", del)
	}
	ts.do(t, "GET", "/v1/vector_stores/"+id+"/files/"+otters, ts.admin, nil).must(t, 404)
	ts.do(t, "GET", "/v1/files/"+otters, ts.admin, nil).must(t, 200)
	for _, r := range search(map[string]any{"query": "otters hold hands"}) {
		if obj(r)["file_id"] == otters {
			t.Errorf("a detached file is still found: %v", r)
		}
	}
	// Attaching it again, one by one.
	again := ts.do(t, "POST", "/v1/vector_stores/"+id+"/files", ts.admin, map[string]any{"file_id": otters, "attributes": map[string]any{"kind": "animal"}}).must(t, 200)
	if again["id"] != otters || again["status"] != "in_progress" && again["status"] != "completed" {
		t.Errorf("attach %v", again)
	}
	ts.settled(t, ts.admin, id)
	if got := list(ts.do(t, "GET", "/v1/vector_stores/"+id+"/files?filter=completed", ts.admin, nil).must(t, 200)["data"]); len(got) != 3 {
		t.Errorf("completed files %v", got)
	}
	mod := ts.do(t, "POST", "/v1/vector_stores/"+id, ts.admin, map[string]any{"name": "renamed", "expires_after": nil}).must(t, 200)
	if mod["name"] != "renamed" || mod["expires_after"] != nil || mod["expires_at"] != nil {
		t.Errorf("modified %v", mod)
	}
	stores := list(ts.do(t, "GET", "/v1/vector_stores", ts.admin, nil).must(t, 200)["data"])
	if len(stores) != 1 || obj(stores[0])["id"] != id {
		t.Errorf("list %v", stores)
	}
	if del := ts.do(t, "DELETE", "/v1/vector_stores/"+id, ts.admin, nil).must(t, 200); del["object"] != "vector_store.deleted" {
		t.Errorf("delete %v", del)
	}
	ts.do(t, "GET", "/v1/vector_store/"+id, ts.admin, nil).must(t, 404)
}

func TestFileBatches(t *testing.T) {
	ts := newVectorStoreServer(t, 0, nil)
	otters, comets := ts.newFile(t, ts.admin, "otters.md", ottersDoc), ts.newFile(t, ts.admin, "comets.md", cometsDoc)
	id := str(ts.do(t, "POST", "/v1/vector_stores", ts.admin, map[string]any{"name": "batched"}).must(t, 200)["id"])
	b := ts.do(t, "POST", "/v1/vector_stores/"+id+"/file_batches", ts.admin, map[string]any{"files": []any{
		map[string]any{"file_id": otters, "attributes": map[string]any{"kind": "animal"}},
		map[string]any{"file_id": comets, "chunking_strategy": map[string]any{"type": "static", "static": map[string]any{"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}},
	}}).must(t, 200)
	bid := str(b["id"])
	if !strings.HasPrefix(bid, "vsfb_") || b["object"] != "vector_store.files_batch" || b["vector_store_id"] != id || obj(b["file_counts"])["total"] != 2.0 {
		t.Fatalf("batch %v", b)
	}
	testwait.Until(t, 30*time.Second, func() bool {
		b = ts.do(t, "GET", "/v1/vector_stores/"+id+"/file_batches/"+bid, ts.admin, nil).must(t, 200)
		return b["status"] == "completed"
	}, "batch %s did not complete", bid)
	if c := obj(b["file_counts"]); c["completed"] != 2.0 || c["in_progress"] != 0.0 {
		t.Errorf("completed batch %v", b)
	}
	files := list(ts.do(t, "GET", "/v1/vector_stores/"+id+"/file_batches/"+bid+"/files?order=asc", ts.admin, nil).must(t, 200)["data"])
	if len(files) != 2 || obj(files[0])["id"] != otters || obj(obj(files[0])["attributes"])["kind"] != "animal" ||
		obj(obj(obj(files[1])["chunking_strategy"])["static"])["max_chunk_size_tokens"] != 100.0 {
		t.Errorf("batch files %v", files)
	}
	c := ts.do(t, "POST", "/v1/vector_stores/"+id+"/file_batches/"+bid+"/cancel", ts.admin, nil).must(t, 200)
	if c["status"] != "cancelled" || obj(c["file_counts"])["completed"] != 2.0 {
		t.Errorf("cancelled after completion: %v", c)
	}
	ts.do(t, "GET", "/v1/vector_stores/"+id+"/file_batches/vsfb_nope", ts.admin, nil).must(t, 404)
}

// A vector store whose expires_after passed loses its contents in the
// background and says so; searching it is refused.
func TestVectorStoreExpiry(t *testing.T) {
	var now atomic.Int64
	now.Store(1_800_000_000)
	ts := newVectorStoreServer(t, 0, &now)
	otters := ts.newFile(t, ts.admin, "otters.md", ottersDoc)
	id := str(ts.do(t, "POST", "/v1/vector_stores", ts.admin, map[string]any{"file_ids": []string{otters},
		"expires_after": map[string]any{"anchor": "last_active_at", "days": 1}}).must(t, 200)["id"])
	ts.settled(t, ts.admin, id)
	ctx := context.Background()
	now.Add(86400 - 1)
	if err := ts.svc.ExpireVectorStores(ctx); err != nil {
		t.Fatal(err)
	}
	if v := ts.do(t, "GET", "/v1/vector_stores/"+id, ts.admin, nil).must(t, 200); v["status"] != "completed" {
		t.Fatalf("expired a day early: %v", v)
	}
	// A search makes it active again: its day starts over.
	now.Add(3600)
	ts.do(t, "POST", "/v1/vector_stores/"+id+"/search", ts.admin, map[string]any{"query": "otters"}).must(t, 200)
	now.Add(86400 - 1800)
	if err := ts.svc.ExpireVectorStores(ctx); err != nil {
		t.Fatal(err)
	}
	ts.do(t, "GET", "/v1/vector_stores/"+id, ts.admin, nil).must(t, 200)
	now.Add(3600)
	if err := ts.svc.ExpireVectorStores(ctx); err != nil {
		t.Fatal(err)
	}
	v := ts.do(t, "GET", "/v1/vector_stores/"+id, ts.admin, nil).must(t, 200)
	if v["status"] != "expired" || obj(v["file_counts"])["total"] != 0.0 || v["usage_bytes"] != 0.0 {
		t.Fatalf("expired vector store %v", v)
	}
	r := ts.do(t, "POST", "/v1/vector_stores/"+id+"/search", ts.admin, map[string]any{"query": "otters"})
	r.must(t, 400)
	if code, _ := r.errCode(); code != "vector_store_expired" {
		t.Errorf("search of an expired store: %s", r.raw)
	}
	ts.do(t, "GET", "/v1/files/"+otters, ts.admin, nil).must(t, 200)
}

func TestVectorStoreErrors(t *testing.T) {
	ts := newVectorStoreServer(t, 0, nil)
	file := ts.newFile(t, ts.admin, "otters.md", ottersDoc)
	other := ts.key(t, "other", true)
	otherFile := ts.newFile(t, other, "comets.md", cometsDoc)
	otherStore := str(ts.do(t, "POST", "/v1/vector_stores", other, map[string]any{"name": "theirs"}).must(t, 200)["id"])
	id := str(ts.do(t, "POST", "/v1/vector_stores", ts.admin, map[string]any{"name": "mine"}).must(t, 200)["id"])
	attrs := map[string]any{}
	for i := range 17 {
		attrs[fmt.Sprint("k", i)] = i
	}
	static := func(size, overlap int) map[string]any {
		return map[string]any{"type": "static", "static": map[string]any{"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}
	}
	for _, c := range []struct {
		name, method, path string
		body               any
		status             int
		param              string
	}{
		{"ErrUnknownField", "POST", "/v1/vector_stores", map[string]any{"name": "x", "colour": "red"}, 400, "colour"},
		{"ErrMetadataNotString", "POST", "/v1/vector_stores", map[string]any{"metadata": map[string]any{"n": 1}}, 400, "metadata.n"},
		{"ErrExpiryDays", "POST", "/v1/vector_stores", map[string]any{"expires_after": map[string]any{"anchor": "last_active_at", "days": 0}}, 400, "expires_after.days"},
		{"ErrExpiryAnchor", "POST", "/v1/vector_stores", map[string]any{"expires_after": map[string]any{"anchor": "created_at", "days": 3}}, 400, "expires_after.anchor"},
		{"ErrUnknownFileAtCreate", "POST", "/v1/vector_stores", map[string]any{"file_ids": []string{"file-nope"}}, 404, "file_ids[0].file_id"},
		{"ErrOtherWorkspacesFileAtCreate", "POST", "/v1/vector_stores", map[string]any{"file_ids": []string{otherFile}}, 404, "file_ids[0].file_id"},
		{"ErrNoFileID", "POST", "/v1/vector_stores/" + id + "/files", map[string]any{}, 400, "file_id"},
		{"ErrUnknownFile", "POST", "/v1/vector_stores/" + id + "/files", map[string]any{"file_id": "file-nope"}, 404, "file_id"},
		{"ErrOtherWorkspacesFile", "POST", "/v1/vector_stores/" + id + "/files", map[string]any{"file_id": otherFile}, 404, "file_id"},
		{"Err17Attributes", "POST", "/v1/vector_stores/" + id + "/files", map[string]any{"file_id": file, "attributes": attrs}, 400, "attributes"},
		{"ErrAttributeType", "POST", "/v1/vector_stores/" + id + "/files", map[string]any{"file_id": file, "attributes": map[string]any{"tags": []string{"a"}}}, 400, "attributes.tags"},
		{"ErrChunkTooSmall", "POST", "/v1/vector_stores/" + id + "/files", map[string]any{"file_id": file, "chunking_strategy": static(50, 0)}, 400, "chunking_strategy.static.max_chunk_size_tokens"},
		{"ErrChunkTooLarge", "POST", "/v1/vector_stores/" + id + "/files", map[string]any{"file_id": file, "chunking_strategy": static(5000, 0)}, 400, "chunking_strategy.static.max_chunk_size_tokens"},
		{"ErrOverlap", "POST", "/v1/vector_stores/" + id + "/files", map[string]any{"file_id": file, "chunking_strategy": static(400, 201)}, 400, "chunking_strategy.static.chunk_overlap_tokens"},
		{"ErrChunkingType", "POST", "/v1/vector_stores/" + id + "/files", map[string]any{"file_id": file, "chunking_strategy": map[string]any{"type": "semantic"}}, 400, "chunking_strategy.type"},
		{"ErrOtherWorkspacesStore", "GET", "/v1/vector_stores/" + otherStore, nil, 404, ""},
		{"ErrAttachToOtherWorkspacesStore", "POST", "/v1/vector_stores/" + otherStore + "/files", map[string]any{"file_id": file}, 404, ""},
		{"ErrSearchOtherWorkspacesStore", "POST", "/v1/vector_stores/" + otherStore + "/search", map[string]any{"query": "x"}, 404, ""},
		{"ErrNoQuery", "POST", "/v1/vector_stores/" + id + "/search", map[string]any{}, 400, "query"},
		{"ErrMaxResults", "POST", "/v1/vector_stores/" + id + "/search", map[string]any{"query": "x", "max_num_results": 51}, 400, "max_num_results"},
		{"ErrTooManyQueries", "POST", "/v1/vector_stores/" + id + "/search", map[string]any{"query": strings.Split(strings.Repeat("q,", 11), ",")[:11]}, 400, "query"},
		{"ErrMaxResultsZero", "POST", "/v1/vector_stores/" + id + "/search", map[string]any{"query": "x", "max_num_results": 0}, 400, "max_num_results"},
		{"ErrFilterType", "POST", "/v1/vector_stores/" + id + "/search", map[string]any{"query": "x", "filters": map[string]any{"type": "like", "key": "a", "value": "b"}}, 400, "filters.type"},
		{"ErrScoreThreshold", "POST", "/v1/vector_stores/" + id + "/search", map[string]any{"query": "x", "ranking_options": map[string]any{"score_threshold": 2}}, 400, "ranking_options.score_threshold"},
		{"ErrBatchEmpty", "POST", "/v1/vector_stores/" + id + "/file_batches", map[string]any{}, 400, "file_ids"},
		{"ErrBatchTooLarge", "POST", "/v1/vector_stores/" + id + "/file_batches", map[string]any{"file_ids": slices.Repeat([]string{file}, 501)}, 400, "file_ids"},
		{"ErrTooManyFilesAtCreate", "POST", "/v1/vector_stores", map[string]any{"file_ids": slices.Repeat([]string{file}, 501)}, 400, "file_ids"},
		{"ErrBatchUnknownFile", "POST", "/v1/vector_stores/" + id + "/file_batches", map[string]any{"file_ids": []string{file, "file-nope"}}, 404, "file_ids[1].file_id"},
		{"ErrListFilter", "GET", "/v1/vector_stores/" + id + "/files?filter=done", nil, 400, "filter"},
		{"ErrListLimit", "GET", "/v1/vector_stores?limit=101", nil, 400, "limit"},
		{"ErrListOrder", "GET", "/v1/vector_stores?order=up", nil, 400, "order"},
		{"ErrListCursor", "GET", "/v1/vector_stores?after=vs_nope", nil, 400, "after"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(t, c.method, c.path, ts.admin, c.body)
			r.must(t, c.status)
			e := obj(r.body["error"])
			if str(e["message"]) == "" || str(e["type"]) == "" {
				t.Errorf("error %s is not OpenAI's shape", r.raw)
			}
			if c.param != "" && e["param"] != c.param {
				t.Errorf("param %v, want %s: %s", e["param"], c.param, e["message"])
			}
		})
	}
	// Nothing was attached or created by the refused requests.
	if files := list(ts.do(t, "GET", "/v1/vector_stores/"+id+"/files", ts.admin, nil).must(t, 200)["data"]); len(files) != 0 {
		t.Errorf("refused attachments left %v", files)
	}
	if stores := list(ts.do(t, "GET", "/v1/vector_stores", ts.admin, nil).must(t, 200)["data"]); len(stores) != 1 {
		t.Errorf("refused creations left %v", stores)
	}
}

// A file that cannot be ingested ends failed with OpenAI's last_error,
// and the vector store counts it.
func TestVectorStoreFileFailure(t *testing.T) {
	ts := newVectorStoreServer(t, 0, nil)
	bad := ts.newFile(t, ts.admin, "broken.pdf", "%PDF-1.7\nnot a pdf at all\n")
	id := str(ts.do(t, "POST", "/v1/vector_stores", ts.admin, map[string]any{"name": "broken", "file_ids": []string{bad}}).must(t, 200)["id"])
	vs := ts.settled(t, ts.admin, id)
	if c := obj(vs["file_counts"]); c["failed"] != 1.0 || c["total"] != 1.0 {
		t.Fatalf("vector store %v", vs)
	}
	f := ts.do(t, "GET", "/v1/vector_stores/"+id+"/files/"+bad, ts.admin, nil).must(t, 200)
	e := obj(f["last_error"])
	if f["status"] != "failed" || e["code"] != "invalid_file" || !strings.Contains(str(e["message"]), "PDF") {
		t.Errorf("failed file %v", f)
	}
	if got := list(ts.do(t, "GET", "/v1/vector_stores/"+id+"/files?filter=failed", ts.admin, nil).must(t, 200)["data"]); len(got) != 1 {
		t.Errorf("failed files %v", got)
	}
}

// The server's own background loop expires a vector store once its
// expires_after has passed, with no call but the API's.
func TestVectorStoreExpiresInBackground(t *testing.T) {
	var now atomic.Int64
	now.Store(1_800_000_000)
	ts := serve(t, setup{svc: service.Config{Now: func() time.Time { return time.Unix(now.Load(), 0) }},
		cfg:    server.Config{Ops: server.OpsConfig{FlushInterval: 10 * time.Millisecond, DefaultTier: &server.Tier{Name: "unlimited"}}},
		ingest: &ingest.Config{Workers: 1}})
	otters := ts.newFile(t, ts.admin, "otters.md", ottersDoc)
	id := str(ts.do(t, "POST", "/v1/vector_stores", ts.admin, map[string]any{"file_ids": []string{otters},
		"expires_after": map[string]any{"anchor": "last_active_at", "days": 1}}).must(t, 200)["id"])
	ts.settled(t, ts.admin, id)
	now.Add(2 * 86400)
	testwait.Until(t, 30*time.Second, func() bool {
		return ts.do(t, "GET", "/v1/vector_stores/"+id, ts.admin, nil).must(t, 200)["status"] == "expired"
	}, "vector store %s did not expire in the background", id)
	if r := ts.do(t, "POST", "/v1/vector_stores/"+id+"/search", ts.admin, map[string]any{"query": "otters"}); r.status != 400 {
		t.Errorf("search of an expired store: %d %s", r.status, r.raw)
	}
}
