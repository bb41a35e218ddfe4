package rag

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/tokenize"
)

// ProviderOpenAI is the provider type of OpenAI-compatible servers.
const ProviderOpenAI = "openai"

// Config lists the chat providers and their models, as read from the
// config file or the RAGD_CHAT_* environment.
type Config struct {
	// Providers are the configured upstreams, in order.
	Providers []ProviderConfig `yaml:"providers" json:"providers"`
	// DefaultModel answers requests that name no model; empty means the
	// first configured model, or ragd-extractive when there is none.
	DefaultModel string `yaml:"default_model" json:"default_model"`
}

// ProviderConfig is one chat upstream.
type ProviderConfig struct {
	// Name identifies the provider in errors, logs and owned_by.
	Name string `yaml:"name" json:"name"`
	// Type is the wire protocol; only ProviderOpenAI (also the default).
	Type string `yaml:"type" json:"type"`
	// BaseURL is the API root with its version, e.g. http://localhost:11434/v1.
	BaseURL string `yaml:"base_url" json:"base_url"`
	// APIKey is sent as a bearer token when set; never logged.
	APIKey string `yaml:"-" json:"-"`
	// Timeout bounds a completion, a stream's start and each silence in
	// it; zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// Models are the models this provider serves.
	Models []ModelConfig `yaml:"models" json:"models"`
}

// ModelConfig is one model of a provider.
type ModelConfig struct {
	// ID is the name clients use; unique across providers.
	ID string `yaml:"id" json:"id"`
	// Upstream is the model name sent to the provider; empty means ID.
	Upstream string `yaml:"upstream" json:"upstream"`
	// ContextWindow is the model's context length in tokens; zero means
	// DefaultContextWindow(ID).
	ContextWindow int `yaml:"context_window" json:"context_window"`
	// Encoding is the tiktoken encoding used to count its tokens; empty
	// means tokenize.EncodingNameForModel(ID).
	Encoding string `yaml:"encoding" json:"encoding"`
	// Fallback lists other model IDs tried in order when this one's
	// provider is down, fails with a 5xx or times out (never on a 4xx).
	Fallback []string `yaml:"fallback" json:"fallback"`
	// Price is what the model costs in credits; the server charges it
	// (server.Config.Prices), the router ignores it.
	Price ragd.Price `yaml:"price" json:"price"`
}

// ModelInfo describes a routable chat model, for /v1/models.
type ModelInfo struct {
	// ID is the model's name.
	ID string
	// Provider is the serving provider's name ("ragd" for built-ins).
	Provider string
	// ContextWindow is the context length in tokens.
	ContextWindow int
	// Encoding is the tiktoken encoding that counts its tokens.
	Encoding string
	// Fallback lists the models tried when this one is unavailable.
	Fallback []string
	// Description says what the model is; set for built-in models.
	Description string
}

// contextWindows are the context lengths of well-known model families,
// longest prefix first within a family.
var contextWindows = []struct {
	prefix string
	tokens int
}{
	{"gpt-4.1", 1047576}, {"gpt-5", 400000}, {"gpt-4o", 128000}, {"chatgpt-4o", 128000},
	{"gpt-4-turbo", 128000}, {"gpt-4-32k", 32768}, {"gpt-4", 8192}, {"gpt-3.5-turbo", 16385},
	{"o1", 200000}, {"o3", 200000}, {"o4", 200000},
	{"llama3.1", 131072}, {"llama3.2", 131072}, {"llama3.3", 131072}, {"llama-3.1", 131072},
	{"llama-3.2", 131072}, {"llama-3.3", 131072}, {"llama3", 8192}, {"llama-3", 8192},
	{"qwen2.5", 32768}, {"qwen3", 40960}, {"mistral", 32768}, {"mixtral", 32768},
	{"gemma3", 131072}, {"gemma2", 8192}, {"phi3", 4096}, {"phi4", 16384},
}

// DefaultContextWindow returns the context length of a well-known model
// family, and 8192 for any other model.
func DefaultContextWindow(model string) int {
	m := strings.ToLower(model)
	if i := strings.LastIndex(m, "/"); i >= 0 {
		m = m[i+1:]
	}
	for _, w := range contextWindows {
		if strings.HasPrefix(m, w.prefix) {
			return w.tokens
		}
	}
	return 8192
}

// route is a model with the provider serving it.
type route struct {
	info     ModelInfo
	upstream string
	provider Provider
}

// Router sends chat requests to the provider serving their model and
// tries the model's fallback chain when that provider is unavailable. It
// is built once at start-up and safe for concurrent use.
type Router struct {
	routes       map[string]*route
	order        []string
	defaultModel string
	now          func() time.Time
}

