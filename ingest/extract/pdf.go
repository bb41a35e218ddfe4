package extract

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"

	"github.com/ledongthuc/pdf"
	"github.com/ragd/ragd"
)

// PDF text is rebuilt from glyph positions, as pdftotext does: the content
// stream of each page is run by a small interpreter that tracks the text
// and graphics matrices, and a glyph far enough from the previous one
// starts a new word, line or paragraph. Fonts are parsed once per document
// (the library's Page.Content re-parses them at every font change, which
// made it 10-50 times slower), and the content stream is tokenised here
// rather than through pdf.Interpret, so its size and time can be bounded.

// pdfFormDepth bounds nested form XObjects; pdfMaxForms bounds the forms
// run for one page, so a form drawn in a loop cannot multiply the work.
const (
	pdfFormDepth = 8
	pdfMaxForms  = 2000
)

// guardedFile is the PDF reader's view of the file: every read checks the
// job's deadline and a budget of bytes, so a parse that loops over the file
// (a cyclic object graph) is abandoned.
type guardedFile struct {
	j      *job
	budget int64
}

// ReadAt implements io.ReaderAt.
func (g *guardedFile) ReadAt(p []byte, off int64) (int, error) {
	g.j.check()
	g.budget -= int64(len(p))
	if g.budget < 0 {
		panic(abort{corrupt(PDF, nil, "reading it needs more than %d reads of the file; its objects may refer to each other in a loop", pdfReadFactor)})
	}
	return g.j.f.ReadAt(p, off)
}

// pdfReadFactor is how many times over the PDF reader may read the file.
const pdfReadFactor = 256

func parsePDF(j *job) error {
	st, err := j.f.Stat()
	if err != nil {
		return err
	}
	gf := &guardedFile{j: j, budget: pdfReadFactor*st.Size() + 64<<20}
	r, err := pdf.NewReader(gf, st.Size())
	if err != nil {
		var a abort
		if errors.As(err, &a) {
			return a.err
		}
		if strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "encrypt") {
			return &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "encrypted_pdf",
				Message: "this PDF is encrypted with a password; upload an unencrypted copy", Err: err}
		}
		return corrupt(PDF, err, "%v", err)
	}
	x := &pdfExtractor{j: j, fonts: map[string]*pdfFont{}, fontRefs: map[string]map[string]string{}}
	root := r.Trailer().Key("Root").Key("Pages")
	if root.Kind() != pdf.Dict {
		return corrupt(PDF, nil, "it has no page tree")
	}
	if err := x.walk(root, pdf.Value{}, 0); err != nil {
		return err
	}
	if x.pages > 0 && x.failed == x.pages {
		return corrupt(PDF, x.firstErr, "no page could be read (%v)", x.firstErr)
	}
	j.res.Pages = x.pages
	return nil
}

// pdfExtractor walks a document's pages.
type pdfExtractor struct {
	j        *job
	fonts    map[string]*pdfFont          // by reference or content, shared by all pages
	fontRefs map[string]map[string]string // font name -> reference, by printed /Font dictionary
	pages    int
	failed   int
	firstErr error
}

// walk visits a page tree node, passing inherited resources down.
func (x *pdfExtractor) walk(node, res pdf.Value, depth int) error {
	if r := node.Key("Resources"); r.Kind() == pdf.Dict {
		res = r
	}
	kids := node.Key("Kids")
	if node.Key("Type").Name() == "Page" || kids.Kind() != pdf.Array {
		x.pages++
		return x.page(node, res)
	}
	if depth > 64 {
		return corrupt(PDF, nil, "its page tree is nested more than 64 levels deep")
	}
	for i := 0; i < kids.Len(); i++ {
		if x.pages > 1<<20 {
			return corrupt(PDF, nil, "its page tree has more than %d pages", 1<<20)
		}
		if err := x.walk(kids.Index(i), res, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// page extracts one page and sends it to the sink. A damaged page is
// skipped and counted; a deadline or budget abort propagates.
func (x *pdfExtractor) page(v, res pdf.Value) (err error) {
	num := x.pages
	var text string
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(abort); ok {
					panic(r)
				}
				x.failed++
				if x.firstErr == nil {
					x.firstErr = fmt.Errorf("page %d: %v", num, r)
				}
			}
		}()
		text, err = x.pageText(v, res, num)
	}()
	if err != nil {
		return err
	}
	x.j.check()
	return x.j.sink.Segment(Segment{Text: text, Page: num})
}

