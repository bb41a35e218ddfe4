// Package chunk splits a document's text into chunks of at most a given
// number of cl100k_base tokens, preferring to cut at paragraph, then
// sentence, then word, then token boundaries, with overlap between
// neighbours. Where segments carry sections, a section's start ends the
// chunk before it once that chunk holds an eighth of the chunk size (see
// SectionMinTokens), so that a chunk is about one section, and no overlap
// reaches back across it. It
// streams: text goes in as segments (from a parser, page by page or block
// by block) and chunks come out, in order, as soon as they are complete,
// so memory stays bounded whatever the document's size.
package chunk

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/tokenize"
)

// Limits and defaults of Options.
const (
	// MaxLimit is the largest MaxTokens accepted when the caller gives no
	// smaller cap.
	MaxLimit             = 8192
	DefaultMaxTokens     = 512
	DefaultOverlapTokens = 64
)

// Segment is a run of a document's text as a parser produces it. Segments
// are concatenated as they are: a parser that wants a paragraph break
// between them includes it in the text.
type Segment struct {
	Text string
	// Page is the 1-based page the text is on; 0 means unknown.
	Page int
	// Section is where the text is in the document's headings, such as
	// "Title > Installation > On Windows"; empty means none.
	Section string
}

// Chunk is one piece of a document, ready to embed.
type Chunk struct {
	// Index is the chunk's position in the document, from 0.
	Index int
	// Text is exactly the input bytes [Start, End).
	Text string
	// Start and End are byte offsets into the concatenated segment texts.
	Start, End int64
	// Page is the page of the chunk's first non-space byte (0: unknown).
	Page int
	// Section is the section of the chunk's first non-space byte.
	Section string
	// Tokens is the number of cl100k_base tokens of Text.
	Tokens int
}

// Options sets the size of chunks.
type Options struct {
	// MaxTokens bounds each chunk's cl100k_base tokens. Chunks end between
	// characters, so a MaxTokens below 8 can be exceeded where one rare
	// character (with the space before it) takes more tokens than that.
	MaxTokens int
	// OverlapTokens is how many tokens at most a chunk repeats from the end
	// of the previous one; it is less than MaxTokens.
	OverlapTokens int
}

// Validate checks o against limit, the embedding model's input limit in
// tokens (0 or more than MaxLimit means MaxLimit). It returns an EINVALID
// *ragd.Error naming max_tokens or overlap_tokens.
func (o Options) Validate(limit int) error {
	if limit <= 0 || limit > MaxLimit {
		limit = MaxLimit
	}
	if o.MaxTokens < 1 || o.MaxTokens > limit {
		return ragd.Invalid("max_tokens", "max_tokens must be between 1 and %d (the embedding model's input limit), got %d", limit, o.MaxTokens)
	}
	if o.OverlapTokens < 0 || o.OverlapTokens >= o.MaxTokens {
		return ragd.Invalid("overlap_tokens", "overlap_tokens must be at least 0 and less than max_tokens (%d), got %d", o.MaxTokens, o.OverlapTokens)
	}
	return nil
}

// SectionMinTokens is how many tokens a chunk holds before a section's
// start ends it: an eighth of the chunk size (64 of the default 512), so
// that a run of short sections, or a heading with nothing under it,
// shares a chunk rather than making many tiny ones. Measured on the
// document task of the retrieval benchmark (docs/benchmarks.md): every
// search mode gained on both sets; an eighth, a sixteenth and a
// thirty-second ranked alike, a quarter worse.
func (o Options) SectionMinTokens() int { return max(1, o.MaxTokens/8) }

// Boundary priorities: where a chunk may end or begin, best first.
const (
	prioNever     = -1 // inside a UTF-8 character
	prioToken     = 0
	prioWord      = 1 // next to white space, or between ideographs
	prioSentence  = 2
	prioParagraph = 3
	prioSection   = 4 // the first non-space byte of a new section
)

// lookback is how many bytes before a boundary decide its priority.
const lookback = 64

type token struct {
	end  int64 // offset just past the token
	prio int8  // priority of the boundary at the token's start
	// piece: the token starts a pre-tokenizer piece, so a chunk may begin
	// here and re-encode to the same tokens.
	piece bool
	// cleanEnd: also a chunk may end here and re-encode to the same
	// tokens: a piece start not preceded by a space or tab (cutting
	// "a   b" after the spaces merges the pieces "  " and " " into one).
	cleanEnd bool
}

