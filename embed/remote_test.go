package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/pipenet"
	"github.com/ragd/ragd/internal/retry"
	"github.com/ragd/ragd/upstream"
)

// reply scripts one answer of the fake server. The zero reply is a 200
// with one vector of the server's dimension per input.
type reply struct {
	status     int
	retryAfter string
	body       string // raw body for non-2xx replies
	hang       bool   // never answer: wait for the client to give up
	dims       int    // overrides the vector length of a 200
	drop       int    // vectors left out of a 200
	rawBody    string // raw body of a 200, sent as is
}

// fake is an httptest server speaking the exact wire format of one
// provider. It checks each request's method, path, headers and body, then
// answers with the next scripted reply (and with the zero reply once the
// script is used up).
type fake struct {
	t        *testing.T
	kind     string // "openai" or "ollama"
	key      string
	model    string
	dims     int
	srv      *httptest.Server
	mu       sync.Mutex
	script   []reply
	requests [][]string
	arrived  chan struct{} // receives once per request, if not nil
}

func newFake(t *testing.T, kind string, script ...reply) *fake {
	return newFakeOn(t, httptest.NewServer, kind, script...)
}

// newFakeOn is newFake on a server started by start: pipenet.NewServer
// for a test inside a synctest bubble.
func newFakeOn(t *testing.T, start func(http.Handler) *httptest.Server, kind string, script ...reply) *fake {
	f := &fake{t: t, kind: kind, key: "sk-test-123", model: "test-embed", dims: 3, script: script}
	f.srv = start(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	if ping := map[string]string{"openai": "/v1/models", "ollama": "/api/version"}[f.kind]; r.Method == http.MethodGet && r.URL.Path == ping {
		f.ping(w, r)
		return
	}
	wantPath := map[string]string{"openai": "/v1/embeddings", "ollama": "/api/embed"}[f.kind]
	if r.Method != http.MethodPost || r.URL.Path != wantPath {
		f.t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, wantPath)
	}
	if got, want := r.Header.Get("Authorization"), "Bearer "+f.key; got != want {
		f.t.Errorf("Authorization = %q, want %q", got, want)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("Content-Type = %q", ct)
	}
	var req struct {
		Model          string   `json:"model"`
		Input          []string `json:"input"`
		EncodingFormat *string  `json:"encoding_format"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		f.t.Errorf("request body: %v", err)
	}
	if req.Model != f.model {
		f.t.Errorf("model = %q, want %q", req.Model, f.model)
	}
	if f.kind == "openai" && (req.EncodingFormat == nil || *req.EncodingFormat != "float") {
		f.t.Errorf("encoding_format = %v, want float", req.EncodingFormat)
	}
	if f.kind == "ollama" && req.EncodingFormat != nil {
		f.t.Errorf("ollama request carries encoding_format")
	}

	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, req.Input)
	var rep reply
	if n < len(f.script) {
		rep = f.script[n]
	}
	f.mu.Unlock()
	if f.arrived != nil {
		f.arrived <- struct{}{}
	}

	switch {
	case rep.hang:
		<-r.Context().Done()
		return
	case rep.status != 0 && rep.status != http.StatusOK:
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		w.WriteHeader(rep.status)
		fmt.Fprint(w, rep.body)
		return
	case rep.rawBody != "":
		fmt.Fprint(w, rep.rawBody)
		return
	}
	dims := f.dims
	if rep.dims != 0 {
		dims = rep.dims
	}
	vecs := make([][]float32, len(req.Input)-rep.drop)
	for i := range vecs {
		vecs[i] = rawVector(req.Input[i], dims)
	}
	w.Header().Set("Content-Type", "application/json")
	if f.kind == "ollama" {
		json.NewEncoder(w).Encode(map[string]any{"model": f.model, "embeddings": vecs, "prompt_eval_count": 3})
		return
	}
	// OpenAI's shape, listed in reverse so the client must use "index".
	data := make([]map[string]any, 0, len(vecs))
	for i := len(vecs) - 1; i >= 0; i-- {
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": vecs[i]})
	}
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": f.model,
		"usage": map[string]int{"prompt_tokens": 3, "total_tokens": 3}})
}

// ping answers a health check as the provider does: OpenAI lists its
// models and refuses a wrong key; Ollama, which has no keys, its version.
func (f *fake) ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if f.kind == "ollama" {
		io.WriteString(w, `{"version":"0.5.7"}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.key {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`)
		return
	}
	fmt.Fprintf(w, `{"object":"list","data":[{"id":%q,"object":"model","created":1,"owned_by":"fake"}]}`, f.model)
}

// rawVector is the fake model: an unnormalised vector derived from text.
func rawVector(text string, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(len(text) + i + 1)
	}
	return v
}

func (f *fake) requestSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	sizes := make([]int, len(f.requests))
	for i, r := range f.requests {
		sizes[i] = len(r)
	}
	return sizes
}

// embedder returns the provider under test pointed at the fake, with a
// sleep that records waits instead of sleeping.
func (f *fake) embedder(t *testing.T, cfg RemoteConfig) (Embedder, *[]time.Duration) {
	t.Helper()
	cfg.APIKey, cfg.Model, cfg.HTTPClient = f.key, f.model, f.srv.Client()
	var (
		e   Embedder
		err error
	)
	if f.kind == "openai" {
		cfg.BaseURL = f.srv.URL + "/v1/"
		e, err = NewOpenAI(cfg)
	} else {
		cfg.BaseURL = f.srv.URL
		e, err = NewOllama(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := remoteOf(e)
	waits := &[]time.Duration{}
	var mu sync.Mutex
	r.http.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	r.http.Now = func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }
	return e, waits
}

func remoteOf(e Embedder) *remote {
	switch e := e.(type) {
	case *OpenAI:
		return e.remote
	case *Ollama:
		return e.remote
	}
	panic("not a remote embedder")
}

var providers = []string{"openai", "ollama"}

func wantKind(t *testing.T, err error, kind string) *ragd.Error {
	t.Helper()
	var e *ragd.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a *ragd.Error of kind %s", err, err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("kind %s (%v), want %s", e.Kind, err, kind)
	}
	return e
}

func TestRemoteEmbed(t *testing.T) {
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			f := newFake(t, kind)
			e, waits := f.embedder(t, RemoteConfig{})
			if e.Dimensions() != 0 || e.Name() != f.model || e.MaxInputTokens() != DefaultRemoteMaxInputTokens {
				t.Fatalf("before use: dims %d name %q max %d", e.Dimensions(), e.Name(), e.MaxInputTokens())
			}
			texts := []string{"a", "hello world", "ragd"}
			vecs, err := e.Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			if e.Dimensions() != 3 {
				t.Errorf("Dimensions = %d after first response, want 3", e.Dimensions())
			}
			for i, v := range vecs {
				want := rawVector(texts[i], 3)
				Normalize(want)
				for j := range v {
					if math.Abs(float64(v[j]-want[j])) > 1e-6 {
						t.Fatalf("vector %d = %v, want %v", i, v, want)
					}
				}
			}
			if len(*waits) != 0 {
				t.Errorf("waited %v without a failure", *waits)
			}
			if vecs, err := e.Embed(context.Background(), nil); err != nil || len(vecs) != 0 || len(f.requestSizes()) != 1 {
				t.Errorf("empty input: %v, %v, %d requests", vecs, err, len(f.requestSizes()))
			}
		})
	}
}

func TestRemoteBatching(t *testing.T) {
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			f := newFake(t, kind)
			e, _ := f.embedder(t, RemoteConfig{BatchSize: 100})
			texts := make([]string, 250)
			for i := range texts {
				texts[i] = strings.Repeat("x", i)
			}
			vecs, err := e.Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.requestSizes(); fmt.Sprint(got) != "[100 100 50]" {
				t.Fatalf("request sizes %v, want [100 100 50]", got)
			}
			for i, v := range vecs {
				want := rawVector(texts[i], 3)
				Normalize(want)
				if math.Abs(float64(v[0]-want[0])) > 1e-6 {
					t.Fatalf("vector %d out of order: %v, want %v", i, v, want)
				}
			}
		})
	}
}

func TestRemoteRetry(t *testing.T) {
	type tc struct {
		name   string
		script []reply
		check  func(t *testing.T, waits []time.Duration)
	}
	exactly := func(want ...time.Duration) func(*testing.T, []time.Duration) {
		return func(t *testing.T, waits []time.Duration) {
			if fmt.Sprint(waits) != fmt.Sprint(want) {
				t.Errorf("waits %v, want %v", waits, want)
			}
		}
	}
	cases := []tc{
		{"RateLimitedRetryAfterSeconds", []reply{{status: 429, retryAfter: "3", body: `{"error":{"message":"slow down"}}`}}, exactly(3 * time.Second)},
		{"RateLimitedRetryAfterDate", []reply{{status: 429, retryAfter: "Sun, 01 Jun 2025 12:00:07 GMT"}}, exactly(7 * time.Second)},
		{"RetryAfterDatePassed", []reply{{status: 503, retryAfter: "Sun, 01 Jun 2025 11:00:00 GMT"}}, exactly(0)},
		{"ServerErrorBacksOff", []reply{{status: 500, body: "boom"}, {status: 502}}, func(t *testing.T, waits []time.Duration) {
			// Equal jitter: attempt n waits between half and all of base*2^n.
			if len(waits) != 2 || waits[0] < upstream.BackoffBase/2 || waits[0] > upstream.BackoffBase ||
				waits[1] < upstream.BackoffBase || waits[1] > 2*upstream.BackoffBase {
				t.Errorf("waits %v, want one in [%v,%v] then one in [%v,%v]", waits, upstream.BackoffBase/2, upstream.BackoffBase, upstream.BackoffBase, 2*upstream.BackoffBase)
			}
		}},
	}
	for _, kind := range providers {
		for _, c := range cases {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				f := newFake(t, kind, c.script...)
				e, waits := f.embedder(t, RemoteConfig{MaxRetries: 3})
				vecs, err := e.Embed(context.Background(), []string{"one", "two"})
				if err != nil {
					t.Fatal(err)
				}
				if len(vecs) != 2 {
					t.Fatalf("%d vectors", len(vecs))
				}
				if n := len(f.requestSizes()); n != len(c.script)+1 {
					t.Errorf("%d requests, want %d", n, len(c.script)+1)
				}
				c.check(t, *waits)
			})
		}
	}
}

func TestRemoteErrors(t *testing.T) {
	cases := []struct {
		name     string
		cfg      RemoteConfig
		script   []reply
		kind     string
		code     string
		message  string // must appear in the client message
		requests int
	}{
		{"BadRequestPassedBack", RemoteConfig{MaxRetries: 3},
			[]reply{{status: 400, body: `{"error":{"message":"'$.input' is invalid. Please check the API reference","type":"invalid_request_error"}}`}},
			ragd.EINVALID, "upstream_rejected", "'$.input' is invalid", 1},
		{"OllamaStyleErrorString", RemoteConfig{MaxRetries: 3},
			[]reply{{status: 404, body: `{"error":"model \"test-embed\" not found, try pulling it first"}`}},
			ragd.EUNPROCESSABLE, "upstream_rejected", `model "test-embed" not found`, 1},
		{"UnauthorizedPlainText", RemoteConfig{MaxRetries: 3},
			[]reply{{status: 401, body: "Unauthorized"}},
			ragd.EUNPROCESSABLE, "upstream_rejected", "(HTTP 401): Unauthorized", 1},
		{"RetriesExhausted", RemoteConfig{MaxRetries: 2},
			[]reply{{status: 503, body: `{"message":"loading model"}`}, {status: 503}, {status: 500, body: "overloaded"}},
			ragd.EUNAVAILABLE, "", "unavailable after 3 attempts: HTTP 500: overloaded", 3},
		{"RetryAfterTooLong", RemoteConfig{MaxRetries: 5},
			[]reply{{status: 429, retryAfter: "3600"}},
			ragd.EUNAVAILABLE, "", "asked to retry after", 1},
		{"RetryAfterPastDuration", RemoteConfig{MaxRetries: 5},
			[]reply{{status: 429, retryAfter: "99999999999"}},
			ragd.EUNAVAILABLE, "", "asked to retry after", 1},
		{"Timeout", RemoteConfig{MaxRetries: 1, Timeout: 50 * time.Millisecond},
			[]reply{{hang: true}, {hang: true}},
			ragd.ETIMEOUT, "", "did not answer within 50ms (2 attempts)", 2},
		{"DimensionMismatchWithConfig", RemoteConfig{Dimensions: 4},
			nil, ragd.EUNPROCESSABLE, "dimension_mismatch", "returned a vector of 3 dimensions, expected 4", 1},
		{"InconsistentDimensions", RemoteConfig{},
			[]reply{{}, {dims: 5}}, ragd.EUNPROCESSABLE, "dimension_mismatch", "5 dimensions, expected 3", 2},
		{"MissingVector", RemoteConfig{},
			[]reply{{drop: 1}}, ragd.EUNAVAILABLE, "upstream_bad_response", "returned 1 vectors for 2 texts", 1},
		{"NotJSON", RemoteConfig{},
			[]reply{{rawBody: "<html>proxy error</html>"}}, ragd.EUNAVAILABLE, "upstream_bad_response", "could not be read", 1},
	}
	for _, kind := range providers {
		for _, c := range cases {
			// On synctest's fake clock, the Timeout case's 50 ms pass only
			// once the fake holds the request, however slow the machine.
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					f := newFakeOn(t, pipenet.NewServer, kind, c.script...)
					e, _ := f.embedder(t, c.cfg)
					var err error
					if c.name == "InconsistentDimensions" {
						if _, err := e.Embed(context.Background(), []string{"first"}); err != nil {
							t.Fatal(err)
						}
					}
					_, err = e.Embed(context.Background(), []string{"one", "two"})
					re := wantKind(t, err, c.kind)
					if re.ClientCode() != c.code && c.code != "" {
						t.Errorf("code %q, want %q", re.ClientCode(), c.code)
					}
					if !strings.Contains(re.Message, c.message) || !strings.Contains(re.Message, kind) {
						t.Errorf("message %q, want it to name %s and contain %q", re.Message, kind, c.message)
					}
					if n := len(f.requestSizes()); n != c.requests {
						t.Errorf("%d requests, want %d", n, c.requests)
					}
				})
			})
		}
	}
}

func TestRemoteOpenAIBadIndex(t *testing.T) {
	f := newFake(t, "openai", reply{rawBody: `{"data":[{"index":0,"embedding":[1,0]},{"index":0,"embedding":[0,1]}]}`})
	e, _ := f.embedder(t, RemoteConfig{})
	_, err := e.Embed(context.Background(), []string{"a", "b"})
	if re := wantKind(t, err, ragd.EUNAVAILABLE); !strings.Contains(re.Err.Error(), "index 0") {
		t.Errorf("cause %v, want it to name the repeated index", re.Err)
	}
}

func TestRemoteUnreachable(t *testing.T) {
	for _, kind := range providers {
		t.Run(kind, func(t *testing.T) {
			f := newFake(t, kind)
			e, waits := f.embedder(t, RemoteConfig{MaxRetries: 2})
			f.srv.Close() // connections are now refused
			_, err := e.Embed(context.Background(), []string{"x"})
			re := wantKind(t, err, ragd.EUNAVAILABLE)
			if !strings.Contains(re.Message, "after 3 attempts") || len(*waits) != 2 {
				t.Errorf("message %q after waits %v", re.Message, *waits)
			}
		})
	}
}

// cancelOnArrival starts Embed, cancels its context once the fake has
// received the request, and checks that Embed returns context.Canceled.
func cancelOnArrival(t *testing.T, f *fake, e Embedder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.Embed(ctx, []string{"x"})
		done <- err
	}()
	<-f.arrived
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Embed did not return after its context was cancelled")
	}
	if n := len(f.requestSizes()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestRemoteCancel(t *testing.T) {
	for _, kind := range providers {
		t.Run(kind+"/DuringRequest", func(t *testing.T) {
			f := newFake(t, kind, reply{hang: true})
			f.arrived = make(chan struct{}, 1)
			e, _ := f.embedder(t, RemoteConfig{Timeout: time.Hour, MaxRetries: 5})
			cancelOnArrival(t, f, e)
		})
		t.Run(kind+"/DuringBackoff", func(t *testing.T) {
			f := newFake(t, kind, reply{status: 429, retryAfter: "100"})
			f.arrived = make(chan struct{}, 1)
			e, _ := f.embedder(t, RemoteConfig{MaxRetries: 5})
			// The real sleep: a 100 s Retry-After that cancellation must cut short.
			remoteOf(e).http.Sleep = retry.Sleep
			cancelOnArrival(t, f, e)
		})
	}
}

func TestRemoteProbe(t *testing.T) {
	f := newFake(t, "ollama")
	e, _ := f.embedder(t, RemoteConfig{})
	o := e.(*Ollama)
	if err := o.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o.Dimensions() != 3 || len(f.requestSizes()) != 1 {
		t.Fatalf("after Probe: dims %d, %d requests", o.Dimensions(), len(f.requestSizes()))
	}
	if err := o.Probe(context.Background()); err != nil || len(f.requestSizes()) != 1 {
		t.Fatalf("second Probe: %v, %d requests (want no new request)", err, len(f.requestSizes()))
	}
}

func TestRemoteConfigInvalid(t *testing.T) {
	ok := RemoteConfig{BaseURL: "http://127.0.0.1:1", Model: "m"}
	cases := []struct {
		name  string
		edit  func(*RemoteConfig)
		param string
	}{
		{"NoBaseURL", func(c *RemoteConfig) { c.BaseURL = "" }, "base_url"},
		{"BaseURLNoScheme", func(c *RemoteConfig) { c.BaseURL = "localhost:11434" }, "base_url"},
		{"BaseURLFTP", func(c *RemoteConfig) { c.BaseURL = "ftp://host/v1" }, "base_url"},
		{"NoModel", func(c *RemoteConfig) { c.Model = " " }, "model"},
		{"NegativeDimensions", func(c *RemoteConfig) { c.Dimensions = -1 }, "dimensions"},
		{"NegativeBatch", func(c *RemoteConfig) { c.BatchSize = -5 }, "batch_size"},
		{"NegativeTimeout", func(c *RemoteConfig) { c.Timeout = -time.Second }, "timeout"},
		{"NegativeRetries", func(c *RemoteConfig) { c.MaxRetries = -1 }, "max_retries"},
		{"NegativeMaxInput", func(c *RemoteConfig) { c.MaxInputTokens = -1 }, "max_input_tokens"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.edit(&cfg)
			_, err1 := NewOpenAI(cfg)
			_, err2 := NewOllama(cfg)
			for _, err := range []error{err1, err2} {
				if re := wantKind(t, err, ragd.EINVALID); re.Param != c.param {
					t.Errorf("param %q, want %q (%v)", re.Param, c.param, err)
				}
			}
		})
	}
}

// Ping, for /v1/health, asks the provider's model-free route; a dead
// upstream or a refused key is an error naming the provider.
func TestRemotePing(t *testing.T) {
	for _, kind := range providers {
		for _, tc := range []struct {
			name string
			key  string // "" keeps the right one
			dead bool
			want string // part of the error; "" for none
		}{
			{"Up", "", false, ""},
			{"Dead", "", true, "is unreachable"},
			{"RefusedKey", "sk-revoked", false, "refused ragd's API key (HTTP 401)"},
		} {
			if kind == "ollama" && tc.key != "" {
				continue // Ollama has no keys
			}
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				f := newFake(t, kind)
				e, _ := f.embedder(t, RemoteConfig{})
				if tc.key != "" {
					remoteOf(e).http.APIKey = tc.key
				}
				if tc.dead {
					f.srv.Close()
				}
				err := remoteOf(e).Ping(context.Background())
				if (err == nil) != (tc.want == "") || (err != nil && (!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), kind))) {
					t.Errorf("Ping = %v, want an error with %q", err, tc.want)
				}
				if n := len(f.requestSizes()); n != 0 {
					t.Errorf("Ping embedded %d batches", n)
				}
			})
		}
	}
}
