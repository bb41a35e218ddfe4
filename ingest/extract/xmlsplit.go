package extract

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// encoding/xml returns a run of character data as one token, and a tag,
// comment or processing instruction as one token, each held whole in
// memory: one <w:t> of a DOCX holding 1 GiB of text cost 1.2 GB. The
// xmlSplitter sits between the decompressor and the decoder and keeps
// every token small without changing the document's text: a long text run
// is cut by an empty processing instruction (which the parsers ignore), a
// long CDATA section is closed and reopened around one, and a tag,
// comment, declaration or processing instruction longer than xmlMaxMarkup
// is an error, as is a run with no place to cut (a CDATA section of only
// ']', an entity reference that never ends).

const (
	// xmlMaxRun is the longest run of character data passed on uncut.
	xmlMaxRun = 32 << 10
	// xmlMaxMarkup is the longest tag, comment or declaration accepted.
	xmlMaxMarkup = 1 << 20
)

var (
	xmlCut      = []byte("<?ragd-split?>")
	xmlCutCDATA = []byte("]]><?ragd-split?><![CDATA[")
)

// xmlState is where the splitter is in the document.
type xmlState int

const (
	xmlText    xmlState = iota // character data
	xmlMarkup                  // after '<', kind not yet known
	xmlTag                     // a start or end tag
	xmlQuoted                  // an attribute value inside a tag
	xmlPI                      // <? ... ?>
	xmlComment                 // <!-- ... -->
	xmlCDATA                   // <![CDATA[ ... ]]>
	xmlDecl                    // <!DOCTYPE ...> and other declarations
)

// xmlSplitter is an io.Reader over r that keeps XML tokens small.
type xmlSplitter struct {
	r     io.Reader
	buf   []byte
	out   []byte // processed bytes
	off   int    // of the first byte of out not yet read
	err   error
	state xmlState
	quote byte
	head  []byte // the first bytes of the current markup
	n     int    // length of the current text run or markup
	amp   bool   // inside an entity reference (&...;)
	last  [2]byte
}

func newXMLSplitter(r io.Reader) *xmlSplitter {
	return &xmlSplitter{r: r, buf: make([]byte, 32<<10)}
}

// errXMLMarkup is returned for markup longer than xmlMaxMarkup.
var errXMLMarkup = fmt.Errorf("a tag, comment or declaration is longer than %d bytes", xmlMaxMarkup)

// Read implements io.Reader.
func (s *xmlSplitter) Read(p []byte) (int, error) {
	for s.off == len(s.out) {
		if s.err != nil {
			return 0, s.err
		}
		n, err := s.r.Read(s.buf)
		s.out, s.off = s.out[:0], 0
		if perr := s.process(s.buf[:n]); perr != nil {
			err = perr
		}
		s.err = err
	}
	n := copy(p, s.out[s.off:])
	s.off += n
	return n, nil
}

// process passes b on to s.out, cutting long runs; it stops at the first
// markup that is too long.
func (s *xmlSplitter) process(b []byte) error {
	for _, c := range b {
		switch s.state {
		case xmlText:
			if c == '<' {
				s.state, s.n, s.amp, s.head = xmlMarkup, 0, false, s.head[:0]
				break
			}
			if s.n >= xmlMaxRun && !s.amp && utf8.RuneStart(c) {
				s.out = append(s.out, xmlCut...)
				s.n = 0
			}
			switch c {
			case '&':
				s.amp = true
			case ';':
				s.amp = false
			}
		case xmlCDATA:
			// No cut inside the closing "]]>": not before its '>', nor
			// between its two brackets.
			if s.n >= xmlMaxRun && utf8.RuneStart(c) && c != '>' && (c != ']' || s.last[1] != ']') {
				s.out = append(s.out, xmlCutCDATA...)
				s.n = 0
			}
			if c == '>' && s.last == [2]byte{']', ']'} {
				s.state, s.n = xmlText, 0
			}
		case xmlMarkup:
			if len(s.head) < 9 {
				s.head = append(s.head, c)
			}
			switch {
			case len(s.head) == 1 && c == '?':
				s.state = xmlPI
			case len(s.head) == 1 && c != '!':
				s.state = xmlTag
				s.markupByte(c)
			case bytes.Equal(s.head, []byte("!--")):
				s.state = xmlComment
			case bytes.Equal(s.head, []byte("![CDATA[")):
				s.state, s.n = xmlCDATA, 0
			case len(s.head) >= 3 && !bytes.HasPrefix([]byte("![CDATA["), s.head) && !bytes.HasPrefix([]byte("!--"), s.head):
				s.state = xmlDecl
				s.markupByte(c)
			}
		case xmlTag, xmlDecl:
			s.markupByte(c)
		case xmlQuoted:
			if c == s.quote {
				s.state = xmlTag
			}
		case xmlPI:
			if c == '>' && s.last[1] == '?' {
				s.state, s.n = xmlText, 0
			}
		case xmlComment:
			if c == '>' && s.last == [2]byte{'-', '-'} {
				s.state, s.n = xmlText, 0
			}
		}
		s.n++
		if s.n > xmlMaxMarkup { // markup, or a run that found no place to cut
			return errXMLMarkup
		}
		s.last = [2]byte{s.last[1], c}
		s.out = append(s.out, c)
	}
	return nil
}

// markupByte follows a tag or declaration: quoted values, and '>' at the end.
func (s *xmlSplitter) markupByte(c byte) {
	switch {
	case c == '"' || c == '\'':
		if s.state == xmlTag {
			s.state, s.quote = xmlQuoted, c
		}
	case c == '>':
		s.state, s.n = xmlText, -1 // the '>' itself is not text
	}
}
