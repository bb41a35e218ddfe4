package rag

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ragd/ragd"
	upstreamhttp "github.com/ragd/ragd/upstream"
)

// DefaultTimeout bounds a whole non-streamed completion, the wait for a
// stream's first response, and each silence between streamed events.
const DefaultTimeout = 120 * time.Second

// CodeUpstreamAuth is the error code of an upstream that rejects ragd's
// own API key: a configuration fault the client cannot fix, reported as
// EUNAVAILABLE and never retried on a fallback model.
const CodeUpstreamAuth = "upstream_auth_failed"

// maxResponseBytes caps a non-streamed upstream answer and maxErrorBytes
// the part of an error body that is read.
const (
	maxResponseBytes = 32 << 20
	maxErrorBytes    = 64 << 10
)

var errProviderTimeout = errors.New("provider timeout")

// OpenAI is a chat provider speaking OpenAI's chat completions API:
// OpenAI itself, vLLM, llama.cpp's server, Ollama's /v1, LM Studio and
// LocalAI. It posts to {base_url}/chat/completions with a bearer key.
type OpenAI struct {
	name    string
	baseURL string
	apiKey  string
	timeout time.Duration
	client  *http.Client
}

var _ Provider = (*OpenAI)(nil)

// NewOpenAI returns the provider configured by cfg. BaseURL is the API
// root including its version, e.g. https://api.openai.com/v1 or
// http://localhost:11434/v1; a zero Timeout means DefaultTimeout.
func NewOpenAI(cfg ProviderConfig) (*OpenAI, error) {
	if err := upstreamhttp.CheckProvider("chat", cfg.Name, cfg.BaseURL); err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &OpenAI{
		name:    cfg.Name,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"),
		apiKey:  cfg.APIKey,
		timeout: timeout,
		client:  &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}, nil
}

// Name returns the provider's configured name.
func (p *OpenAI) Name() string { return p.name }

// Complete posts req and returns the upstream's chat completion.
func (p *OpenAI) Complete(ctx context.Context, req *ChatRequest) (*ChatResponse, error) {
	reqCtx, cancel := context.WithTimeoutCause(ctx, p.timeout, errProviderTimeout)
	defer cancel()
	resp, err := p.post(ctx, reqCtx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, p.transportError(ctx, reqCtx, err)
	}
	out, err := ParseChatResponse(body)
	if err != nil {
		return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Message: fmt.Sprintf("chat provider %q returned a malformed completion", p.name), Err: err}
	}
	return out, nil
}

// Stream posts req with stream set and relays the upstream's server-sent
// events as they arrive.
func (p *OpenAI) Stream(ctx context.Context, req *ChatRequest) (Stream, error) {
	reqCtx, cancel := context.WithCancelCause(ctx)
	// One timer bounds the wait for the response, then each silence.
	timer := time.AfterFunc(p.timeout, func() { cancel(errProviderTimeout) })
	resp, err := p.post(ctx, reqCtx, req)
	if err != nil {
		timer.Stop()
		cancel(nil)
		return nil, err
	}
	return &sseStream{p: p, ctx: ctx, reqCtx: reqCtx, cancel: cancel, timer: timer,
		body: resp.Body, r: bufio.NewReaderSize(resp.Body, 64<<10)}, nil
}

// post sends req and returns a 2xx response, or the error mapped from a
// failed request or an error status.
func (p *OpenAI) post(ctx, reqCtx context.Context, req *ChatRequest) (*http.Response, error) {
	body, err := req.MarshalJSON()
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(reqCtx, http.MethodPost, p.baseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Message: fmt.Sprintf("chat provider %q is misconfigured", p.name), Err: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	if u := endUser(ctx); u != "" {
		hreq.Header.Set("X-User-Id", u)
	}
	if req.IsStream() {
		hreq.Header.Set("Accept", "text/event-stream")
	} else {
		hreq.Header.Set("Accept", "application/json")
	}
	upstreamhttp.SetRequestID(hreq)
	if p.apiKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, p.transportError(ctx, reqCtx, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		return nil, p.statusError(resp.StatusCode, msg)
	}
	return resp, nil
}

// Ping checks that the provider answers, with GET {base_url}/models, the
// cheapest request every OpenAI-compatible server knows (no tokens, no
// model loaded). A server that answers is up even if it does not know the
// route (a 404 or 405); a refused key (401, 403) or a 5xx is an error, as
// are a refused connection and no answer while ctx lasts.
func (p *OpenAI) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.baseURL+"/models", nil)
	if err != nil {
		return err
	}
	if p.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("chat provider %q is unreachable: %w", p.name, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
	resp.Body.Close()
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return fmt.Errorf("chat provider %q refused ragd's API key (HTTP %d); check its api_key", p.name, s)
	case s >= 500:
		return fmt.Errorf("chat provider %q failed (HTTP %d)", p.name, s)
	}
	return nil
}

