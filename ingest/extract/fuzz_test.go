package extract

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ragd/ragd"
)

// fuzzFormat fuzzes one parser: any input must end in text or a
// *ragd.Error, never a panic, a hang or another error. The seeds are the
// real files of testdata/extract plus the corpus in testdata/fuzz/<name>.
func fuzzFormat(f *testing.F, ext string, dirs ...string) {
	for _, d := range dirs {
		inputs, _ := filepath.Glob(filepath.Join(caseDir, d, "input.*"))
		for _, in := range inputs {
			data, err := os.ReadFile(in)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "input"+ext)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		opts := Options{Limits: Limits{Timeout: 10 * time.Second, MaxDecompressed: 64 << 20}}
		_, err := Extract(context.Background(), Source{Path: path, Filename: "input" + ext}, opts, &Collector{})
		var e *ragd.Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("err = %v, want nil or a *ragd.Error", err)
		}
	})
}

func FuzzPDF(f *testing.F)      { fuzzFormat(f, ".pdf", "pdf-libreoffice") }
func FuzzDOCX(f *testing.F)     { fuzzFormat(f, ".docx", "docx-users-and-groups") }
func FuzzHTML(f *testing.F)     { fuzzFormat(f, ".html", "html-python-policy") }
func FuzzMarkdown(f *testing.F) { fuzzFormat(f, ".md", "markdown-rustfmt") }
func FuzzText(f *testing.F)     { fuzzFormat(f, ".txt", "text-gpl3") }
func FuzzCSV(f *testing.F)      { fuzzFormat(f, ".csv", "csv-iso3166") }
func FuzzJSONL(f *testing.F)    { fuzzFormat(f, ".jsonl", "jsonl-iso639") }
func FuzzJSON(f *testing.F)     { fuzzFormat(f, ".json", "json-array-iso4217", "json-object-iso3166") }
