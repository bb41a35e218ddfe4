package tokenize

import (
	"math"
	"unicode"
	"unicode/utf8"
)

// native is a cl100k_base encoder written for speed: a hand-written
// scanner that splits text into the same pieces as cl100k_base's
// pre-tokenizing regular expression
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// followed by byte-pair merging with the encoding's ranks. It works on
// bytes, so the tokens of any string (even invalid UTF-8, whose bad bytes
// count as punctuation) decode back to exactly its bytes, which is what
// byte offsets need. It agrees with tiktoken on every piece shorter than
// maxPiece bytes (checked against tiktoken-go by FuzzNativeMatchesTiktoken);
// longer pieces, which only degenerate text has, are cut every maxPiece
// bytes to keep merging linear in the text length.
type native struct {
	ranks   map[string]int
	decoder []string // token id -> bytes
}

// maxPiece bounds a piece's length in bytes; see native.
const maxPiece = 512

func newNative(ranks map[string]int) *native {
	n := &native{ranks: ranks}
	maxRank := 0
	for _, r := range ranks {
		maxRank = max(maxRank, r)
	}
	n.decoder = make([]string, maxRank+1)
	for s, r := range ranks {
		n.decoder[r] = s
	}
	return n
}

// Character classes of the pre-tokenizer.
const (
	clsOther   = iota // [^\s\p{L}\p{N}], including invalid bytes
	clsLetter         // \p{L}
	clsNumber         // \p{N}
	clsSpace          // \s other than \r and \n
	clsNewline        // \r or \n
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		t[c] = classOfRune(rune(c))
	}
	return t
}()

func classOfRune(r rune) uint8 {
	switch {
	case r == '\r' || r == '\n':
		return clsNewline
	case unicode.IsSpace(r):
		return clsSpace
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	}
	return clsOther
}

// class returns the class and byte length of the character at s[i].
func class(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n == 1 {
		return clsOther, 1
	}
	return classOfRune(r), n
}

func lowerASCII(c byte) byte { return c | 0x20 }

