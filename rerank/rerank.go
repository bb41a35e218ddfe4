// Package rerank orders documents by their relevance to a query with a
// reranking (cross-encoder) model. It defines the Reranker interface, a
// registry of the configured models, the "rerank" options of search and RAG
// requests, the providers (text-embeddings-inference's /rerank and
// Cohere-compatible /rerank servers) and the built-in reranker, Lite.
package rerank

import (
	"context"
	"sort"
	"strings"

	"github.com/ragd/ragd"
)

// Reranker scores documents by their relevance to a query.
type Reranker interface {
	// Name is the model name clients use to select this reranker.
	Name() string
	// Rerank returns one relevance score per document, in input order;
	// higher is more relevant, and the scores of one model are comparable
	// across calls (documents may be sent in several batches). It returns
	// a *ragd.Error of kind EUNAVAILABLE or ETIMEOUT when the provider
	// cannot answer, EINVALID or EUNPROCESSABLE when it rejects the
	// request, and ctx.Err() when ctx is done.
	Rerank(ctx context.Context, query string, documents []string) ([]float64, error)
	// Ping checks that the provider answers and takes ragd's key, for
	// GET /v1/health, without running the model; the error says why not.
	Ping(ctx context.Context) error
}

// Blender is a reranker whose scores are blended with the search's own
// ranking rather than replacing it: over the reranked candidates, each
// result's score becomes (1-w) x its search score + w x its rerank score,
// both min-max normalised over the candidates, with w = Blend(). A
// cross-encoder is better alone; a small bi-encoder such as Lite adds to
// the search what the search cannot read, and loses what it can.
type Blender interface {
	// Blend is w, in (0, 1].
	Blend() float64
}

// Excerpter is a reranker that reads only part of each document; usage
// counts that part.
type Excerpter interface {
	// Excerpt returns what the reranker reads of doc.
	Excerpt(doc string) string
}

// Unwrapper is a reranker that wraps another (as the metrics do), so
// BlendOf and ExcerptOf can see through it.
type Unwrapper interface {
	Unwrap() Reranker
}

// as returns r, or the first reranker it wraps, as a T.
func as[T any](r Reranker) (T, bool) {
	for {
		if t, ok := r.(T); ok {
			return t, true
		}
		u, ok := r.(Unwrapper)
		if !ok {
			var zero T
			return zero, false
		}
		r = u.Unwrap()
	}
}

// BlendOf returns the blend weight of r (see Blender), looking through
// wrappers, or 0 when r replaces the ranking.
func BlendOf(r Reranker) float64 {
	if b, ok := as[Blender](r); ok {
		return b.Blend()
	}
	return 0
}

// ExcerptOf returns what r reads of doc (see Excerpter), looking through
// wrappers: all of it unless r says otherwise.
func ExcerptOf(r Reranker, doc string) string {
	if e, ok := as[Excerpter](r); ok {
		return e.Excerpt(doc)
	}
	return doc
}

// Registry maps model names to rerankers. It is filled at start-up and
// read-only afterwards; it may be empty.
type Registry struct {
	models map[string]Reranker
}

// NewRegistry returns a registry of the given rerankers; a later one with
// the name of an earlier one replaces it.
func NewRegistry(rerankers ...Reranker) *Registry {
	r := &Registry{models: make(map[string]Reranker, len(rerankers))}
	for _, rr := range rerankers {
		r.models[rr.Name()] = rr
	}
	return r
}

// Get returns the reranker named name, or an ENOTFOUND error about the
// request field param that lists the available models.
func (r *Registry) Get(param, name string) (Reranker, error) {
	if rr, ok := r.models[name]; ok {
		return rr, nil
	}
	available := "none is configured (see Reranking in the README)"
	if len(r.models) > 0 {
		available = strings.Join(r.names(), ", ")
	}
	return nil, &ragd.Error{Kind: ragd.ENOTFOUND, Code: "model_not_found", Param: param,
		Message: "rerank model \"" + name + "\" is not available; available rerank models: " + available}
}

// List returns the rerankers sorted by name.
func (r *Registry) List() []Reranker {
	out := make([]Reranker, 0, len(r.models))
	for _, n := range r.names() {
		out = append(out, r.models[n])
	}
	return out
}

func (r *Registry) names() []string {
	names := make([]string, 0, len(r.models))
	for n := range r.models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DefaultCandidates is how many results a search or RAG request retrieves
// for reranking when its options do not say (at least top_n): enough for
// a reranker to lift a passage the first ranking placed well below the
// top ten, few enough for a CPU reranker to answer in about a second.
const DefaultCandidates = 50

// Options are the "rerank" member of a search or RAG request: retrieve
// Candidates results, rerank them with Model and keep the TopN best.
type Options struct {
	// Model is the rerank model; required. "none" turns reranking off,
	// the server's default rerank included.
	Model string `json:"model"`
	// TopN is how many results are returned; default the request's top_k.
	TopN *int `json:"top_n"`
	// Candidates is how many results are retrieved and reranked; default
	// max(DefaultCandidates, TopN), capped at the search limit.
	Candidates *int `json:"candidates"`
}

// DefaultOptions are the options of a server's default rerank with model
// (service.Config.DefaultRerank): it reads the first LiteCandidates
// results, the head where the built-in reranker's gain was measured.
func DefaultOptions(model string) *Options {
	n := LiteCandidates
	return &Options{Model: model, Candidates: &n}
}

// NoModel is the model name that asks for no reranking, not even the
// server's default (see Options.Off).
const NoModel = "none"

// Off reports whether the options ask for no reranking: "model": "none".
// The other fields are then ignored.
func (o *Options) Off() bool { return o.Model == NoModel }

// Validate checks the options of a request whose top_k is topK and whose
// searches return at most maxCandidates results, and fills in the
// defaults. Errors are EINVALID and name the field as prefix + ".top_n"
// (".model", ".candidates").
func (o *Options) Validate(prefix string, topK, maxCandidates int) error {
	if strings.TrimSpace(o.Model) == "" {
		return ragd.Invalid(prefix+".model", "%s.model is required: the rerank model to use (GET /v1/models lists those of type rerank)", prefix)
	}
	n := topK
	if o.TopN != nil {
		n = *o.TopN
	}
	if n < 1 || n > maxCandidates {
		return ragd.Invalid(prefix+".top_n", "%s.top_n must be between 1 and %d, got %d", prefix, maxCandidates, n)
	}
	c := min(max(DefaultCandidates, n), maxCandidates)
	if o.Candidates != nil {
		c = *o.Candidates
	}
	if c < n || c > maxCandidates {
		return ragd.Invalid(prefix+".candidates", "%s.candidates must be between top_n (%d) and %d, got %d", prefix, n, maxCandidates, c)
	}
	o.TopN, o.Candidates = &n, &c
	return nil
}
