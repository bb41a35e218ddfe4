package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ragd/ragd"
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

const (
	backoffBase = 500 * time.Millisecond
	backoffMax  = 20 * time.Second
	// maxRetryAfter is the longest Retry-After honoured; an upstream asking
	// for a longer pause fails the call instead of stalling an ingest job.
	maxRetryAfter = 2 * time.Minute
	// maxResponseBytes bounds a response body (a batch of 2048 vectors of
	// 3072 floats as JSON is about 130 MB).
	maxResponseBytes = 256 << 20
)

// remote is the HTTP machinery shared by the providers: batching, one
// request per batch with a per-attempt timeout, retries with exponential
// backoff and jitter honouring Retry-After, and checking and normalising
// the returned vectors. Each provider supplies only its wire format.
type remote struct {
	provider string // "openai" or "ollama", named in errors
	cfg      RemoteConfig
	endpoint string
	pingURL  string
	wire     wireFormat
	client   *http.Client
	dims     atomic.Int64

	// sleep waits d or until ctx is done; tests replace it to record waits.
	sleep func(ctx context.Context, d time.Duration) error
	// now is the clock used to read HTTP-date Retry-After values.
	now func() time.Time
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
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	r := &remote{
		provider: provider,
		cfg:      cfg,
		endpoint: strings.TrimRight(cfg.BaseURL, "/") + path,
		pingURL:  strings.TrimRight(cfg.BaseURL, "/") + wire.pingPath,
		wire:     wire,
		client:   client,
		sleep:    sleepCtx,
		now:      time.Now,
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.pingURL, nil)
	if err != nil {
		return err
	}
	if r.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("embedding provider %s (model %q) is unreachable: %w", r.provider, r.cfg.Model, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return fmt.Errorf("embedding provider %s (model %q) refused ragd's API key (HTTP %d)", r.provider, r.cfg.Model, s)
	case s >= 500:
		return fmt.Errorf("embedding provider %s (model %q) failed (HTTP %d)", r.provider, r.cfg.Model, s)
	}
	return nil
}

// Embed implements Embedder. It sends texts in batches of at most
// BatchSize, one batch after the other, and returns their normalised
// vectors in input order. Besides the errors of post, a response with the
// wrong number of vectors is an EUNAVAILABLE error and one with the wrong
// dimension an EUNPROCESSABLE error with code dimension_mismatch.
func (r *remote) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	w := r.wire
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += r.cfg.BatchSize {
		batch := texts[start:min(start+r.cfg.BatchSize, len(texts))]
		body, err := json.Marshal(w.request(r.cfg.Model, batch))
		if err != nil {
			return nil, fmt.Errorf("embed: encoding request: %w", err)
		}
		resp, err := r.post(ctx, body)
		if err != nil {
			return nil, err
		}
		vecs, err := w.decode(resp)
		if err != nil {
			return nil, r.badResponse("its response could not be read", err)
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
		return r.badResponse(fmt.Sprintf("it returned %d vectors for %d texts", len(vecs), want), nil)
	}
	for _, v := range vecs {
		if len(v) == 0 {
			return r.badResponse("it returned an empty vector", nil)
		}
		r.dims.CompareAndSwap(0, int64(len(v)))
		if d := r.Dimensions(); len(v) != d {
			return &ragd.Error{Kind: ragd.EUNPROCESSABLE, Code: "dimension_mismatch",
				Message: fmt.Sprintf("embedding provider %s (model %q) returned a vector of %d dimensions, expected %d", r.provider, r.cfg.Model, len(v), d)}
		}
		Normalize(v)
	}
	return nil
}

func (r *remote) badResponse(what string, err error) *ragd.Error {
	return &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "upstream_bad_response", Err: err,
		Message: fmt.Sprintf("embedding provider %s (model %q) gave an unusable answer: %s", r.provider, r.cfg.Model, what)}
}

// transient is a failure worth retrying.
type transient struct {
	err        error
	timeout    bool
	retryAfter time.Duration // from the Retry-After header; -1 when absent
}

func (t *transient) Error() string { return t.err.Error() }

