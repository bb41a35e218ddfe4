package embed

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"testing"
)

// hashReference is the hash model as its features are defined: each
// feature's string built and hashed with hash/fnv. The model computes the
// same hashes without building the strings.
func hashReference(dims int, text string) []float32 {
	counts := map[uint64]float32{}
	add := func(feature string, weight float32) {
		f := fnv.New64a()
		f.Write([]byte(feature))
		counts[f.Sum64()] += weight
	}
	words := Words(text)
	for i, w := range words {
		add("w:"+w, 1)
		if i > 0 {
			add("b:"+words[i-1]+" "+w, 0.5)
		}
		r := []rune("<" + w + ">")
		for j := 0; j+3 <= len(r); j++ {
			add("c:"+string(r[j:j+3]), 0.25)
		}
	}
	v := make([]float32, dims)
	for key, c := range counts {
		weight := float32(1 + math.Log(float64(c)+1))
		if key&(1<<63) != 0 {
			weight = -weight
		}
		v[int(key%uint64(dims))] += weight
	}
	Normalize(v)
	return v
}

// The hash model's vectors are the reference's (up to the order in which
// float32 sums add up, which a map's order leaves open) on ASCII and
// multi-byte words, one-letter words, repeats and empty text, text after
// text through one Embed call.
func TestHashMatchesReference(t *testing.T) {
	texts := []string{
		"The quick brown fox jumps over the lazy dog; the dog sleeps.",
		"a b c a b c",
		"Überprüfung der Straße: 東京 と 大阪, naïve café — ünïcödé ß",
		"",
		"x",
		strings.Repeat("retrieval augmented generation ", 40),
		"invalid \xff\xfe utf-8 b\xc3yte\xe2\x82 runs",
	}
	for _, dims := range []int{64, 384} {
		h := NewHash(dims)
		got, err := h.Embed(context.Background(), texts)
		if err != nil {
			t.Fatal(err)
		}
		for i, text := range texts {
			want := hashReference(dims, text)
			for j := range want {
				if math.Abs(float64(got[i][j]-want[j])) > 1e-6 {
					t.Fatalf("dims %d, %q: element %d is %v, want %v", dims, text, j, got[i][j], want[j])
				}
			}
		}
	}
}

// BenchmarkHash embeds chunks of 120 words, as BenchmarkInsert/hash does.
func BenchmarkHash(b *testing.B) {
	words := strings.Fields("ragd stores vectors in sqlite-vec and words in SQLite FTS5 in one file with hybrid search over both kinds of index")
	var sb strings.Builder
	for i := range 120 {
		sb.WriteString(words[(i*7)%len(words)])
		sb.WriteByte(' ')
	}
	texts := make([]string, 100)
	for i := range texts {
		texts[i] = sb.String()
	}
	h := NewHash(384)
	for b.Loop() {
		if _, err := h.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "chunks/s")
}