// Chunker turns segments written to it into chunks passed to its emit
// function. It is not safe for concurrent use.
type Chunker struct {
	opts  Options
	enc   *tokenize.Encoding
	emit  func(Chunk) error
	err   error
	index int
	total int64
	// lastEnd is where the last emitted chunk ends.
	lastEnd int64

	// buf holds the scanned text from bufStart on; start is where the
	// current chunk begins (bufStart <= start, with lookback bytes kept
	// before it when there are some).
	buf      []byte
	bufStart int64
	start    int64
	// carry is text written but not yet tokenized.
	carry string
	// sectionScan is how far sectionEnd has looked, in toks, without
	// finding a section start.
	sectionScan int
	// toks are the tokens from start on.
	toks []token
	// marks are the changes of page or section, the first at or before
	// start.
	marks []mark
	// sections are the offsets of the first non-space bytes of sections
	// not yet scanned.
	sections []int64
}

// mark is where a page or a section begins.
type mark struct {
	at      int64
	page    int
	section string
}

// New returns a Chunker with opts, checked against MaxLimit, that calls
// emit with each chunk in order. An error from emit stops the Chunker and
// is returned by Write or Close.
func New(opts Options, emit func(Chunk) error) (*Chunker, error) {
	if err := opts.Validate(MaxLimit); err != nil {
		return nil, err
	}
	return &Chunker{opts: opts, enc: tokenize.MustGet(tokenize.CL100K), emit: emit}, nil
}

// Split chunks a text held in memory, such as an item's content.
func Split(text string, opts Options) ([]Chunk, error) {
	var out []Chunk
	c, err := New(opts, func(ch Chunk) error { out = append(out, ch); return nil })
	if err != nil {
		return nil, err
	}
	if err := c.Write(Segment{Text: text}); err != nil {
		return nil, err
	}
	return out, c.Close()
}

// Tokens returns the number of tokens of the text written so far, each
// counted once (overlaps are not counted twice).
func (c *Chunker) Tokens() int64 { return c.total }

// Write adds a segment and emits the chunks it completes.
func (c *Chunker) Write(seg Segment) error {
	if c.err != nil {
		return c.err
	}
	at := c.bufStart + int64(len(c.buf)) + int64(len(c.carry))
	n := len(c.marks)
	if n == 0 || c.marks[n-1].page != seg.Page || c.marks[n-1].section != seg.Section {
		c.marks = append(c.marks, mark{at: at, page: seg.Page, section: seg.Section})
	}
	if lead := len(seg.Text) - len(strings.TrimLeftFunc(seg.Text, unicode.IsSpace)); n > 0 && c.marks[n-1].section != seg.Section && lead < len(seg.Text) {
		c.sections = append(c.sections, at+int64(lead))
	}
	c.carry += seg.Text
	// Tokenize a window at a time so that a huge segment never has all its
	// tokens in memory at once.
	for c.err == nil && c.scan(false) > 0 {
		c.cut(false)
	}
	return c.err
}

// window is how much carried text one scan tokenizes.
const window = 64 << 10

// Close emits the last chunks. The Chunker cannot be used afterwards.
func (c *Chunker) Close() error {
	if c.err != nil {
		return c.err
	}
	c.scan(true)
	c.cut(true)
	if c.err == nil {
		c.err = errClosed
	}
	if c.err == errClosed {
		return nil
	}
	return c.err
}

var errClosed = ragd.Errorf(ragd.EINTERNAL, "chunker used after Close")

// scan tokenizes up to a window of the carried text (all of it when eof),
// appends its tokens and returns the bytes consumed.
func (c *Chunker) scan(eof bool) int {
	first := len(c.toks)
	end := c.bufStart + int64(len(c.buf))
	text := c.carry
	if !eof && len(text) > window {
		text = text[:window]
	}
	n := c.enc.Scan(text, eof, func(_, size int, pieceStart bool) {
		end += int64(size)
		c.toks = append(c.toks, token{end: end, piece: pieceStart})
	})
	c.buf = append(c.buf, c.carry[:n]...)
	c.carry = c.carry[n:]
	c.total += int64(len(c.toks) - first)
	for i := first; i < len(c.toks); i++ {
		t := &c.toks[i]
		var hspace bool
		start := c.tokStart(i)
		t.prio, hspace = c.priority(start)
		t.cleanEnd = t.piece && !hspace
		for len(c.sections) > 0 && c.sections[0] <= start {
			if c.sections[0] == start && t.prio >= prioWord {
				t.prio = prioSection
			}
			c.sections = c.sections[1:]
		}
	}
	return n
}

