package embed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
)

// RemoteConfig configures an embedding provider reached over HTTP: an
// OpenAI-compatible server (see NewOpenAI) or Ollama (see NewOllama).
type RemoteConfig struct {
	// BaseURL is the server's API root, e.g. https://api.openai.com/v1 or
	// http://127.0.0.1:11434.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when not empty.
	APIKey string
	// Model is the upstream model name; it is also the embedder's Name.
	Model string
	// Dimensions is the vector length the model returns; 0 learns it from
	// the first response. Every later response must have the same length.
	Dimensions int
	// MaxInputTokens is the model's input limit in cl100k_base tokens;
	// 0 means DefaultRemoteMaxInputTokens.
	MaxInputTokens int
	// BatchSize is the most texts sent in one request; 0 means
	// DefaultRemoteBatchSize.
	BatchSize int
	// Timeout bounds each HTTP request (each attempt); 0 means
	// DefaultRemoteTimeout.
	Timeout time.Duration
	// MaxRetries is how many times a request failing with 429, 5xx, a
	// connection error or a timeout is retried; 0 means no retry.
	MaxRetries int
	// HTTPClient sends the requests; nil means a client of its own.
	HTTPClient *http.Client
}

// Defaults of RemoteConfig.
const (
	DefaultRemoteMaxInputTokens = 512
	DefaultRemoteBatchSize      = 100
	DefaultRemoteTimeout        = 60 * time.Second
)

// remote is the machinery shared by the providers: batching, one request
// per batch through an upstream.Client (per-attempt timeout, retries with
// backoff), and checking and normalising the returned vectors. Each
// provider supplies only its wire format.
type remote struct {
	provider string // "openai" or "ollama", named in errors
	cfg      RemoteConfig
	pingURL  string
	wire     wireFormat
	http     *upstream.Client
	dims     atomic.Int64
}

// wireFormat is a provider's request body for a batch and the decoder of
// its response into one vector per text, in input order, and the route
// health checks GET.
type wireFormat struct {
	// pingPath answers a GET cheaply, without running the model.
	pingPath string
	request  func(model string, batch []string) any
	decode   func(body []byte) ([][]float32, error)
}

func newRemote(provider, path string, wire wireFormat, cfg RemoteConfig) (*remote, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, ragd.Invalid("base_url", "%s embedding provider needs an http(s) base URL, got %q", provider, cfg.BaseURL)
	}
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, ragd.Invalid("model", "%s embedding provider needs a model name", provider)
	}
	for _, f := range []struct {
		param string
		value int64
	}{
		{"dimensions", int64(cfg.Dimensions)}, {"max_input_tokens", int64(cfg.MaxInputTokens)},
		{"batch_size", int64(cfg.BatchSize)}, {"timeout", int64(cfg.Timeout)}, {"max_retries", int64(cfg.MaxRetries)},
	} {
		if f.value < 0 {
			return nil, ragd.Invalid(f.param, "%s embedding provider: %s must not be negative", provider, f.param)
		}
	}
	if cfg.MaxInputTokens == 0 {
		cfg.MaxInputTokens = DefaultRemoteMaxInputTokens
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultRemoteBatchSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultRemoteTimeout
	}
	r := &remote{
		provider: provider,
		cfg:      cfg,
		pingURL:  strings.TrimRight(cfg.BaseURL, "/") + wire.pingPath,
		wire:     wire,
		http: upstream.New(fmt.Sprintf("embedding provider %s (model %q)", provider, cfg.Model),
			strings.TrimRight(cfg.BaseURL, "/")+path, cfg.APIKey, cfg.Timeout, cfg.MaxRetries, cfg.HTTPClient),
	}
	r.dims.Store(int64(cfg.Dimensions))
	return r, nil
}

// Name implements Embedder: the upstream model name.
func (r *remote) Name() string { return r.cfg.Model }

// Dimensions implements Embedder. It is 0 until the first response when
// the configuration left it unset; call Probe at start-up to learn it.
func (r *remote) Dimensions() int { return int(r.dims.Load()) }

// MaxInputTokens implements Embedder.
func (r *remote) MaxInputTokens() int { return r.cfg.MaxInputTokens }

// Probe embeds one short text when the dimension is still unknown, so that
// Dimensions is set and an unreachable provider is reported at start-up.
func (r *remote) Probe(ctx context.Context) error {
	if r.Dimensions() > 0 {
		return nil
	}
	_, err := r.Embed(ctx, []string{"ragd"})
	return err
}

// Ping checks that the provider answers, for health checks: a GET of a
// route that runs no model. A server that answers is up even if it does
// not know the route (404, 405); a refused key (401, 403), a 5xx, a
// refused connection or no answer while ctx lasts is an error.
func (r *remote) Ping(ctx context.Context) error {
	return r.http.Ping(ctx, r.pingURL)
}

// Embed implements Embedder. It sends texts in batches of at most
// BatchSize, one batch after the other, and returns their normalised
// vectors in input order. Besides the errors of post, a response with the
// wrong number of vectors is an EUNAVAILABLE error and one with the wrong
// dimension an EUNPROCESSABLE error with code dimension_mismatch; see
// upstream.Client.Post for the failures of a request.
func (r *remote) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	w := r.wire
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += r.cfg.BatchSize {
		batch := texts[start:min(start+r.cfg.BatchSize, len(texts))]
		body, err := json.Marshal(w.request(r.cfg.Model, batch))
		if err != nil {
			return nil, fmt.Errorf("embed: encoding request: %w", err)
		}
		resp, err := r.http.Post(ctx, body)
		if err != nil {
			return nil, err
		}
		vecs, err := w.decode(resp)
		if err != nil {
			return nil, r.http.BadResponse("its response could not be read", err)
		}
		if err := r.check(vecs, len(batch)); err != nil {
			return nil, err
		}
		out = append(out, vecs...)
	}
	return out, nil
}

// check verifies the count and dimension of vecs, learns the dimension
// from the first response when it was not configured, and normalises.
func (r *remote) check(vecs [][]float32, want int) error {
	if len(vecs) != want {
		return r.http.BadResponse(fmt.Sprintf("it returned %d vectors for %d texts", len(vecs), want), nil)
	}
	for _, v := range vecs {
		if len(v) == 0 {
			return r.http.BadResponse("it returned an empty vector", nil)
		}
		r.dims.CompareAndSwap(0, int64(len(v)))
		if d := r.Dimensions(); len(v) != d {
			return &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "dimension_mismatch",
				Message: fmt.Sprintf("%s returned a vector of %d dimensions, expected %d", r.http.Label, len(v), d)}
		}
		Normalize(v)
	}
	return nil
}