// nextPiece returns the end of the piece starting at s[i] (i < len(s)).
// When eof is false, s may continue, and ok is false if more text could
// change the piece.
func nextPiece(s string, i int, eof bool) (end int, ok bool) {
	limit := min(len(s), i+maxPiece)
	// more reports whether reaching j (== limit) leaves the piece open.
	more := func(j int) bool { return j == len(s) && !eof && j < i+maxPiece }
	// run scans characters of the given classes from j.
	run := func(j int, match func(uint8) bool) (int, bool) {
		for j < limit {
			c, n := class(s, j)
			if !match(c) {
				return j, true
			}
			j += n
		}
		return j, !more(j)
	}
	isLetter := func(c uint8) bool { return c == clsLetter }

	// 's 't 're 've 'm 'll 'd, case-insensitively.
	if s[i] == '\'' {
		if i+1 == len(s) && !eof {
			return 0, false
		}
		if i+1 < len(s) {
			switch lowerASCII(s[i+1]) {
			case 's', 't', 'm', 'd':
				return i + 2, true
			case 'r', 'v', 'l':
				if i+2 == len(s) && !eof {
					return 0, false
				}
				if i+2 < len(s) {
					a, b := lowerASCII(s[i+1]), lowerASCII(s[i+2])
					if b == 'e' && (a == 'r' || a == 'v') || a == 'l' && b == 'l' {
						return i + 3, true
					}
				}
			}
		}
	}

	c0, n0 := class(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c0 == clsLetter {
		return run(i+n0, isLetter)
	}
	if c0 == clsOther || c0 == clsSpace {
		j := i + n0
		if j == len(s) && !eof {
			return 0, false
		}
		if j < len(s) {
			if c1, n1 := class(s, j); c1 == clsLetter {
				return run(j+n1, isLetter)
			}
		}
	}
	// \p{N}{1,3}
	if c0 == clsNumber {
		j := i + n0
		for k := 0; k < 2; k++ {
			if j == len(s) {
				return j, eof
			}
			c, n := class(s, j)
			if c != clsNumber {
				break
			}
			j += n
		}
		return j, true
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	j := i
	if s[i] == ' ' {
		if i+1 == len(s) && !eof {
			return 0, false
		}
		if i+1 < len(s) {
			if c1, _ := class(s, i+1); c1 == clsOther {
				j = i + 1
			}
		}
	}
	if c, _ := class(s, j); c == clsOther {
		j, ok := run(j, func(c uint8) bool { return c == clsOther })
		if !ok {
			return 0, false
		}
		return run(j, func(c uint8) bool { return c == clsNewline })
	}
	// Whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
	k, lastNL, lastStart := i, -1, i
	for k < limit {
		c, n := class(s, k)
		if c != clsSpace && c != clsNewline {
			break
		}
		if c == clsNewline {
			lastNL = k
		}
		lastStart = k
		k += n
	}
	if more(k) {
		return 0, false
	}
	switch {
	case lastNL >= 0:
		return lastNL + 1, true
	case k >= limit:
		// At the end of the text, or cut at maxPiece.
		return k, true
	case lastStart > i:
		// Leave the last space to the next piece (" word").
		return lastStart, true
	}
	return k, true
}

// scan tokenizes the pieces of text that later text cannot change (all of
// it when eof) and calls fn for each token; it returns the bytes consumed.
func (n *native) scan(text string, eof bool, fn func(tok, size int, pieceStart bool)) int {
	if !eof {
		text = trimPartialRune(text)
	}
	i := 0
	for i < len(text) {
		end, ok := nextPiece(text, i, eof)
		if !ok {
			break
		}
		n.encodePiece(text[i:end], fn)
		i = end
	}
	return i
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of s,
// whose next bytes may arrive with the next segment.
func trimPartialRune(s string) string {
	for k := 1; k < utf8.UTFMax && k <= len(s); k++ {
		c := s[len(s)-k]
		if c < utf8.RuneSelf {
			return s
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRuneInString(s[len(s)-k:]) {
				return s[:len(s)-k]
			}
			return s
		}
	}
	return s
}

// encodePiece calls fn for each token of one piece.
func (n *native) encodePiece(piece string, fn func(tok, size int, pieceStart bool)) {
	if tok, ok := n.ranks[piece]; ok {
		fn(tok, len(piece), true)
		return
	}
	// Byte-pair merging: bounds[k] is where part k starts; repeatedly merge
	// the adjacent pair whose joined bytes have the lowest rank.
	var stack [64]int
	bounds := stack[:0]
	for k := 0; k <= len(piece); k++ {
		bounds = append(bounds, k)
	}
	var rstack [64]int
	ranks := rstack[:0]
	rank := func(k int) int { // rank of parts k and k+1 joined
		if k+2 >= len(bounds) {
			return math.MaxInt
		}
		if r, ok := n.ranks[piece[bounds[k]:bounds[k+2]]]; ok {
			return r
		}
		return math.MaxInt
	}
	for k := 0; k < len(bounds)-1; k++ {
		ranks = append(ranks, rank(k))
	}
	for len(bounds) > 2 {
		best, at := math.MaxInt, -1
		for k, r := range ranks[:len(bounds)-2] {
			if r < best {
				best, at = r, k
			}
		}
		if at < 0 {
			break
		}
		bounds = append(bounds[:at+1], bounds[at+2:]...)
		ranks = append(ranks[:at+1], ranks[at+2:]...)
		ranks[at] = rank(at)
		if at > 0 {
			ranks[at-1] = rank(at - 1)
		}
	}
	for k := 0; k+1 < len(bounds); k++ {
		part := piece[bounds[k]:bounds[k+1]]
		fn(n.ranks[part], len(part), k == 0)
	}
}
