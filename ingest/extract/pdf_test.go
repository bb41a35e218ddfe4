package extract

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/ledongthuc/pdf"
)

// pdfCases are the real PDFs, one per producer, checked against pdftotext.
var pdfCases = []struct{ dir, producer string }{
	{"pdf-pdftex", "pdfTeX (R FAQ)"},
	{"pdf-dblatex-xdvipdfmx", "DocBook via dblatex/xdvipdfmx (Debian Reference)"},
	{"pdf-libreoffice", "LibreOffice Writer 7.4 (Python Policy)"},
}

// words splits text into words: runs of letters and digits, ligatures expanded.
func words(s string) map[string]int {
	out := map[string]int{}
	for _, w := range strings.FieldsFunc(ligatures.Replace(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		out[w]++
	}
	return out
}

// oraclePages runs pdftotext and splits its output into pages at form feeds.
func oraclePages(t testing.TB, path string) []string {
	t.Helper()
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (poppler-utils) is the test oracle and must be installed: %v", err)
	}
	return strings.Split(string(out), "\f")
}

// TestPDFOracle checks that at least 95% of the words pdftotext finds on
// each page are words on the same page of ours.
func TestPDFOracle(t *testing.T) {
	for _, tc := range pdfCases {
		t.Run(tc.dir, func(t *testing.T) {
			path := filepath.Join("..", "..", "testdata", "extract", tc.dir, "input.pdf")
			oracle := oraclePages(t, path)
			var c Collector
			res, err := Extract(context.Background(), Source{Path: path, Filename: "input.pdf"}, Options{}, &c)
			if err != nil {
				t.Fatal(err)
			}
			ours := map[int]string{}
			for _, s := range c.Segments {
				ours[s.Page] += s.Text
			}
			if want := len(oracle) - 1; res.Pages != want { // pdftotext ends every page with \f
				t.Errorf("pages = %d, pdftotext has %d", res.Pages, want)
			}
			total, found := 0, 0
			for i, page := range oracle {
				ow, mine := words(page), words(ours[i+1])
				for w, n := range ow {
					total += n
					found += min(n, mine[w])
				}
			}
			cover := float64(found) / float64(total)
			t.Logf("%s: %d pages, %d of %d oracle words on the right page (%.2f%%)", tc.producer, res.Pages, found, total, 100*cover)
			if total < 1000 || cover < 0.95 {
				t.Errorf("coverage %.2f%% of %d oracle words, want >= 95%%", 100*cover, total)
			}
		})
	}
}

// BenchmarkPDF reports pages/s per producer for this package and, in the
// same run, for the library's Page.Content as a peer.
func BenchmarkPDF(b *testing.B) {
	for _, tc := range pdfCases {
		path := filepath.Join("..", "..", "testdata", "extract", tc.dir, "input.pdf")
		if _, err := os.Stat(path); err != nil {
			b.Fatal(err)
		}
		b.Run(tc.dir, func(b *testing.B) {
			pages := 0
			for b.Loop() {
				res, err := Extract(context.Background(), Source{Path: path, Filename: "input.pdf"}, Options{}, &Collector{})
				if err != nil {
					b.Fatal(err)
				}
				pages += res.Pages
			}
			b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
		})
		// The peer: the library's own glyph-position text, on the first pages.
		b.Run(tc.dir+"/library-Content", func(b *testing.B) {
			pages := 0
			for b.Loop() {
				f, r, err := pdf.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				for i := 1; i <= min(5, r.NumPage()); i++ {
					r.Page(i).Content()
					pages++
				}
				f.Close()
			}
			b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
		})
	}
}
