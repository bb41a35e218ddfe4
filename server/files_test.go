package server_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/service"
)

// fileServer is a real ragd HTTP server with an ingester and its workers.
type fileServer struct {
	*testServer
	dir string // the ingester's directory of stored files
}

func newFileServer(t *testing.T, maxFileBytes int64) *fileServer {
	t.Helper()
	dir := t.TempDir()
	ts := serve(t, setup{dir: dir, svc: service.Config{Embedders: embed.NewRegistry(embed.HashModelName, embed.NewHash(embed.HashDimensions))},
		ingest: &ingest.Config{Workers: 2, MaxFileBytes: maxFileBytes}})
	return &fileServer{testServer: ts, dir: filepath.Join(dir, "files")}
}

// upload sends a multipart upload; a nil data sends no file part.
func (fs *fileServer) upload(t *testing.T, key, col, query, filename string, data []byte, fields map[string]string) response {
	t.Helper()
	return fs.postMultipart(t, "/v1/vector_store/"+col+"/files"+query, key, filename, data, fields)
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "extract", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// search runs a search and returns its results.
// fileNamed returns the file of collection col named filename.
func fileNamed(t *testing.T, fs *fileServer, col, filename string) map[string]any {
	t.Helper()
	for _, f := range list(fs.do(t, "GET", "/v1/vector_store/"+col+"/files?limit=100", fs.admin, nil).must(t, 200)["files"]) {
		if obj(f)["filename"] == filename {
			return obj(f)
		}
	}
	t.Fatalf("no file %q in %s", filename, col)
	return nil
}

func (fs *fileServer) search(t *testing.T, col string, body map[string]any) []any {
	t.Helper()
	return list(fs.do(t, "POST", "/v1/vector_store/"+col+"/search", fs.admin, body).must(t, 200)["results"])
}

func (fs *fileServer) collectionBody(t *testing.T, col string) map[string]any {
	t.Helper()
	return obj(fs.do(t, "GET", "/v1/vector_store/"+col, fs.admin, nil).must(t, 200)["collection"])
}

func TestFileUploadAndSearch(t *testing.T) {
	fs := newFileServer(t, 0)
	col := fs.collection(t, fs.admin, "docs")
	tests := []struct {
		name, file, filename, query, want string
		fields                            map[string]string
		contentType                       string
		pages, page                       float64
	}{
		{"PDF", "pdf-pdftex/input.pdf", "r-faq.pdf", "Martin Maechler mailing lists devoted to R",
			"Thanks to Martin Maechler", map[string]string{"max_tokens": "64", "overlap_tokens": "8"}, "application/pdf", 24, 12},
		{"HTML", "html-python-policy/input.html", "policy.html", "python-is-python2 package pointing to /usr/bin/python2",
			"python-is-python2 package", nil, "text/html; charset=utf-8", 0, 0},
		{"Markdown", "markdown-rustfmt/input.md", "README.md", "tool for formatting Rust code according to style guidelines",
			"formatting Rust code", nil, "text/markdown; charset=utf-8", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := readTestdata(t, tt.file)
			f := obj(fs.upload(t, fs.admin, col, "?wait=true", tt.filename, data, tt.fields).must(t, 201)["file"])
			if f["status"] != "completed" || f["error"] != nil || f["filename"] != tt.filename || f["bytes"] != float64(len(data)) ||
				f["content_type"] != tt.contentType || f["items"] != 1.0 || f["chunks"].(float64) < 1 || f["tokens"].(float64) < 100 ||
				f["completed_at"] == nil || len(str(f["sha256"])) != 64 {
				t.Fatalf("file %v", f)
			}
			if pages, _ := f["pages"].(float64); pages != tt.pages {
				t.Errorf("pages %v, want %v", f["pages"], tt.pages)
			}
			res := fs.search(t, col, map[string]any{"input": tt.query, "top_k": 3})
			if len(res) == 0 {
				t.Fatal("no results")
			}
			best := obj(res[0])
			if best["file_id"] != f["id"] || best["filename"] != tt.filename || !strings.Contains(str(best["content"]), tt.want) {
				t.Fatalf("best result %v, want a chunk of %s with %q", best, f["id"], tt.want)
			}
			if page, _ := obj(best["position"])["page"].(float64); page != tt.page {
				t.Errorf("position %v, want page %v", best["position"], tt.page)
			}
			got := fs.do(t, "GET", "/v1/vector_store/"+col+"/files/"+str(f["id"]), fs.admin, nil).must(t, 200)
			if obj(got["file"])["status"] != "completed" {
				t.Errorf("GET file %v", got)
			}
		})
	}
	c := fs.collectionBody(t, col)
	if c["file_count"] != 3.0 || c["item_count"] != 3.0 || c["chunk_count"].(float64) < 3 {
		t.Errorf("collection counters %v", c)
	}
}

