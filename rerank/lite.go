package rerank

import (
	"context"
	"slices"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/ragd/ragd/internal/vecmath"
)

// LiteName is the model name of the built-in reranker.
const LiteName = "ragd-rerank-lite"

// Defaults of the built-in reranker, measured on the retrieval benchmark
// (docs/benchmarks.md, "The built-in reranker"): the gain held on both
// dev sets over a plateau of each setting, not at a single point.
const (
	// LeadWords is how much of each passage the built-in reranker reads:
	// its first 32 whitespace-separated words. A FAQ answer, a section or
	// a page states what it is about first; 64 words gained less and cost
	// twice as much, the whole passage less still.
	LeadWords = 32
	// LiteBlend is the built-in reranker's share of the blended score
	// (see Blender): one third rerank, two thirds the search's own
	// ranking. Alone, the sentence encoder ranks far below hybrid search;
	// blended, it adds what a bag of words cannot read.
	LiteBlend = 1.0 / 3
	// LiteCandidates is how many results a default rerank reads: the
	// head where its gain was measured (30 ranked like 20 and 40).
	LiteCandidates = 30
	// liteCacheEntries bounds the cache of passage vectors: 16,384 x 512
	// float32, about 34 MB.
	liteCacheEntries = 16384
)

// Encoder embeds texts as unit vectors. The built-in reranker uses the
// built-in sentence encoder (use-lite): it reads word order and was
// trained on question/answer pairs, which the default static model, a bag
// of words, cannot.
type Encoder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Lite is the built-in reranker: the cosine between the sentence
// encoder's vectors of the query and of each passage's lead. It is a
// bi-encoder, not a cross-encoder: weaker alone than the search it
// reranks, so searches blend its score with theirs (it is a Blender).
// Passage vectors are cached by their lead's text, so a passage that
// comes back in the head of many searches is encoded once. It is safe for
// concurrent use.
type Lite struct {
	enc   Encoder
	cache *lru.Cache[string, []float32]
}

var (
	_ Reranker  = (*Lite)(nil)
	_ Blender   = (*Lite)(nil)
	_ Excerpter = (*Lite)(nil)
)

// NewLite returns the built-in reranker over enc.
func NewLite(enc Encoder) *Lite {
	c, err := lru.New[string, []float32](liteCacheEntries)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &Lite{enc: enc, cache: c}
}

// Name implements Reranker.
func (l *Lite) Name() string { return LiteName }

// Provider names where the model runs, for GET /v1/models.
func (l *Lite) Provider() string { return "ragd" }

// Ping implements Reranker: the model is in the binary.
func (l *Lite) Ping(context.Context) error { return nil }

// Blend implements Blender.
func (l *Lite) Blend() float64 { return LiteBlend }

// Excerpt implements Excerpter: the reranker reads a document's Lead.
func (l *Lite) Excerpt(doc string) string { return Lead(doc) }

// Rerank implements Reranker: cosine similarities in -1..1, one per
// document, from the query's vector and each document's lead's (cached).
func (l *Lite) Rerank(ctx context.Context, query string, documents []string) ([]float64, error) {
	leads := make([]string, len(documents))
	vecs := make([][]float32, len(documents))
	texts := []string{query}
	var missing []int
	for i, d := range documents {
		leads[i] = Lead(d)
		if v, ok := l.cache.Get(leads[i]); ok {
			vecs[i] = v
			continue
		}
		missing = append(missing, i)
		texts = append(texts, leads[i])
	}
	out, err := l.enc.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	for j, i := range missing {
		// A copy: the encoder's vectors of one call may share an array,
		// which a cached slice would keep whole.
		vecs[i] = slices.Clone(out[j+1])
		l.cache.Add(leads[i], vecs[i])
	}
	scores := make([]float64, len(documents))
	for i, v := range vecs {
		scores[i] = vecmath.Cosine(out[0], v)
	}
	return scores, nil
}

// Lead returns the first LeadWords whitespace-separated words of text,
// joined by single spaces.
func Lead(text string) string {
	words := make([]string, 0, LeadWords)
	for w := range strings.FieldsSeq(text) {
		if len(words) == LeadWords {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}
