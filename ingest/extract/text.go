package extract

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// textReader returns the job's file as UTF-8. A UTF-8 or UTF-16 byte
// order mark is honoured and dropped; otherwise the file is decoded from
// the charset it declares (the Content-Type's charset, or for HTML a
// <meta> charset), unless that is UTF-8 or Windows-1252 (ISO-8859-1's
// superset, which browsers use for both): those, and files declaring
// nothing, are read as UTF-8 when the file looks like UTF-8 (looksUTF8),
// else as Windows-1252, by far the most common legacy encoding of such
// files.
func (j *job) textReader() (io.Reader, error) {
	label := ""
	if _, params, err := mime.ParseMediaType(j.src.ContentType); err == nil {
		label = params["charset"]
	}
	if label == "" && j.format == HTML {
		head := make([]byte, 1024)
		n, err := io.ReadFull(j.f, head)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, err
		}
		_, label, _ = charset.DetermineEncoding(head[:n], "")
		if _, err := j.f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
	}
	if enc, name := charset.Lookup(label); enc != nil && name != "utf-8" && name != "windows-1252" {
		return transform.NewReader(j.f, unicode.BOMOverride(enc.NewDecoder())), nil
	}
	valid, err := looksUTF8(j.f)
	if err != nil {
		return nil, err
	}
	if _, err := j.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if valid {
		return transform.NewReader(j.f, unicode.BOMOverride(transform.Nop)), nil
	}
	return transform.NewReader(j.f, unicode.BOMOverride(charmap.Windows1252.NewDecoder())), nil
}

// looksUTF8 reports whether r, read to its end in blocks, is UTF-8: valid
// throughout, or with fewer invalid bytes than valid multi-byte
// characters (a UTF-8 file with a stray byte, which is read as UTF-8 with
// that byte replaced, rather than as Windows-1252 mojibake).
func looksUTF8(r io.Reader) (bool, error) {
	buf := make([]byte, 64<<10)
	carry, multi, invalid := 0, 0, 0
	for {
		n, err := r.Read(buf[carry:])
		b := buf[:carry+n]
		cut := len(b) // an incomplete rune at the end waits for the next block
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) && err == nil {
					cut = i
				}
				break
			}
		}
		for _, c := range b[:cut] {
			if c >= 0xC0 {
				multi++ // the start of a multi-byte character, if valid
			}
		}
		if !utf8.Valid(b[:cut]) {
			for rest := b[:cut]; len(rest) > 0; {
				r, size := utf8.DecodeRune(rest)
				if r == utf8.RuneError && size == 1 {
					invalid++
					if rest[0] >= 0xC0 {
						multi--
					}
				}
				rest = rest[size:]
			}
		}
		carry = copy(buf, b[cut:])
		if err == io.EOF {
			return invalid == 0 || multi > invalid, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// lines returns a scanner over r's lines without their line endings. A line
// longer than maxLine comes back in pieces cut at a space or rune boundary,
// so memory stays bounded on files without newlines.
func lines(r io.Reader, maxLine int) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine+utf8.UTFMax)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 && i <= maxLine {
			return i + 1, bytes.TrimSuffix(data[:i], []byte("\r")), nil
		}
		if len(data) > maxLine {
			cut := bytes.LastIndexByte(data[:maxLine], ' ') + 1
			if cut == 0 {
				cut = maxLine
				for cut > 0 && !utf8.RuneStart(data[cut]) {
					cut--
				}
			}
			return cut, data[:cut], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), bytes.TrimSuffix(data, []byte("\r")), nil
		}
		return 0, nil, nil
	})
	return sc
}

// blocks gathers paragraphs into Segments of about MaxSegment bytes,
// separated by blank lines, and keeps the section they are in: a heading
// ends the Segment before it, so that every Segment lies in one section.
type blocks struct {
	j      *job
	page   int
	buf    strings.Builder
	inline func(string) string // rewrites each paragraph, if set

	// title is the document's title: its <title>, else its first level-1
	// heading. headings[i] is the heading of level i+1 in effect, up to
	// DOCX's nine levels.
	title    string
	headings [9]string
	section  string // title and headings as Segment.Section
}

// add appends one paragraph; blank paragraphs are dropped.
func (b *blocks) add(para string) error {
	if b.inline != nil {
		para = b.inline(para)
	}
	para = strings.TrimSpace(strings.ToValidUTF8(para, "\uFFFD"))
	if para == "" {
		return nil
	}
	if b.buf.Len() > 0 {
		b.buf.WriteString("\n\n")
	}
	b.buf.WriteString(para)
	if b.buf.Len() >= b.j.lim.MaxSegment {
		return b.flush()
	}
	return nil
}

// heading adds text, a heading of level 1 to 9, as a paragraph that
// starts a section: it ends the sections of its level and deeper. A
// heading without text is an ordinary paragraph.
func (b *blocks) heading(level int, text string) error {
	name := b.headingName(text)
	if name == "" {
		return b.add(text)
	}
	if err := b.flush(); err != nil {
		return err
	}
	level = min(max(level, 1), len(b.headings))
	b.headings[level-1] = name
	clear(b.headings[level:])
	if level == 1 && b.title == "" {
		b.title = name
	}
	b.setSection()
	return b.add(text)
}

