package chunk

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/tokenize"
)

var enc = tokenize.MustGet(tokenize.CL100K)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// collect chunks segs written one by one.
func collect(t testing.TB, opts Options, segs ...Segment) []Chunk {
	t.Helper()
	var out []Chunk
	c, err := New(opts, func(ch Chunk) error { out = append(out, ch); return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		if err := c.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkInvariants verifies what every chunking must satisfy: each chunk
// is the input slice it names, fits MaxTokens, counts its tokens right,
// (see tinyMax), is valid UTF-8 when the input is, starts after its predecessor, and
// together the chunks cover every non-space byte of the input.
func checkInvariants(t testing.TB, input string, opts Options, chunks []Chunk) {
	t.Helper()
	covered := int64(0)
	for i, ch := range chunks {
		if ch.Index != i {
			t.Fatalf("chunk %d has Index %d", i, ch.Index)
		}
		if ch.Start < 0 || ch.End > int64(len(input)) || ch.Start >= ch.End {
			t.Fatalf("chunk %d: offsets [%d,%d) out of range (input %d bytes)", i, ch.Start, ch.End, len(input))
		}
		if input[ch.Start:ch.End] != ch.Text {
			t.Fatalf("chunk %d: text %.60q is not input[%d:%d] %.60q", i, ch.Text, ch.Start, ch.End, input[ch.Start:ch.End])
		}
		// Below 8, MaxTokens may be too small for one character and the
		// space before it (" 帩" is 3 tokens, none ending between the two).
		if n := enc.Count(ch.Text); n != ch.Tokens || n > max(opts.MaxTokens, tinyMax) {
			t.Fatalf("chunk %d: %d tokens (recorded %d), max %d: %q", i, n, ch.Tokens, opts.MaxTokens, ch.Text)
		}
		if utf8.ValidString(input) && !utf8.ValidString(ch.Text) {
			t.Fatalf("chunk %d cuts a UTF-8 character: %q", i, ch.Text)
		}
		if i > 0 && (ch.Start <= chunks[i-1].Start || ch.End <= chunks[i-1].End) {
			t.Fatalf("chunk %d [%d,%d) does not advance past chunk %d [%d,%d)", i, ch.Start, ch.End, i-1, chunks[i-1].Start, chunks[i-1].End)
		}
		if ch.Start > covered && strings.TrimFunc(input[covered:ch.Start], unicode.IsSpace) != "" {
			t.Fatalf("bytes [%d,%d) %.60q are in no chunk", covered, ch.Start, input[covered:ch.Start])
		}
		covered = ch.End
	}
	if strings.TrimFunc(input[covered:], unicode.IsSpace) != "" {
		t.Fatalf("the tail from %d %.60q is in no chunk", covered, input[covered:])
	}
}

// tinyMax is the chunk size below which a chunk may exceed MaxTokens.
const tinyMax = 8

func paragraph(sentences ...string) string { return strings.Join(sentences, " ") }

func TestChunk(t *testing.T) {
	p1 := paragraph("The first paragraph talks about cats.", "Cats sleep a lot during the day.", "They hunt at night, mostly mice and birds.")
	p2 := paragraph("The second paragraph is about dogs.", "Dogs are loyal and like long walks.", "Some dogs herd sheep on farms.")
	p3 := paragraph("A third paragraph mentions fish.", "Fish swim in water and breathe with gills.", "Many live on coral reefs.")
	long := strings.Repeat("Sentence number one is here. Another sentence follows it! Is this the third one? ", 20)
	word := strings.Repeat("Supercalifragilistic", 300)
	zh := "自然语言处理是人工智能的一个重要领域。它研究人与计算机之间用自然语言进行有效通信的各种理论和方法！" +
		"分词是中文处理的第一步？机器翻译、信息检索和问答系统都依赖它。"

	cases := []struct {
		name  string
		input string
		opts  Options
		check func(t *testing.T, chunks []Chunk)
	}{
		{"Empty", "", Options{MaxTokens: 50}, func(t *testing.T, chunks []Chunk) {
			if len(chunks) != 0 {
				t.Fatalf("%d chunks of empty input", len(chunks))
			}
		}},
		{"OnlySpace", " \n\n\t \n", Options{MaxTokens: 50}, func(t *testing.T, chunks []Chunk) {
			if len(chunks) != 0 {
				t.Fatalf("%d chunks of white space", len(chunks))
			}
		}},
		{"FitsInOne", p1, Options{MaxTokens: 100, OverlapTokens: 10}, func(t *testing.T, chunks []Chunk) {
			if len(chunks) != 1 || chunks[0].Text != p1 || chunks[0].Tokens != enc.Count(p1) {
				t.Fatalf("chunks %+v", chunks)
			}
		}},
		// Two paragraphs do not fit; a paragraph break beats sentence breaks.
		{"ParagraphBoundaries", p1 + "\n\n" + p2 + "\n\n" + p3, Options{MaxTokens: min(enc.Count(p1+"\n\n"+p2), enc.Count(p2+"\n\n"+p3)) - 1}, func(t *testing.T, chunks []Chunk) {
			got := make([]string, len(chunks))
			for i, c := range chunks {
				got[i] = strings.TrimSpace(c.Text)
			}
			if !slices.Equal(got, []string{p1, p2, p3}) {
				t.Fatalf("chunks %q, want the three paragraphs", got)
			}
		}},
		// Two paragraphs fit, three do not.
		{"TwoParagraphsPerChunk", p1 + "\n\n" + p2 + "\n\n" + p3 + "\n\n" + p1, Options{MaxTokens: enc.Count(p1+"\n\n"+p2+"\n\n"+p3) - 1}, func(t *testing.T, chunks []Chunk) {
			if len(chunks) != 2 || strings.TrimSpace(chunks[0].Text) != p1+"\n\n"+p2 {
				t.Fatalf("chunks %q, want p1+p2 then p3+p1", texts(chunks))
			}
		}},
		{"SentenceBoundaries", long, Options{MaxTokens: 40}, func(t *testing.T, chunks []Chunk) {
			for _, c := range chunks {
				s := strings.TrimSpace(c.Text)
				if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") {
					t.Fatalf("chunk %q does not end a sentence", s)
				}
				if !unicode.IsUpper([]rune(s)[0]) {
					t.Fatalf("chunk %q does not start a sentence", s)
				}
			}
		}},
		{"OverlapStartsAtSentence", long, Options{MaxTokens: 40, OverlapTokens: 15}, func(t *testing.T, chunks []Chunk) {
			for i := 1; i < len(chunks); i++ {
				prev, cur := chunks[i-1], chunks[i]
				if cur.Start >= prev.End {
					t.Fatalf("chunk %d starts at %d, not inside chunk %d ending at %d", i, cur.Start, i-1, prev.End)
				}
				shared := long[cur.Start:prev.End]
				if n := enc.Count(shared); n > 15 {
					t.Fatalf("overlap %q has %d tokens, more than 15", shared, n)
				}
				if s := strings.TrimSpace(shared); !unicode.IsUpper([]rune(s)[0]) {
					t.Fatalf("overlap %q does not start a sentence", shared)
				}
			}
		}},
		{"OverlapWithinWords", strings.Repeat("lorem ipsum dolor sit amet ", 100), Options{MaxTokens: 30, OverlapTokens: 7}, func(t *testing.T, chunks []Chunk) {
			for i := 1; i < len(chunks); i++ {
				if !strings.HasPrefix(chunks[i].Text, " ") || chunks[i].Start >= chunks[i-1].End {
					t.Fatalf("chunk %d %q should start at a word inside chunk %d", i, chunks[i].Text, i-1)
				}
			}
		}},
		{"HugeWord", word, Options{MaxTokens: 64, OverlapTokens: 0}, func(t *testing.T, chunks []Chunk) {
			if texts(chunks) != word {
				t.Fatal("chunks without overlap do not add up to the word")
			}
			if len(chunks) < enc.Count(word)/64 {
				t.Fatalf("%d chunks for %d tokens", len(chunks), enc.Count(word))
			}
		}},
		{"CJK", strings.Repeat(zh, 5), Options{MaxTokens: 48, OverlapTokens: 8}, func(t *testing.T, chunks []Chunk) {
			ends := 0
			for _, c := range chunks[:len(chunks)-1] {
				if strings.HasSuffix(c.Text, "。") || strings.HasSuffix(c.Text, "！") || strings.HasSuffix(c.Text, "？") {
					ends++
				}
			}
			if ends < (len(chunks)-1)*3/4 {
				t.Fatalf("only %d of %d chunks end at a sentence: %q", ends, len(chunks)-1, texts(chunks))
			}
		}},
		{"NoWhitespaceLongLine", strings.Repeat("a,b;c.d:e/", 500), Options{MaxTokens: 33, OverlapTokens: 5}, nil},
		{"MaxOne", "Hello, world. 你好，世界！", Options{MaxTokens: 1}, nil},
		{"Apache", readTestdata(t, "Apache-2.0.txt"), Options{MaxTokens: 200, OverlapTokens: 30}, nil},
		{"ChineseREADME", readTestdata(t, "zh-README.md"), Options{MaxTokens: 100, OverlapTokens: 20}, nil},
		{"InvalidUTF8", "valid \xff\xfe text \xe6\x97 cut \x80\x80\x80 end" + strings.Repeat("\xc3", 50), Options{MaxTokens: 4}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chunks := collect(t, c.opts, Segment{Text: c.input})
			checkInvariants(t, c.input, c.opts, chunks)
			if c.check != nil {
				c.check(t, chunks)
			}
			// Streaming: the same text in small segments gives the same chunks.
			for _, size := range []int{1, 13, 1000} {
				if size == 1 && len(c.input) > 4096 {
					continue // byte by byte is slow under -race; the other sizes cover it
				}
				var segs []Segment
				for i := 0; i < len(c.input); i += size {
					segs = append(segs, Segment{Text: c.input[i:min(i+size, len(c.input))]})
				}
				if got := collect(t, c.opts, segs...); !slices.Equal(got, chunks) {
					t.Fatalf("segments of %d bytes give %d different chunks", size, len(got))
				}
			}
		})
	}
}

func chunkTexts(chunks []Chunk) []string {
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = c.Text
	}
	return out
}

