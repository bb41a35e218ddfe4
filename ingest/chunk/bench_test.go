package chunk

import (
	"fmt"
	"strings"
	"testing"
)

// realText is about n bytes of real English and Chinese text (the Apache
// license and a Chinese README, repeated).
func realText(t testing.TB, n int) string {
	doc := readTestdata(t, "Apache-2.0.txt") + "\n\n" + readTestdata(t, "zh-README.md") + "\n\n"
	return strings.Repeat(doc, n/len(doc)+1)[:n]
}

// feed writes text to c in segments of size bytes, calling after each.
func feed(t testing.TB, c *Chunker, text string, size int, after func()) {
	for i := 0; i < len(text); i += size {
		if err := c.Write(Segment{Text: text[i:min(i+size, len(text))], Page: 1 + i/size}); err != nil {
			t.Fatal(err)
		}
		after()
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBoundedMemory streams 1.1 MB through a Chunker (18 windows, four
// times what it may hold), in 256 KB segments as a parser might send them, and checks that what it holds stays bounded
// by its window and chunk size, not by the document.
func TestBoundedMemory(t *testing.T) {
	text := realText(t, 1<<20) + strings.Repeat("x", 64<<10) + strings.Repeat(" ", 64<<10) + "end"
	chunks, maxBuf, maxToks := 0, 0, 0
	c, err := New(Options{MaxTokens: 1024, OverlapTokens: 128}, func(Chunk) error { chunks++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	feed(t, c, text, 256<<10, func() {
		maxBuf, maxToks = max(maxBuf, cap(c.buf)), max(maxToks, cap(c.toks))
	})
	// A window of text, its tokens and one chunk, each at most doubled by
	// append's growth; the segment itself is the caller's.
	if maxBuf > 4*window || maxToks > 4*window {
		t.Fatalf("held up to %d bytes and %d tokens", maxBuf, maxToks)
	}
	if chunks < len(text)/(1024*8) {
		t.Fatalf("only %d chunks", chunks)
	}
}

// BenchmarkChunk measures chunking throughput on 4 MB of real text fed in
// 64 KB segments, next to its floor measured in the same run: counting
// the same text's tokens with the native encoder (chunking must tokenize
// every byte once). tiktoken-go's speed is in tokenize's BenchmarkCount.
func BenchmarkChunk(b *testing.B) {
	text := realText(b, 4<<20)
	tokens := enc.Count(text)
	b.Run("floor-count", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for b.Loop() {
			enc.Count(text)
		}
		b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
	for _, opts := range []Options{{MaxTokens: 512, OverlapTokens: 64}, {MaxTokens: 128, OverlapTokens: 32}} {
		b.Run(fmt.Sprintf("chunk-%d-%d", opts.MaxTokens, opts.OverlapTokens), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			chunks := 0
			for b.Loop() {
				chunks = 0
				c, _ := New(opts, func(Chunk) error { chunks++; return nil })
				feed(b, c, text, 64<<10, func() {})
			}
			b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(chunks), "chunks")
		})
	}
}
