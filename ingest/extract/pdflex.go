package extract

import (
	"bytes"
	"io"
	"strconv"
	"sync"
)

// A content-stream operand: a number, a string or name (bytes), an array,
// or anything else (a dict or boolean), which text extraction never reads.
type operand struct {
	kind byte // 'n' number, 's' string, '/' name, '[' array, '?' other
	num  float64
	str  []byte
	arr  []operand
}

// lexer tokenises a PDF content stream (ISO 32000 7.2 and 8.9.7): it yields
// operators with their operands and skips inline image data.
//
// A stream is read from r through a window of lexWindow bytes, never held
// whole: a content stream can inflate to gigabytes. buf is then the window
// (a CMap is lexed from memory, with r nil), refilled in place. So that a
// refill may overwrite it, the strings and names of the current
// operator's operands are copied out to arena, at most lexArena bytes of
// them (the rest are dropped; a real operator carries a few hundred). A
// token longer than half the window (no real content stream has one) is
// cut at the window's end.
type lexer struct {
	r       io.Reader
	err     error // of r; io.EOF at its end
	buf     []byte
	pos     int
	args    []operand
	maxArgs int // operands kept per operator; 0 means 64, more than any operator takes

	window *[]byte // from lexWindows, holding buf
	arena  []byte  // the current operator's strings and names
}

const (
	// lexWindow is the lexer's window on a streamed content stream.
	lexWindow = 1 << 20
	// lexArena bounds the bytes of strings and names kept for one operator.
	lexArena = 1 << 20
)

// lexWindows recycles windows: a page runs a lexer per content stream and
// per form it draws, and allocating (and zeroing) a fresh megabyte for
// each made extraction half as fast.
var lexWindows = sync.Pool{New: func() any { b := make([]byte, lexWindow); return &b }}

// fill makes at least half a window of bytes available after pos, unless
// the stream ends first.
func (l *lexer) fill() {
	if l.r == nil || l.err != nil || len(l.buf)-l.pos >= lexWindow/2 {
		return
	}
	if l.window == nil {
		l.window = lexWindows.Get().(*[]byte)
	}
	l.buf, l.pos = (*l.window)[:copy(*l.window, l.buf[l.pos:])], 0
	for len(l.buf) < cap(l.buf) && l.err == nil {
		n, err := l.r.Read(l.buf[len(l.buf):cap(l.buf)])
		l.buf = l.buf[:len(l.buf)+n]
		l.err = err
	}
}

// keep returns o with its bytes copied out of the window, when streaming.
func (l *lexer) keep(o operand) operand {
	if l.r == nil || o.kind != 's' && o.kind != '/' {
		return o
	}
	if len(l.arena)+len(o.str) > lexArena {
		o.str = nil
		return o
	}
	start := len(l.arena)
	l.arena = append(l.arena, o.str...)
	o.str = l.arena[start:len(l.arena):len(l.arena)]
	return o
}

// close returns the lexer's window; neither it nor its operands may be
// used after.
func (l *lexer) close() {
	if l.window != nil {
		lexWindows.Put(l.window)
		l.window, l.buf = nil, nil
	}
}

// more reads on when every byte of the window has been used, and reports
// whether there is more to read.
func (l *lexer) more() bool {
	l.fill()
	return l.pos < len(l.buf)
}

// skipSpace skips white space and comments, and reports whether a token
// follows; it leaves at least half a window after pos (or the rest of the
// stream).
func (l *lexer) skipSpace() bool {
	comment := false
	for {
		for ; l.pos < len(l.buf); l.pos++ {
			c := l.buf[l.pos]
			switch {
			case comment:
				comment = c != '\n' && c != '\r'
			case c == '%':
				comment = true
			case !isPDFSpace(c):
				l.fill()
				return true
			}
		}
		if !l.more() {
			return false
		}
	}
}

// seek moves past the next occurrence of sep and reports whether there was one.
func (l *lexer) seek(sep []byte) bool {
	for {
		if i := bytes.Index(l.buf[l.pos:], sep); i >= 0 {
			l.pos += i + len(sep)
			return true
		}
		l.pos = max(l.pos, len(l.buf)-len(sep)+1) // sep may straddle the refill
		if !l.more() {
			l.pos = len(l.buf)
			return false
		}
	}
}

func isPDFSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// next returns the next operator, with its operands in l.args, and false at
// the end of the stream.
func (l *lexer) next() (string, bool) {
	l.args, l.arena = l.args[:0], l.arena[:0]
	for {
		o, op, ok := l.token(0)
		if !ok {
			return "", false
		}
		if op == "" {
			if len(l.args) < max(l.maxArgs, 64) {
				l.args = append(l.args, l.keep(o))
			}
			continue
		}
		if op == "BI" {
			l.skipInlineImage()
			l.args = l.args[:0]
			continue
		}
		return op, true
	}
}

