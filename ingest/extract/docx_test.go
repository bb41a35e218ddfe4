package extract

import (
	"archive/zip"
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

const wordNS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

// docx returns a DOCX archive whose document body is body and, unless
// styles is empty, whose word/styles.xml defines the styles given.
func docx(t testing.TB, body, styles string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	parts := [][2]string{{"word/document.xml", `<w:document xmlns:w="` + wordNS + `"><w:body>` + body + `</w:body></w:document>`}}
	if styles != "" {
		parts = append(parts, [2]string{"word/styles.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
			`<w:styles xmlns:w="` + wordNS + `"><w:docDefaults><w:pPrDefault><w:pPr><w:spacing w:after="160"/></w:pPr></w:pPrDefault></w:docDefaults>` +
			`<w:latentStyles w:count="376"><w:lsdException w:name="heading 1" w:uiPriority="9" w:qFormat="1"/></w:latentStyles>` + styles + `</w:styles>`})
	}
	for _, p := range parts {
		w, err := zw.Create(p[0])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, p[1])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wp returns a paragraph of style (none if empty) holding text, its lines
// separated by line breaks.
func wp(style, text string) string {
	var b strings.Builder
	b.WriteString("<w:p>")
	if style != "" {
		b.WriteString(`<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`)
	}
	for i, l := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteString("<w:r><w:br/></w:r>")
		}
		b.WriteString(`<w:r><w:t xml:space="preserve">`)
		xmlEscape(&b, l)
		b.WriteString("</w:t></w:r>")
	}
	b.WriteString("</w:p>")
	return b.String()
}

func xmlEscape(b *strings.Builder, s string) {
	strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").WriteString(b, s)
}

// wordStyle returns the definition of a paragraph style; props go in its
// w:pPr, and basedOn is omitted when empty.
func wordStyle(id, name, basedOn, props string) string {
	s := `<w:style w:type="paragraph" w:styleId="` + id + `"><w:name w:val="` + name + `"/>`
	if basedOn != "" {
		s += `<w:basedOn w:val="` + basedOn + `"/>`
	}
	return s + `<w:next w:val="Standard"/><w:qFormat/><w:pPr>` + props + `</w:pPr><w:rPr><w:sz w:val="32"/></w:rPr></w:style>`
}

// germanStyles are the styles of a document written with a German Word:
// localized ids, English names of the built-in styles, and the linked
// character styles Word adds for its headings.
var germanStyles = wordStyle("Standard", "Normal", "", "") +
	wordStyle("Titel", "Title", "Standard", `<w:contextualSpacing/>`) +
	wordStyle("Untertitel", "Subtitle", "Standard", "") +
	wordStyle("berschrift1", "heading 1", "Standard", `<w:keepNext/><w:outlineLvl w:val="0"/>`) +
	wordStyle("berschrift2", "heading 2", "Standard", `<w:keepNext/><w:outlineLvl w:val="1"/>`) +
	wordStyle("berschrift3", "heading 3", "Standard", `<w:keepNext/><w:outlineLvl w:val="2"/>`) +
	wordStyle("Code", "Code", "Standard", `<w:ind w:left="284"/>`) +
	`<w:style w:type="character" w:customStyle="1" w:styleId="berschrift1Zchn"><w:name w:val="Überschrift 1 Zchn"/><w:link w:val="berschrift1"/></w:style>` +
	`<w:style w:type="table" w:default="1" w:styleId="NormaleTabelle"><w:name w:val="Normal Table"/><w:tblPr/></w:style>`

// TestDOCXGolden extracts a DOCX built here from the first sections of
// rustfmt's README (testdata/extract/markdown-rustfmt) as a German Word
// saves it, with three levels of headings, and compares its segments and
// sections with testdata/extract/docx-german-styles/golden.txt.
func TestDOCXGolden(t *testing.T) {
	body := wp("Titel", "rustfmt") +
		wp("Untertitel", "A tool for formatting Rust code according to style guidelines.") +
		wp("Standard", "If you'd like to help out (and you should, it's a fun project!), see Contributing.md and our Code of Conduct.") +
		wp("berschrift1", "Quick start") +
		wp("Standard", "You can run rustfmt with Rust 1.24 and above.") +
		wp("berschrift2", "On the Stable toolchain") +
		wp("Standard", "To install:") +
		wp("Code", "rustup component add rustfmt") +
		wp("Standard", "To run on a cargo project in the current working directory:") +
		wp("Code", "cargo fmt") +
		wp("berschrift2", "On the Nightly toolchain") +
		wp("Standard", "For the latest and greatest rustfmt, nightly is required.") +
		wp("Code", "rustup component add rustfmt --toolchain nightly") +
		wp("berschrift1", "Running") +
		wp("Standard", "You can run Rustfmt by just typing rustfmt filename if you used cargo install. This runs rustfmt on the given file, if the file includes out of line modules, then we reformat those too.") +
		wp("berschrift2", "Running rustfmt directly") +
		wp("Standard", "To format individual files or arbitrary codes from stdin, the rustfmt binary should be used.") +
		wp("berschrift3", "Examples") +
		wp("Code", "rustfmt lib.rs main.rs\necho \"fn     main() {}\" | rustfmt") +
		wp("berschrift2", "Verifying code is formatted") +
		wp("Standard", "When running with --check, Rustfmt will exit with 0 if Rustfmt would not make any formatting changes to the input, and 1 if Rustfmt would make changes.")
	res, c, err := extractBytes(t, "rustfmt.docx", docx(t, body, germanStyles), Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, render(res, c), filepath.Join(caseDir, "docx-german-styles", "golden.txt"))
}

// A heading too long to hold is passed on in pieces like any paragraph:
// the first names the section, shortened, and the rest is the section's
// text.
func TestDOCXLongHeading(t *testing.T) {
	heading := strings.Repeat("Installing rustfmt on every supported platform ", 2*xmlMaxRun/47)
	body := wp("Heading1", heading) + wp("", "To install:")
	_, c, err := extractBytes(t, "long.docx", docx(t, body, ""), Options{Limits: Limits{MaxSegment: 1024}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Segments) < 3 {
		t.Fatalf("%d segments, want the heading in pieces", len(c.Segments))
	}
	var text strings.Builder
	for _, s := range c.Segments {
		if len(s.Text) > xmlMaxRun+1024 {
			t.Errorf("a segment of %d bytes passed", len(s.Text))
		}
		if !strings.HasPrefix(s.Section, "Installing rustfmt on every supported platform") || len(s.Section) > maxHeading+len("…") {
			t.Errorf("section %q", s.Section)
		}
		text.WriteString(s.Text)
	}
	nospace := func(s string) string { return strings.Join(strings.Fields(s), "") }
	if nospace(text.String()) != nospace(heading+"To install:") {
		t.Errorf("text changed: %.100q...", text.String())
	}
}
