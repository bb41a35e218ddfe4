package ingest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/ingest/extract"
	"github.com/ragd/ragd/tokenize"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/sections")

// TestSectionsGolden chunks real documents with nested headings as a
// file's ingest does and compares each chunk's page, section and first
// line with testdata/sections/<case>/golden.txt.
func TestSectionsGolden(t *testing.T) {
	cases := []struct {
		name, input string
	}{
		{"markdown-rustfmt", "../testdata/extract/markdown-rustfmt/input.md"},
		{"html-python-policy", "../testdata/extract/html-python-policy/input.html"},
		{"text-python-faq", "../eval/testdata/faq/sample.rst.txt"},
		{"docx-users-and-groups", "../testdata/extract/docx-users-and-groups/input.docx"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c extract.Collector
			if _, err := extract.Extract(context.Background(), extract.Source{Path: tc.input, Filename: filepath.Base(tc.input)}, extract.Options{}, &c); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			ch, err := newChunker(ragd.Chunking{MaxTokens: 96, OverlapTokens: 16}, func(c ragd.Chunk) error {
				first, _, _ := strings.Cut(strings.TrimSpace(c.Content), "\n")
				fmt.Fprintf(&b, "chunk %d, page %d, section %q\n\t%s\n", c.Index, c.Page, c.Section, first)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.Segments {
				if _, err := ch.write(s); err != nil {
					t.Fatal(err)
				}
			}
			if err := ch.close(); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("..", "testdata", "sections", tc.name, "golden.txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := range min(len(g), len(w)) {
					if g[i] != w[i] {
						t.Fatalf("output differs from %s at line %d (run go test -update and review the diff):\n got: %q\nwant: %q", golden, i+1, g[i], w[i])
					}
				}
				t.Fatalf("output differs from %s in length: %d lines, want %d", golden, len(g), len(w))
			}
		})
	}
}

// The section line is embedded in front of the content unless the two
// would pass the model's input limit.
func TestEmbedText(t *testing.T) {
	const content = "Run the installer and follow its steps."
	tokens := tokenize.MustGet(tokenize.CL100K).Count(content)
	withSection := "Guide > Installing on Windows\n\n" + content
	tests := []struct {
		name, section string
		limit         int
		want          string
	}{
		{"NoSection", "", 8192, content},
		{"Fits", "Guide > Installing on Windows", 8192, withSection},
		{"FitsExactly", "Guide > Installing on Windows", tokenize.MustGet(tokenize.CL100K).Count(withSection), withSection},
		{"TooLong", "Guide > Installing on Windows", tokens + 2, content},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &ragd.Chunk{Content: content, Section: tc.section, Tokens: tokens}
			if got := embedText(c, tc.limit); got != tc.want {
				t.Fatalf("embedText = %q, want %q", got, tc.want)
			}
		})
	}
}