// NewRouter builds the router of cfg plus the built-in ragd-extractive
// model. It returns an EINVALID *ragd.Error for an unknown provider type,
// a bad base URL, a duplicate model or a fallback naming no model.
func NewRouter(cfg Config) (*Router, error) {
	r := &Router{routes: map[string]*route{}, now: time.Now}
	for _, pc := range cfg.Providers {
		if pc.Type != "" && pc.Type != ProviderOpenAI {
			return nil, ragd.Invalid("type", "chat provider %q: unknown type %q; use %q", pc.Name, pc.Type, ProviderOpenAI)
		}
		p, err := NewOpenAI(pc)
		if err != nil {
			return nil, err
		}
		for _, mc := range pc.Models {
			if err := r.add(p, mc, ""); err != nil {
				return nil, err
			}
		}
	}
	ex := NewExtractive()
	if err := r.add(ex, ModelConfig{ID: ExtractiveModel, ContextWindow: extractiveContextWindow}, extractiveDescription); err != nil {
		return nil, err
	}
	for _, id := range r.order {
		for _, fb := range r.routes[id].info.Fallback {
			if _, ok := r.routes[fb]; !ok || fb == id {
				return nil, ragd.Invalid("fallback", "model %q: fallback %q is not another configured model", id, fb)
			}
		}
	}
	r.defaultModel = cfg.DefaultModel
	if r.defaultModel == "" {
		r.defaultModel = r.order[0]
	}
	if _, ok := r.routes[r.defaultModel]; !ok {
		return nil, ragd.Invalid("default_model", "default chat model %q is not a configured model", r.defaultModel)
	}
	return r, nil
}

func (r *Router) add(p Provider, mc ModelConfig, description string) error {
	if mc.ID == "" {
		return ragd.Invalid("models", "chat provider %q has a model without an id", p.Name())
	}
	if _, dup := r.routes[mc.ID]; dup {
		return ragd.Invalid("models", "chat model %q is configured twice", mc.ID)
	}
	info := ModelInfo{ID: mc.ID, Provider: p.Name(), ContextWindow: mc.ContextWindow, Encoding: mc.Encoding,
		Fallback: mc.Fallback, Description: description}
	if info.ContextWindow <= 0 {
		info.ContextWindow = DefaultContextWindow(mc.ID)
	}
	if info.Encoding == "" {
		info.Encoding = tokenize.EncodingNameForModel(mc.ID)
	}
	if _, err := tokenize.Get(info.Encoding); err != nil {
		return err
	}
	upstream := mc.Upstream
	if upstream == "" {
		upstream = mc.ID
	}
	r.routes[mc.ID] = &route{info: info, upstream: upstream, provider: p}
	r.order = append(r.order, mc.ID)
	return nil
}

// DefaultModel returns the model used when a request names none.
func (r *Router) DefaultModel() string { return r.defaultModel }

// Models returns every routable model, configured ones first in config
// order, then the built-in ones.
func (r *Router) Models() []ModelInfo {
	out := make([]ModelInfo, len(r.order))
	for i, id := range r.order {
		out[i] = r.routes[id].info
	}
	return out
}

