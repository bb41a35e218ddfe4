package embed

import (
	"context"
	"math"
	"strings"
	"unicode"

	"github.com/ragd/ragd/internal/par"
)

// Hash is the built-in deterministic "hash" model: feature-hashed word
// unigrams, word bigrams and character trigrams, with sublinear term
// frequency, signed hashing and L2 normalisation.
//
// It is lexical, not semantic: texts are close when they share words or
// word pieces, and synonyms are not recognised. It needs no weights, is
// fast and reproducible (up to float32 rounding: a vector's sums follow
// a map's order), which makes it the model of the tests.
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

// Embed implements Embedder. Texts are embedded on all cores.
func (h *Hash) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	par.Each(len(texts), hashPerWorker, func() func(int) {
		var f hashFeatures
		return func(i int) {
			if ctx.Err() == nil {
				out[i] = h.embedOne(texts[i], &f)
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// hashPerWorker is the fewest texts that get a worker of their own: a
// text takes tens of microseconds, a goroutine a few.
const hashPerWorker = 16

// FNV-1a, 64 bits (hash/fnv's), computed in place.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// hashFeatures is an Embed call's scratch space, reused from text to text.
type hashFeatures struct {
	counts map[uint64]float32 // weight by feature hash
	starts []int              // byte offsets of a padded word's runes
}

// embedOne hashes each feature of text: "w:" and the word, "b:" and two
// consecutive words with a space between them, and "c:" and each three
// runes of the word padded with '<' and '>' (Words returns valid UTF-8,
// so a rune's bytes are the word's). Each feature's FNV-1a hash
// is computed over those bytes without building them (the strings and
// hashers each feature allocated took most of an insert with this model).
func (h *Hash) embedOne(text string, f *hashFeatures) []float32 {
	if f.counts == nil {
		f.counts = make(map[uint64]float32)
	}
	counts := f.counts
	clear(counts)
	words := Words(text)
	for i, w := range words {
		counts[fnvAdd(fnvAdd(fnvOffset, "w:"), w)]++
		if i > 0 {
			counts[fnvAdd(fnvAdd(fnvAdd(fnvAdd(fnvOffset, "b:"), words[i-1]), " "), w)] += 0.5
		}
		// The padded word "<w>": its rune starts, and its end.
		f.starts = append(f.starts[:0], 0)
		for j := range w {
			f.starts = append(f.starts, 1+j)
		}
		f.starts = append(f.starts, 1+len(w), 2+len(w))
		for j := 0; j+3 < len(f.starts); j++ {
			hc := fnvAdd(fnvOffset, "c:")
			for k := f.starts[j]; k < f.starts[j+3]; k++ {
				var c byte
				switch {
				case k == 0:
					c = '<'
				case k == 1+len(w):
					c = '>'
				default:
					c = w[k-1]
				}
				hc = (hc ^ uint64(c)) * fnvPrime
			}
			counts[hc] += 0.25
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
