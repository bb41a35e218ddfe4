package rag

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// citations turns the citation markers of an answer grounded on numbered
// sources ("[n]" after the text it cites, as the RAG prompt asks and
// ragd-extractive writes) into file_citation annotations, as OpenAI's
// file_search does: the marker, with the spaces before it, is taken out
// of the text, and the annotation's index is where it was, in characters
// (Unicode code points, as OpenAI counts them) of the text without
// markers. A number naming no source, and brackets in code (between
// backticks), stay text. The answer may arrive in pieces split anywhere:
// a piece's tail that may still become a marker is held back until the
// next piece decides it.
type citations struct {
	sources     []FileSearchResult
	text        strings.Builder
	chars       int
	annotations []fileCitation
	held        string
	ticks       int // length of the backtick run at the end of the text
	inline      bool
	fenced      bool
}

// textPiece is a piece of the answer to send: text, or an annotation at
// the end of the text before it.
type textPiece struct {
	text       string
	annotation *fileCitation
	// index is the annotation's position in the list of annotations.
	index int
}

// maxMarkerSpaces bounds the spaces before a marker, so that a run of
// spaces is not held back without end.
const maxMarkerSpaces = 8

// add takes the next piece of the answer and returns what can be sent.
func (c *citations) add(s string) []textPiece {
	buf := c.held + s
	c.held = ""
	var out []textPiece
	start := 0 // of the text not yet in out
	emit := func(end int) {
		if end > start {
			c.write(buf[start:end])
			out = append(out, textPiece{text: buf[start:end]})
		}
	}
	for i := 0; i < len(buf); {
		b := buf[i]
		if b == '`' {
			c.ticks++
			i++
			continue
		}
		c.endTicks()
		if c.inline || c.fenced || (b != ' ' && b != '[') {
			i++
			continue
		}
		switch n, end := c.marker(buf[i:]); {
		case end > 0:
			emit(i)
			a := fileCitation{Type: "file_citation", FileID: c.sources[n-1].FileID, Filename: c.sources[n-1].Filename, Index: c.chars}
			c.annotations = append(c.annotations, a)
			out = append(out, textPiece{annotation: &a, index: len(c.annotations) - 1})
			i += end
			start = i
		case end < 0:
			i++ // not a marker: the space or bracket is text
		default:
			// The rest may still become a marker.
			emit(i)
			c.held = buf[i:]
			return out
		}
	}
	emit(len(buf))
	return out
}

// marker matches a marker at the start of s: spaces, "[", a source's
// number and "]". It returns the number and the marker's length when s
// starts with one, end -1 when it does not, and end 0 when s ends before
// it can tell.
func (c *citations) marker(s string) (n, end int) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	switch {
	case i > maxMarkerSpaces:
		return 0, -1
	case i == len(s):
		return 0, 0
	case s[i] != '[':
		return 0, -1
	}
	j := i + 1
	for j < len(s) && j-i <= 3 && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	switch {
	case j == len(s):
		return 0, 0
	case j == i+1 || s[j] != ']':
		return 0, -1
	}
	n, _ = strconv.Atoi(s[i+1 : j])
	if n < 1 || n > len(c.sources) {
		return 0, -1
	}
	return n, j + 1
}

// endTicks ends a run of backticks, which tell code from text: a run of
// three or more opens or closes a fenced block, a shorter one inline
// code.
func (c *citations) endTicks() {
	switch {
	case c.ticks >= 3 && !c.inline:
		c.fenced = !c.fenced
	case c.ticks > 0 && !c.fenced:
		c.inline = !c.inline
	}
	c.ticks = 0
}

// write appends sent text.
func (c *citations) write(s string) {
	c.text.WriteString(s)
	c.chars += utf8.RuneCountInString(s)
}

// flush returns the text held back at the end of the answer.
func (c *citations) flush() []textPiece {
	if c.held == "" {
		return nil
	}
	s := c.held
	c.held = ""
	c.write(s)
	return []textPiece{{text: s}}
}
