package uselite

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// reservedPieces is how many leading vocabulary entries (unknown, <s>, </s>
// and three extra ids) never match text.
const reservedPieces = 6

// unknownID is the id of pieces that match no vocabulary entry.
const unknownID = 0

// separator replaces spaces and starts every non-empty input.
const separator = "\u2581"

// pieceRef is what a vocabulary string maps to: its score and id.
type pieceRef struct {
	score float64
	id    int32
}

// tokenizer is the SentencePiece unigram tokenizer exactly as
// @energetic-ai/embeddings@0.2.0 (the TF.js USE-lite tokenizer) implements
// it: NFKC, "▁" before the text and for every space, a Viterbi pass over
// piece scores in which an unknown code point is its own piece of score 0,
// and runs of unknown pieces merged into one. Its quirks are kept on
// purpose, for parity: a position's best score of exactly 0 counts as "not
// set yet", ties go to the later candidate, and the backtrack steps back
// by each piece's length in UTF-16 code units.
type tokenizer struct {
	pieces map[string]pieceRef
	// maxRunes is the longest vocabulary piece in code points.
	maxRunes int
	// backLen is, per id, how far the backtrack steps back over that piece.
	backLen []int
}

// newTokenizer indexes vocab. Like the reference trie, a piece listed twice
// takes the score and id of its last entry.
func newTokenizer(vocab []piece) *tokenizer {
	t := &tokenizer{pieces: make(map[string]pieceRef, len(vocab)), backLen: make([]int, len(vocab))}
	for i, p := range vocab {
		t.backLen[i] = len(utf16.Encode([]rune(p.text)))
		if i < reservedPieces {
			continue
		}
		t.pieces[p.text] = pieceRef{score: p.score, id: int32(i)}
		t.maxRunes = max(t.maxRunes, utf8.RuneCountInString(p.text))
	}
	return t
}

// tokScratch holds the per-call buffers of encode, reused across calls.
type tokScratch struct {
	offs  []int // byte offset of each code point, plus the end
	best  []float64
	words []int32
}

// normalize applies the reference's input processing: NFKC, then "▁" in
// front and in place of every space (U+0020 only).
func normalize(text string) string {
	s := norm.NFKC.String(strings.ToValidUTF8(text, "\uFFFD"))
	if s == "" {
		return s
	}
	return separator + strings.ReplaceAll(s, " ", separator)
}

// encode appends the piece ids of text to dst and returns it.
func (t *tokenizer) encode(dst []int32, text string, sc *tokScratch) []int32 {
	s := normalize(text)
	sc.offs = sc.offs[:0]
	for i := range s {
		sc.offs = append(sc.offs, i)
	}
	n := len(sc.offs)
	sc.offs = append(sc.offs, len(s))
	sc.best = resize(sc.best, n+1)
	sc.words = resize(sc.words, n+1)
	best, words, offs := sc.best, sc.words, sc.offs
	clear(best)
	clear(words)

	// relax offers the candidate piece (start, end) to position end. Every
	// position's best is final before its outgoing pieces are offered, and
	// for a fixed end the candidates arrive by ascending start, the order
	// in which the reference visits them.
	relax := func(start, end int, score float64, id int32) {
		total := score + best[start]
		if best[end] == 0 || total >= best[end] {
			best[end] = total
			words[end] = id
		}
	}
	for start := 0; start < n; start++ {
		matched := false
		for end := start + 1; end <= n && end-start <= t.maxRunes; end++ {
			if p, ok := t.pieces[s[offs[start]:offs[end]]]; ok {
				relax(start, end, p.score, p.id)
				matched = true
			}
		}
		if !matched {
			relax(start, start+1, 0, unknownID)
		}
	}

	// Backtrack from the end, then merge runs of unknown pieces. Both are
	// done on the reversed sequence, as in the reference.
	first := len(dst)
	prevUnknown := false
	for i := n; i > 0; i -= t.backLen[words[i]] {
		id := words[i]
		if !(prevUnknown && id == unknownID) {
			dst = append(dst, id)
		}
		prevUnknown = id == unknownID
	}
	rev := dst[first:]
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return dst
}

// resize returns s with length n, reallocating only when it is too short.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
