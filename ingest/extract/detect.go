package extract

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ragd/ragd"
)

// Format is a file format Extract reads.
type Format string

// The supported formats.
const (
	Text     Format = "text"
	Markdown Format = "markdown"
	HTML     Format = "html"
	PDF      Format = "pdf"
	DOCX     Format = "docx"
	CSV      Format = "csv"
	JSONL    Format = "jsonl"
	JSON     Format = "json"
)

// formatInfo describes one format: how people call it, and the extensions
// and content types that name it.
type formatInfo struct {
	name  string
	exts  []string
	types []string
}

var formats = map[Format]formatInfo{
	Text:     {"plain text", []string{".txt", ".text", ".log"}, []string{"text/plain"}},
	Markdown: {"Markdown", []string{".md", ".markdown", ".mdown", ".mkd"}, []string{"text/markdown", "text/x-markdown"}},
	HTML:     {"HTML", []string{".html", ".htm", ".xhtml"}, []string{"text/html", "application/xhtml+xml"}},
	PDF:      {"PDF", []string{".pdf"}, []string{"application/pdf"}},
	DOCX:     {"DOCX", []string{".docx"}, []string{"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}},
	CSV:      {"CSV", []string{".csv", ".tsv"}, []string{"text/csv", "text/tab-separated-values", "application/csv"}},
	JSONL:    {"JSON Lines", []string{".jsonl", ".ndjson"}, []string{"application/jsonl", "application/x-ndjson", "application/x-jsonlines"}},
	JSON:     {"JSON", []string{".json"}, []string{"application/json", "text/json"}},
}

// Name is the format's human name, as used in error messages.
func (f Format) Name() string { return formats[f].name }

// SupportedTypes lists the supported formats with their extensions, as shown
// to clients in the EUNSUPPORTED error, e.g. "PDF (.pdf)".
func SupportedTypes() []string {
	var out []string
	for _, fi := range formats {
		out = append(out, fmt.Sprintf("%s (%s)", fi.name, strings.Join(fi.exts, ", ")))
	}
	sort.Strings(out)
	return out
}

// sniffLen is how much of a file detection reads.
const sniffLen = 4096

// Detect returns the format of the file at path, judged from its content
// first and then from the client's filename and content type. It returns
// the same errors as Extract does for unsupported and empty files.
func Detect(path, filename, contentType string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("extract: %w", err)
	}
	defer f.Close()
	return detect(f, filename, contentType)
}

func detect(f *os.File, filename, contentType string) (Format, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("extract: reading %s: %w", filename, err)
	}
	head = head[:n]
	if len(bytes.TrimSpace(head)) == 0 {
		if st, err := f.Stat(); err == nil && st.Size() <= int64(n) {
			return "", &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "empty_file",
				Message: fmt.Sprintf("the file %q is empty: it holds no text", filename)}
		}
	}
	claimed := claimedFormat(filename, contentType)

	// Binary formats are recognised by their magic bytes, whatever the name says.
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return PDF, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		if claimed == DOCX || bytes.Contains(head, []byte("word/")) {
			return DOCX, nil
		}
		return "", unsupported(filename, "a ZIP archive that is not a Word document")
	}
	sniffed := http.DetectContentType(head)
	if !looksText(head) {
		if sniffed == "application/octet-stream" && (claimed == PDF || claimed == DOCX) {
			// Unknown bytes under a binary format's name: a damaged file.
			return "", corrupt(claimed, nil, "it does not start with the %s signature", claimed.Name())
		}
		return "", unsupported(filename, "binary content ("+sniffed+")")
	}
	if claimed == PDF || claimed == DOCX {
		claimed = "" // text under a binary format's name: the content wins
	}
	if strings.HasPrefix(sniffed, "text/html") && claimed != Markdown {
		return HTML, nil
	}
	if claimed != "" {
		return claimed, nil
	}
	return sniffText(head), nil
}

// claimedFormat is the format the filename's extension names, else the one
// the content type names, else "".
func claimedFormat(filename, contentType string) Format {
	ext := strings.ToLower(filepath.Ext(filename))
	mt, _, _ := mime.ParseMediaType(contentType)
	for f, fi := range formats {
		for _, e := range fi.exts {
			if ext == e {
				return f
			}
		}
	}
	for f, fi := range formats {
		for _, t := range fi.types {
			if mt == t {
				return f
			}
		}
	}
	return ""
}

// sniffText guesses the format of unnamed text from its start.
func sniffText(head []byte) Format {
	t := bytes.TrimLeft(trimBOM(head), " \t\r\n")
	switch {
	case len(t) > 0 && t[0] == '[':
		return JSON
	case len(t) > 0 && t[0] == '{':
		// One object per line is JSON Lines; an object spanning lines is JSON.
		if i := bytes.IndexByte(t, '\n'); i > 0 && bytes.HasSuffix(bytes.TrimSpace(t[:i]), []byte("}")) {
			return JSONL
		}
		return JSON
	case bytes.HasPrefix(t, []byte("# ")) || bytes.Contains(t, []byte("\n## ")) || bytes.Contains(t, []byte("\n# ")):
		return Markdown
	}
	return Text
}

// looksText reports whether head is text: UTF-16 with a BOM, or bytes
// of which at most 5% are the control bytes that mark binary data (those
// of the WHATWG sniffing algorithm, which http.DetectContentType uses, so
// that a refusal never names a text type). Bytes that are not UTF-8 are
// not counted: such text is decoded from its legacy charset (textReader).
func looksText(head []byte) bool {
	if hasUTF16BOM(head) {
		return true
	}
	bad := 0
	for _, c := range head {
		if c <= 0x08 || c == 0x0B || c >= 0x0E && c <= 0x1A || c >= 0x1C && c <= 0x1F {
			bad++
		}
	}
	return bad*20 <= len(head)
}

func hasUTF16BOM(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF})
}

func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF")) }

// unsupported returns the EUNSUPPORTED error listing the supported types.
func unsupported(filename, what string) error {
	return &ragd.Error{Kind: ragd.EUNSUPPORTED, Code: ragd.EUNSUPPORTED, Param: "file",
		Message: fmt.Sprintf("the file %q is %s, which cannot be ingested; supported types: %s",
			filename, what, strings.Join(SupportedTypes(), "; "))}
}
