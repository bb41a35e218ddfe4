package rerank

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/upstream"
)

// RemoteConfig configures a rerank provider reached over HTTP:
// text-embeddings-inference (see NewTEI) or a Cohere-compatible server
// (see NewCohere).
type RemoteConfig struct {
	// BaseURL is where the provider's /rerank route lives, e.g.
	// http://127.0.0.1:8082 (TEI) or https://api.cohere.com/v1.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when not empty.
	APIKey string
	// Model is the model name clients use; Cohere-compatible servers also
	// receive it, TEI serves one model and is not told.
	Model string
	// BatchSize is the most documents sent in one request; 0 means the
	// provider's default (DefaultTEIBatchSize, DefaultCohereBatchSize).
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

// DefaultRemoteTimeout bounds each rerank request: reranking sits on the
// path of a search, so it fails sooner than embedding (60 s).
const DefaultRemoteTimeout = 30 * time.Second

// remote is the machinery shared by the providers: batching, one request
// per batch through an upstream.Client (per-attempt timeout, retries with
// backoff), and checking the returned scores. Each provider supplies only
// its wire format.
type remote struct {
	provider string // "tei" or "cohere", named in errors and metrics
	cfg      RemoteConfig
	wire     wireFormat
	http     *upstream.Client
}

// wireFormat is a provider's route, its largest batch by default, its
// request body for a batch and the decoder of its response.
type wireFormat struct {
	path      string
	batchSize int
	request   func(model, query string, batch []string) any
	// decode returns the (index, score) pairs of a response.
	decode func(body []byte) ([]scored, error)
}

// scored is one document's score as a provider returns it; nil marks a
// missing member.
type scored struct {
	index *int
	score *float64
}

func newRemote(provider string, wire wireFormat, cfg RemoteConfig) (*remote, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, ragd.Invalid("base_url", "%s rerank provider needs an http(s) base URL, got %q", provider, cfg.BaseURL)
	}
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, ragd.Invalid("model", "%s rerank provider needs a model name", provider)
	}
	for _, f := range []struct {
		param string
		value int64
	}{{"batch_size", int64(cfg.BatchSize)}, {"timeout", int64(cfg.Timeout)}, {"max_retries", int64(cfg.MaxRetries)}} {
		if f.value < 0 {
			return nil, ragd.Invalid(f.param, "%s rerank provider: %s must not be negative", provider, f.param)
		}
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = wire.batchSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultRemoteTimeout
	}
	return &remote{
		provider: provider,
		cfg:      cfg,
		wire:     wire,
		http: upstream.New(fmt.Sprintf("rerank provider %s (model %q)", provider, cfg.Model),
			strings.TrimRight(cfg.BaseURL, "/")+wire.path, cfg.APIKey, cfg.Timeout, cfg.MaxRetries, cfg.HTTPClient),
	}, nil
}

// Name implements Reranker: the model name.
func (r *remote) Name() string { return r.cfg.Model }

// Ping implements Reranker: a GET of the rerank route, which TEI and
// Cohere-compatible servers answer with 404 or 405 without running the
// model, and with 401 or 403 when the key is refused (upstream.Client.Ping).
func (r *remote) Ping(ctx context.Context) error {
	return r.http.Ping(ctx, strings.TrimRight(r.cfg.BaseURL, "/")+r.wire.path)
}

// Provider names the provider type, for metrics.
func (r *remote) Provider() string { return r.provider }

// Rerank implements Reranker. It sends documents in batches of at most
// BatchSize, one after the other. Besides the errors of
// upstream.Client.Post, a response that does not score every document of
// its batch exactly once is an EUNAVAILABLE error.
func (r *remote) Rerank(ctx context.Context, query string, documents []string) ([]float64, error) {
	out := make([]float64, 0, len(documents))
	for start := 0; start < len(documents); start += r.cfg.BatchSize {
		batch := documents[start:min(start+r.cfg.BatchSize, len(documents))]
		body, err := json.Marshal(r.wire.request(r.cfg.Model, query, batch))
		if err != nil {
			return nil, fmt.Errorf("rerank: encoding request: %w", err)
		}
		resp, err := r.http.Post(ctx, body)
		if err != nil {
			return nil, err
		}
		pairs, err := r.wire.decode(resp)
		if err != nil {
			return nil, r.http.BadResponse("its response could not be read", err)
		}
		scores, err := inOrder(pairs, len(batch))
		if err != nil {
			return nil, r.http.BadResponse(err.Error(), nil)
		}
		out = append(out, scores...)
	}
	return out, nil
}

// inOrder places the scores of a batch of n documents by their index:
// servers answer sorted by score.
func inOrder(pairs []scored, n int) ([]float64, error) {
	if len(pairs) != n {
		return nil, fmt.Errorf("it returned %d scores for %d documents", len(pairs), n)
	}
	out := make([]float64, n)
	seen := make([]bool, n)
	for _, p := range pairs {
		if p.index == nil || p.score == nil {
			return nil, fmt.Errorf("a result lacks its index or score")
		}
		i, s := *p.index, *p.score
		if i < 0 || i >= n || seen[i] {
			return nil, fmt.Errorf("index %d is out of range or repeated", i)
		}
		out[i], seen[i] = s, true
	}
	return out, nil
}
