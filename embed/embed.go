// Package embed turns text into vectors. It defines the Embedder interface,
// a registry that maps model names to embedders, and the providers: the
// built-in models, OpenAI-compatible HTTP servers and Ollama.
package embed

import (
	"context"
	"math"
)

// Embedder turns a batch of texts into vectors.
//
// Every implementation returns unit-length (L2-normalised) vectors, one per
// input text and in input order, each of length Dimensions(). Providers
// normalise what their upstream returns, so cosine similarity is a dot
// product everywhere in ragd.
type Embedder interface {
	// Name is the model name clients use to select this embedder.
	Name() string
	// Dimensions is the length of every returned vector.
	Dimensions() int
	// MaxInputTokens is the longest input, in cl100k_base tokens, the model
	// embeds without truncation; the chunker never produces a longer chunk.
	MaxInputTokens() int
	// Embed returns one vector per text. It returns a *ragd.Error of kind
	// EUNAVAILABLE or ETIMEOUT when a remote provider cannot answer, and
	// ctx.Err() when ctx is done.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Normalize scales v to unit length in place; a zero vector stays zero.
func Normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
}
