package extract

import (
	"bufio"
	"bytes"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// textReader returns the job's file as UTF-8: a UTF-8 or UTF-16 byte order
// mark is honoured and dropped.
func (j *job) textReader() io.Reader {
	return transform.NewReader(j.f, unicode.BOMOverride(transform.Nop))
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
	// heading. headings[i] is the heading of level i+1 in effect.
	title    string
	headings [6]string
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

// heading adds text, a heading of level 1 to 6, as a paragraph that
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
	b := &blocks{j: j}
	var styles []string // adornment styles by level, from 1
	return paragraphs(lines(j.textReader(), j.lim.MaxSegment), b, func(l, para string) line {
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
