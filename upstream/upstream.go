// Package upstream posts JSON to model providers over HTTP: one request
// with a per-attempt timeout, retries of 429, 5xx, connection errors and
// timeouts with exponential backoff and jitter honouring Retry-After, and
// upstream failures turned into *ragd.Error values a client can act on.
// The embedding and rerank providers share it so that every remote model
// fails and retries the same way.
package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/retry"
)

// Backoff bounds of the retries of a transient failure without a
// Retry-After: retry n waits between half and all of
// min(BackoffBase*2^(n-1), BackoffMax), as retry.Backoff says.
const (
	BackoffBase = 500 * time.Millisecond
	BackoffMax  = 20 * time.Second
)

var backoff = retry.Backoff{Base: BackoffBase, Max: BackoffMax}

const (
	// MaxRetryAfter is the longest Retry-After honoured; an upstream asking
	// for a longer pause fails the call instead of stalling an ingest job.
	MaxRetryAfter = 2 * time.Minute
	// MaxResponseBytes bounds a response body (a batch of 2048 vectors of
	// 3072 floats as JSON is about 130 MB).
	MaxResponseBytes = 256 << 20
)

// Client posts to one provider endpoint. Its fields are read-only once it
// is in use; it is safe for concurrent use.
type Client struct {
	// Label names the provider and model in error messages, e.g.
	// `embedding provider openai (model "m")`.
	Label string
	// Endpoint is the URL posted to.
	Endpoint string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when not empty.
	APIKey string
	// Timeout bounds each attempt.
	Timeout time.Duration
	// MaxRetries is how many times a transient failure is retried.
	MaxRetries int
	// HTTP sends the requests.
	HTTP *http.Client
	// Sleep waits d or until ctx is done; tests replace it to record waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used to read HTTP-date Retry-After values.
	Now func() time.Time
}

// New returns a client of endpoint with the real clock and sleep; a nil
// httpClient means a client of its own.
func New(label, endpoint, apiKey string, timeout time.Duration, maxRetries int, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{Label: label, Endpoint: endpoint, APIKey: apiKey, Timeout: timeout, MaxRetries: maxRetries,
		HTTP: httpClient, Sleep: retry.Sleep, Now: time.Now}
}

// CheckProvider returns an EINVALID *ragd.Error when a configured
// provider of kind (such as "chat" or "media") has no name, or a base URL
// that is not an http:// or https:// URL.
func CheckProvider(kind, name, baseURL string) error {
	if name == "" {
		return ragd.Invalid("name", "a %s provider needs a name", kind)
	}
	if !strings.HasPrefix(baseURL, "http://") && !strings.HasPrefix(baseURL, "https://") {
		return ragd.Invalid("base_url", "%s provider %q: base_url %q must be an http:// or https:// URL", kind, name, baseURL)
	}
	return nil
}

// transient is a failure worth retrying.
type transient struct {
	err     error
	timeout bool
	// retryAfter is the wait the Retry-After header asked for, when
	// hasRetryAfter.
	retryAfter    time.Duration
	hasRetryAfter bool
}

func (t *transient) Error() string { return t.err.Error() }

