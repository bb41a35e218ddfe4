package ingest_test

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/store"
)

// writeCorpus writes n generated text files of about size bytes each,
// different from each other, and returns their paths with real test files.
func writeCorpus(t testing.TB, dir string, n, size int) []string {
	t.Helper()
	words := strings.Fields(`the river mountain weather archive protocol kernel vector garden harbor
		signal market theory engine lantern orbit meadow cipher ledger canyon thunder compiler socket
		glacier violin pepper granite falcon tunnel quarry beacon saddle marble`)
	var paths []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("generated-%02d.txt", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		rng := rand.New(rand.NewPCG(uint64(i), 42))
		for written := 0; written < size; {
			for range 3 + rng.IntN(5) {
				for j := range 6 + rng.IntN(14) {
					if j > 0 {
						w.WriteByte(' ')
						written++
					}
					n, _ := w.WriteString(words[rng.IntN(len(words))])
					written += n
				}
				w.WriteString(". ")
				written += 2
			}
			w.WriteString("\n\n")
			written += 2
		}
		if err := errors.Join(w.Flush(), f.Close()); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	for _, name := range []string{"pdf-pdftex/input.pdf", "pdf-libreoffice/input.pdf", "html-python-policy/input.html", "csv-iso3166/input.csv"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "extract", name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, strings.ReplaceAll(name, "/", "-"))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// waitAll waits until every file of the collection has finished.
func waitAll(t *testing.T, p *ragdProc, col string, n int) map[string]map[string]any {
	t.Helper()
	var files map[string]map[string]any
	testwait.Until(t, 5*time.Minute, func() bool {
		files = p.files(t, col)
		return len(files) == n && countStatus(files, "completed", "failed") == n
	}, "the %d files did not finish", n)
	return files
}

// countStatus returns how many of files have one of the statuses.
func countStatus(files map[string]map[string]any, statuses ...string) int {
	n := 0
	for _, f := range files {
		if s, _ := f["status"].(string); slices.Contains(statuses, s) {
			n++
		}
	}
	return n
}

func dbCount(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestKillDuringIngest kills a real ragd process with SIGKILL while it
// ingests, restarts it on the same data directory, and checks that every
// file completes exactly once: each with the chunk count a fresh server
// gives the same file, and no chunk twice or left staged.
func TestKillDuringIngest(t *testing.T) {
	corpus := writeCorpus(t, t.TempDir(), 6, 3<<20)

	// Reference: the same files ingested by a server that is never killed.
	ref := startRagd(t, t.TempDir(), "--workers", "2")
	refCol := ref.collection(t, "corpus")
	for _, path := range corpus {
		ref.upload(t, refCol, path, "", 202)
	}
	want := waitAll(t, ref, refCol, len(corpus))
	ref.kill(t, syscall.SIGTERM)

	data := t.TempDir()
	p := startRagd(t, data, "--workers", "2")
	col := p.collection(t, "corpus")
	for _, path := range corpus {
		p.upload(t, col, path, "", 202)
	}
	// Kill once some files are done and others are being ingested: a
	// file of 3 MB takes seconds, far longer than from this poll to the
	// kill (a worker between two files left no job running at the kill
	// when only completed files were awaited).
	testwait.Until(t, 5*time.Minute, func() bool {
		files := p.files(t, col)
		completed := countStatus(files, "completed")
		if completed == len(corpus) {
			t.Fatal("every file completed before the kill; use larger files")
		}
		return completed > 0 && countStatus(files, "processing") > 0
	}, "no file completed while another was processing")
	p.kill(t, syscall.SIGKILL)

	dbPath := filepath.Join(data, store.FileName)
	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	running := dbCount(t, db, `SELECT count(*) FROM jobs WHERE state = 'running'`)
	staged := dbCount(t, db, `SELECT count(*) FROM chunks WHERE staged_vector IS NOT NULL`)
	db.Close()
	if running == 0 {
		t.Fatal("no job was running at the kill")
	}
	t.Logf("killed with %d jobs running and %d chunks staged", running, staged)

	p = startRagd(t, data, "--workers", "2")
	got := waitAll(t, p, col, len(corpus))
	wantChunks, wantItems := 0, 0
	for name, w := range want {
		g := got[name]
		if g["status"] != "completed" || w["status"] != "completed" || g["chunks"] != w["chunks"] || g["items"] != w["items"] ||
			g["tokens"] != w["tokens"] || g["pages"] != w["pages"] {
			t.Errorf("%s after the restart: %v\nwant as a fresh server: %v", name, g, w)
		}
		wantChunks += int(w["chunks"].(float64))
		wantItems += int(w["items"].(float64))
	}
	c := p.call(t, "GET", "/v1/vector_store/"+col, nil, 200)["collection"].(map[string]any)
	if c["chunk_count"] != float64(wantChunks) || c["item_count"] != float64(wantItems) || c["file_count"] != float64(len(corpus)) {
		t.Errorf("collection %v, want %d chunks, %d items", c, wantChunks, wantItems)
	}
	p.kill(t, syscall.SIGTERM)

	db, err = sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for query, want := range map[string]int{
		`SELECT count(*) FROM chunks`:                                 wantChunks,
		`SELECT count(DISTINCT item_id || ':' || idx) FROM chunks`:    wantChunks,
		`SELECT count(*) FROM chunks WHERE staged_vector IS NOT NULL`: 0,
		`SELECT count(*) FROM items`:                                  wantItems,
		`SELECT count(*) FROM jobs WHERE state = 'done'`:              len(corpus),
		`SELECT coalesce(sum(attempts > 1), 0) FROM jobs`:             running,
		`SELECT count(*) FROM files WHERE status = 'completed'`:       len(corpus),
	} {
		if n := dbCount(t, db, query); n != want {
			t.Errorf("%s = %d, want %d", query, n, want)
		}
	}
}
