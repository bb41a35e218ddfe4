package rag

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/internal/pipenet"
)

// passthroughBody has fields ragd does not know, with odd spacing and
// characters encoding/json would rewrite (<, >, &, \u escapes).
const passthroughBody = `{"model":"gpt-4o","messages":[{"role":"user","content":"weather in <Paris> & Lyon?"}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}],` +
	`"tool_choice":  "auto",  "response_format":{"type":"json_object"},"stop":["\n\n", "<END>"],"seed":42,` +
	`"logprobs":true,"top_logprobs":2,"x_vendor":{"a":[1, 2.50, 1e3],"b":"\u00e9"}}`

func TestObject(t *testing.T) {
	t.Run("PassesUnknownFieldsByteForByte", func(t *testing.T) {
		r := mustChat(t, passthroughBody)
		out, err := r.withModel("upstream-name", false).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{
			`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}]`,
			`"tool_choice":"auto"`, `"response_format":{"type":"json_object"}`, `"stop":["\n\n", "<END>"]`, `"seed":42`,
			`"logprobs":true`, `"top_logprobs":2`, `"x_vendor":{"a":[1, 2.50, 1e3],"b":"\u00e9"}`,
			`"messages":[{"role":"user","content":"weather in <Paris> & Lyon?"}]`, `"model":"upstream-name"`,
		} {
			if !bytes.Contains(out, []byte(field)) {
				t.Errorf("sent body lacks %s:\n%s", field, out)
			}
		}
		if bytes.Contains(out, []byte(`"stream"`)) {
			t.Errorf("a non-streamed request gained a stream member: %s", out)
		}
	})
	t.Run("BadBodies", func(t *testing.T) {
		for _, tc := range []struct{ name, body, param string }{
			{"NotJSON", `{"model":`, ""},
			{"Array", `[1]`, ""},
			{"Trailing", `{"model":"a","messages":[{"role":"user","content":"x"}]} {}`, ""},
			{"NoMessages", `{"model":"a"}`, "messages"},
			{"MessagesNotArray", `{"model":"a","messages":"hi"}`, "messages"},
			{"NoRole", `{"model":"a","messages":[{"content":"hi"}]}`, "messages"},
			{"ModelNotString", `{"model":3,"messages":[{"role":"user","content":"hi"}]}`, "model"},
			{"StreamNotBool", `{"model":"a","stream":"yes","messages":[{"role":"user","content":"hi"}]}`, "stream"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := ParseChatRequest([]byte(tc.body))
				var e *ragd.Error
				if !errors.As(err, &e) || e.Kind != ragd.EINVALID || e.Param != tc.param {
					t.Fatalf("got %v, want EINVALID about %q", err, tc.param)
				}
			})
		}
	})
}

