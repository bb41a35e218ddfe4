// Package media routes speech, transcription, image, video and music
// requests to the OpenAI-compatible providers that serve their models, as
// rag routes chat requests: by model id, through upstream.Client (one
// timeout per attempt, retries with backoff, the provider's key). ragd
// has no built-in media model: a kind with no configured model fails with
// a 503 that names the configuration to add.
//
// Request bodies pass through member by member, so options ragd does not
// read (response_format, size, speed, quality, ...) reach the provider
// unchanged; only model is rewritten to the provider's own model name.
package media

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
)

// Kind is what a media model does.
type Kind string

// The kinds of media models.
const (
	Speech        Kind = "speech"
	Transcription Kind = "transcription"
	Image         Kind = "image"
	Video         Kind = "video"
	Music         Kind = "music"
)

// Kinds are the media kinds, in the order the config documentation lists
// them.
var Kinds = []Kind{Speech, Transcription, Image, Video, Music}

// paths are the provider routes of each kind, below its base URL: OpenAI's
// for speech, transcription and images; those of seed 004's gateway (the
// shape ragd itself serves) for video and music, which OpenAI's API does
// not have in this form.
var paths = map[Kind]string{
	Speech:        "/audio/speech",
	Transcription: "/audio/transcriptions",
	Image:         "/images/generations",
	Video:         "/videos/generations",
	Music:         "/music/generations",
}

// DefaultTimeout bounds each attempt of a provider configured without a
// timeout: generating an image or a clip takes tens of seconds, longer
// than a chat answer.
const DefaultTimeout = 5 * time.Minute

// MaxRetries is how often a 429, 5xx, timeout or connection error is
// retried. Retrying a generation may pay for it twice, so only twice.
const MaxRetries = 2

// Config lists the media providers and their models.
type Config struct {
	// Providers are the configured upstreams.
	Providers []ProviderConfig
}

// ProviderConfig is one OpenAI-compatible upstream serving media models.
type ProviderConfig struct {
	// Name identifies the provider in errors, logs and owned_by.
	Name string
	// BaseURL is the API root with its version, e.g. https://api.openai.com/v1.
	BaseURL string
	// APIKey is sent as a bearer token when set; never logged.
	APIKey string
	// Timeout bounds each attempt; zero means DefaultTimeout.
	Timeout time.Duration
	// Models are the media models this provider serves.
	Models []ModelConfig
}

// ModelConfig is one media model of a provider.
type ModelConfig struct {
	// ID is the name clients use; unique across providers.
	ID string
	// Upstream is the model name sent to the provider; empty means ID.
	Upstream string
	// Kind is what the model does.
	Kind Kind
	// Voices are the voices of a speech model; a request naming another
	// voice is refused. Empty lets any voice through to the provider.
	Voices []string
}

// Model describes a routable media model, for the model lists.
type Model struct {
	// ID is the model's name.
	ID string
	// Kind is what it does.
	Kind Kind
	// Provider is the serving provider's name.
	Provider string
	// Voices are a speech model's voices, when configured.
	Voices []string
}

// route is a model with the provider serving it.
type route struct {
	Model
	upstream string
	baseURL  string
	client   *upstream.Client
}

// Router sends media requests to the provider serving their model. It is
// built once at start-up and safe for concurrent use.
type Router struct {
	routes map[string]*route
	order  []string
}

// NewRouter builds the router of cfg. It returns an EINVALID *ragd.Error
// for a provider without a name or with a bad base URL, and for a model
// without an id, of an unknown kind, with voices but not of kind speech,
// or configured twice. A zero Config is a router without models.
func NewRouter(cfg Config) (*Router, error) {
	r := &Router{routes: map[string]*route{}}
	for _, pc := range cfg.Providers {
		if err := upstream.CheckProvider("media", pc.Name, pc.BaseURL); err != nil {
			return nil, err
		}
		timeout := pc.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		base := strings.TrimRight(pc.BaseURL, "/")
		client := upstream.New(fmt.Sprintf("media provider %q", pc.Name), base, pc.APIKey, timeout, MaxRetries, nil)
		for _, mc := range pc.Models {
			if err := r.add(pc.Name, base, client, mc); err != nil {
				return nil, err
			}
		}
	}
	return r, nil
}

