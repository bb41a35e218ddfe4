package extract

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// parseDOCX reads the paragraphs of a Word document's main part
// (word/document.xml), tabs and line breaks included, one block per
// paragraph. The archive is bounded by MaxZipEntries and by
// MaxDecompressed, counted on the bytes really inflated rather than on the
// sizes the archive claims. The XML is streamed: no text run, tag or
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
	var doc *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			doc = f
		}
	}
	if doc == nil {
		return corrupt(DOCX, nil, "its archive has no word/document.xml")
	}
	rc, err := doc.Open()
	if err != nil {
		return corrupt(DOCX, err, "word/document.xml cannot be opened (%v)", err)
	}
	defer rc.Close()
	lr := &limitedReader{r: rc, left: j.lim.MaxDecompressed}
	b := &blocks{j: j}
	dec := xml.NewDecoder(newXMLSplitter(lr))
	var para strings.Builder
	inText := false
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if lr.over {
				return tooLarge(DOCX, j.lim.MaxDecompressed)
			}
			if errors.Is(err, errXMLMarkup) {
				return corrupt(DOCX, err, "in word/document.xml, %v", err)
			}
			if errors.Is(err, io.EOF) {
				if err := b.add(para.String()); err != nil {
					return err
				}
				return b.flush()
			}
			return corrupt(DOCX, err, "word/document.xml is not well-formed XML (%v)", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth++; depth > docxMaxDepth {
				return corrupt(DOCX, nil, "word/document.xml nests elements more than %d deep", docxMaxDepth)
			}
			switch t.Name.Local {
			case "t", "delText":
				inText = t.Name.Local == "t"
			case "tab":
				para.WriteByte('\t')
			case "br", "cr":
				para.WriteByte('\n')
			}
		case xml.EndElement:
			depth--
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				if err := b.add(para.String()); err != nil {
					return err
				}
				para.Reset()
			}
		case xml.CharData:
			if !inText {
				break
			}
			para.Write(t)
			if para.Len() >= j.lim.MaxSegment { // a paragraph too long to hold: pass on what it has so far
				if err := b.add(para.String()); err != nil {
					return err
				}
				para.Reset()
			}
		}
	}
}

// docxMaxDepth bounds the nesting of word/document.xml's elements, which
// the XML decoder keeps on a stack (Word nests a few dozen deep).
const docxMaxDepth = 10000

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