// pageText runs a page's content streams and returns its text, less what
// it already sent to the sink: a page's text is passed on every
// MaxSegment bytes, so that a page drawing gigabytes of text is not held
// in memory.
func (x *pdfExtractor) pageText(v, res pdf.Value, num int) (string, error) {
	clean := func(s string) string { return strings.TrimSpace(ligatures.Replace(s)) }
	pt := &pageText{max: x.j.lim.MaxSegment, flush: func(s string) {
		if err := x.j.sink.Segment(Segment{Text: clean(s), Page: num}); err != nil {
			panic(abort{err})
		}
	}}
	lr := &limitedReader{r: &streamsReader{v: v.Key("Contents")}, left: x.j.lim.MaxDecompressed}
	run := &pdfRun{x: x, out: pt, budget: pdfMaxForms}
	run.stream(lr, res, matrix{1, 0, 0, 1, 0, 0}, 0)
	if lr.over {
		return "", tooLarge(PDF, x.j.lim.MaxDecompressed)
	}
	return clean(pt.sb.String()), nil
}

// streamsReader reads a page's content: one stream, or an array of
// streams joined by newlines, each opened only when the one before it
// has been read. A stream that fails to decode ends early; the next one
// is still read.
type streamsReader struct {
	v    pdf.Value
	next int // index of the next stream of an array
	cur  io.ReadCloser
	sep  bool // a newline is owed before the next stream
}

// Read implements io.Reader.
func (s *streamsReader) Read(p []byte) (int, error) {
	for {
		if s.cur != nil {
			n, err := s.cur.Read(p)
			if err != nil {
				s.cur.Close()
				s.cur = nil
			}
			if n > 0 || err == nil {
				return n, nil
			}
		}
		if s.sep && len(p) > 0 {
			s.sep = false
			p[0] = '\n'
			return 1, nil
		}
		switch {
		case s.v.Kind() == pdf.Stream && s.next == 0:
			s.next++
			s.cur = s.v.Reader()
		case s.v.Kind() == pdf.Array && s.next < s.v.Len():
			s.cur = s.v.Index(s.next).Reader()
			s.next++
			s.sep = true
		default:
			return 0, io.EOF
		}
	}
}

// pdfRef matches a name and the indirect reference it maps to in a printed
// dictionary, such as "/F1 12 0 R".
var pdfRef = regexp.MustCompile(`/([^\s/<>\[\]()]+) (\d+ \d+ R)`)

// font returns the parsed font named name in the resources res, or nil.
// Fonts are parsed once per document: they are cached by their indirect
// reference, read from the printed /Font dictionary, so that a font used
// on many pages is neither parsed nor even loaded again (loading an object
// from an object stream inflates the whole stream).
func (x *pdfExtractor) font(res pdf.Value, name string) *pdfFont {
	dict := res.Key("Font")
	printed := dict.String()
	refs, ok := x.fontRefs[printed]
	if !ok {
		refs = map[string]string{}
		for _, m := range pdfRef.FindAllStringSubmatch(printed, -1) {
			refs[m[1]] = m[2]
		}
		x.fontRefs[printed] = refs
	}
	key := refs[name]
	if key == "" { // a direct font dictionary: key it by its content
		key = dict.Key(name).String()
	}
	if f, ok := x.fonts[key]; ok {
		return f
	}
	var f *pdfFont
	if v := dict.Key(name); v.Kind() == pdf.Dict {
		f = newPDFFont(v, x.j.lim.MaxDecompressed)
	}
	x.fonts[key] = f
	return f
}

// matrix is an affine transform [a b c d e f] (ISO 32000 8.3.4).
type matrix [6]float64

