package embed

import (
	"github.com/ragd/ragd/embed/glove"
)

// HashDimensions is the vector length of the built-in hash model.
const HashDimensions = 384

// Builtin returns the built-in models, which ship inside the binary and
// need no model server or network:
//   - "hash": feature-hashed words and character trigrams (lexical);
//   - "glove-100d": idf-weighted mean of GloVe word vectors (semantic at
//     the word level).
func Builtin() ([]Embedder, error) {
	g, err := glove.New()
	if err != nil {
		return nil, err
	}
	return []Embedder{NewHash(HashDimensions), g}, nil
}

// Describe returns a one-line description of a built-in model, or "".
func Describe(name string) string {
	switch name {
	case HashModelName:
		return "built-in lexical model: feature-hashed words and character trigrams; matches shared words, not meanings"
	case glove.Name:
		return "built-in word-vector model: idf-weighted mean of GloVe 100-d vectors (100k words)"
	}
	return ""
}