// Post sends a JSON body to the endpoint and returns the body of the
// first 2xx response, with the errors of Do.
func (c *Client) Post(ctx context.Context, body []byte) ([]byte, error) {
	resp, err := c.Do(ctx, Request{Body: body})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Request is one call of Do; zero fields take Post's values.
type Request struct {
	// Method is the HTTP method; empty means POST.
	Method string
	// URL is the address called; empty means the client's Endpoint.
	URL string
	// ContentType is the body's type; empty means application/json.
	ContentType string
	// Accept is the response type asked for; empty means
	// application/json.
	Accept string
	// Body is sent as is; a GET has none.
	Body []byte
}

// Response is the 2xx answer of Do.
type Response struct {
	// Body is the whole response body.
	Body []byte
	// ContentType is the response's Content-Type header, "" when none.
	ContentType string
}

// Do sends r, retrying transient failures, and returns the first 2xx
// response. Model providers answer media requests with other bodies than
// JSON (audio bytes, multipart uploads), so the body and its type are the
// caller's. It returns ctx.Err() when ctx is done, a *ragd.Error of kind
// EINVALID or EUNPROCESSABLE (code upstream_rejected) for a 4xx other than
// 429, ETIMEOUT when the last attempt timed out and EUNAVAILABLE when the
// retries are exhausted.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	if r.Method == "" {
		r.Method = http.MethodPost
	}
	if r.URL == "" {
		r.URL = c.Endpoint
	}
	if r.ContentType == "" && r.Body != nil {
		r.ContentType = "application/json"
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.try(ctx, r)
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
		if t.retryAfter > MaxRetryAfter {
			return nil, c.unavailable(r, attempt+1, fmt.Sprintf("it asked to retry after %s", t.retryAfter), t)
		}
		if attempt >= c.MaxRetries {
			if t.timeout {
				return nil, &ragd.Error{Kind: ragd.ETIMEOUT, Err: t.err,
					Message: fmt.Sprintf("%s did not answer within %s (%d attempts)", c.Label, c.Timeout, attempt+1)}
			}
			return nil, c.unavailable(r, attempt+1, "", t)
		}
		wait := t.retryAfter
		if !t.hasRetryAfter {
			wait = backoff.Delay(attempt + 1)
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// Ping checks that the provider answers, for health checks: a GET of url,
// a route of the provider that runs no model, with the API key. A server
// that answers is up even if it does not know the route (404, 405); a
// refused key (401, 403), a 5xx, a refused connection or no answer while
// ctx lasts is an error naming the provider. It is tried once.
func (c *Client) Ping(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s is unreachable: %w", c.Label, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return fmt.Errorf("%s refused ragd's API key (HTTP %d)", c.Label, s)
	case s >= 500:
		return fmt.Errorf("%s failed (HTTP %d)", c.Label, s)
	}
	return nil
}

// BadResponse is the EUNAVAILABLE error (code upstream_bad_response) of a
// 2xx answer that cannot be used; what says why, err is the logged cause.
func (c *Client) BadResponse(what string, err error) *ragd.Error {
	return &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "upstream_bad_response", Err: err,
		Message: fmt.Sprintf("%s gave an unusable answer: %s", c.Label, what)}
}

func (c *Client) unavailable(r Request, attempts int, why string, t *transient) *ragd.Error {
	if why == "" {
		why = t.err.Error()
	}
	return &ragd.Error{Kind: ragd.EUNAVAILABLE, Err: fmt.Errorf("%s %s: %w", r.Method, r.URL, t.err),
		Message: fmt.Sprintf("%s is unavailable after %d attempts: %s", c.Label, attempts, why)}
}

// try makes one attempt.
func (c *Client) try(ctx context.Context, r Request) (*Response, error) {
	actx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(actx, r.Method, r.URL, body)
	if err != nil {
		return nil, fmt.Errorf("upstream: building request: %w", err)
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if r.Accept == "" {
		r.Accept = "application/json"
	}
	req.Header.Set("Accept", r.Accept)
	SetRequestID(req)
	if c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	timedOut := func() bool { return ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) }
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, &transient{err: err, timeout: timedOut()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, &transient{err: fmt.Errorf("reading response: %w", err), timeout: timedOut()}
	}
	if len(data) > MaxResponseBytes {
		return nil, c.BadResponse(fmt.Sprintf("its response exceeds %d bytes", MaxResponseBytes), nil)
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		return &Response{Body: data, ContentType: resp.Header.Get("Content-Type")}, nil
	case s == http.StatusTooManyRequests || s >= 500:
		t := &transient{err: fmt.Errorf("HTTP %d: %s", s, Message(data))}
		t.retryAfter, t.hasRetryAfter = retry.ParseRetryAfter(resp.Header.Get("Retry-After"), c.Now())
		return nil, t
	default:
		kind := ragd.EUNPROCESSABLE
		if s == http.StatusBadRequest || s == http.StatusRequestEntityTooLarge || s == http.StatusUnprocessableEntity {
			kind = ragd.EINVALID
		}
		return nil, &ragd.Error{Kind: kind, Code: "upstream_rejected",
			Message: fmt.Sprintf("%s rejected the request (HTTP %d): %s", c.Label, s, Message(data))}
	}
}

// Message extracts the error message of an error body in the OpenAI
// ({"error":{"message"}}), Ollama and TEI ({"error":"..."}) or a plain
// {"message"} shape (Cohere), falling back to the (shortened) body itself.
func Message(body []byte) string {
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