// post sends body to the endpoint, retrying transient failures, and returns
// the body of the first 2xx response. It returns ctx.Err() when ctx is
// done, a *ragd.Error of kind EINVALID or EUNPROCESSABLE for a 4xx other
// than 429, ETIMEOUT when the last attempt timed out and EUNAVAILABLE when
// the retries are exhausted.
func (r *remote) post(ctx context.Context, body []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		resp, err := r.try(ctx, body)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var t *transient
		if !errors.As(err, &t) {
			return nil, err
		}
		if t.retryAfter > maxRetryAfter {
			return nil, r.unavailable(attempt+1, fmt.Sprintf("it asked to retry after %s", t.retryAfter), t)
		}
		if attempt >= r.cfg.MaxRetries {
			if t.timeout {
				return nil, &ragd.Error{Kind: ragd.ETIMEOUT, Err: t.err,
					Message: fmt.Sprintf("embedding provider %s (model %q) did not answer within %s (%d attempts)", r.provider, r.cfg.Model, r.cfg.Timeout, attempt+1)}
			}
			return nil, r.unavailable(attempt+1, "", t)
		}
		wait := t.retryAfter
		if wait < 0 {
			wait = backoff(attempt)
		}
		if err := r.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

func (r *remote) unavailable(attempts int, why string, t *transient) *ragd.Error {
	if why == "" {
		why = t.err.Error()
	}
	return &ragd.Error{Kind: ragd.EUNAVAILABLE, Err: fmt.Errorf("POST %s: %w", r.endpoint, t.err),
		Message: fmt.Sprintf("embedding provider %s (model %q) is unavailable after %d attempts: %s", r.provider, r.cfg.Model, attempts, why)}
}

// try makes one attempt.
func (r *remote) try(ctx context.Context, body []byte) ([]byte, error) {
	actx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, r.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("embed: building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if r.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.APIKey)
	}
	timedOut := func() bool { return ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) }
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, &transient{err: err, timeout: timedOut(), retryAfter: -1}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, &transient{err: fmt.Errorf("reading response: %w", err), timeout: timedOut(), retryAfter: -1}
	}
	if len(data) > maxResponseBytes {
		return nil, r.badResponse(fmt.Sprintf("its response exceeds %d bytes", maxResponseBytes), nil)
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return data, nil
	case s == http.StatusTooManyRequests || s >= 500:
		return nil, &transient{err: fmt.Errorf("HTTP %d: %s", s, upstreamMessage(data)),
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), r.now())}
	default:
		kind := ragd.EUNPROCESSABLE
		if s == http.StatusBadRequest || s == http.StatusRequestEntityTooLarge || s == http.StatusUnprocessableEntity {
			kind = ragd.EINVALID
		}
		return nil, &ragd.Error{Kind: kind, Code: "upstream_rejected",
			Message: fmt.Sprintf("embedding provider %s (model %q) rejected the request (HTTP %d): %s", r.provider, r.cfg.Model, s, upstreamMessage(data))}
	}
}

// upstreamMessage extracts the error message of an error body in the
// OpenAI ({"error":{"message"}}), Ollama and TEI ({"error":"..."}) or a
// plain {"message"} shape, falling back to the (shortened) body itself.
func upstreamMessage(body []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		var s string
		var obj struct {
			Message string `json:"message"`
		}
		switch {
		case json.Unmarshal(e.Error, &s) == nil && s != "":
			return s
		case json.Unmarshal(e.Error, &obj) == nil && obj.Message != "":
			return obj.Message
		case e.Message != "":
			return e.Message
		}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "") + "..."
	}
	if msg == "" {
		return "no message"
	}
	return msg
}

// parseRetryAfter reads a Retry-After header given in seconds or as an
// HTTP date; it returns -1 when the header is absent or unreadable.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return -1
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs < 0 {
			return -1
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second)+1)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}

// backoff is the wait before retry number attempt+1: exponential from
// backoffBase up to backoffMax, with "equal jitter" (half fixed, half
// random) so that clients rejected together do not return together.
func backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt < 16 {
		d = min(backoffBase<<attempt, backoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