func TestOpenAIComplete(t *testing.T) {
	up := newUpstream(t, answer("gpt-4o-2024-08-06", "It is sunny."))
	p, err := NewOpenAI(ProviderConfig{Name: "openai", BaseURL: up.URL + "/v1/", APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Complete(context.Background(), mustChat(t, passthroughBody))
	if err != nil {
		t.Fatal(err)
	}
	got := up.last(t)
	if got.path != "/v1/chat/completions" || got.auth != "Bearer sk-test" || got.accept != "application/json" {
		t.Errorf("sent path %q, auth %q, accept %q", got.path, got.auth, got.accept)
	}
	if !bytes.Contains(got.body, []byte(`"tool_choice":"auto"`)) || !bytes.Contains(got.body, []byte(`"stop":["\n\n", "<END>"]`)) {
		t.Errorf("sent body %s", got.body)
	}
	out, _ := resp.MarshalJSON()
	if string(out) != completionJSON("gpt-4o-2024-08-06", "It is sunny.") {
		t.Errorf("the completion was not returned unchanged:\n%s", out)
	}
	if u, ok := resp.Usage(); !ok || u.TotalTokens != 29 {
		t.Errorf("usage %+v %v", u, ok)
	}
}

func TestOpenAIErrors(t *testing.T) {
	fail := func(status int, body string) func(http.ResponseWriter, *http.Request, []byte) {
		return func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	for _, tc := range []struct {
		name          string
		handle        func(http.ResponseWriter, *http.Request, []byte)
		kind, code    string
		message       string
		param         string
		retryable     bool
		timeoutMillis int
	}{
		{name: "OpenAI400", handle: fail(400, `{"error":{"message":"Invalid value for 'tool_choice': 'auto' is not allowed when 'tools' is empty.","type":"invalid_request_error","param":"tool_choice","code":"invalid_value"}}`),
			kind: ragd.EINVALID, code: "invalid_value", param: "tool_choice", message: "Invalid value for 'tool_choice': 'auto' is not allowed when 'tools' is empty."},
		{name: "ContextLength", handle: fail(400, `{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`),
			kind: ragd.EINVALID, code: "context_length_exceeded", param: "messages", message: "This model's maximum context length is 8192 tokens."},
		{name: "OllamaModelNotFound", handle: fail(404, `{"error":{"message":"model \"llama9\" not found, try pulling it first","type":"api_error","param":null,"code":null}}`),
			kind: ragd.ENOTFOUND, message: `model "llama9" not found, try pulling it first`},
		{name: "VLLMTopLevel", handle: fail(400, `{"object":"error","message":"max_tokens must be at least 1, got 0.","type":"BadRequestError","param":null,"code":400}`),
			kind: ragd.EINVALID, message: "max_tokens must be at least 1, got 0."},
		{name: "LlamaCppNumericCode", handle: fail(400, `{"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error"}}`),
			kind: ragd.EINVALID, message: "the request exceeds the available context size"},
		{name: "RateLimited", handle: fail(429, `{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}`),
			kind: ragd.ERATELIMIT, code: "rate_limit_exceeded", message: "Rate limit reached for gpt-4o"},
		{name: "KeyRefused", handle: fail(401, `{"error":{"message":"Incorrect API key provided: sk-up***","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`),
			kind: ragd.EUNAVAILABLE, code: CodeUpstreamAuth, message: `chat provider "up" refused ragd's API key (HTTP 401); check its api_key`},
		{name: "ServerError", handle: fail(500, `{"error":{"message":"The server had an error","type":"server_error"}}`),
			kind: ragd.EUNAVAILABLE, message: `chat provider "up" failed (HTTP 500)`, retryable: true},
		{name: "BadGatewayHTML", handle: fail(502, `<html>bad gateway</html>`),
			kind: ragd.EUNAVAILABLE, message: `chat provider "up" failed (HTTP 502)`, retryable: true},
		{name: "Timeout", handle: func(w http.ResponseWriter, r *http.Request, _ []byte) { <-r.Context().Done() },
			kind: ragd.ETIMEOUT, message: `chat provider "up" did not answer within 50ms`, retryable: true, timeoutMillis: 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, tc.handle)
			p, err := NewOpenAI(ProviderConfig{Name: "up", BaseURL: up.URL + "/v1", APIKey: "sk-up", Timeout: time.Duration(tc.timeoutMillis) * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			for _, stream := range []bool{false, true} {
				req := mustChat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`).withModel("m", stream)
				if stream {
					_, err = p.Stream(context.Background(), req)
				} else {
					_, err = p.Complete(context.Background(), req)
				}
				var e *ragd.Error
				if !errors.As(err, &e) {
					t.Fatalf("stream %v: got %v, want a *ragd.Error", stream, err)
				}
				if e.Kind != tc.kind || e.Code != tc.code || e.Message != tc.message || e.Param != tc.param || Retryable(err) != tc.retryable {
					t.Errorf("stream %v: got kind %q code %q param %q message %q retryable %v", stream, e.Kind, e.Code, e.Param, e.Message, Retryable(err))
				}
			}
		})
	}
	t.Run("ConnectionRefused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		p, _ := NewOpenAI(ProviderConfig{Name: "local", BaseURL: "http://" + addr + "/v1"})
		_, err = p.Complete(context.Background(), mustChat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		var e *ragd.Error
		if !errors.As(err, &e) || e.Kind != ragd.EUNAVAILABLE || e.Message != `chat provider "local" is unreachable` || !Retryable(err) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("CallerCancelled", func(t *testing.T) {
		arrived := make(chan struct{})
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			close(arrived)
			<-r.Context().Done()
		})
		p, _ := NewOpenAI(ProviderConfig{Name: "up", BaseURL: up.URL})
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-arrived
			cancel()
		}()
		_, err := p.Complete(ctx, mustChat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
	t.Run("BadConfig", func(t *testing.T) {
		for _, cfg := range []ProviderConfig{{Name: "x", BaseURL: "localhost:8080"}, {BaseURL: "http://x"}} {
			if _, err := NewOpenAI(cfg); ragd.ErrorKind(err) != ragd.EINVALID {
				t.Errorf("%+v: got %v", cfg, err)
			}
		}
	})
}

func TestOpenAIStream(t *testing.T) {
	t.Run("RelaysChunksAsTheyArrive", func(t *testing.T) {
		release := make(chan struct{})
		events := textChunks("gpt-4o-mini", "Hello", " world")
		up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Content-Type", "text/event-stream")
			// A comment, an event split over two data lines, CRLF endings.
			io.WriteString(w, ": keep-alive\r\n\r\n")
			io.WriteString(w, "data: "+events[0]+"\r\n\r\n")
			w.(http.Flusher).Flush()
			<-release
			for _, e := range events[1:] {
				io.WriteString(w, "data: "+e+"\n\n")
			}
			io.WriteString(w, "data: [DONE]\n\n")
		})
		p, _ := NewOpenAI(ProviderConfig{Name: "up", BaseURL: up.URL + "/v1", APIKey: "k"})
		s, err := p.Stream(context.Background(), mustChat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`).withModel("m", true))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		// The first chunk arrives while the upstream still holds the rest.
		first, err := s.Recv()
		if err != nil || string(first) != events[0] {
			t.Fatalf("first chunk %s, %v", first, err)
		}
		close(release)
		var rest []string
		for _, c := range drain(t, s) {
			rest = append(rest, string(c))
		}
		if strings.Join(rest, "\n") != strings.Join(events[1:], "\n") {
			t.Errorf("relayed %v", rest)
		}
		got := up.last(t)
		if got.accept != "text/event-stream" || !bytes.Contains(got.body, []byte(`"stream":true`)) {
			t.Errorf("sent accept %q body %s", got.accept, got.body)
		}
	})
	t.Run("ErrorEventMidStream", func(t *testing.T) {
		s := openStream(t, context.Background(), 0, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `data: {"error":{"message":"model overloaded","type":"server_error"}}`+"\n\n")
		})
		_, err := s.Recv()
		var e *ragd.Error
		if !errors.As(err, &e) || e.Kind != ragd.EUNAVAILABLE || e.Message != `chat provider "up" failed mid-stream: model overloaded` {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("CancelStopsUpstream", func(t *testing.T) {
		upstreamDone := make(chan struct{})
		ctx, cancel := context.WithCancel(context.Background())
		s := openStream(t, ctx, 0, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			close(upstreamDone)
		})
		cancel()
		if _, err := s.Recv(); !errors.Is(err, context.Canceled) {
			t.Errorf("after cancel Recv returned %v", err)
		}
		<-upstreamDone // the upstream saw its request end
	})
	// On synctest's fake clock the 50 ms start after the first chunk
	// arrived, however slow the machine is to send it.
	t.Run("IdleTimeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := openStream(t, context.Background(), 50*time.Millisecond, func(w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			})
			if _, err := s.Recv(); ragd.ErrorKind(err) != ragd.ETIMEOUT {
				t.Errorf("a silent upstream gave %v, want ETIMEOUT", err)
			}
		})
	})
}

// openStream starts a stream from an upstream that sends one chunk and
// then runs then, and reads that first chunk.
//
// The upstream is on pipenet, so that a caller may run in a synctest bubble.
func openStream(t *testing.T, ctx context.Context, timeout time.Duration, then func(w http.ResponseWriter, r *http.Request)) Stream {
	t.Helper()
	up := newUpstreamOn(t, pipenet.NewServer, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: "+textChunks("m")[0]+"\n\n")
		w.(http.Flusher).Flush()
		then(w, r)
	})
	p, _ := NewOpenAI(ProviderConfig{Name: "up", BaseURL: up.URL, Timeout: timeout})
	p.client = up.Client()
	s, err := p.Stream(ctx, mustChat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	return s
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
