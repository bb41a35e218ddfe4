package chunk

import (
	"slices"
	"strconv"
	"testing"
)

// FuzzChunk checks the invariants of checkInvariants on any input and
// options, and that feeding the text in segments of any size changes
// nothing but the pages, and that sections keep the invariants. Seeds are in testdata/fuzz/FuzzChunk.
func FuzzChunk(f *testing.F) {
	f.Add("Hello world. This is a test.\n\nSecond paragraph here!", uint16(8), uint16(3), uint8(5))
	f.Fuzz(func(t *testing.T, text string, maxTokens, overlap uint16, segment uint8) {
		opts := Options{MaxTokens: 1 + int(maxTokens)%300}
		opts.OverlapTokens = int(overlap) % opts.MaxTokens
		whole := collect(t, opts, Segment{Text: text, Page: 1})
		checkInvariants(t, text, opts, whole)
		var segs []Segment
		size := 1 + int(segment)
		for i := 0; i < len(text); i += size {
			segs = append(segs, Segment{Text: text[i:min(i+size, len(text))], Page: 1})
		}
		if parts := collect(t, opts, segs...); !slices.Equal(parts, whole) {
			t.Fatalf("segments of %d bytes give different chunks", size)
		}
		// Section starts move cuts and overlaps but keep the invariants.
		for i := range segs {
			segs[i].Section = strconv.Itoa(i / 3)
		}
		checkInvariants(t, text, opts, collect(t, opts, segs...))
	})
}
