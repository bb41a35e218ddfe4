package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
)

// extractBytes writes data to a file named name and extracts it.
func extractBytes(t testing.TB, name string, data []byte, opts Options) (*Result, *Collector, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var c Collector
	res, err := Extract(context.Background(), Source{Path: path, Filename: name}, opts, &c)
	return res, &c, err
}

// wantCode fails unless err is a *ragd.Error of the kind and code.
func wantCode(t testing.TB, err error, kind, code string) *ragd.Error {
	t.Helper()
	var e *ragd.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *ragd.Error %s/%s", err, kind, code)
	}
	if e.Kind != kind || e.ClientCode() != code {
		t.Fatalf("err = %s/%s (%s), want %s/%s", e.Kind, e.ClientCode(), e.Message, kind, code)
	}
	return e
}

// damaged fails unless err is nil or a clear EUNPROCESSABLE error.
func damaged(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *ragd.Error
	if !errors.As(err, &e) || e.Kind != ragd.EUNPROCESSABLE || e.Message == "" {
		t.Fatalf("err = %#v, want nil or an EUNPROCESSABLE *ragd.Error", err)
	}
}

func TestEmpty(t *testing.T) {
	for _, ext := range []string{".txt", ".md", ".html", ".pdf", ".docx", ".csv", ".jsonl", ".json", ""} {
		t.Run("Ext"+ext, func(t *testing.T) {
			for _, data := range []string{"", " \n\t\n"} {
				_, _, err := extractBytes(t, "upload"+ext, []byte(data), Options{})
				wantCode(t, err, ragd.EUNPROCESSABLE, "empty_file")
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := zip.NewWriter(&zipped)
	w, _ := zw.Create("notes/readme.txt")
	w.Write([]byte("hello"))
	zw.Close()
	tests := []struct {
		name, file string
		data       []byte
	}{
		{"PNG", "image.png", img.Bytes()},
		{"PNGNamedPDF", "report.pdf", img.Bytes()},
		{"ZipNotWord", "archive.zip", zipped.Bytes()},
		{"Binary", "data.bin", bytes.Repeat([]byte{0, 1, 2, 3, 250, 251}, 100)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := extractBytes(t, tc.file, tc.data, Options{})
			e := wantCode(t, err, ragd.EUNSUPPORTED, ragd.EUNSUPPORTED)
			for _, f := range []string{"PDF (.pdf)", "DOCX (.docx)", "CSV (.csv, .tsv)", "Markdown", "HTML", "JSON Lines"} {
				if !strings.Contains(e.Message, f) {
					t.Errorf("message %q does not list %s", e.Message, f)
				}
			}
		})
	}
}

// TestWrongExtension checks that content wins over a lying name.
func TestWrongExtension(t *testing.T) {
	for _, tc := range goldenCases(t) {
		if tc.format != PDF && tc.format != DOCX && tc.format != HTML {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"upload.txt", "upload.csv", "upload", "upload.json"} {
				res, c, err := extractBytes(t, name, data, Options{})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if res.Format != tc.format || len(c.Segments) == 0 {
					t.Errorf("%s: format %s with %d segments, want %s", name, res.Format, len(c.Segments), tc.format)
				}
			}
		})
	}
	t.Run("TextNamedPDF", func(t *testing.T) {
		res, c, err := extractBytes(t, "notes.pdf", []byte("plain words, not a PDF\n"), Options{})
		if err != nil || res.Format != Text || c.Segments[0].Text != "plain words, not a PDF" {
			t.Fatalf("res=%+v err=%v", res, err)
		}
	})
	t.Run("GarbageNamedPDF", func(t *testing.T) {
		_, _, err := extractBytes(t, "scan.pdf", bytes.Repeat([]byte{0x80, 0, 0x91, 7}, 64), Options{})
		wantCode(t, err, ragd.EUNPROCESSABLE, "corrupt_pdf")
	})
}

// TestTruncated cuts every real file in half and at 90%.
func TestTruncated(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			for _, frac := range []int{2, 9} {
				cut := data[:len(data)*frac/10]
				_, _, err := extractBytes(t, filepath.Base(tc.input), cut, Options{})
				damaged(t, err)
				if tc.format == PDF || tc.format == DOCX || tc.format == JSON && strings.Contains(tc.name, "array") {
					wantCode(t, err, ragd.EUNPROCESSABLE, "corrupt_"+string(tc.format))
				}
			}
		})
	}
}

// TestBitFlipped flips random bytes of every real file: extraction must
// end with text or a clear error, never a panic or a hang.
func TestBitFlipped(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			failed := 0
			const rounds = 8
			for seed := range uint64(rounds) {
				rng := rand.New(rand.NewPCG(seed, 42))
				flipped := bytes.Clone(data)
				for range max(4, len(data)/2000) {
					flipped[rng.IntN(len(flipped))] ^= byte(1 << rng.IntN(8))
				}
				_, _, err := extractBytes(t, filepath.Base(tc.input), flipped, Options{Limits: Limits{Timeout: 20 * time.Second}})
				damaged(t, err)
				if err != nil {
					failed++
				}
			}
			t.Logf("%d of %d bit-flipped copies gave a clear error, the rest gave text", failed, rounds)
		})
	}
}

