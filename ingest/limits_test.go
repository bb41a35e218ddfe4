package ingest_test

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/ingest/extract"
)

// docxOf returns a DOCX archive whose document body is body.
func docxOf(t testing.TB, body string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("word/document.xml")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body + `</w:body></w:document>`))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A file that costs too much fails with a code saying why, and its worker
// goes on with the next file.
func TestFileBudgets(t *testing.T) {
	para := `<w:p><w:r><w:t>` + strings.Repeat("the same sentence again and again. ", 100) + `</w:t></w:r></w:p>`
	for _, tt := range []struct {
		name     string
		cfg      ingest.Config
		slow     bool // embed with a model that never answers
		filename string
		data     []byte
		code     string
	}{
		// A few kilobytes of DOCX that expand to 4 MB of text.
		{name: "ExpandsTooMuch", filename: "expands.docx", data: docxOf(t, strings.Repeat(para, 4<<20/len(para))),
			code: "too_large_after_extraction"},
		{name: "TooMuchText", cfg: ingest.Config{Limits: extract.Limits{MaxText: 64 << 10}}, filename: "long.txt",
			data: bytes.Repeat([]byte("a line of plain text\n"), 100<<10/21), code: "too_large_after_extraction"},
		// The embedder never answers: the file's time budget ends it.
		{name: "Timeout", cfg: ingest.Config{FileTimeout: 200 * time.Millisecond}, slow: true, filename: "slow.txt",
			data: []byte("a file whose embedding never ends"), code: "ingest_timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Workers = 1
			slow := newBlocking()
			g, st := testIngester(t, tt.cfg, slow)
			model := embed.HashModelName
			if tt.slow {
				model = slow.Name()
			}
			col := testCollection(t, st, "ws", "c", model)
			f := waitFile(t, g, col, addFile(t, g, col, tt.filename, tt.data))
			if f.Status != ragd.FileFailed || f.Error == nil || f.Error.Code != tt.code || f.Error.Message == "" {
				t.Fatalf("file %+v (error %+v), want failed with %s", f, f.Error, tt.code)
			}
			// The worker is free for the next file.
			close(slow.release)
			next := waitFile(t, g, col, addFile(t, g, col, "next.txt", []byte("the next file is small")))
			if next.Status != ragd.FileCompleted {
				t.Fatalf("next file %+v", next)
			}
		})
	}
}
