// Package client is a Go client for the collection and file routes of the
// ragd HTTP API (shared/API.md). It retries what is worth retrying: a 429
// after its Retry-After, and 5xx answers and connection errors with
// exponential backoff. Every other failure is a *ragd.Error whose Kind
// follows the HTTP status and whose Code, Message and Param are the
// server's.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/retry"
)

// Client talks to one ragd server with one API key. Its fields may be
// changed before first use; it is then safe for concurrent use.
type Client struct {
	// HTTP sends the requests.
	HTTP *http.Client
	// MaxRetries bounds the retries of one request after a 5xx answer or
	// a connection error.
	MaxRetries int
	// MaxRateLimitRetries bounds the retries of one request after 429s.
	MaxRateLimitRetries int
	// Backoff is the nominal wait before the first retry of a 5xx or
	// connection error (or of a 429 without Retry-After); it doubles on
	// each further retry up to MaxBackoff, and each wait is between half
	// and all of it, as retry.Backoff says.
	Backoff, MaxBackoff time.Duration
	// MaxRetryAfter caps how long one Retry-After header makes us wait.
	MaxRetryAfter time.Duration
	// OnRetry, when set, is called before each retry with the error that
	// caused it and the wait.
	OnRetry func(err error, wait time.Duration)

	base *url.URL
	key  string
}

// New returns a client of the ragd server at baseURL (for example
// http://127.0.0.1:8080) using the API key key. A malformed URL is an
// EINVALID error.
func New(baseURL, key string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, ragd.Invalid("url", "the server URL must look like http://host:port, got %q", baseURL)
	}
	if key == "" {
		return nil, ragd.Invalid("key", "an API key is required")
	}
	return &Client{
		HTTP:                &http.Client{Transport: http.DefaultTransport},
		MaxRetries:          6,
		MaxRateLimitRetries: 30,
		Backoff:             250 * time.Millisecond,
		MaxBackoff:          15 * time.Second,
		MaxRetryAfter:       5 * time.Minute,
		base:                u,
		key:                 key,
	}, nil
}

// body makes a fresh request body for each attempt: the reader, its
// length (-1 if unknown) and its content type.
type body func() (io.ReadCloser, int64, string, error)

// jsonBody encodes v once and replays it on each attempt.
func jsonBody(v any) (body, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func() (io.ReadCloser, int64, string, error) {
		return io.NopCloser(bytes.NewReader(data)), int64(len(data)), "application/json", nil
	}, nil
}

// do sends a request, retrying as the package doc says, and decodes a 2xx
// JSON answer into out. It returns the final status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in body, out any) (int, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	backoff := c.backoff()
	var failures, limited int
	for {
		status, retryAfter, err := c.once(ctx, method, u.String(), in, out)
		if err == nil {
			return status, nil
		}
		if ctx.Err() != nil {
			return status, ctx.Err()
		}
		var wait time.Duration
		switch {
		case status == http.StatusTooManyRequests && limited < c.MaxRateLimitRetries:
			limited++
			if d, ok := retry.ParseRetryAfter(retryAfter, time.Now()); ok {
				wait = min(d, c.MaxRetryAfter)
			} else {
				wait = backoff.Delay(limited)
			}
		case (status == 0 || status >= 500) && failures < c.MaxRetries:
			failures++
			wait = backoff.Delay(failures)
		default:
			return status, err
		}
		if c.OnRetry != nil {
			c.OnRetry(err, wait)
		}
		if err := retry.Sleep(ctx, wait); err != nil {
			return status, err
		}
	}
}

// backoff is the policy of the retries that no Retry-After header spaces,
// read from the fields when a request starts.
func (c *Client) backoff() retry.Backoff {
	return retry.Backoff{Base: c.Backoff, Max: c.MaxBackoff}
}

// once sends one attempt. status is 0 when no answer came; retryAfter is
// the Retry-After header of an error answer.
func (c *Client) once(ctx context.Context, method, u string, in body, out any) (status int, retryAfter string, err error) {
	var rd io.ReadCloser
	length, ctype := int64(0), ""
	if in != nil {
		if rd, length, ctype, err = in(); err != nil {
			return 0, "", err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		return 0, "", err
	}
	req.ContentLength = length
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, "", &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: "connection_failed",
			Message: fmt.Sprintf("%s %s: the server did not answer", method, req.URL.Path), Err: err}
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
	}()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, resp.Header.Get("Retry-After"), apiError(resp)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, "", &ragd.Error{Kind: ragd.EINTERNAL, Code: "bad_response",
				Message: fmt.Sprintf("%s %s: the server's answer is not the expected JSON", method, req.URL.Path), Err: err}
		}
	}
	return resp.StatusCode, "", nil
}

// statusKinds maps HTTP statuses back to error kinds, the inverse of the
// server's table.
var statusKinds = map[int]string{
	http.StatusBadRequest:            ragd.EINVALID,
	http.StatusUnauthorized:          ragd.EUNAUTHORIZED,
	http.StatusForbidden:             ragd.EFORBIDDEN,
	http.StatusNotFound:              ragd.ENOTFOUND,
	http.StatusConflict:              ragd.ECONFLICT,
	http.StatusRequestEntityTooLarge: ragd.ETOOLARGE,
	http.StatusUnsupportedMediaType:  ragd.EUNSUPPORTED,
	http.StatusUnprocessableEntity:   ragd.EUNPROCESSABLE,
	http.StatusTooManyRequests:       ragd.ERATELIMIT,
	http.StatusServiceUnavailable:    ragd.EUNAVAILABLE,
	http.StatusGatewayTimeout:        ragd.ETIMEOUT,
}

// apiError turns an error answer into a *ragd.Error.
func apiError(resp *http.Response) error {
	kind, ok := statusKinds[resp.StatusCode]
	switch {
	case ok:
	case resp.StatusCode >= 500:
		kind = ragd.EINTERNAL
	default:
		kind = ragd.EINVALID
	}
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Code    string  `json:"code"`
			Param   *string `json:"param"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &e) != nil || e.Error.Message == "" {
		return &ragd.Error{Kind: kind, Message: fmt.Sprintf("%s %s: HTTP %s", resp.Request.Method, resp.Request.URL.Path, resp.Status)}
	}
	out := &ragd.Error{Kind: kind, Code: e.Error.Code, Message: e.Error.Message}
	if e.Error.Param != nil {
		out.Param = *e.Error.Param
	}
	return out
}

// pageSize is the largest page the API serves.
const pageSize = 100

// list returns an iterator over the elements of a paged list route after
// the one with id after (all if empty), fetching pageSize at a time. key
// is the array's JSON key.
func list[T any](ctx context.Context, c *Client, path, key, after string) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		for {
			q := url.Values{"limit": {strconv.Itoa(pageSize)}}
			if after != "" {
				q.Set("after", after)
			}
			var page map[string]json.RawMessage
			if _, err := c.do(ctx, http.MethodGet, path, q, nil, &page); err != nil {
				yield(nil, err)
				return
			}
			var items []*T
			var more bool
			var last *string
			if err := errors.Join(json.Unmarshal(page[key], &items), json.Unmarshal(page["has_more"], &more), json.Unmarshal(page["last_id"], &last)); err != nil {
				yield(nil, &ragd.Error{Kind: ragd.EINTERNAL, Code: "bad_response", Message: fmt.Sprintf("GET %s: the server's list is not the expected JSON", path), Err: err})
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !more || last == nil || *last == "" {
				return
			}
			after = *last
		}
	}
}
