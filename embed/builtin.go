package embed

import (
	"github.com/ragd/ragd/embed/glove"
	"github.com/ragd/ragd/embed/static"
	"github.com/ragd/ragd/embed/uselite"
)

// DefaultModelName is the default model of new collections: of the
// built-in models, ragd-static has the best retrieval quality on every
// benchmark set in docs/benchmarks.md, in vector and hybrid mode, and
// embeds faster than any other.
const DefaultModelName = static.Name

// HashDimensions is the vector length of the built-in hash model.
const HashDimensions = 384

// Builtin returns the built-in models, which ship inside the binary and
// need no model server or network:
//   - "hash": feature-hashed words and character trigrams (lexical);
//   - "glove-100d": idf-weighted mean of GloVe word vectors (semantic at
//     the word level);
//   - "use-lite": Universal Sentence Encoder lite, a small transformer
//     (semantic at the sentence level);
//   - "ragd-static": word vectors trained for retrieval on Debian's
//     manuals (models/static), the default.
func Builtin() ([]Embedder, error) {
	g, err := glove.New()
	if err != nil {
		return nil, err
	}
	s, err := static.New()
	if err != nil {
		return nil, err
	}
	u, err := uselite.New()
	if err != nil {
		return nil, err
	}
	// use-lite reads at most 128 word pieces; longer chunks are embedded
	// as the mean of their windows.
	return []Embedder{NewHash(HashDimensions), g, NewWindowed(u, 8192), s}, nil
}

// Describe returns a one-line description of a built-in model, or "".
func Describe(name string) string {
	switch name {
	case HashModelName:
		return "built-in lexical model: feature-hashed words and character trigrams; matches shared words, not meanings"
	case glove.Name:
		return "built-in word-vector model: idf-weighted mean of GloVe 100-d vectors (100k words)"
	case static.Name:
		return "built-in retrieval model: static word vectors trained for question -> passage retrieval on Debian's manuals (models/static), 384-d"
	case uselite.ModelName:
		return "built-in sentence encoder: Universal Sentence Encoder lite (2-layer transformer, 512-d); texts over 96 tokens are embedded as the mean of 96-token windows"
	}
	return ""
}