// Words that a document has only in a heading find the passages under
// that heading in keyword search, even those that do not repeat it, and
// results say where a passage is in position.section.
func TestFileSections(t *testing.T) {
	fs := newFileServer(t, 0)
	col := fs.collection(t, fs.admin, "docs")
	tests := []struct {
		name, file, filename, query, section string
	}{
		{"Markdown", "markdown-rustfmt/input.md", "README.md", "verifying", "rustfmt > Running > Verifying code is formatted"},
		{"HTML", "html-python-policy/input.html", "policy.html", "abstract", "Debian Python Policy 0.12.0.0 documentation > Abstract"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := obj(fs.upload(t, fs.admin, col, "?wait=true", tt.filename, readTestdata(t, tt.file),
				map[string]string{"max_tokens": "24", "overlap_tokens": "0"}).must(t, 201)["file"])
			if f["status"] != "completed" {
				t.Fatalf("file %v", f)
			}
			res := fs.search(t, col, map[string]any{"input": tt.query, "mode": "keyword", "top_k": 10})
			under := 0
			for _, r := range res {
				r := obj(r)
				content, section := str(r["content"]), str(obj(r["position"])["section"])
				if strings.Contains(strings.ToLower(content), tt.query) {
					continue // the heading's own chunk
				}
				if section != tt.section || r["file_id"] != f["id"] {
					t.Errorf("result %v lacks %q, yet is not under %q", r, tt.query, tt.section)
				}
				under++
			}
			if under == 0 {
				t.Fatalf("no chunk under %q without the heading's words was found: %v", tt.section, res)
			}
		})
	}
}

func TestFileRecords(t *testing.T) {
	fs := newFileServer(t, 0)
	col := fs.collection(t, fs.admin, "countries")
	data := readTestdata(t, "csv-iso3166/input.csv")
	f := obj(fs.upload(t, fs.admin, col, "?wait=true", "iso3166.csv", data, map[string]string{"metadata": `{"source": "iso", "alpha_3": "file"}`}).must(t, 201)["file"])
	if f["status"] != "completed" || f["items"] != 60.0 || f["chunks"] != 60.0 || obj(f["metadata"])["source"] != "iso" {
		t.Fatalf("file %v", f)
	}
	t.Run("FilterByColumn", func(t *testing.T) {
		res := fs.search(t, col, map[string]any{"input": "republic", "filter": map[string]any{"and": []any{
			map[string]any{"key": "alpha_3", "op": "eq", "value": "DEU"},
			map[string]any{"key": "source", "op": "eq", "value": "iso"}}}})
		if len(res) != 1 {
			t.Fatalf("%d results, want the one row of Germany: %v", len(res), res)
		}
		r := obj(res[0])
		if !strings.Contains(str(r["content"]), "Federal Republic of Germany") || obj(r["metadata"])["numeric"] != 276.0 {
			t.Errorf("result %v", r)
		}
	})
	t.Run("ItemsListed", func(t *testing.T) {
		b := fs.do(t, "GET", "/v1/vector_store/"+col+"/items?limit=100", fs.admin, nil).must(t, 200)
		if items := list(b["items"]); len(items) != 60 || obj(items[0])["file_id"] != f["id"] {
			t.Fatalf("%d items: %v", len(items), b)
		}
	})
}

