package embed

import (
	"context"

	"github.com/ragd/ragd/tokenize"
)

// Windowed lets a model with a short input limit embed long texts: a text
// longer than the model's limit is cut into consecutive windows of at
// most that many tokens, each window is embedded, and the text's vector is
// the normalised mean of its windows' vectors (mean pooling of sentence
// embeddings). Texts within the limit are embedded as they are.
type Windowed struct {
	Embedder
	window int
	max    int
}

var _ Embedder = (*Windowed)(nil)

// NewWindowed wraps e so that it accepts texts of up to maxTokens tokens.
func NewWindowed(e Embedder, maxTokens int) *Windowed {
	return &Windowed{Embedder: e, window: e.MaxInputTokens(), max: maxTokens}
}

// MaxInputTokens implements Embedder.
func (w *Windowed) MaxInputTokens() int { return w.max }

// Embed implements Embedder.
func (w *Windowed) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	enc := tokenize.MustGet(tokenize.CL100K)
	var pieces []string
	owner := make([]int, 0, len(texts)) // owner[i]: the text piece i belongs to
	for i, t := range texts {
		toks := enc.Encode(t)
		if len(toks) <= w.window {
			pieces = append(pieces, t)
			owner = append(owner, i)
			continue
		}
		for start := 0; start < len(toks); start += w.window {
			pieces = append(pieces, enc.Decode(toks[start:min(start+w.window, len(toks))]))
			owner = append(owner, i)
		}
	}
	vecs, err := w.Embedder.Embed(ctx, pieces)
	if err != nil {
		return nil, err
	}
	if len(pieces) == len(texts) {
		return vecs, nil
	}
	out := make([][]float32, len(texts))
	for i, v := range vecs {
		o := owner[i]
		if out[o] == nil {
			out[o] = make([]float32, len(v))
		}
		for j, x := range v {
			out[o][j] += x
		}
	}
	for _, v := range out {
		Normalize(v)
	}
	return out, nil
}
