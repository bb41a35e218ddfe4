package extract

import (
	"bufio"
	"bytes"
	"io"
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
// separated by blank lines.
type blocks struct {
	j      *job
	page   int
	buf    strings.Builder
	inline func(string) string // rewrites each paragraph, if set
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

// flush emits what has been gathered.
func (b *blocks) flush() error {
	if b.buf.Len() == 0 {
		return nil
	}
	s := b.buf.String()
	b.buf.Reset()
	b.j.check()
	return b.j.sink.Segment(Segment{Text: s, Page: b.page})
}

// lineKind says what a cleaned line is to its paragraph.
type lineKind int

const (
	lineKeep  lineKind = iota // part of the current paragraph
	lineDrop                  // markup with no text
	lineBlock                 // a paragraph of its own, such as a heading
)

// paragraphs feeds the lines of sc to b, one paragraph per run of non-blank
// lines; clean rewrites each line and says what it is.
func paragraphs(sc *bufio.Scanner, b *blocks, clean func(line string) (string, lineKind)) error {
	var para strings.Builder
	for sc.Scan() {
		line, kind := clean(sc.Text())
		if kind == lineDrop {
			continue
		}
		if kind == lineBlock || strings.TrimSpace(line) == "" || para.Len() >= b.j.lim.MaxSegment {
			if err := b.add(para.String()); err != nil {
				return err
			}
			para.Reset()
		}
		if para.Len() > 0 {
			para.WriteByte('\n')
		}
		para.WriteString(strings.TrimRight(line, " \t"))
		if kind == lineBlock {
			if err := b.add(para.String()); err != nil {
				return err
			}
			para.Reset()
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := b.add(para.String()); err != nil {
		return err
	}
	return b.flush()
}

func parseText(j *job) error {
	b := &blocks{j: j}
	return paragraphs(lines(j.textReader(), j.lim.MaxSegment), b, func(l string) (string, lineKind) { return l, lineKeep })
}