// setTitle makes text the document's title unless it already has one.
func (b *blocks) setTitle(text string) {
	if b.title == "" {
		b.title = b.headingName(text)
		b.setSection()
	}
}

// addTitle adds text, a paragraph that names the document, as a paragraph
// that makes it the document's title unless it already has one; the
// paragraphs before it are not in its section.
func (b *blocks) addTitle(text string) error {
	if b.title == "" && b.headingName(text) != "" {
		if err := b.flush(); err != nil {
			return err
		}
		b.setTitle(text)
	}
	return b.add(text)
}

// setSection joins the title and the headings in effect into b.section,
// outermost first, leaving out a first heading that repeats the title.
func (b *blocks) setSection() {
	parts := []string{}
	if b.title != "" {
		parts = append(parts, b.title)
	}
	for _, h := range b.headings {
		if h != "" && !(len(parts) == 1 && h == b.title) {
			parts = append(parts, h)
		}
	}
	b.section = strings.Join(parts, SectionSeparator)
}

// maxHeading bounds the bytes of one heading in a Section, which is
// repeated with every chunk of its text.
const maxHeading = 120

// headingName is a heading's text as shown in a Section: markup removed,
// on one line, without the pilcrow that documentation generators append
// as a link anchor, at most maxHeading bytes.
func (b *blocks) headingName(text string) string {
	if b.inline != nil {
		text = b.inline(text)
	}
	name := strings.Join(strings.Fields(strings.ToValidUTF8(text, "\uFFFD")), " ")
	name = strings.TrimSpace(strings.TrimRight(name, "¶"))
	if len(name) > maxHeading {
		cut := maxHeading
		for !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "…"
	}
	return name
}

// flush emits what has been gathered.
func (b *blocks) flush() error {
	if b.buf.Len() == 0 {
		return nil
	}
	s := b.buf.String()
	b.buf.Reset()
	b.j.check()
	return b.j.sink.Segment(Segment{Text: s, Page: b.page, Section: b.section})
}

// line is a cleaned line of text and what it is to its paragraph.
type line struct {
	text  string
	kind  lineKind
	level int // of a heading, 1 to 6
}

// lineKind says what a cleaned line is to its paragraph.
type lineKind int

const (
	lineKeep      lineKind = iota // part of the current paragraph
	lineDrop                      // markup with no text
	lineHeading                   // a heading, a paragraph of its own
	lineUnderline                 // underlines the paragraph so far, which is the heading text
)

// paragraphs feeds the lines of sc to b, one paragraph per run of non-blank
// lines; clean rewrites each line, given the paragraph it would join, and
// says what it is.
func paragraphs(sc *bufio.Scanner, b *blocks, clean func(l, para string) line) error {
	var para strings.Builder
	for sc.Scan() {
		ln := clean(sc.Text(), para.String())
		switch ln.kind {
		case lineDrop:
			continue
		case lineUnderline:
			para.Reset()
			if err := b.heading(ln.level, ln.text); err != nil {
				return err
			}
			continue
		case lineHeading:
			if err := b.add(para.String()); err != nil {
				return err
			}
			para.Reset()
			if err := b.heading(ln.level, ln.text); err != nil {
				return err
			}
			continue
		}
		if strings.TrimSpace(ln.text) == "" || para.Len() >= b.j.lim.MaxSegment {
			if err := b.add(para.String()); err != nil {
				return err
			}
			para.Reset()
		}
		if para.Len() > 0 {
			para.WriteByte('\n')
		}
		para.WriteString(strings.TrimRight(ln.text, " \t"))
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := b.add(para.String()); err != nil {
		return err
	}
	return b.flush()
}

// parseText keeps a plain text file's paragraphs, and takes a line
// underlined (or over- and underlined) in the reStructuredText way for a
// heading: an adornment at least as long as the line, after a blank line.
// Levels follow the order in which adornment styles first appear, as in
// reStructuredText.
func parseText(j *job) error {
	r, err := j.textReader()
	if err != nil {
		return err
	}
	b := &blocks{j: j}
	var styles []string // adornment styles by level, from 1
	return paragraphs(lines(r, j.lim.MaxSegment), b, func(l, para string) line {
		c := adornment(l)
		if c == 0 || para == "" {
			return line{text: l}
		}
		style, title := string(c), para
		if over, rest, ok := strings.Cut(para, "\n"); ok {
			if strings.TrimSpace(over) != strings.TrimSpace(l) || strings.Contains(rest, "\n") {
				return line{text: l}
			}
			style, title = "over"+style, rest
		}
		title = strings.TrimSpace(title)
		if title == "" || adornment(title) != 0 || utf8.RuneCountInString(title) > utf8.RuneCountInString(strings.TrimSpace(l)) {
			return line{text: l}
		}
		level := slices.Index(styles, style) + 1
		if level == 0 {
			styles = append(styles, style)
			level = len(styles)
		}
		return line{text: title, kind: lineUnderline, level: level}
	})
}

// adornment returns the character that l, but for trailing white space,
// repeats at least three times, when it is one that reStructuredText
// headings are adorned with; else 0.
func adornment(l string) rune {
	l = strings.TrimRight(l, " \t")
	if len(l) < 3 || !strings.ContainsRune(`=-~^*+#"`, rune(l[0])) || strings.Trim(l, l[:1]) != "" {
		return 0
	}
	return rune(l[0])
}