func (r *Router) add(provider, base string, client *upstream.Client, mc ModelConfig) error {
	switch {
	case mc.ID == "":
		return ragd.Invalid("models", "media provider %q has a model without an id", provider)
	case paths[mc.Kind] == "":
		return ragd.Invalid("kind", "model %q: unknown kind %q; use chat, %s", mc.ID, mc.Kind, kindList())
	case len(mc.Voices) > 0 && mc.Kind != Speech:
		return ragd.Invalid("voices", "model %q: only speech models have voices, it is of kind %s", mc.ID, mc.Kind)
	case r.routes[mc.ID] != nil:
		return ragd.Invalid("models", "media model %q is configured twice", mc.ID)
	}
	up := mc.Upstream
	if up == "" {
		up = mc.ID
	}
	r.routes[mc.ID] = &route{Model: Model{ID: mc.ID, Kind: mc.Kind, Provider: provider, Voices: mc.Voices},
		upstream: up, baseURL: base, client: client}
	r.order = append(r.order, mc.ID)
	return nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Models returns the models of kind, in config order.
func (r *Router) Models(kind Kind) []Model {
	var out []Model
	for _, id := range r.order {
		if rt := r.routes[id]; rt.Kind == kind {
			out = append(out, rt.Model)
		}
	}
	return out
}

// CodeUnavailable returns the error code of a request for kind when no
// model of that kind is configured, e.g. speech_unavailable.
func CodeUnavailable(kind Kind) string { return string(kind) + "_unavailable" }

// find returns the route of model id of kind: EINVALID (param model) when
// id is empty, EUNAVAILABLE (code CodeUnavailable(kind)) when no model of
// kind is configured, ENOTFOUND (code model_not_found) when id is not one
// of them; the messages list the models of kind. A malformed request is
// refused as such whatever the config.
func (r *Router) find(kind Kind, id string) (*route, error) {
	var ids []string
	for _, m := range r.Models(kind) {
		ids = append(ids, m.ID)
	}
	available := strings.Join(ids, ", ")
	if available == "" {
		available = "none is configured"
	}
	switch {
	case id == "":
		return nil, ragd.Invalid("model", "model is required; %s models: %s", kind, available)
	case len(ids) == 0:
		return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: CodeUnavailable(kind), Message: fmt.Sprintf(
			"no %s model is configured and ragd has none built in: add a model with `kind: %s` to a provider under "+
				"chat.providers in the config file (--config); see the README", kind, kind)}
	}
	if rt := r.routes[id]; rt != nil && rt.Kind == kind {
		return rt, nil
	}
	return nil, &ragd.Error{Kind: ragd.ENOTFOUND, Code: "model_not_found", Param: "model",
		Message: fmt.Sprintf("%s model %q does not exist; %s models: %s", kind, id, kind, available)}
}

// Output is a provider's answer, passed to the client as it came.
type Output struct {
	// Body is the response body: JSON, text or audio bytes.
	Body []byte
	// ContentType is its type.
	ContentType string
	// Model is the model that answered (the client's name for it).
	Model string
	// Usage is the token usage the provider reported, zero when none.
	Usage Usage
}

// Usage is what a provider reports of the tokens a request used
// (gpt-image-1 and gpt-4o-transcribe do).
type Usage struct {
	InputTokens  int
	OutputTokens int
}

// usageOf reads the usage member of a JSON response, in OpenAI's media
// form (input_tokens, output_tokens) or its chat form (prompt_tokens,
// completion_tokens); any other body has none.
func usageOf(body []byte) Usage {
	var r struct {
		Usage struct {
			InputTokens      int `json:"input_tokens"`
			OutputTokens     int `json:"output_tokens"`
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if json.Unmarshal(body, &r) != nil {
		return Usage{}
	}
	u := r.Usage
	return Usage{InputTokens: u.InputTokens + u.PromptTokens, OutputTokens: u.OutputTokens + u.CompletionTokens}
}

// call sends one request to rt's provider at the route of its kind (plus
// suffix) and returns the answer.
func (rt *route) call(ctx context.Context, req upstream.Request, suffix string) (*Output, error) {
	req.URL = rt.baseURL + paths[rt.Kind] + suffix
	resp, err := rt.client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	return &Output{Body: resp.Body, ContentType: resp.ContentType, Model: rt.ID, Usage: usageOf(resp.Body)}, nil
}