func TestLimits(t *testing.T) {
	pdfPath := filepath.Join(caseDir, "pdf-pdftex", "input.pdf")
	pdfData, err := os.ReadFile(pdfPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Timeout", func(t *testing.T) {
		_, _, err := extractBytes(t, "a.pdf", pdfData, Options{Limits: Limits{Timeout: time.Nanosecond}})
		wantCode(t, err, ragd.EUNPROCESSABLE, "extract_timeout")
	})
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Extract(ctx, Source{Path: pdfPath, Filename: "a.pdf"}, Options{}, &Collector{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("MaxText", func(t *testing.T) {
		_, _, err := extractBytes(t, "a.pdf", pdfData, Options{Limits: Limits{MaxText: 10000}})
		wantCode(t, err, ragd.EUNPROCESSABLE, "too_large_after_extraction")
	})
	t.Run("DefaultMaxText", func(t *testing.T) {
		// A 40 MB text file is within MaxExpansion but over the default MaxText.
		text := bytes.Repeat([]byte("plain words in a very long text file.\n"), 40<<20/39)
		_, _, err := extractBytes(t, "big.txt", text, Options{})
		e := wantCode(t, err, ragd.EUNPROCESSABLE, "too_large_after_extraction")
		if !strings.Contains(e.Message, "33554432 bytes of text") {
			t.Errorf("message %q does not name the limit", e.Message)
		}
	})
	t.Run("MaxExpansion", func(t *testing.T) {
		// 4 MB of text, within MaxText, from a DOCX of a few kilobytes.
		para := `<w:p><w:r><w:t>` + strings.Repeat("the same sentence again and again. ", 100) + `</w:t></w:r></w:p>`
		data := docx(t, strings.Repeat(para, 4<<20/len(para)), "")
		if len(data) > 1<<20 {
			t.Fatalf("the DOCX is %d bytes", len(data))
		}
		_, _, err := extractBytes(t, "expands.docx", data, Options{})
		e := wantCode(t, err, ragd.EUNPROCESSABLE, "too_large_after_extraction")
		if !strings.Contains(e.Message, "expands to more than") {
			t.Errorf("message %q does not say the file expands", e.Message)
		}
		// The same text in a plain text file of its own size is accepted.
		var text strings.Builder
		for range 4 << 20 / len(para) {
			text.WriteString(strings.Repeat("the same sentence again and again. ", 100) + "\n\n")
		}
		if _, _, err := extractBytes(t, "same.txt", []byte(text.String()), Options{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("PDFStreamLimit", func(t *testing.T) {
		_, _, err := extractBytes(t, "a.pdf", pdfData, Options{Limits: Limits{MaxDecompressed: 1000}})
		wantCode(t, err, ragd.EUNPROCESSABLE, "decompression_limit")
	})
	t.Run("ZipBomb", func(t *testing.T) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("word/document.xml")
		w.Write([]byte(`<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>`))
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for range 64 {
			w.Write(chunk)
		}
		w.Write([]byte(`</w:t></w:r></w:p></w:body></w:document>`))
		zw.Close()
		if buf.Len() > 1<<20 {
			t.Fatalf("bomb is %d bytes compressed", buf.Len())
		}
		// Let the text expand, so that decompression is the limit met first.
		_, _, err := extractBytes(t, "bomb.docx", buf.Bytes(), Options{Limits: Limits{MaxDecompressed: 8 << 20, MaxExpansion: 1000}})
		wantCode(t, err, ragd.EUNPROCESSABLE, "decompression_limit")
	})
	t.Run("StylesCountTowardsDecompression", func(t *testing.T) {
		// The styles are read first, and their bytes count against the
		// same budget as the document's, even though unreadable styles
		// are otherwise ignored.
		styles := wordStyle("Standard", "Normal", "", "") + `<w:style w:type="paragraph" w:styleId="Big"><w:name w:val="Big"/>` +
			strings.Repeat("padding ", 1<<20) + `</w:style>`
		data := docx(t, wp("Heading1", "Guide")+wp("", "A small document."), styles)
		_, _, err := extractBytes(t, "styles.docx", data, Options{Limits: Limits{MaxDecompressed: 4 << 20}})
		wantCode(t, err, ragd.EUNPROCESSABLE, "decompression_limit")
		if _, c, err := extractBytes(t, "styles.docx", data, Options{Limits: Limits{MaxDecompressed: 16 << 20}}); err != nil || len(c.Segments) != 1 || c.Segments[0].Section != "Guide" {
			t.Fatalf("segments = %+v, err = %v", c.Segments, err)
		}
	})
	t.Run("ZipEntries", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(caseDir, "docx-users-and-groups", "input.docx"))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = extractBytes(t, "a.docx", data, Options{Limits: Limits{MaxZipEntries: 3}})
		wantCode(t, err, ragd.EUNPROCESSABLE, "corrupt_docx")
	})
}

// stopSink fails on the n-th call.
type stopSink struct {
	Collector
	n int
}

var errStop = errors.New("sink full")

func (s *stopSink) Segment(seg Segment) error {
	if s.n--; s.n < 0 {
		return errStop
	}
	return s.Collector.Segment(seg)
}

func (s *stopSink) Record(r Record) error {
	if s.n--; s.n < 0 {
		return errStop
	}
	return s.Collector.Record(r)
}

func TestSinkError(t *testing.T) {
	for _, dir := range []string{"pdf-libreoffice", "csv-iso3166"} {
		t.Run(dir, func(t *testing.T) {
			inputs, _ := filepath.Glob(filepath.Join(caseDir, dir, "input.*"))
			s := &stopSink{n: 2}
			_, err := Extract(context.Background(), Source{Path: inputs[0], Filename: filepath.Base(inputs[0])}, Options{}, s)
			if !errors.Is(err, errStop) || len(s.Segments)+len(s.Records) != 2 {
				t.Fatalf("err = %v after %d items, want errStop after 2", err, len(s.Segments)+len(s.Records))
			}
		})
	}
}

func TestRecords(t *testing.T) {
	t.Run("CSVTextColumnAndTypes", func(t *testing.T) {
		_, c, err := extractBytes(t, "notes.csv", []byte("id;Body;score;ok;zip\n7;first note;1.5;true;02134\n8;\"second; note\";2;false;\n"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Records) != 2 || c.Records[1].Text != "second; note" || c.Records[0].Line != 2 {
			t.Fatalf("records = %+v", c.Records)
		}
		m := c.Records[0].Metadata
		if m["id"] != int64(7) || m["score"] != 1.5 || m["ok"] != true || m["zip"] != "02134" || m["Body"] != nil {
			t.Errorf("metadata = %#v", m)
		}
	})
	t.Run("CSVConfiguredColumn", func(t *testing.T) {
		_, c, err := extractBytes(t, "a.csv", []byte("title,summary\nGo,A language\n"), Options{TextField: "summary"})
		if err != nil || c.Records[0].Text != "A language" || c.Records[0].Metadata["title"] != "Go" {
			t.Fatalf("records = %+v, err = %v", c.Records, err)
		}
	})
	t.Run("JSONLBadLine", func(t *testing.T) {
		_, _, err := extractBytes(t, "a.jsonl", []byte("{\"text\":\"ok\"}\n{\"text\": nope}\n"), Options{})
		e := wantCode(t, err, ragd.EUNPROCESSABLE, "corrupt_jsonl")
		if !strings.Contains(e.Message, "line 2") {
			t.Errorf("message %q does not name line 2", e.Message)
		}
	})
	t.Run("JSONTruncated", func(t *testing.T) {
		_, _, err := extractBytes(t, "a.json", []byte(`{"title": "Hello", "tags": ["a b", {"k": "dee`), Options{})
		wantCode(t, err, ragd.EUNPROCESSABLE, "corrupt_json")
	})
	t.Run("JSONObjectKeysDropped", func(t *testing.T) {
		_, c, err := extractBytes(t, "a.json", []byte(`{"title": "Hello", "tags": ["a b", {"k": "deep"}], "n": 3}`), Options{})
		if err != nil || len(c.Segments) != 1 || c.Segments[0].Text != "Hello\n\na b\n\ndeep" {
			t.Fatalf("segments = %+v, err = %v", c.Segments, err)
		}
	})
}

func TestUTF16(t *testing.T) {
	text := "Grüße aus Köln\n\nzweiter Absatz"
	var le []byte
	le = append(le, 0xFF, 0xFE)
	for _, r := range text {
		le = append(le, byte(r), byte(r>>8))
	}
	res, c, err := extractBytes(t, "brief.txt", le, Options{})
	if err != nil || res.Format != Text || c.Segments[0].Text != text {
		t.Fatalf("segments = %+v, err = %v", c.Segments, err)
	}
}

func TestCSVValue(t *testing.T) {
	for _, tt := range []struct {
		cell string
		want any
	}{
		{"12", int64(12)}, {"-3", int64(-3)}, {"0", int64(0)}, {" 7 ", int64(7)},
		{"29.50", 29.5}, {"9.00", 9.0}, {"-3.5", -3.5}, {"0.25", 0.25},
		{"99999999999999999999", 1e20}, // too large for int64
		{"true", true}, {"false", false},
		{"02134", "02134"}, {"1e5", "1e5"}, {"1,000", "1,000"}, {"+5", "+5"}, {".5", ".5"}, {"5.", "5."},
		{"-", "-"}, {"", ""}, {"1.2.3", "1.2.3"}, {"TRUE", "TRUE"}, {" text ", " text "},
	} {
		if got := csvValue(tt.cell); got != tt.want {
			t.Errorf("csvValue(%q) = %#v, want %#v", tt.cell, got, tt.want)
		}
	}
}
