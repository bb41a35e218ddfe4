package extract

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/extract")

// caseDir is where the real documents and their golden outputs live.
var caseDir = filepath.Join("..", "..", "testdata", "extract")

// goldenCase is one directory of testdata/extract: an input.* file and the
// golden.txt rendering of what Extract makes of it.
type goldenCase struct {
	name, input string
	format      Format
}

func goldenCases(t testing.TB) []goldenCase {
	t.Helper()
	inputs, err := filepath.Glob(filepath.Join(caseDir, "*", "input.*"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in %s: %v", caseDir, err)
	}
	var out []goldenCase
	for _, in := range inputs {
		name := filepath.Base(filepath.Dir(in))
		out = append(out, goldenCase{name: name, input: in, format: claimedFormat(in, "")})
	}
	return out
}

// render writes an extraction as the golden text.
func render(res *Result, c *Collector) string {
	var b strings.Builder
	fmt.Fprintf(&b, "format: %s, pages: %d, segments: %d, records: %d\n", res.Format, res.Pages, res.Segments, res.Records)
	for _, s := range c.Segments {
		section := ""
		if s.Section != "" {
			section = fmt.Sprintf(", section %q", s.Section)
		}
		fmt.Fprintf(&b, "\n--- segment, page %d%s ---\n%s\n", s.Page, section, s.Text)
	}
	for _, r := range c.Records {
		meta, _ := json.Marshal(r.Metadata)
		fmt.Fprintf(&b, "\n--- record, line %d %s ---\n%s\n", r.Line, meta, r.Text)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var c Collector
			res, err := Extract(context.Background(), Source{Path: tc.input, Filename: filepath.Base(tc.input)}, Options{}, &c)
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tc.format {
				t.Errorf("format = %s, want %s", res.Format, tc.format)
			}
			checkGolden(t, render(res, &c), filepath.Join(filepath.Dir(tc.input), "golden.txt"))
		})
	}
}

// checkGolden compares got with the golden file, which -update rewrites.
func checkGolden(t *testing.T, got, golden string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update and review the diff):\n%s", golden, firstDiff(got, string(want)))
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %q\nwant: %q", i+1, gl, wl)
		}
	}
	return ""
}

// TestStructure checks properties of the real files' text that the golden
// files could silently lose.
func TestStructure(t *testing.T) {
	tests := []struct {
		name, dir  string
		want, lost []string
	}{
		{"HTMLHeadingsAndEntities", "html-python-policy", []string{"\n\nAbstract¶\n\n", "- Neil Schemenauer <nas@debian.org>"}, []string{"<div", "<p>", "&lt;", "&gt;", "Navigation"}},
		{"MarkdownMarkupStripped", "markdown-rustfmt", []string{"\n\nQuick start\n\n"}, []string{"](", "```", "**"}},
		{"DOCXParagraphs", "docx-users-and-groups", []string{"Users and Groups", "\n\n"}, []string{"<w:"}},
		{"PDFWordSpaces", "pdf-pdftex", []string{"Table of Contents", "1 Introduction"}, []string{"TableofContents"}},
		{"TextParagraphs", "text-gpl3", []string{"GNU GENERAL PUBLIC LICENSE", "\n\n"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inputs, _ := filepath.Glob(filepath.Join(caseDir, tc.dir, "input.*"))
			if len(inputs) != 1 {
				t.Fatalf("want one input in %s", tc.dir)
			}
			var c Collector
			if _, err := Extract(context.Background(), Source{Path: inputs[0], Filename: filepath.Base(inputs[0])}, Options{}, &c); err != nil {
				t.Fatal(err)
			}
			var all strings.Builder
			for _, s := range c.Segments {
				all.WriteString(s.Text + "\n\n")
			}
			for _, w := range tc.want {
				if !strings.Contains(all.String(), w) {
					t.Errorf("text lacks %q", w)
				}
			}
			for _, l := range tc.lost {
				if strings.Contains(all.String(), l) {
					t.Errorf("text still has %q", l)
				}
			}
		})
	}
}