// token reads one operand, or one operator when op != "".
func (l *lexer) token(depth int) (o operand, op string, ok bool) {
	if !l.skipSpace() {
		return o, "", false
	}
	b := l.buf
	start := l.pos
	switch c := b[l.pos]; {
	case c == '(':
		return operand{kind: 's', str: l.literal()}, "", true
	case c == '<' && l.pos+1 < len(b) && b[l.pos+1] == '<':
		l.pos += 2
		l.skipDict(depth)
		return operand{kind: '?'}, "", true
	case c == '<':
		return operand{kind: 's', str: l.hex()}, "", true
	case c == '[':
		l.pos++
		var arr []operand
		for {
			if !l.skipSpace() {
				break
			}
			if l.buf[l.pos] == ']' {
				l.pos++
				break
			}
			if depth > 32 {
				l.pos++
				continue
			}
			e, eop, ok := l.token(depth + 1)
			if !ok {
				break
			}
			if eop == "" && len(arr) < 1<<16 {
				arr = append(arr, l.keep(e))
			}
		}
		return operand{kind: '[', arr: arr}, "", true
	case c == '/':
		l.pos++
		for l.pos < len(b) && !isPDFSpace(b[l.pos]) && !isPDFDelim(b[l.pos]) {
			l.pos++
		}
		return operand{kind: '/', str: b[start+1 : l.pos]}, "", true
	case c == ')' || c == '>' || c == ']' || c == '{' || c == '}':
		l.pos++ // stray delimiter
		return operand{kind: '?'}, "", true
	case c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9':
		for l.pos < len(b) && !isPDFSpace(b[l.pos]) && !isPDFDelim(b[l.pos]) {
			l.pos++
		}
		f, err := strconv.ParseFloat(string(b[start:l.pos]), 64)
		if err != nil {
			return operand{kind: '?'}, "", true
		}
		return operand{kind: 'n', num: f}, "", true
	}
	for l.pos < len(b) && !isPDFSpace(b[l.pos]) && !isPDFDelim(b[l.pos]) {
		l.pos++
	}
	word := string(b[start:l.pos])
	switch word {
	case "true", "false", "null":
		return operand{kind: '?'}, "", true
	}
	return o, word, true
}

// skipDict skips to the end of a dictionary whose "<<" has been read.
func (l *lexer) skipDict(depth int) {
	for l.skipSpace() {
		if bytes.HasPrefix(l.buf[l.pos:], []byte(">>")) {
			l.pos += 2
			return
		}
		if depth > 32 {
			l.pos++
			continue
		}
		if _, _, ok := l.token(depth + 1); !ok {
			return
		}
	}
}

// literal reads a (string) with its escapes and balanced parentheses.
func (l *lexer) literal() []byte {
	b := l.buf
	l.pos++ // (
	start := l.pos
	depth := 1
	escaped := false
	for i := l.pos; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				l.pos = i + 1
				if !escaped {
					return b[start:i]
				}
				return unescapeLiteral(b[start:i])
			}
		}
	}
	l.pos = len(b)
	return unescapeLiteral(b[start:])
}

func unescapeLiteral(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			out = append(out, c)
			continue
		}
		i++
		switch c = s[i]; c {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
		case '\n':
		default:
			if c >= '0' && c <= '7' {
				v := 0
				for k := 0; k < 3 && i < len(s) && s[i] >= '0' && s[i] <= '7'; k++ {
					v = v*8 + int(s[i]-'0')
					i++
				}
				i--
				out = append(out, byte(v))
				continue
			}
			out = append(out, c)
		}
	}
	return out
}

// hex reads a <hex string>.
func (l *lexer) hex() []byte {
	b := l.buf
	l.pos++ // <
	var out []byte
	var hi byte
	half := false
	for ; l.pos < len(b); l.pos++ {
		c := b[l.pos]
		if c == '>' {
			l.pos++
			break
		}
		v, ok := unhex(c)
		if !ok {
			continue
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// skipInlineImage skips an inline image's dictionary and data, up to and
// including its EI operator.
func (l *lexer) skipInlineImage() {
	if !l.seek([]byte("ID")) {
		return
	}
	l.pos = min(l.pos+1, len(l.buf))
	for l.seek([]byte("EI")) {
		at := l.pos - 2
		spaceBefore := at > 0 && isPDFSpace(l.buf[at-1])
		if !l.more() || spaceBefore && isPDFSpace(l.buf[l.pos]) {
			return
		}
	}
}