func (c *Chunker) tokStart(i int) int64 {
	if i == 0 {
		return c.start
	}
	return c.toks[i-1].end
}

// priority ranks the boundary at offset p as a place to cut, and reports
// whether a space or tab (white space other than a line end) precedes it.
// A boundary after indentation or a second space ranks at most as a word
// boundary, so that paragraphs and sentences end before such runs.
func (c *Chunker) priority(p int64) (prio int8, hspace bool) {
	i := int(p - c.bufStart)
	lo := max(0, i-lookback)
	// Inside a well-formed UTF-8 sequence?
	for q := i - 1; q >= max(lo, i-utf8.UTFMax+1); q-- {
		if utf8.RuneStart(c.buf[q]) {
			if r, size := utf8.DecodeRune(c.buf[q:]); !(r == utf8.RuneError && size == 1) && q+size > i {
				return prioNever, false
			}
			break
		}
	}
	after, _ := utf8.DecodeRune(c.buf[i:])
	before := c.buf[lo:i] // sub-slices below, to allocate nothing per token
	trimmed := bytes.TrimRightFunc(before, unicode.IsSpace)
	space := before[len(trimmed):]
	lastSpace, _ := utf8.DecodeLastRune(space)
	hspace = len(space) > 0 && lastSpace != '\n' && lastSpace != '\r'
	last, _ := utf8.DecodeLastRune(trimClosers(trimmed))
	prev, _ := utf8.DecodeLastRune(trimmed)
	switch {
	case hspace && len(space) > 1:
		return prioWord, true
	case bytes.Count(space, newline) >= 2:
		return prioParagraph, hspace
	case last == '。' || last == '！' || last == '？':
		return prioSentence, hspace
	case (last == '.' || last == '!' || last == '?') && (len(space) > 0 || unicode.IsSpace(after)):
		return prioSentence, hspace
	case len(space) > 0 || unicode.IsSpace(after) || unspaced(prev) || unspaced(after):
		return prioWord, hspace
	}
	return prioToken, hspace
}

// trimClosers drops the quotes and brackets that may follow a sentence's
// final punctuation.
func trimClosers(b []byte) []byte {
	for len(b) > 0 {
		r, n := utf8.DecodeLastRune(b)
		switch r {
		case '"', '\'', ')', ']', '}', '»', '’', '”', '」', '』', '）':
			b = b[:len(b)-n]
		default:
			return b
		}
	}
	return b
}

var newline = []byte{'\n'}

// unspaced reports whether r belongs to a script written without spaces
// between words, where any character boundary is a word boundary.
func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai)
}

// cut emits chunks while enough tokens are known to place the next cut,
// and all the rest when eof.
func (c *Chunker) cut(eof bool) {
	max := c.opts.MaxTokens
	for c.err == nil && len(c.toks) > 0 {
		at := c.sectionEnd()
		e := at
		if at < 0 {
			if !eof && len(c.toks) <= max {
				return
			}
			e = len(c.toks)
			if e > max {
				e = c.bestEnd()
			}
		}
		e, tokens := c.fit(e)
		c.flush(e, tokens)
		if e == len(c.toks) {
			c.advance(e)
			return
		}
		if e == at {
			c.advance(e) // a new section: no overlap
			continue
		}
		c.advance(c.nextStart(e))
	}
}

// sectionEnd returns the first section start among the known tokens
// where the chunk starting at toks[0] ends, or -1: one at most MaxTokens
// in and, when the chunk begins a section or the document, at least
// SectionMinTokens in. A chunk that begins inside a section (after a cut
// for size) ends at the next section start however near, so that the next
// section's text never goes under this one's name.
func (c *Chunker) sectionEnd() int {
	lo := 1
	if c.index == 0 || c.toks[0].prio == prioSection {
		lo = c.opts.SectionMinTokens()
	}
	b := max(lo, c.sectionScan)
	for ; b < len(c.toks) && b <= c.opts.MaxTokens; b++ {
		if c.toks[b].prio == prioSection {
			return b
		}
	}
	c.sectionScan = b
	return -1
}