// TestSections checks which lines or paragraphs each format takes for
// headings and the section each paragraph then lies in.
func TestSections(t *testing.T) {
	tests := []struct {
		name, filename, input string
		want                  map[string]string // paragraph -> its section
	}{
		{"MarkdownATX", "a.md", "# Guide ![ci](b.svg)\n\nIntro.\n\n## Install ##\n\nSteps.\n\n### On Windows\n\nUse the installer.\n\n## Licence\n\nMIT.\n",
			map[string]string{"Intro.": "Guide", "Steps.": "Guide > Install", "Use the installer.": "Guide > Install > On Windows", "MIT.": "Guide > Licence"}},
		{"MarkdownSetext", "a.md", "Guide\n=====\n\nIntro.\n\nInstall\n-------\n\nSteps.\n\n---\n\nAfter a rule.\n",
			map[string]string{"Intro.": "Guide", "Steps.": "Guide > Install", "After a rule.": "Guide > Install"}},
		{"MarkdownFenceIsNotAHeading", "a.md", "# Guide\n\n```\ncode\n===\n# comment\n```\n\nAfter.\n",
			map[string]string{"code\n===\n# comment": "Guide", "After.": "Guide"}},
		{"MarkdownListBeforeDashes", "a.md", "# Guide\n\n- item\n---\n\nAfter.\n",
			map[string]string{"- item": "Guide", "After.": "Guide"}},
		{"HTMLTitleAndHeadings", "a.html", "<html><head><title>The Guide</title></head><body><h1>Guide<a>¶</a></h1><p>Intro.</p>" +
			"<h2>Install</h2><p>Steps.</p><h3>On <b>Windows</b></h3><p>Use the installer.</p><h2></h2><p>Empty heading.</p><h2>Licence</h2><p>MIT.</p></body></html>",
			map[string]string{"Intro.": "The Guide > Guide", "Steps.": "The Guide > Guide > Install", "Use the installer.": "The Guide > Guide > Install > On Windows",
				"Empty heading.": "The Guide > Guide > Install > On Windows", "MIT.": "The Guide > Guide > Licence"}},
		{"HTMLFirstH1IsTitle", "a.html", "<body><p>Before.</p><h1>Guide</h1><p>Intro.</p><h2>Install</h2><p>Steps.</p></body>",
			map[string]string{"Before.": "", "Intro.": "Guide", "Steps.": "Guide > Install"}},
		{"TextReStructuredText", "a.txt", "=====\nGuide\n=====\n\nIntro.\n\nInstall\n=======\n\nSteps.\n\nOn Windows\n----------\n\nUse the installer.\n\nLicence\n=======\n\nMIT.\n",
			map[string]string{"Intro.": "Guide", "Steps.": "Guide > Install", "Use the installer.": "Guide > Install > On Windows", "MIT.": "Guide > Licence"}},
		{"TextShortUnderlineIsNotAHeading", "a.txt", "A long first line\n---\n\nAfter.\n\nTwo lines\nof text\n=========\n\n----\n\nEnd.\n",
			map[string]string{"A long first line\n---": "", "Two lines\nof text\n=========": "", "----": "", "End.": ""}},
		{"DOCXBuiltinIDsWithoutStyles", "a.docx", string(docx(t, wp("", "Before.")+wp("Title", "Guide")+wp("Subtitle", "Intro.")+wp("Heading1", "Install")+
			wp("", "Steps.")+wp("Heading2", "On Windows")+wp("", "Use the installer.")+wp("Heading1", "Licence")+wp("Heading1", "")+wp("", "MIT."), "")),
			map[string]string{"Before.": "", "Intro.": "Guide", "Steps.": "Guide > Install", "Use the installer.": "Guide > Install > On Windows", "MIT.": "Guide > Licence"}},
		{"DOCXLocalizedStyles", "a.docx", string(docx(t, wp("Titel", "Guide")+wp("Standard", "Intro.")+wp("berschrift1", "Install")+wp("Standard", "Steps.")+
			wp("berschrift2", "On Windows")+wp("Standard", "Use the installer.")+wp("Heading2", "Not a heading here.")+wp("berschrift1Zchn", "A character style."), germanStyles+
			wordStyle("Heading2", "List Paragraph", "Standard", ""))),
			map[string]string{"Intro.": "Guide", "Steps.": "Guide > Install", "Use the installer.": "Guide > Install > On Windows",
				"Not a heading here.": "Guide > Install > On Windows", "A character style.": "Guide > Install > On Windows"}},
		{"DOCXOutlineLevels", "a.docx", string(docx(t, wp("Kapitel", "Install")+wp("Standard", "Steps.")+wp("Abschnitt", "On Windows")+wp("Randnotiz", "Note.")+
			wp("Zyklus", "Cycle.")+wp("Tief", "Level nine")+wp("Standard", "Deep.")+wp("Kapitel", "Licence")+wp("Standard", "MIT."), germanStyles+
			wordStyle("Kapitel", "Chapter", "berschrift1", "")+wordStyle("Abschnitt", "Section", "Kapitel", `<w:outlineLvl w:val="1"/>`)+
			wordStyle("Randnotiz", "Margin note", "berschrift2", `<w:outlineLvl w:val="9"/>`)+wordStyle("Zyklus", "Cycle", "Zyklus2", "")+
			wordStyle("Zyklus2", "Cycle 2", "Zyklus", "")+wordStyle("Tief", "Deep", "", `<w:outlineLvl w:val="8"/>`))),
			map[string]string{"Steps.": "Install", "Note.": "Install > On Windows", "Cycle.": "Install > On Windows",
				"Deep.": "Install > On Windows > Level nine", "MIT.": "Install > Licence"}},
		{"DOCXTrackedStyleChange", "a.docx", string(docx(t, wp("Heading1", "Guide")+
			`<w:p><w:pPr><w:pStyle w:val="Heading2"/><w:pPrChange w:id="1" w:author="A"><w:pPr><w:pStyle w:val="Normal"/></w:pPr></w:pPrChange></w:pPr><w:r><w:t>Install</w:t></w:r></w:p>`+
			wp("", "Steps.")+
			`<w:p><w:pPr><w:pStyle w:val="Normal"/><w:pPrChange w:id="2" w:author="A"><w:pPr><w:pStyle w:val="Heading2"/></w:pPr></w:pPrChange></w:pPr><w:r><w:t>Formerly a heading.</w:t></w:r></w:p>`, "")),
			map[string]string{"Steps.": "Guide > Install", "Formerly a heading.": "Guide > Install"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.filename)
			if err := os.WriteFile(path, []byte(tc.input), 0o644); err != nil {
				t.Fatal(err)
			}
			var c Collector
			if _, err := Extract(context.Background(), Source{Path: path, Filename: tc.filename}, Options{}, &c); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, s := range c.Segments {
				for _, p := range strings.Split(s.Text, "\n\n") {
					got[p] = s.Section
				}
			}
			for p, want := range tc.want {
				if sec, ok := got[p]; !ok || sec != want {
					t.Errorf("paragraph %q: section %q (found %v), want %q; segments %+v", p, sec, ok, want, c.Segments)
				}
			}
		})
	}
}
