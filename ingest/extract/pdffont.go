package extract

import (
	"io"
	"strings"
	"unicode/utf16"

	"github.com/ledongthuc/pdf"
)

// pdfFont is what text extraction needs of a font, parsed once per
// document: how many bytes a character code takes, each code's Unicode text
// and its advance width in text space units.
type pdfFont struct {
	twoByte bool
	scale   float64 // glyph space to text space (1/1000, or a Type3 FontMatrix)
	missing float64 // width of codes without one, in glyph space

	simpleW [256]float64 // one-byte fonts
	simpleT [256]string
	cidW    map[uint32]float64 // two-byte fonts
	uni     *toUnicode
	cache   map[uint32]string // two-byte codes already decoded
}

// maxCMapEntries bounds the entries read from one ToUnicode CMap or W array.
const maxCMapEntries = 1 << 17

// maxCMapBytes bounds a ToUnicode CMap, which is parsed from memory: far
// more than maxCMapEntries entries take.
const maxCMapBytes = 16 << 20

// newPDFFont parses a font dictionary; maxStream bounds its ToUnicode CMap.
func newPDFFont(v pdf.Value, maxStream int64) *pdfFont {
	f := &pdfFont{scale: 0.001, missing: 500}
	subtype := v.Key("Subtype").Name()
	if fd := v.Key("FontDescriptor"); fd.Kind() == pdf.Dict {
		if mw := fd.Key("MissingWidth").Float64(); mw > 0 {
			f.missing = mw
		}
	}
	if tu := v.Key("ToUnicode"); tu.Kind() == pdf.Stream {
		if data, err := readStream(tu, min(maxStream, maxCMapBytes)); err == nil || len(data) > 0 {
			f.uni = parseToUnicode(data)
		}
	}
	if subtype == "Type0" {
		f.twoByte = true
		f.cache = map[uint32]string{}
		f.cidW = map[uint32]float64{}
		desc := v.Key("DescendantFonts").Index(0)
		if dw := desc.Key("DW"); dw.Kind() == pdf.Integer || dw.Kind() == pdf.Real {
			f.missing = dw.Float64()
		} else {
			f.missing = 1000
		}
		f.readCIDWidths(desc.Key("W"))
		if f.uni != nil && f.uni.oneByte {
			f.twoByte = false
		}
		return f
	}
	if subtype == "Type3" {
		if m := v.Key("FontMatrix"); m.Len() == 6 && m.Index(0).Float64() != 0 {
			f.scale = m.Index(0).Float64()
			f.missing = 0.5 / f.scale
		}
	}
	first := int(v.Key("FirstChar").Int64())
	ws := v.Key("Widths")
	for c := range 256 {
		f.simpleW[c] = f.missing
		if i := c - first; i >= 0 && i < ws.Len() {
			if w := ws.Index(i).Float64(); w > 0 {
				f.simpleW[c] = w
			}
		}
	}
	enc := (&pdf.Font{V: v}).Encoder()
	for c := range 256 {
		if f.uni != nil {
			if s, ok := f.uni.lookup(uint32(c)); ok {
				f.simpleT[c] = s
				continue
			}
		}
		f.simpleT[c] = enc.Decode(string([]byte{byte(c)}))
	}
	return f
}

// readCIDWidths reads a CIDFont's W array: "c [w1 w2 ...]" and "c1 c2 w".
func (f *pdfFont) readCIDWidths(w pdf.Value) {
	n := w.Len()
	for i := 0; i < n && len(f.cidW) < maxCMapEntries; {
		first := w.Index(i)
		if i+1 >= n {
			return
		}
		next := w.Index(i + 1)
		c := uint32(first.Int64())
		if next.Kind() == pdf.Array {
			for k := 0; k < next.Len() && len(f.cidW) < maxCMapEntries; k++ {
				f.cidW[c+uint32(k)] = next.Index(k).Float64()
			}
			i += 2
			continue
		}
		if i+2 >= n {
			return
		}
		last, width := uint32(next.Int64()), w.Index(i+2).Float64()
		for k := c; k <= last && len(f.cidW) < maxCMapEntries; k++ {
			f.cidW[k] = width
		}
		i += 3
	}
}