// mul returns m followed by n.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func matrixOf(args []operand) (matrix, bool) {
	var m matrix
	if len(args) != 6 {
		return m, false
	}
	for i, a := range args {
		m[i] = a.num
	}
	return m, true
}

// gstate is the part of the graphics and text state that places glyphs.
type gstate struct {
	ctm, tm, tlm               matrix
	tc, tw, th, tl, tfs, trise float64
	font                       *pdfFont
}

// pdfRun interprets the content streams of one page.
type pdfRun struct {
	x      *pdfExtractor
	out    *pageText
	budget int // form XObjects left to run
	ops    int
}

// stream runs one content stream (a page's or a form's) with its resources.
func (p *pdfRun) stream(r io.Reader, res pdf.Value, ctm matrix, depth int) {
	g := gstate{ctm: ctm, th: 1}
	var stack []gstate
	fonts := map[string]*pdfFont{}
	l := &lexer{r: r}
	defer l.close()
	for {
		op, ok := l.next()
		if !ok {
			return
		}
		if p.ops++; p.ops&1023 == 0 {
			p.x.j.check()
		}
		args := l.args
		num := func(i int) float64 {
			if i < len(args) {
				return args[i].num
			}
			return 0
		}
		switch op {
		case "q":
			if len(stack) < 1024 {
				stack = append(stack, g)
			}
		case "Q":
			if n := len(stack); n > 0 {
				g, stack = stack[n-1], stack[:n-1]
			}
		case "cm":
			if m, ok := matrixOf(args); ok {
				g.ctm = m.mul(g.ctm)
			}
		case "BT":
			g.tm, g.tlm = matrix{1, 0, 0, 1, 0, 0}, matrix{1, 0, 0, 1, 0, 0}
		case "Tc":
			g.tc = num(0)
		case "Tw":
			g.tw = num(0)
		case "Tz":
			g.th = num(0) / 100
		case "TL":
			g.tl = num(0)
		case "Ts":
			g.trise = num(0)
		case "Tf":
			g.tfs = num(1)
			if len(args) > 0 && args[0].kind == '/' {
				name := string(args[0].str)
				f, ok := fonts[name]
				if !ok {
					f = p.x.font(res, name)
					fonts[name] = f
				}
				g.font = f
			}
		case "Td", "TD":
			if op == "TD" {
				g.tl = -num(1)
			}
			g.tlm = matrix{1, 0, 0, 1, num(0), num(1)}.mul(g.tlm)
			g.tm = g.tlm
		case "Tm":
			if m, ok := matrixOf(args); ok {
				g.tm, g.tlm = m, m
			}
		case "T*":
			g.tlm = matrix{1, 0, 0, 1, 0, -g.tl}.mul(g.tlm)
			g.tm = g.tlm
		case "Tj":
			if len(args) > 0 {
				p.show(&g, args[0].str)
			}
		case "'", "\"":
			if op == "\"" && len(args) == 3 {
				g.tw, g.tc = num(0), num(1)
			}
			g.tlm = matrix{1, 0, 0, 1, 0, -g.tl}.mul(g.tlm)
			g.tm = g.tlm
			if len(args) > 0 {
				p.show(&g, args[len(args)-1].str)
			}
		case "TJ":
			if len(args) == 0 {
				continue
			}
			for _, e := range args[0].arr {
				if e.kind == 's' {
					p.show(&g, e.str)
				} else if e.kind == 'n' {
					tx := -e.num / 1000 * g.tfs * g.th
					g.tm = matrix{1, 0, 0, 1, tx, 0}.mul(g.tm)
				}
			}
		case "Do":
			if len(args) > 0 && args[0].kind == '/' && depth < pdfFormDepth && p.budget > 0 {
				p.form(res.Key("XObject").Key(string(args[0].str)), res, g.ctm, depth)
			}
		}
	}
}