// Providers returns each configured chat provider once, in config order,
// for health checks; the built-in model is not among them.
func (r *Router) Providers() []*OpenAI {
	var out []*OpenAI
	seen := map[*OpenAI]bool{}
	for _, id := range r.order {
		if p, ok := r.routes[id].provider.(*OpenAI); ok && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// Model returns the model named id ("" for the default), or an ENOTFOUND
// *ragd.Error with code model_not_found listing the available models.
func (r *Router) Model(id string) (ModelInfo, error) {
	rt, err := r.route(id)
	if err != nil {
		return ModelInfo{}, err
	}
	return rt.info, nil
}

func (r *Router) route(id string) (*route, error) {
	if id == "" {
		id = r.defaultModel
	}
	if rt, ok := r.routes[id]; ok {
		return rt, nil
	}
	return nil, &ragd.Error{Kind: ragd.ENOTFOUND, Code: "model_not_found", Param: "model",
		Message: fmt.Sprintf("model %q does not exist; available models: %s", id, strings.Join(r.order, ", "))}
}

// chain returns the requested model's route followed by its fallbacks.
func (r *Router) chain(id string) ([]*route, error) {
	first, err := r.route(id)
	if err != nil {
		return nil, err
	}
	chain := []*route{first}
	for _, fb := range first.info.Fallback {
		chain = append(chain, r.routes[fb])
	}
	return chain, nil
}

// Served says which model answered a request.
type Served struct {
	// Requested is the model the client asked for (the default when none).
	Requested string
	// Model is the model that answered.
	Model string
	// Provider is the name of the provider that answered.
	Provider string
	// Depth is the number of fallbacks tried before the answer: 0 when
	// the requested model answered.
	Depth int
	// Failures are the errors of the models tried before, for the log.
	Failures []error
}

// SetHeaders sets x-model-used, and after a fallback x-fallback-from and
// x-fallback-depth.
func (s Served) SetHeaders(h http.Header) {
	h.Set("x-model-used", s.Model)
	if s.Depth > 0 {
		h.Set("x-fallback-from", s.Requested)
		h.Set("x-fallback-depth", strconv.Itoa(s.Depth))
	}
}

// Timings splits the time spent on a request.
type Timings struct {
	// Retrieval is the time spent searching the collection.
	Retrieval time.Duration
	// Assembly is the time spent packing passages into the prompt.
	Assembly time.Duration
	// Model is the time the model took: to the whole answer, or for a
	// stream from its start to its end.
	Model time.Duration
}

// Result is a whole (non-streamed) chat completion.
type Result struct {
	// Response is the body to send: the upstream's completion with
	// ragd's id (and for RAG, the sources).
	Response *ChatResponse
	// Completion is the record to store.
	Completion *Completion
	// Served says which model answered.
	Served Served
	// Timings splits the time spent.
	Timings Timings
}

// Retryable reports whether err lets a fallback model be tried: an
// unavailable, failing (5xx) or slow provider, but never a 4xx answer nor
// a refused API key.
func Retryable(err error) bool {
	var e *ragd.Error
	if !errors.As(err, &e) {
		return false
	}
	return (e.Kind == ragd.EUNAVAILABLE && e.Code != CodeUpstreamAuth) || e.Kind == ragd.ETIMEOUT
}

// try calls call on each model of the chain until one succeeds or fails
// with an error that is not Retryable.
func try[T any](ctx context.Context, r *Router, model string, call func(rt *route) (T, error)) (T, Served, error) {
	var zero T
	chain, err := r.chain(model)
	if err != nil {
		return zero, Served{}, err
	}
	served := Served{Requested: chain[0].info.ID}
	for depth, rt := range chain {
		out, err := call(rt)
		if err == nil {
			served.Model, served.Provider, served.Depth = rt.info.ID, rt.provider.Name(), depth
			return out, served, nil
		}
		if !Retryable(err) || ctx.Err() != nil || depth == len(chain)-1 {
			if depth > 0 {
				err = chainError(served.Failures, err)
			}
			return zero, served, err
		}
		served.Failures = append(served.Failures, fmt.Errorf("model %q: %w", rt.info.ID, err))
	}
	panic("unreachable: the chain is never empty")
}

// chainError reports that every model of a fallback chain failed: the
// last error's kind, with a message naming each failure.
func chainError(failures []error, last error) error {
	var e *ragd.Error
	if !errors.As(last, &e) {
		return last
	}
	msgs := make([]string, 0, len(failures)+1)
	for _, f := range failures {
		var fe *ragd.Error
		if errors.As(f, &fe) {
			msgs = append(msgs, fe.Message)
		}
	}
	msgs = append(msgs, e.Message)
	return &ragd.Error{Kind: e.Kind, Code: e.Code, Param: e.Param, Err: errors.Join(append(failures, last)...),
		Message: "every model of the fallback chain failed: " + strings.Join(msgs, "; ")}
}

// Complete answers req with its model or a fallback, returning the
// completion under a new ragd id.
func (r *Router) Complete(ctx context.Context, req *ChatRequest) (*Result, error) {
	start := r.now()
	resp, served, err := try(ctx, r, req.Model(), func(rt *route) (*ChatResponse, error) {
		return rt.provider.Complete(ctx, req.withModel(rt.upstream, false))
	})
	if err != nil {
		return nil, err
	}
	id := newCompletionID()
	resp.obj.set("id", id)
	return &Result{Response: resp, Completion: completionOf(resp, req), Served: served,
		Timings: Timings{Model: r.now().Sub(start)}}, nil
}

// Stream starts a streamed answer to req with its model or a fallback
// (a fallback is only possible until the stream has started). Every chunk
// carries a new ragd id.
func (r *Router) Stream(ctx context.Context, req *ChatRequest) (*ChatStream, error) {
	start := r.now()
	s, served, err := try(ctx, r, req.Model(), func(rt *route) (Stream, error) {
		return rt.provider.Stream(ctx, req.withModel(rt.upstream, true))
	})
	if err != nil {
		return nil, err
	}
	return newChatStream(s, served, req, r.now, start), nil
}

// newCompletionID returns a fresh id in OpenAI's form.
func newCompletionID() string { return "chatcmpl-" + rand.Text() }