func TestFileDedupContentDelete(t *testing.T) {
	fs := newFileServer(t, 0)
	col := fs.collection(t, fs.admin, "docs")
	other := fs.collection(t, fs.admin, "other")
	data := readTestdata(t, "text-gpl3/input.txt")
	first := obj(fs.upload(t, fs.admin, col, "?wait=true", "COPYING", data, nil).must(t, 201)["file"])
	id := str(first["id"])
	t.Run("Dedup", func(t *testing.T) {
		// Under the same name (a new name ingests it again: TestFileReupload).
		again := obj(fs.upload(t, fs.admin, col, "", "COPYING", data, nil).must(t, 200)["file"])
		if again["id"] != id || again["filename"] != "COPYING" {
			t.Fatalf("second upload %v, want the first file %s", again, id)
		}
		// Another collection ingests the same bytes on its own.
		elsewhere := obj(fs.upload(t, fs.admin, other, "?wait=true", "COPYING", data, nil).must(t, 201)["file"])
		if elsewhere["id"] == id {
			t.Fatal("dedup across collections")
		}
		if c := fs.collectionBody(t, col); c["file_count"] != 1.0 {
			t.Errorf("file_count %v", c["file_count"])
		}
	})
	t.Run("Content", func(t *testing.T) {
		r := fs.do(t, "GET", "/v1/vector_store/"+col+"/files/"+id+"/content", fs.admin, nil)
		if r.status != 200 || !bytes.Equal(r.raw, data) || r.header.Get("Content-Type") != "text/plain; charset=utf-8" ||
			!strings.Contains(r.header.Get("Content-Disposition"), "COPYING") {
			t.Fatalf("content: status %d, %d bytes, headers %v", r.status, len(r.raw), r.header)
		}
	})
	t.Run("List", func(t *testing.T) {
		fs.upload(t, fs.admin, col, "?wait=true", "notes.md", []byte("# Notes\n\nSome notes about zebras.\n"), nil).must(t, 201)
		b := fs.do(t, "GET", "/v1/vector_store/"+col+"/files?limit=1", fs.admin, nil).must(t, 200)
		if files := list(b["files"]); len(files) != 1 || obj(files[0])["id"] != id || b["has_more"] != true || b["last_id"] != id {
			t.Fatalf("page 1 %v", b)
		}
		b = fs.do(t, "GET", "/v1/vector_store/"+col+"/files?limit=1&after="+id, fs.admin, nil).must(t, 200)
		if files := list(b["files"]); len(files) != 1 || obj(files[0])["filename"] != "notes.md" || b["has_more"] != false {
			t.Fatalf("page 2 %v", b)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		query := map[string]any{"input": "GNU General Public License copyleft", "mode": "keyword", "top_k": 100}
		before := fs.collectionBody(t, col)
		if len(fs.search(t, col, query)) == 0 {
			t.Fatal("no results before delete")
		}
		b := fs.do(t, "DELETE", "/v1/vector_store/"+col+"/files/"+id, fs.admin, nil).must(t, 200)
		if b["id"] != id || b["deleted"] != true {
			t.Fatalf("delete %v", b)
		}
		for _, r := range fs.search(t, col, query) {
			if obj(r)["file_id"] == id {
				t.Fatalf("deleted file still found: %v", r)
			}
		}
		after := fs.collectionBody(t, col)
		if after["file_count"] != before["file_count"].(float64)-1 || after["item_count"] != before["item_count"].(float64)-1 ||
			after["chunk_count"] != before["chunk_count"].(float64)-first["chunks"].(float64) {
			t.Errorf("counters before %v after %v", before, after)
		}
		for _, path := range []string{"", "/content"} {
			if r := fs.do(t, "GET", "/v1/vector_store/"+col+"/files/"+id+path, fs.admin, nil); r.status != 404 {
				t.Errorf("GET%s after delete: %d", path, r.status)
			}
		}
		if _, err := os.Stat(filepath.Join(fs.dir, id)); !os.IsNotExist(err) {
			t.Errorf("stored bytes still there: %v", err)
		}
		// The same bytes can be uploaded again.
		fs.upload(t, fs.admin, col, "?wait=true", "COPYING", data, nil).must(t, 201)
	})
	t.Run("DeleteCollection", func(t *testing.T) {
		f := obj(fs.upload(t, fs.admin, other, "", "more.txt", []byte("More text about giraffes and their long necks.\n"), nil).must(t, 202)["file"])
		fs.do(t, "DELETE", "/v1/vector_store/"+other, fs.admin, nil).must(t, 200)
		if _, err := os.Stat(filepath.Join(fs.dir, str(f["id"]))); !os.IsNotExist(err) {
			t.Errorf("stored bytes of a deleted collection's file still there: %v", err)
		}
	})
}

func TestFileDeleteWhileIngesting(t *testing.T) {
	fs := newFileServer(t, 0)
	col := fs.collection(t, fs.admin, "big")
	var big bytes.Buffer
	for i := 0; big.Len() < 4<<20; i++ {
		fmt.Fprintf(&big, "Paragraph %d tells of rivers, mountains and the weather of the day %d.\n\n", i, i%365)
	}
	// Deleted at once, once its ingest began (or already ended), and once
	// it completed: a state reached, not a time slept.
	for i, until := range [][]string{nil, {"processing", "completed"}, {"completed"}} {
		data := append([]byte(fmt.Sprintf("Copy %d.\n\n", i)), big.Bytes()...)
		f := obj(fs.upload(t, fs.admin, col, "", "big.txt", data, nil).must(t, 202)["file"])
		path := "/v1/vector_store/" + col + "/files/" + str(f["id"])
		if until != nil {
			testwait.Until(t, time.Minute, func() bool {
				f = obj(fs.do(t, "GET", path, fs.admin, nil).must(t, 200)["file"])
				return slices.Contains(until, str(f["status"]))
			}, "file %d did not reach one of %v", i, until)
		}
		fs.do(t, "DELETE", path, fs.admin, nil).must(t, 200)
	}
	// The workers still serve, and nothing of the deleted files is left.
	fs.upload(t, fs.admin, col, "?wait=true", "small.txt", []byte("A small file about otters.\n"), nil).must(t, 201)
	c := fs.collectionBody(t, col)
	if c["file_count"] != 1.0 || c["item_count"] != 1.0 || c["chunk_count"] != 1.0 {
		t.Errorf("collection %v", c)
	}
	items := list(fs.do(t, "GET", "/v1/vector_store/"+col+"/items", fs.admin, nil).must(t, 200)["items"])
	if len(items) != 1 {
		t.Errorf("items left: %v", items)
	}
}

func TestFileErrors(t *testing.T) {
	fs := newFileServer(t, 64<<10)
	col := fs.collection(t, fs.admin, "docs")
	pdf := readTestdata(t, "pdf-pdftex/input.pdf")
	t.Run("FileTooLarge", func(t *testing.T) {
		r := fs.upload(t, fs.admin, col, "", "big.txt", bytes.Repeat([]byte("words "), 20<<10), nil)
		if code, param := r.errCode(); r.status != 413 || code != "file_too_large" || param != "file" {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
		if left, _ := os.ReadDir(filepath.Join(fs.dir, "tmp")); len(left) != 0 {
			t.Errorf("partial upload left behind: %v", left)
		}
	})
	t.Run("Unsupported", func(t *testing.T) {
		png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...)
		r := fs.upload(t, fs.admin, col, "", "image.png", png, nil)
		if code, _ := r.errCode(); r.status != 415 || code != "unsupported_type" || !strings.Contains(str(obj(r.body["error"])["message"]), "PDF (.pdf)") {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		r := fs.upload(t, fs.admin, col, "", "empty.txt", []byte{}, nil)
		if code, _ := r.errCode(); r.status != 422 || code != "empty_file" {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
	})
	t.Run("CorruptPDF", func(t *testing.T) {
		truncated := pdf[:40<<10]
		r := fs.upload(t, fs.admin, col, "?wait=true", "broken.pdf", truncated, nil)
		if code, param := r.errCode(); r.status != 422 || code != "corrupt_pdf" || param != "file" || !strings.Contains(string(r.raw), "broken.pdf") {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
		f := fileNamed(t, fs, col, "broken.pdf")
		if e := obj(f["error"]); f["status"] != "failed" || e["code"] != "corrupt_pdf" || str(e["message"]) == "" || f["chunks"] != 0.0 {
			t.Fatalf("file %v", f)
		}
		// The server keeps serving other uploads.
		ok := obj(fs.upload(t, fs.admin, col, "?wait=true", "fine.md", []byte("# Fine\n\nThis one is fine.\n"), nil).must(t, 201)["file"])
		if ok["status"] != "completed" {
			t.Fatalf("file after a corrupt one: %v", ok)
		}
		if c := fs.collectionBody(t, col); c["item_count"] != 1.0 || c["file_count"] != 2.0 {
			t.Errorf("collection %v", c)
		}
	})
	// A file that fails to ingest answers ?wait=true with its own code,
	// never 201.
	for _, tt := range []struct{ name, filename, data, code string }{
		{"WhitespaceOnly", "blank.txt", strings.Repeat(" \n", 5000), "empty_file"},
		{"TruncatedJSON", "cut.json", `{"title": "a JSON document cut short", "body": [`, "corrupt_json"},
		{"InvalidJSONLines", "rows.jsonl", "{\"text\": \"fine\"}\n{\"text\": oops}\n", "corrupt_jsonl"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := fs.upload(t, fs.admin, col, "?wait=true", tt.filename, []byte(tt.data), nil)
			if code, _ := r.errCode(); r.status != 422 || code != tt.code {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if f := fileNamed(t, fs, col, tt.filename); f["status"] != "failed" || obj(f["error"])["code"] != tt.code {
				t.Fatalf("file %v", f)
			}
		})
	}
	tests := []struct {
		name, query string
		data        []byte
		fields      map[string]string
		status      int
		code, param string
	}{
		{"MissingFile", "", nil, map[string]string{"metadata": "{}"}, 400, "invalid_request", "file"},
		{"BadMetadata", "", []byte("text"), map[string]string{"metadata": "{not json"}, 400, "invalid_request", "metadata"},
		{"MetadataNotObject", "", []byte("text"), map[string]string{"metadata": "[1, 2]"}, 400, "invalid_request", "metadata"},
		{"BadMaxTokens", "", []byte("text"), map[string]string{"max_tokens": "many"}, 400, "invalid_request", "max_tokens"},
		{"MaxTokensTooLarge", "", []byte("text"), map[string]string{"max_tokens": "100000"}, 400, "invalid_request", "max_tokens"},
		{"OverlapNotBelowMax", "", []byte("text"), map[string]string{"max_tokens": "50", "overlap_tokens": "50"}, 400, "invalid_request", "overlap_tokens"},
		{"BadWait", "?wait=soon", []byte("text"), nil, 400, "invalid_request", "wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fs.upload(t, fs.admin, col, tt.query, "a.txt", tt.data, tt.fields)
			if code, param := r.errCode(); r.status != tt.status || code != tt.code || param != tt.param {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
		})
	}
	t.Run("NotMultipart", func(t *testing.T) {
		r := fs.do(t, "POST", "/v1/vector_store/"+col+"/files", fs.admin, map[string]any{"file": "x"})
		if code, _ := r.errCode(); r.status != 400 || code != "invalid_request" {
			t.Fatalf("status %d: %s", r.status, r.raw)
		}
	})
	t.Run("OtherWorkspace", func(t *testing.T) {
		f := obj(fs.upload(t, fs.admin, col, "?wait=true", "mine.txt", []byte("Private notes about badgers.\n"), nil).must(t, 201)["file"])
		stranger := fs.key(t, "elsewhere", false)
		base := "/v1/vector_store/" + col + "/files"
		if r := fs.upload(t, stranger, col, "", "x.txt", []byte("intruder"), nil); r.status != 404 {
			t.Errorf("upload: %d %s", r.status, r.raw)
		}
		for _, req := range [][2]string{{"GET", base}, {"GET", base + "/" + str(f["id"])}, {"GET", base + "/" + str(f["id"]) + "/content"},
			{"DELETE", base + "/" + str(f["id"])}} {
			if r := fs.do(t, req[0], req[1], stranger, nil); r.status != 404 {
				t.Errorf("%s %s: %d %s", req[0], req[1], r.status, r.raw)
			}
		}
		if r := fs.do(t, "GET", base+"/file_doesnotexist", fs.admin, nil); r.status != 404 {
			t.Errorf("missing file: %d", r.status)
		}
	})
}

// TestIngestEmbeddingMetrics checks that file ingest, which embeds through
// the ingest pool rather than a request, is timed in
// ragd_embedding_duration_seconds like every other embedding call.
func TestIngestEmbeddingMetrics(t *testing.T) {
	fs := newFileServer(t, 1<<20)
	col := fs.collection(t, fs.admin, "timed")
	before := embeddingCalls(t, fs.testServer)
	fs.upload(t, fs.admin, col, "?wait=true", "notes.md", []byte("# Notes\n\nThe ingest pool embeds this paragraph.\n"), nil).must(t, 201)
	if after := embeddingCalls(t, fs.testServer); after <= before {
		t.Fatalf("ragd_embedding_duration_seconds_count of model hash went from %d to %d over a file ingest; want it to grow", before, after)
	}
}

// embeddingCalls reads the count of timed embedding calls of model hash
// from /metrics, 0 before the first.
func embeddingCalls(t *testing.T, ts *testServer) int {
	t.Helper()
	r := ts.do(t, "GET", "/metrics", "", nil)
	r.must(t, 200)
	const series = `ragd_embedding_duration_seconds_count{model="hash",outcome="ok",provider="builtin"} `
	for _, line := range strings.Split(string(r.raw), "\n") {
		if v, ok := strings.CutPrefix(line, series); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			return n
		}
	}
	return 0
}

// TestFileChunks lists a PDF's chunks a page at a time: all of them, in
// document order, with their pages; and a Markdown file's with their
// sections. A bad cursor is a 400 and another collection's file a 404.
func TestFileChunks(t *testing.T) {
	fs := newFileServer(t, 0)
	col := fs.collection(t, fs.admin, "docs")
	pdf := obj(fs.upload(t, fs.admin, col, "?wait=true", "r-faq.pdf", readTestdata(t, "pdf-pdftex/input.pdf"),
		map[string]string{"max_tokens": "256", "overlap_tokens": "16"}).must(t, 201)["file"])
	md := obj(fs.upload(t, fs.admin, col, "?wait=true", "README.md", readTestdata(t, "markdown-rustfmt/input.md"), nil).must(t, 201)["file"])
	base := "/v1/vector_store/" + col + "/files/"

	var chunks []map[string]any
	pages := 0
	for after := ""; ; pages++ {
		b := fs.do(t, "GET", base+str(pdf["id"])+"/chunks?limit=10&after="+after, fs.admin, nil).must(t, 200)
		for _, c := range list(b["chunks"]) {
			chunks = append(chunks, obj(c))
		}
		if b["has_more"] != true {
			break
		}
		after = str(b["last_id"])
	}
	if float64(len(chunks)) != pdf["chunks"] || pages < 2 {
		t.Fatalf("%d chunks in %d pages of 10, want the file's %v", len(chunks), pages+1, pdf["chunks"])
	}
	lastPage, onPage12 := 0.0, false
	for i, c := range chunks {
		pos := obj(c["position"])
		page, _ := pos["page"].(float64)
		if pos["chunk"] != float64(i) || page < lastPage || page < 1 || page > pdf["pages"].(float64) || !strings.HasPrefix(str(c["id"]), "chunk_") ||
			str(c["content"]) == "" || c["tokens"].(float64) < 1 {
			t.Fatalf("chunk %d: %v (after page %v)", i, c, lastPage)
		}
		lastPage = page
		onPage12 = onPage12 || page == 12 && strings.Contains(str(c["content"]), "mailing lists devoted to R")
	}
	if !onPage12 {
		t.Error("no chunk on page 12 holds \"mailing lists devoted to R\" (a search finds it there)")
	}
	// A chunk's id is the id search results give it.
	res := fs.search(t, col, map[string]any{"input": "Martin Maechler mailing lists devoted to R", "top_k": 1})
	if id := str(obj(res[0])["id"]); !slices.ContainsFunc(chunks, func(c map[string]any) bool { return c["id"] == id }) {
		t.Errorf("the search result %s is not among the file's chunks", id)
	}

	b := fs.do(t, "GET", base+str(md["id"])+"/chunks", fs.admin, nil).must(t, 200)
	if first := obj(list(b["chunks"])[0]); obj(first["position"])["section"] != "rustfmt" || obj(first["position"])["page"] != nil {
		t.Errorf("first Markdown chunk %v, want section rustfmt and no page", first)
	}

	t.Run("ErrCursor", func(t *testing.T) {
		for _, after := range []string{"chunk_x", "12", str(obj(list(b["chunks"])[0])["id"])} {
			r := fs.do(t, "GET", base+str(pdf["id"])+"/chunks?after="+after, fs.admin, nil)
			if _, param := r.errCode(); r.status != 400 || param != "after" {
				t.Errorf("after=%s (another file's chunk or not a chunk id): %d %s", after, r.status, r.raw)
			}
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		other := fs.collection(t, fs.admin, "other")
		if r := fs.do(t, "GET", "/v1/vector_store/"+other+"/files/"+str(pdf["id"])+"/chunks", fs.admin, nil); r.status != 404 {
			t.Errorf("a file through another collection: %d %s", r.status, r.raw)
		}
	})
}
