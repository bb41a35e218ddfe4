// Package static is the built-in "ragd-static" embedding model: a static
// (word-bag) retrieval embedding trained for ragd by models/static from the
// Debian documentation packages that shared/eval/TRAINING.md lists, starting
// from the shipped GloVe vectors.
//
// A text's vector is the unit-length sum, over its distinct words w, of
// (1 + ln tf(w)) x E[w], where E[w] is the word's learned vector. There is
// no separate word weight: training makes the vectors of words that tell
// passages apart long and those of filler words short, so the sum behaves
// like an idf-weighted bag of meanings. Words outside the vocabulary (rare
// identifiers, names, numbers) share hashed bucket vectors, so two texts
// that share such a word still move closer.
//
// It needs no model server, embeds hundreds of thousands of words per
// second per core, and its vectors are trained for question -> passage
// retrieval (heading -> section, title -> page, term -> definition, man page
// NAME line -> description, sentence -> its paragraph), which is what RAG
// asks of them.
//
// # File format
//
// ragd-static.bin is written by models/static/train.py. Layout,
// little-endian:
//
//	"RAGDSTA1" | dims | words | buckets | wordBytes (uint32 each)
//	words joined by "\n" (wordBytes bytes), sorted
//	(words+buckets) x float32 scale
//	(words+buckets) x dims x int8 components; component = int8 * scale
//
// # Tokenisation
//
// Words are maximal runs of Unicode letters and numbers, lower-cased
// (Python's [^\W_]+ on str.lower(), which the trainer uses). A word not in
// the vocabulary maps to bucket FNV-1a-32(word) mod buckets.
package static

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"hash/fnv"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed/internal/batch"
)

// Name is the model name clients use to select this model.
const Name = "ragd-static"

//go:embed ragd-static.bin
var modelFile []byte

// Model is the ragd-static embedder. It is safe for concurrent use.
type Model struct {
	dims    int
	index   map[string]int32
	buckets uint32
	words   int
	vecs    []byte    // (words+buckets) x dims int8 components, in the embedded file
	scales  []float32 // per row: the quantisation scale
	scratch sync.Pool // *map[int32]int32: term counts of one text
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
		return nil, ragd.Errorf(ragd.EINTERNAL, "ragd-static model file is corrupt: %s", what)
	}
	const header = 8 + 4*4
	if len(b) < header || string(b[:8]) != "RAGDSTA1" {
		return bad("bad header")
	}
	dims := int(binary.LittleEndian.Uint32(b[8:]))
	nwords := int(binary.LittleEndian.Uint32(b[12:]))
	buckets := int(binary.LittleEndian.Uint32(b[16:]))
	wordBytes := int(binary.LittleEndian.Uint32(b[20:]))
	rows := nwords + buckets
	if dims <= 0 || nwords <= 0 || buckets <= 0 || len(b) != header+wordBytes+rows*4+rows*dims {
		return bad("bad sizes")
	}
	m := &Model{
		dims:    dims,
		index:   make(map[string]int32, nwords),
		buckets: uint32(buckets),
		words:   nwords,
		vecs:    b[header+wordBytes+rows*4:],
		scales:  make([]float32, rows),
	}
	words := b[header : header+wordBytes]
	for i := range nwords {
		end := bytes.IndexByte(words, '\n')
		if end < 0 {
			end = len(words)
		}
		m.index[string(words[:end])] = int32(i)
		words = words[min(end+1, len(words)):]
	}
	if len(m.index) != nwords {
		return bad("duplicate words")
	}
	scales := b[header+wordBytes:]
	for i := range rows {
		m.scales[i] = math.Float32frombits(binary.LittleEndian.Uint32(scales[i*4:]))
	}
	m.scratch.New = func() any { c := make(map[int32]int32, 256); return &c }
	return m, nil
}

// Name implements embed.Embedder.
func (m *Model) Name() string { return Name }

// Dimensions implements embed.Embedder.
func (m *Model) Dimensions() int { return m.dims }

// MaxInputTokens implements embed.Embedder. A bag of words has no input
// limit; the chunker's default chunk size decides how much one vector
// covers.
func (m *Model) MaxInputTokens() int { return 8192 }

// Embed implements embed.Embedder: one unit vector per text, in order. It
// spreads large batches over all CPUs and returns ctx.Err() when ctx is
// done.
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return batch.Embed(ctx, texts, m.dims, m.embedOne)
}

// embedOne writes the embedding of text into v, which is zero on entry. A
// text with no word embeds to the first unit vector.
func (m *Model) embedOne(text string, v []float32) {
	cp := m.scratch.Get().(*map[int32]int32)
	counts := *cp
	Words(text, func(w string) { counts[m.row(w)]++ })
	for id, tf := range counts {
		weight := m.scales[id] * float32(1+math.Log(float64(tf)))
		row := m.vecs[int(id)*m.dims : int(id+1)*m.dims]
		for d := range v {
			v[d] += weight * float32(int8(row[d]))
		}
	}
	clear(counts)
	m.scratch.Put(cp)
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

// row is the vector row of word w: its vocabulary index, or its bucket.
func (m *Model) row(w string) int32 {
	if id, ok := m.index[w]; ok {
		return id
	}
	h := fnv.New32a()
	h.Write([]byte(w))
	return int32(uint32(m.words) + h.Sum32()%m.buckets)
}

// Words calls fn with each lower-cased word of text: a maximal run of
// Unicode letters and numbers. It is the trainer's tokenisation, so the
// two must change together.
func Words(text string, fn func(string)) {
	start := -1
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		alnum := unicode.IsLetter(r) || unicode.IsNumber(r)
		switch {
		case alnum && start < 0:
			start = i
		case !alnum && start >= 0:
			fn(strings.ToLower(text[start:i]))
			start = -1
		}
		i += size
	}
	if start >= 0 {
		fn(strings.ToLower(text[start:]))
	}
}