// decode splits s into character codes and calls glyph with each one's text
// and width in text space units (before font size and scaling).
func (f *pdfFont) decode(s []byte, glyph func(text string, w float64, space bool)) {
	if !f.twoByte {
		for _, c := range s {
			glyph(f.simpleT[c], f.simpleW[c]*f.scale, c == ' ')
		}
		return
	}
	for i := 0; i+1 < len(s); i += 2 {
		c := uint32(s[i])<<8 | uint32(s[i+1])
		t, ok := f.cache[c]
		if !ok {
			if f.uni != nil {
				t, _ = f.uni.lookup(c)
			}
			if len(f.cache) < maxCMapEntries {
				f.cache[c] = t
			}
		}
		w, ok := f.cidW[c]
		if !ok {
			w = f.missing
		}
		glyph(t, w*f.scale, false)
	}
}

// toUnicode is a parsed ToUnicode CMap.
type toUnicode struct {
	oneByte bool // the codespace is one byte wide
	chars   map[uint32]string
	ranges  []cmapRange
}

type cmapRange struct {
	lo, hi uint32
	dst    []uint16   // UTF-16 of lo's text, for a string destination
	arr    [][]uint16 // per-code UTF-16, for an array destination
}

func (m *toUnicode) lookup(c uint32) (string, bool) {
	if s, ok := m.chars[c]; ok {
		return s, true
	}
	for _, r := range m.ranges {
		if c < r.lo || c > r.hi {
			continue
		}
		if r.arr != nil {
			if i := int(c - r.lo); i < len(r.arr) {
				return string(utf16.Decode(r.arr[i])), true
			}
			return "", false
		}
		u := append([]uint16(nil), r.dst...)
		if len(u) > 0 {
			u[len(u)-1] += uint16(c - r.lo)
		}
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// parseToUnicode reads the codespace, bfchar and bfrange sections of a CMap.
func parseToUnicode(data []byte) *toUnicode {
	m := &toUnicode{chars: map[uint32]string{}}
	l := &lexer{buf: data, maxArgs: 3 * 1024}
	oneByte, sawSpace := true, false
	for entries := 0; entries < maxCMapEntries; {
		op, ok := l.next()
		if !ok {
			break
		}
		args := l.args
		switch op {
		case "endcodespacerange":
			for _, a := range args {
				if a.kind == 's' {
					sawSpace = true
					oneByte = oneByte && len(a.str) == 1
				}
			}
		case "endbfchar":
			for i := 0; i+1 < len(args); i += 2 {
				if args[i].kind == 's' && args[i+1].kind == 's' {
					m.chars[codeOf(args[i].str)] = string(utf16.Decode(utf16be(args[i+1].str)))
					entries++
				}
			}
		case "endbfrange":
			for i := 0; i+2 < len(args); i += 3 {
				lo, hi, dst := args[i], args[i+1], args[i+2]
				if lo.kind != 's' || hi.kind != 's' {
					continue
				}
				r := cmapRange{lo: codeOf(lo.str), hi: codeOf(hi.str)}
				switch dst.kind {
				case 's':
					r.dst = utf16be(dst.str)
				case '[':
					for _, e := range dst.arr {
						r.arr = append(r.arr, utf16be(e.str))
					}
				default:
					continue
				}
				if r.hi >= r.lo {
					m.ranges = append(m.ranges, r)
					entries++
				}
			}
		}
	}
	m.oneByte = sawSpace && oneByte
	return m
}

func codeOf(b []byte) uint32 {
	var c uint32
	for _, x := range b {
		c = c<<8 | uint32(x)
	}
	return c
}

func utf16be(b []byte) []uint16 {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	if len(b)%2 == 1 { // a one-byte destination is a Latin-1 character
		u = append(u, uint16(b[len(b)-1]))
	}
	return u
}

// readStream returns a stream's decoded data, at most max bytes; a stream
// longer than that is an error, a damaged one yields what could be read.
func readStream(v pdf.Value, max int64) ([]byte, error) {
	rc := v.Reader()
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if int64(len(data)) > max {
		return nil, tooLarge(PDF, max)
	}
	return data, err
}

// ligatures maps presentation forms to the letters people search for.
var ligatures = strings.NewReplacer("\uFB00", "ff", "\uFB01", "fi", "\uFB02", "fl", "\uFB03", "ffi",
	"\uFB04", "ffl", "\uFB05", "st", "\uFB06", "st", "\u00AD", "", "\uFFFD", "", "\x00", "")
