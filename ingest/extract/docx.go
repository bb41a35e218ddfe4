package extract

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// parseDOCX reads the paragraphs of a Word document's main part
// (word/document.xml), tabs and line breaks included, one block per
// paragraph. Paragraphs in a heading style (see docxStyles) start the
// sections of the text after them, and one in the Title style names the
// document. The archive is bounded by MaxZipEntries and by
// MaxDecompressed, counted on the bytes really inflated rather than on
// the sizes the archive claims. The XML is streamed: no text run, tag or
// paragraph is held whole when it is large (see xmlSplitter).
func parseDOCX(j *job) error {
	st, err := j.f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(j.f, st.Size())
	if err != nil {
		return corrupt(DOCX, err, "it is not a readable ZIP archive (%v)", err)
	}
	if len(zr.File) > j.lim.MaxZipEntries {
		return corrupt(DOCX, nil, "its archive has %d entries, more than the limit of %d", len(zr.File), j.lim.MaxZipEntries)
	}
	var doc, styles *zip.File
	for _, f := range zr.File {
		switch f.Name {
		case "word/document.xml":
			doc = f
		case "word/styles.xml":
			styles = f
		}
	}
	if doc == nil {
		return corrupt(DOCX, nil, "its archive has no word/document.xml")
	}
	lr := &limitedReader{left: j.lim.MaxDecompressed}
	levels := docxStyles(j, styles, lr)
	b := &blocks{j: j}
	var para strings.Builder
	inText := false
	level := 0   // of the current paragraph's heading style, or docxTitle, or 0 for body text
	changes := 0 // depth in w:pPrChange, a tracked change's former properties
	emit := func() error {
		text, l := para.String(), level
		para.Reset()
		level = 0 // the rest of a heading too long to hold is body text
		switch l {
		case 0:
			return b.add(text)
		case docxTitle:
			return b.addTitle(text)
		}
		return b.heading(l, text)
	}
	err = docxXML(j, doc, lr, func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "t", "delText":
				inText = t.Name.Local == "t"
			case "tab":
				para.WriteByte('\t')
			case "br", "cr":
				para.WriteByte('\n')
			case "pPrChange":
				changes++
			case "pStyle":
				if changes == 0 {
					level = levels.level(xmlAttr(t, "val"))
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "pPrChange":
				changes--
			case "p":
				return emit()
			}
		case xml.CharData:
			if !inText {
				break
			}
			para.Write(t)
			if para.Len() >= j.lim.MaxSegment { // a paragraph too long to hold: pass on what it has so far
				return emit()
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := emit(); err != nil {
		return err
	}
	return b.flush()
}

// docxXML streams the XML tokens of f, one part of a DOCX archive, to fn
// through lr, which counts the bytes inflated against MaxDecompressed and
// may be shared with the archive's other parts. It stops at fn's first
// error and returns it.
func docxXML(j *job, f *zip.File, lr *limitedReader, fn func(xml.Token) error) error {
	rc, err := f.Open()
	if err != nil {
		return corrupt(DOCX, err, "%s cannot be opened (%v)", f.Name, err)
	}
	defer rc.Close()
	lr.r = rc
	dec := xml.NewDecoder(newXMLSplitter(lr))
	depth := 0
	for {
		tok, err := dec.Token()
		switch {
		case err == nil:
		case lr.over:
			return tooLarge(DOCX, j.lim.MaxDecompressed)
		case errors.Is(err, errXMLMarkup):
			return corrupt(DOCX, err, "in %s, %v", f.Name, err)
		case errors.Is(err, io.EOF):
			return nil
		default:
			return corrupt(DOCX, err, "%s is not well-formed XML (%v)", f.Name, err)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth++; depth > docxMaxDepth {
				return corrupt(DOCX, nil, "%s nests elements more than %d deep", f.Name, docxMaxDepth)
			}
			j.check()
		case xml.EndElement:
			depth--
		}
		if err := fn(tok); err != nil {
			return err
		}
	}
}

// docxMaxDepth bounds the nesting of a DOCX part's elements, which the
// XML decoder keeps on a stack (Word nests a few dozen deep).
const docxMaxDepth = 10000

// xmlAttr returns the value of e's attribute named local in any namespace.
func xmlAttr(e xml.StartElement, local string) string {
	for _, a := range e.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// docxTitle is the level docxLevels gives the Title style.
const docxTitle = -1

// docxLevels maps a paragraph style's id to its heading level, 1 to 9, or
// docxTitle; 0 is body text.
type docxLevels map[string]int

// level returns the heading level of the paragraph style id. A style
// word/styles.xml does not define is taken for a built-in style of Word
// by its id (docxBuiltinLevel): programs other than Word use those ids
// without defining them.
func (l docxLevels) level(id string) int {
	if n, ok := l[id]; ok {
		return n
	}
	return docxBuiltinLevel(id)
}

// docxBuiltinLevel returns the level of Word's built-in heading and title
// styles, by their name ("heading 1", "Title"), which Word keeps in English
// whatever the language of its user interface, or by their English ids
// ("Heading1", "Title"): 1 to 9 for a heading, docxTitle, or 0.
func docxBuiltinLevel(s string) int {
	if strings.EqualFold(s, "title") {
		return docxTitle
	}
	if len(s) < len("heading1") || !strings.EqualFold(s[:len("heading")], "heading") {
		return 0
	}
	if n := strings.TrimPrefix(s[len("heading"):], " "); len(n) == 1 && n[0] >= '1' && n[0] <= '9' {
		return int(n[0] - '0')
	}
	return 0
}

const (
	// docxMaxStyles bounds the paragraph styles read from word/styles.xml
	// (Word's own documents define a few hundred).
	docxMaxStyles = 10000
	// docxMaxStyleID bounds a style id kept in memory (Word limits style
	// names to 253 characters).
	docxMaxStyleID = 255
	// docxMaxBasedOn bounds the chain of styles followed for an inherited
	// outline level; a longer one is taken for a cycle.
	docxMaxBasedOn = 32
)

// docxStyle is what word/styles.xml says of one paragraph style.
type docxStyle struct {
	// level is what the style's name makes it (docxBuiltinLevel), even
	// when its id is localized ("berschrift1" for "heading 1" in a German
	// Word). A name is not inherited.
	level int
	// outline is the style's w:outlineLvl plus one, 1 to 9, or -1 when it
	// says body text, or 0 when the style leaves it to the style it is
	// based on.
	outline int
	basedOn string
}

// docxStyles reads the heading levels of the paragraph styles defined in
// word/styles.xml: a style named "heading 1" to "heading 9" or "Title", or
// with an outline level of its own or inherited from the styles it is
// based on, is a heading of that level. styles may be nil. The styles only
// name headings, so a styles.xml that cannot be read is ignored, apart
// from the bytes it inflated, which count against MaxDecompressed.
func docxStyles(j *job, styles *zip.File, lr *limitedReader) docxLevels {
	if styles == nil {
		return nil
	}
	defs := map[string]docxStyle{}
	var id string
	var cur docxStyle
	err := docxXML(j, styles, lr, func(tok xml.Token) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "style":
				id, cur = "", docxStyle{}
				if typ := xmlAttr(t, "type"); typ == "" || typ == "paragraph" {
					id = xmlAttr(t, "styleId")
				}
			case "name":
				cur.level = docxBuiltinLevel(xmlAttr(t, "val"))
			case "basedOn":
				cur.basedOn = xmlAttr(t, "val")
			case "outlineLvl":
				cur.outline = -1
				if n, err := strconv.Atoi(xmlAttr(t, "val")); err == nil && n >= 0 && n < 9 {
					cur.outline = n + 1
				}
			}
		case xml.EndElement:
			if t.Name.Local == "style" && id != "" && len(id) <= docxMaxStyleID && len(defs) < docxMaxStyles {
				if len(cur.basedOn) > docxMaxStyleID {
					cur.basedOn = ""
				}
				defs[id] = cur
				id = ""
			}
		}
		return nil
	})
	if err != nil {
		return nil
	}
	levels := docxLevels{}
	for id, s := range defs {
		levels[id] = s.level
		if s.level != 0 {
			continue
		}
		ok := true
		for i := 0; ok && i < docxMaxBasedOn; i++ {
			if s.outline != 0 {
				levels[id] = max(s.outline, 0)
				break
			}
			s, ok = defs[s.basedOn]
		}
	}
	return levels
}

// limitedReader reads at most left bytes and records whether r had more.
type limitedReader struct {
	r    io.Reader
	left int64
	over bool
}

// Read implements io.Reader.
func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		l.over = true
		return 0, errors.New("decompression limit reached")
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