func texts(chunks []Chunk) string {
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(c.Text)
	}
	return b.String()
}

func TestChunkPages(t *testing.T) {
	page := func(n int) string {
		return fmt.Sprintf("This is page %d of the report. It has a few sentences of its own, about topic %d.\n\n", n, n)
	}
	segs := []Segment{{Text: page(1), Page: 1}, {Text: page(2), Page: 2}, {Text: "", Page: 3}, {Text: page(4), Page: 4}, {Text: page(5), Page: 0}}
	chunks := collect(t, Options{MaxTokens: 25}, segs...)
	input := ""
	for _, s := range segs {
		input += s.Text
	}
	checkInvariants(t, input, Options{MaxTokens: 25}, chunks)
	var got []int
	for _, c := range chunks {
		if !strings.Contains(c.Text, fmt.Sprintf("page %d ", c.Page)) && c.Page != 0 {
			t.Errorf("chunk on page %d: %q", c.Page, c.Text)
		}
		got = append(got, c.Page)
	}
	if !slices.Equal(got, []int{1, 2, 4, 0}) {
		t.Fatalf("pages %v, want [1 2 4 0]", got)
	}
}

// A chunk carries the section of its first non-space byte, whether
// sections change with pages, within a page, or span several chunks; a
// section's start ends a chunk of SectionMinTokens or more, and no overlap
// reaches back across it.
func TestChunkSections(t *testing.T) {
	para := func(topic string, n int) string {
		return fmt.Sprintf("\n\nThis paragraph is about %s. It is number %d and has a second sentence.", topic, n)
	}
	cases := []struct {
		name string
		opts Options
		segs []Segment
		want []string // each chunk's section
	}{
		{"OnePerChunk", Options{MaxTokens: 24}, []Segment{
			{Text: "Install" + para("installing", 1), Section: "Guide > Install"},
			{Text: "\n\nOn Windows" + para("windows", 2), Section: "Guide > Install > On Windows"},
			{Text: "\n\nLicence" + para("licence", 3), Section: "Guide > Licence"},
		}, []string{"Guide > Install", "Guide > Install > On Windows", "Guide > Licence"}},
		{"SpansChunks", Options{MaxTokens: 24}, []Segment{
			{Text: "Intro" + para("nothing", 1), Section: ""},
			{Text: "\n\nOn Windows" + para("windows", 2) + para("windows", 3) + para("windows", 4), Section: "On Windows"},
		}, []string{"", "On Windows", "On Windows", "On Windows"}},
		{"WithinAPage", Options{MaxTokens: 24}, []Segment{
			{Text: "First" + para("pages", 1), Page: 1, Section: "A"},
			{Text: "\n\nB" + para("pages", 2), Page: 1, Section: "B"},
			{Text: para("pages", 3), Page: 2, Section: "B"},
		}, []string{"A", "B", "B"}},
		// Paragraph breaks later in the window lose to the section start.
		{"CutAtSectionStart", Options{MaxTokens: 80}, []Segment{
			{Text: "Guide" + para("guides", 1) + para("guides", 2) + para("guides", 3), Section: "Guide"},
			{Text: "\n\nWindows" + para("windows", 4) + para("windows", 5) + para("windows", 6), Section: "Guide > Windows"},
		}, []string{"Guide", "Guide > Windows"}},
		// Sections that would share a chunk each get their own once they
		// hold SectionMinTokens (20 of 160) ...
		{"SectionEndsChunk", Options{MaxTokens: 160}, []Segment{
			{Text: "Install" + para("installing", 1) + para("installing", 2), Section: "Guide > Install"},
			{Text: "\n\nOn Windows" + para("windows", 3) + para("windows", 4), Section: "Guide > Install > On Windows"},
			{Text: "\n\nLicence" + para("licence", 5) + para("licence", 6), Section: "Guide > Licence"},
		}, []string{"Guide > Install", "Guide > Install > On Windows", "Guide > Licence"}},
		// ... and a shorter one, here a heading with nothing under it,
		// shares the chunk of the section after it.
		{"ShortSectionJoinsNext", Options{MaxTokens: 160}, []Segment{
			{Text: "Guide", Section: "Guide"},
			{Text: "\n\nInstall" + para("installing", 1) + para("installing", 2), Section: "Guide > Install"},
			{Text: "\n\nLicence" + para("licence", 3) + para("licence", 4), Section: "Guide > Licence"},
		}, []string{"Guide", "Guide > Licence"}},
		// A chunk that begins inside a section, after a cut for size, ends
		// at the next section start however near: section A's last
		// paragraph (17 tokens, under 25) is a chunk of its own rather
		// than B's text going under A's name.
		{"TailOfACutSection", Options{MaxTokens: 200}, []Segment{
			{Text: "A" + strings.Repeat(para("alpha", 1), 12), Section: "A"},
			{Text: "\n\nB" + para("beta", 2) + para("beta", 3), Section: "B"},
		}, []string{"A", "A", "B"}},
		// The overlap would start at the last sentence of the section before.
		{"NoOverlapAcrossSections", Options{MaxTokens: 40, OverlapTokens: 20}, []Segment{
			{Text: "Guide" + para("guides", 1) + para("guides", 2), Section: "Guide"},
			{Text: "\n\nWindows" + para("windows", 3), Section: "Guide > Windows"},
		}, []string{"Guide", "Guide > Windows"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			chunks := collect(t, opts, tc.segs...)
			input := ""
			for _, s := range tc.segs {
				input += s.Text
			}
			checkInvariants(t, input, opts, chunks)
			var got []string
			for _, c := range chunks {
				got = append(got, c.Section)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("sections %q, want %q; chunks %q", got, tc.want, chunkTexts(chunks))
			}
			for i, c := range chunks {
				headings := strings.Split(c.Section, " > ")
				if i > 0 && c.Section != chunks[i-1].Section && !strings.HasPrefix(strings.TrimSpace(c.Text), headings[len(headings)-1]) {
					t.Errorf("chunk %d, the first of section %q, does not start at its heading: %q", i, c.Section, c.Text)
				}
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		name  string
		opts  Options
		limit int
		param string
	}{
		{"OK", Options{MaxTokens: 512, OverlapTokens: 64}, 0, ""},
		{"OKAtLimit", Options{MaxTokens: 8192, OverlapTokens: 8191}, 0, ""},
		{"OKAtCap", Options{MaxTokens: 256}, 256, ""},
		{"MaxZero", Options{MaxTokens: 0}, 0, "max_tokens"},
		{"MaxNegative", Options{MaxTokens: -5}, 0, "max_tokens"},
		{"MaxOverLimit", Options{MaxTokens: 8193}, 0, "max_tokens"},
		{"MaxOverCap", Options{MaxTokens: 513}, 512, "max_tokens"},
		{"CapOverLimitIgnored", Options{MaxTokens: 9000}, 100000, "max_tokens"},
		{"OverlapNegative", Options{MaxTokens: 100, OverlapTokens: -1}, 0, "overlap_tokens"},
		{"OverlapEqualsMax", Options{MaxTokens: 100, OverlapTokens: 100}, 0, "overlap_tokens"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.opts.Validate(c.limit)
			if c.param == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var re *ragd.Error
			if !errors.As(err, &re) || re.Kind != ragd.EINVALID || re.Param != c.param {
				t.Fatalf("error %v, want EINVALID on %s", err, c.param)
			}
			if _, err := New(c.opts, nil); err == nil && c.limit == 0 {
				t.Fatal("New accepted invalid options")
			}
		})
	}
}

func TestEmitErrorStops(t *testing.T) {
	stop := errors.New("disk full")
	calls := 0
	c, err := New(Options{MaxTokens: 10}, func(Chunk) error { calls++; return stop })
	if err != nil {
		t.Fatal(err)
	}
	err = c.Write(Segment{Text: strings.Repeat("word ", 100)})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Write: %v after %d calls", err, calls)
	}
	if err := c.Close(); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Close: %v after %d calls", err, calls)
	}
}

func TestSplitAndTokens(t *testing.T) {
	text := readTestdata(t, "Apache-2.0.txt")
	chunks, err := Split(text, Options{MaxTokens: 300, OverlapTokens: 0})
	if err != nil {
		t.Fatal(err)
	}
	if texts(chunks) != text {
		t.Fatal("chunks without overlap do not add up to the text")
	}
	var c Chunker
	c.opts, c.enc, c.emit = Options{MaxTokens: 300}, enc, func(Chunk) error { return nil }
	c.Write(Segment{Text: text})
	c.Close()
	if c.Tokens() != int64(enc.Count(text)) {
		t.Fatalf("Tokens() = %d, want %d", c.Tokens(), enc.Count(text))
	}
	if _, err := Split(text, Options{}); err == nil {
		t.Fatal("Split accepted MaxTokens 0")
	}
}
