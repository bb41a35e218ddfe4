package embed

import (
	"sort"
	"strings"

	"github.com/ragd/ragd"
)

// Registry maps model names to embedders and knows the default model.
// It is filled at start-up and read-only afterwards.
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