// transportError maps a failed request: the caller's own cancellation is
// returned as is, the provider's time limit is ETIMEOUT, anything else
// (connection refused, reset, DNS) EUNAVAILABLE.
func (p *OpenAI) transportError(ctx, reqCtx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var nerr net.Error
	if errors.Is(context.Cause(reqCtx), errProviderTimeout) || (errors.As(err, &nerr) && nerr.Timeout()) {
		return &ragd.Error{Kind: ragd.ETIMEOUT, Err: err,
			Message: fmt.Sprintf("chat provider %q did not answer within %s", p.name, p.timeout)}
	}
	return &ragd.Error{Kind: ragd.EUNAVAILABLE, Err: err,
		Message: fmt.Sprintf("chat provider %q is unreachable", p.name)}
}

// upstreamError is what the OpenAI-compatible servers put in an error
// body: OpenAI, Ollama and llama.cpp nest it under "error" (llama.cpp with
// a numeric code), vLLM puts it at the top level, some send a bare string.
type upstreamError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   *string         `json:"param"`
	Code    json.RawMessage `json:"code"`
}

func parseUpstreamError(body []byte) upstreamError {
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	var e upstreamError
	if json.Unmarshal(body, &wrapped) == nil && len(wrapped.Error) > 0 {
		if json.Unmarshal(wrapped.Error, &e) != nil {
			_ = json.Unmarshal(wrapped.Error, &e.Message)
		}
		return e
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e
	}
	return upstreamError{Message: strings.TrimSpace(string(body))}
}

// statusKinds maps upstream 4xx statuses to ragd error kinds; other 4xx
// are EINVALID.
var statusKinds = map[int]string{
	http.StatusNotFound:              ragd.ENOTFOUND,
	http.StatusConflict:              ragd.ECONFLICT,
	http.StatusRequestEntityTooLarge: ragd.ETOOLARGE,
	http.StatusUnsupportedMediaType:  ragd.EUNSUPPORTED,
	http.StatusUnprocessableEntity:   ragd.EUNPROCESSABLE,
	http.StatusTooManyRequests:       ragd.ERATELIMIT,
}

// statusError maps an upstream error status. A 4xx keeps the upstream's
// message, code and param; 401/403 mean ragd's key was refused; 5xx is
// EUNAVAILABLE naming the provider.
func (p *OpenAI) statusError(status int, body []byte) error {
	ue := parseUpstreamError(body)
	cause := fmt.Errorf("chat provider %q: HTTP %d: %s", p.name, status, truncate(string(body), 500))
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return &ragd.Error{Kind: ragd.EUNAVAILABLE, Code: CodeUpstreamAuth, Err: cause,
			Message: fmt.Sprintf("chat provider %q refused ragd's API key (HTTP %d); check its api_key", p.name, status)}
	case status >= 400 && status < 500:
		kind, ok := statusKinds[status]
		if !ok {
			kind = ragd.EINVALID
		}
		e := &ragd.Error{Kind: kind, Message: ue.Message, Err: cause}
		if e.Message == "" {
			e.Message = fmt.Sprintf("chat provider %q rejected the request (HTTP %d)", p.name, status)
		}
		var code string
		if json.Unmarshal(ue.Code, &code) == nil {
			e.Code = code
		}
		if ue.Param != nil {
			e.Param = *ue.Param
		}
		return e
	default:
		return &ragd.Error{Kind: ragd.EUNAVAILABLE, Err: cause,
			Message: fmt.Sprintf("chat provider %q failed (HTTP %d)", p.name, status)}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// sseStream reads an upstream's text/event-stream.
type sseStream struct {
	p      *OpenAI
	ctx    context.Context
	reqCtx context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	body   io.ReadCloser
	r      *bufio.Reader
	once   sync.Once
}

// Recv returns the data of the next event, skipping comments and empty
// events; "[DONE]" or the end of the body is io.EOF.
func (s *sseStream) Recv() (json.RawMessage, error) {
	var data []byte
	var event string
	for {
		s.timer.Reset(s.p.timeout)
		line, err := s.r.ReadBytes('\n')
		s.timer.Stop()
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if data != nil {
				return s.event(event, data)
			}
		case line[0] == ':':
		case bytes.HasPrefix(line, []byte("data:")):
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(line[5:], []byte(" "))...)
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[6:]))
		}
		if errors.Is(err, io.EOF) {
			return s.event(event, data)
		}
		if err != nil {
			return nil, s.p.transportError(s.ctx, s.reqCtx, err)
		}
	}
}

// event interprets one complete event's data.
func (s *sseStream) event(event string, data []byte) (json.RawMessage, error) {
	if data == nil || string(data) == "[DONE]" {
		return nil, io.EOF
	}
	if event == "error" || bytes.HasPrefix(bytes.TrimSpace(data), []byte(`{"error"`)) {
		ue := parseUpstreamError(data)
		return nil, &ragd.Error{Kind: ragd.EUNAVAILABLE, Err: fmt.Errorf("chat provider %q: stream error: %s", s.p.name, truncate(string(data), 500)),
			Message: fmt.Sprintf("chat provider %q failed mid-stream: %s", s.p.name, ue.Message)}
	}
	return json.RawMessage(data), nil
}

// Close stops the upstream request.
func (s *sseStream) Close() error {
	s.once.Do(func() {
		s.timer.Stop()
		s.cancel(nil)
		s.body.Close()
	})
	return nil
}
