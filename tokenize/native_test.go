package tokenize

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pkoukk/tiktoken-go"
)

// reference is tiktoken-go's cl100k_base, the oracle of the native encoder.
var reference = sync.OnceValue(func() *tiktoken.Tiktoken {
	tk, err := tiktoken.GetEncoding(CL100K)
	if err != nil {
		panic(err)
	}
	return tk
})

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tricky exercises each branch of the pre-tokenizer.
var tricky = []string{
	"", "a", " ", "  ", "\n", "\r\n", "\n\n\n", " \n ", "\t\t", "x  y", "x   \ny", "x \t\n\n  y",
	"don't I'LL we'Re they've it'S I'd you'M 'll 're' '", "'", "''s", "'\n", "' s",
	"12345678 1 22 333 4444 x1y2z3 ３４５ Ⅻ ½", "hello, world!!! ...\n\n(yes) [no] {maybe}",
	" !!\n\n!! ?\r\n\r\nok", "¿Qué tal? Ça va très bien, merci.", "日本語のテキスト。二番目の文！ 三番目？",
	"한국어 문장입니다. Привет, мир!", "emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷🇩🇪",
	"tabs\tand\u00a0nbsp\u2003em\u3000ideographic", "zero\u200bwidth", "combining e\u0301 a\u0308",
	"URL https://example.com/a/b?c=d&e=f#g and mail a.b@c.de", "snake_case camelCase kebab-case",
	"    indented code\n        more\n", "end with spaces   ", "trailing newline\n", "\u0085nel\u2028ls\u2029ps",
	"ſ 'S 'ſ", "x'sx 'S", strings.Repeat("ab", 300), strings.Repeat(" ", 100) + "x",
	strings.Repeat("\n", 50) + "y", strings.Repeat("!", 200),
}

func TestNativeMatchesTiktoken(t *testing.T) {
	enc := MustGet(CL100K)
	texts := append([]string{readTestdata(t, "GPL-3.txt"), readTestdata(t, "tiktoken-go-README_zh-hans.md")}, tricky...)
	for _, text := range texts {
		want := reference().EncodeOrdinary(text)
		got := enc.Encode(text)
		if !slices.Equal(got, want) {
			t.Errorf("Encode(%.40q): %d tokens, tiktoken-go %d\n got %v\nwant %v", text, len(got), len(want), head(got), head(want))
		}
		if n := enc.Count(text); n != len(want) {
			t.Errorf("Count(%.40q) = %d, want %d", text, n, len(want))
		}
		if d := enc.Decode(got); d != text {
			t.Errorf("Decode(Encode(%.40q)) = %.40q", text, d)
		}
	}
}

func head(t []int) []int { return t[:min(len(t), 20)] }

// FuzzNativeMatchesTiktoken checks the native encoder against tiktoken-go
// on valid UTF-8 and, on any bytes, that tokens decode to the exact input.
func FuzzNativeMatchesTiktoken(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	enc := MustGet(CL100K)
	f.Fuzz(func(t *testing.T, text string) {
		got := enc.Encode(text)
		if d := enc.Decode(got); d != text {
			t.Fatalf("Decode(Encode(%q)) = %q", text, d)
		}
		if !strings.ContainsRune(text, '\uFFFD') && strings.ToValidUTF8(text, "\uFFFD") == text && len(text) < maxPiece {
			if want := reference().EncodeOrdinary(text); !slices.Equal(got, want) {
				t.Fatalf("Encode(%q) = %v, tiktoken-go %v", text, got, want)
			}
		}
	})
}

// TestScanStreams feeds a text in small parts, as a parser does, and checks
// that Scan yields the tokens of encoding the whole text at once, with
// sizes that add up and piece starts where cutting is safe.
func TestScanStreams(t *testing.T) {
	enc := MustGet(CL100K)
	for _, name := range []string{"GPL-3.txt", "tiktoken-go-README_zh-hans.md"} {
		for _, part := range []int{5, 100, 4096} {
			t.Run(fmt.Sprintf("%s/%d", name, part), func(t *testing.T) {
				text := readTestdata(t, name) + strings.Repeat("z", 3*maxPiece) + " end"
				var got []int
				pending, consumed := "", 0
				cuts := []int{}
				emit := func(tok, size int, pieceStart bool) {
					if pieceStart {
						cuts = append(cuts, consumed)
					}
					got = append(got, tok)
					consumed += size
				}
				for i := 0; i < len(text); i += part {
					pending += text[i:min(i+part, len(text))]
					n := enc.Scan(pending, false, emit)
					pending = pending[n:]
					if len(pending) > maxPiece+8 {
						t.Fatalf("%d bytes held back", len(pending))
					}
				}
				enc.Scan(pending, true, emit)
				if want := enc.Encode(text); !slices.Equal(got, want) {
					t.Fatalf("streamed %d tokens, whole %d", len(got), len(want))
				}
				if consumed != len(text) {
					t.Fatalf("sizes add up to %d, text has %d bytes", consumed, len(text))
				}
				// Cutting at a piece start re-encodes each side to the same tokens.
				for _, c := range cuts[len(cuts)/3 : len(cuts)/3+5] {
					if n := enc.Count(text[:c]) + enc.Count(text[c:]); n != len(got) {
						t.Fatalf("cut at %d: %d tokens, want %d", c, n, len(got))
					}
				}
			})
		}
	}
}

func TestPartialRuneHeldBack(t *testing.T) {
	enc := MustGet(CL100K)
	text := "猫が好き"
	var toks []int
	fn := func(tok, _ int, _ bool) { toks = append(toks, tok) }
	n := enc.Scan(text[:4], false, fn) // 猫 and the first byte of が
	n += enc.Scan(text[n:], true, fn)
	if n != len(text) || !slices.Equal(toks, enc.Encode(text)) {
		t.Fatalf("consumed %d of %d, tokens %v want %v", n, len(text), toks, enc.Encode(text))
	}
}

func TestLongPieceCut(t *testing.T) {
	enc := MustGet(CL100K)
	text := strings.Repeat("a", 10*maxPiece)
	if d := enc.Decode(enc.Encode(text)); d != text {
		t.Fatal("long piece does not decode to itself")
	}
	// Cut every maxPiece bytes, each cut encodes like a piece of its own.
	if got, want := enc.Count(text), 10*enc.Count(text[:maxPiece]); got != want {
		t.Fatalf("Count = %d, want %d", got, want)
	}
}

// BenchmarkCount measures tokens/s of the native cl100k_base encoder next
// to tiktoken-go's in the same run, on 4 MB of real English and Chinese
// text (the GPL and a Chinese README, repeated).
func BenchmarkCount(b *testing.B) {
	doc := readTestdata(b, "GPL-3.txt") + readTestdata(b, "tiktoken-go-README_zh-hans.md")
	text := strings.Repeat(doc, 4<<20/len(doc))
	enc := MustGet(CL100K)
	tokens := enc.Count(text)
	for _, c := range []struct {
		name  string
		count func(string) int
	}{
		{"native", enc.Count},
		{"tiktoken-go", func(s string) int { return len(reference().EncodeOrdinary(s)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if n := c.count(text); n != tokens {
					b.Fatalf("%d tokens, want %d", n, tokens)
				}
			}
			b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