// bestEnd picks where the chunk starting at toks[0] ends: the boundary of
// highest priority in the second half of the window of MaxTokens tokens,
// the latest of equals; failing that any allowed boundary in the window,
// and failing that (a window inside one character) the first after it.
func (c *Chunker) bestEnd() int {
	max := c.opts.MaxTokens
	best, at := int8(prioNever), -1
	for b := max; b >= 1; b-- {
		if p := c.toks[b].prio; p > best && (b > max/2 || best == prioNever) {
			best, at = p, b
		}
	}
	for b := max + 1; at < 0 && b < len(c.toks); b++ {
		if c.toks[b].prio > prioNever {
			at = b
		}
	}
	if at < 0 {
		at = len(c.toks)
	}
	return at
}

// fit returns e, moved back if need be, and the tokens of the chunk
// toks[:e]. A chunk that begins and ends at piece starts re-encodes to
// exactly its tokens; one cut inside a piece is re-counted and shortened
// until it fits.
func (c *Chunker) fit(e int) (int, int) {
	if c.toks[0].piece && (e == len(c.toks) || c.toks[e].cleanEnd) {
		return e, e
	}
	for {
		n := c.enc.Count(c.text(e))
		if n <= c.opts.MaxTokens {
			return e, n
		}
		b := e - 1
		for b > 0 && c.toks[b].prio == prioNever {
			b--
		}
		if b == 0 {
			return e, n
		}
		e = b
	}
}

func (c *Chunker) text(e int) string {
	return string(c.buf[c.start-c.bufStart : c.toks[e-1].end-c.bufStart])
}

// nextStart picks where the chunk after toks[:e] begins: at the latest
// section start from the last OverlapTokens tokens to e, so that a chunk
// begins in the section it is mostly about; else within those tokens at
// the earliest sentence start, else the earliest word start, else the
// earliest allowed boundary, else at e.
func (c *Chunker) nextStart(e int) int {
	lo := max(e-c.opts.OverlapTokens, 1)
	for b := e; b >= lo; b-- {
		if c.toks[b].prio == prioSection {
			return b
		}
	}
	for _, want := range []int8{prioSentence, prioWord, prioToken} {
		for b := lo; b < e; b++ {
			if c.toks[b].prio >= want {
				return b
			}
		}
	}
	return e
}

// flush emits toks[:e] as a chunk unless it is only white space or lies
// within the chunk before it (an overlap start followed by a cut moved
// back by fit can end where the previous chunk ended).
func (c *Chunker) flush(e, tokens int) {
	text := c.text(e)
	lead := len(text) - len(strings.TrimLeftFunc(text, unicode.IsSpace))
	if lead == len(text) || c.index > 0 && c.toks[e-1].end <= c.lastEnd {
		return
	}
	c.lastEnd = c.toks[e-1].end
	m := c.markAt(c.start + int64(lead))
	ch := Chunk{Index: c.index, Text: text, Start: c.start, End: c.toks[e-1].end,
		Page: m.page, Section: m.section, Tokens: tokens}
	c.index++
	c.err = c.emit(ch)
}

// markAt returns the page and section in effect at offset off.
func (c *Chunker) markAt(off int64) mark {
	var at mark
	for _, m := range c.marks {
		if m.at > off {
			break
		}
		at = m
	}
	return at
}

// advance makes toks[s] the first token of the next chunk and drops what
// no later chunk needs. Re-slicing rather than copying keeps this O(1):
// append moves the live part to a new array once the old one is full.
func (c *Chunker) advance(s int) {
	c.start = c.tokStart(s)
	c.toks = c.toks[s:]
	c.sectionScan = max(0, c.sectionScan-s)
	keep := max(c.bufStart, c.start-lookback)
	c.buf = c.buf[keep-c.bufStart:]
	c.bufStart = keep
	k := 0
	for k+1 < len(c.marks) && c.marks[k+1].at <= c.start {
		k++
	}
	c.marks = c.marks[k:]
}