// form runs a form XObject drawn by Do.
func (p *pdfRun) form(xo, res pdf.Value, ctm matrix, depth int) {
	if xo.Kind() != pdf.Stream || xo.Key("Subtype").Name() != "Form" {
		return
	}
	p.budget--
	// A form past the decompression limit is cut there.
	data := &limitedReader{r: &streamsReader{v: xo}, left: p.x.j.lim.MaxDecompressed}
	if r := xo.Key("Resources"); r.Kind() == pdf.Dict {
		res = r
	}
	if m, ok := matrixOf(numbers(xo.Key("Matrix"))); ok {
		ctm = m.mul(ctm)
	}
	p.stream(data, res, ctm, depth+1)
}

// numbers converts a PDF array of numbers to operands.
func numbers(v pdf.Value) []operand {
	out := make([]operand, v.Len())
	for i := range out {
		out[i] = operand{kind: 'n', num: v.Index(i).Float64()}
	}
	return out
}

// show places the glyphs of one string.
func (p *pdfRun) show(g *gstate, s []byte) {
	f := g.font
	if f == nil {
		return
	}
	f.decode(s, func(text string, w float64, space bool) {
		m := g.tm.mul(g.ctm)
		x := m[2]*g.trise + m[4]
		y := m[3]*g.trise + m[5]
		adv := w * g.tfs * g.th
		size := math.Abs(g.tfs) * math.Hypot(m[2], m[3])
		p.out.glyph(text, x, y, x+adv*m[0], y+adv*m[1], size, m[0], m[1])
		tx := (w*g.tfs + g.tc) * g.th
		if space {
			tx += g.tw * g.th
		}
		g.tm[4] += tx * g.tm[0]
		g.tm[5] += tx * g.tm[1]
	})
}

// pageText lays glyphs out as text: a gap wider than a fraction of the
// font size is a space, a move off the baseline is a new line, and a jump
// of about two lines or more is a new paragraph. Once the text reaches max
// bytes, it is passed to flush and started again.
type pageText struct {
	max                  int
	flush                func(string)
	sb                   strings.Builder
	have                 bool
	endX, endY           float64
	startX, startY, size float64
	dx, dy               float64
	pending              int // the break owed before the next visible glyph
}

// Breaks between glyphs, in increasing strength.
const (
	breakNone = iota
	breakSpace
	breakLine
	breakPara
)

// Word and line thresholds, as fractions of the font size.
const (
	pdfWordGap  = 0.15
	pdfLineGap  = 0.6
	pdfParaGap  = 2.2
	pdfBackJump = 3
)

func (t *pageText) glyph(text string, x, y, ex, ey, size, dx, dy float64) {
	if text == "" {
		return
	}
	if n := math.Hypot(dx, dy); n > 0 {
		dx, dy = dx/n, dy/n
	} else {
		dx, dy = 1, 0
	}
	brk := breakNone
	if t.have {
		big, small := math.Max(size, t.size), math.Max(math.Min(size, t.size), 1)
		along := (x-t.endX)*t.dx + (y-t.endY)*t.dy
		across := -(x-t.startX)*t.dy + (y-t.startY)*t.dx
		switch {
		case math.Abs(across) > pdfParaGap*big || dx*t.dx+dy*t.dy < 0.99:
			brk = breakPara
		case math.Abs(across) > pdfLineGap*big:
			brk = breakLine
		case along > pdfWordGap*small || along < -pdfBackJump*small:
			brk = breakSpace
		}
	}
	t.have = true
	t.endX, t.endY, t.startX, t.startY, t.size, t.dx, t.dy = ex, ey, x, y, size, dx, dy
	blank := strings.TrimSpace(text) == ""
	if blank {
		brk = max(brk, breakSpace)
	}
	t.pending = max(t.pending, brk)
	if blank {
		return
	}
	if t.sb.Len() > 0 {
		t.sb.WriteString([]string{"", " ", "\n", "\n\n"}[t.pending])
	}
	t.pending = breakNone
	t.sb.WriteString(text)
	if t.sb.Len() >= t.max {
		t.flush(t.sb.String())
		t.sb.Reset()
	}
}

var _ io.ReaderAt = (*guardedFile)(nil)
