package embed

import (
	"context"
	"hash/fnv"
	"math"
	"strings"
	"unicode"
)

// Hash is the built-in deterministic "hash" model: feature-hashed word
// unigrams, word bigrams and character trigrams, with sublinear term
// frequency, signed hashing and L2 normalisation.
//
// It is lexical, not semantic: texts are close when they share words or
// word pieces, and synonyms are not recognised. It needs no weights, is
// fast and exactly reproducible, which makes it the model of the tests.
type Hash struct {
	dims int
}

var _ Embedder = (*Hash)(nil)

// HashModelName is the model name of the Hash embedder.
const HashModelName = "hash"

// NewHash returns a hash embedder producing vectors of dims dimensions.
func NewHash(dims int) *Hash { return &Hash{dims: dims} }

// Name implements Embedder.
func (h *Hash) Name() string { return HashModelName }

// Dimensions implements Embedder.
func (h *Hash) Dimensions() int { return h.dims }

// MaxInputTokens implements Embedder. Hashing has no input limit; this
// bounds chunks to a size that still retrieves well.
func (h *Hash) MaxInputTokens() int { return 8192 }

// Embed implements Embedder.
func (h *Hash) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out[i] = h.embedOne(t)
	}
	return out, nil
}

func (h *Hash) embedOne(text string) []float32 {
	counts := make(map[uint64]float32)
	words := Words(text)
	add := func(feature string, weight float32) {
		f := fnv.New64a()
		f.Write([]byte(feature))
		counts[f.Sum64()] += weight
	}
	for i, w := range words {
		add("w:"+w, 1)
		if i > 0 {
			add("b:"+words[i-1]+" "+w, 0.5)
		}
		padded := "<" + w + ">"
		r := []rune(padded)
		for j := 0; j+3 <= len(r); j++ {
			add("c:"+string(r[j:j+3]), 0.25)
		}
	}
	v := make([]float32, h.dims)
	for key, c := range counts {
		idx := int(key % uint64(h.dims))
		weight := float32(1 + math.Log(float64(c)+1))
		if key&(1<<63) != 0 {
			weight = -weight
		}
		v[idx] += weight
	}
	Normalize(v)
	return v
}

// Words splits text into lower-cased runs of letters and digits.
func Words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
}
