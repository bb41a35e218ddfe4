package embed

import (
	"sort"
	"strconv"
	"strings"

	"github.com/ragd/ragd"
)

// Registry maps model names to embedders and knows the default model.
// It is filled at start-up (and wrapped, by Wrap) and read-only
// afterwards.
type Registry struct {
	models       map[string]Embedder
	defaultModel string
}

// NewRegistry returns a registry of the given embedders whose default is
// defaultModel (the first embedder when defaultModel is empty).
func NewRegistry(defaultModel string, embedders ...Embedder) *Registry {
	r := &Registry{models: make(map[string]Embedder, len(embedders)), defaultModel: defaultModel}
	for _, e := range embedders {
		r.models[e.Name()] = e
		if r.defaultModel == "" {
			r.defaultModel = e.Name()
		}
	}
	return r
}

// Wrap replaces every embedder e with wrap(e), in place, so that everyone
// holding the registry (the service and the ingest pool) uses the wrapped
// embedders: the server times every embedding call this way. Call it at
// start-up, before the registry is in use.
func (r *Registry) Wrap(wrap func(Embedder) Embedder) {
	for name, e := range r.models {
		r.models[name] = wrap(e)
	}
}

// Default returns the default embedder.
func (r *Registry) Default() Embedder { return r.models[r.defaultModel] }

// Get returns the embedder named name, or an ENOTFOUND error listing the
// available models.
func (r *Registry) Get(name string) (Embedder, error) {
	if e, ok := r.models[name]; ok {
		return e, nil
	}
	return nil, &ragd.Error{Kind: ragd.ENOTFOUND, Code: "model_not_found", Param: "model",
		Message: "embedding model " + quote(name) + " is not available; available models: " + strings.Join(r.Names(), ", ")}
}

// ForCollection returns the embedder collection col was created with. A
// model no longer configured is an EUNPROCESSABLE model_unavailable
// error, one now returning other dimensions a dimension_mismatch: the
// collection's vectors cannot be matched until the operator configures the
// model again. Search, item writes and file ingest all resolve a
// collection's model here, so they fail alike.
func (r *Registry) ForCollection(col *ragd.Collection) (Embedder, error) {
	emb, ok := r.models[col.EmbeddingModel]
	if col.EmbeddingModel == ragd.NoEmbeddingModel {
		return nil, &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "no_embedding_model",
			Message: "collection " + col.ID + " has no embedding model (\"none\"): send a vector with each item and search, or search by keywords"}
	}
	if !ok {
		return nil, &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "model_unavailable",
			Message: "collection " + col.ID + " was embedded with model " + quote(col.EmbeddingModel) + ", which this server does not provide; configure it again"}
	}
	if emb.Dimensions() != col.Dimensions {
		return nil, &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "dimension_mismatch",
			Message: "model " + emb.Name() + " now returns " + strconv.Itoa(emb.Dimensions()) + " dimensions but collection " + col.ID + " stores " + strconv.Itoa(col.Dimensions)}
	}
	return emb, nil
}

// Names returns the model names in sorted order.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.models))
	for n := range r.models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// List returns the embedders sorted by name.
func (r *Registry) List() []Embedder {
	out := make([]Embedder, 0, len(r.models))
	for _, n := range r.Names() {
		out = append(out, r.models[n])
	}
	return out
}

func quote(s string) string { return "\"" + s + "\"" }
