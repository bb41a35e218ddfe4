package rag

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
)

// closedURL returns the URL of a port nobody listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

func TestRouterFallback(t *testing.T) {
	const chatBody = `{"model":"primary","messages":[{"role":"user","content":"hi"}],"seed":7}`
	for _, tc := range []struct {
		name       string
		primary    func(t *testing.T) string // base URL of the primary upstream
		wantBackup bool
		wantKind   string
		// timeout of the primary, set only where it hangs: a timeout an
		// answering primary could exceed on a loaded machine would make
		// the test depend on its speed.
		timeout time.Duration
	}{
		{"ServerError", func(t *testing.T) string {
			return newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				http.Error(w, `{"error":{"message":"boom","type":"server_error"}}`, 500)
			}).URL
		}, true, "", 0},
		{"Timeout", func(t *testing.T) string {
			return newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { <-r.Context().Done() }).URL
		}, true, "", 100 * time.Millisecond},
		{"ConnectionRefused", closedURL, true, "", 0},
		{"BadRequestIsNotRetried", func(t *testing.T) string {
			return newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.WriteHeader(400)
				w.Write([]byte(`{"error":{"message":"Unrecognized request argument supplied: seed2","type":"invalid_request_error","param":null,"code":null}}`))
			}).URL
		}, false, ragd.EINVALID, 0},
		{"RefusedKeyIsNotRetried", func(t *testing.T) string {
			return newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { w.WriteHeader(401) }).URL
		}, false, ragd.EUNAVAILABLE, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			primaryURL := tc.primary(t)
			backup := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				var req struct {
					Stream bool `json:"stream"`
				}
				json.Unmarshal(body, &req)
				if req.Stream {
					streamEvents(textChunks("llama3.1:8b", "from ", "backup"))(w, r, body)
					return
				}
				answer("llama3.1:8b", "from backup")(w, r, body)
			})
			pc := provider("remote", primaryURL, ModelConfig{ID: "primary", Upstream: "gpt-4o", Fallback: []string{"backup"}})
			pc.Timeout = tc.timeout
			r := mustRouter(t, Config{Providers: []ProviderConfig{pc, provider("local", backup.URL, ModelConfig{ID: "backup", Upstream: "llama3.1:8b"})}})
			for _, stream := range []bool{false, true} {
				var served Served
				var err error
				var content string
				if stream {
					var s *ChatStream
					s, err = r.Stream(context.Background(), mustChat(t, chatBody))
					if err == nil {
						served = s.Served
						drain(t, s)
						content = completionText(s.Completion().Choices)
						s.Close()
					}
				} else {
					var res *Result
					res, err = r.Complete(context.Background(), mustChat(t, chatBody))
					if err == nil {
						served = res.Served
						content = completionText(res.Completion.Choices)
					}
				}
				if !tc.wantBackup {
					if ragd.ErrorKind(err) != tc.wantKind || backup.count() != 0 {
						t.Fatalf("stream %v: got %v with %d backup calls, want %s and no fallback", stream, err, backup.count(), tc.wantKind)
					}
					continue
				}
				if err != nil {
					t.Fatalf("stream %v: %v", stream, err)
				}
				if served.Model != "backup" || served.Requested != "primary" || served.Depth != 1 || served.Provider != "local" || len(served.Failures) != 1 {
					t.Errorf("stream %v: served %+v", stream, served)
				}
				if content != "from backup" {
					t.Errorf("stream %v: content %q", stream, content)
				}
				sent := backup.last(t)
				if sent.auth != "Bearer sk-local" || !strings.Contains(string(sent.body), `"model":"llama3.1:8b"`) || !strings.Contains(string(sent.body), `"seed":7`) {
					t.Errorf("stream %v: backup received auth %q body %s", stream, sent.auth, sent.body)
				}
				h := http.Header{}
				served.SetHeaders(h)
				if h.Get("x-model-used") != "backup" || h.Get("x-fallback-from") != "primary" || h.Get("x-fallback-depth") != "1" {
					t.Errorf("headers %v", h)
				}
			}
		})
	}
}

func TestRouterChainFails(t *testing.T) {
	pc := provider("a", closedURL(t), ModelConfig{ID: "m1", Fallback: []string{"m2"}})
	r := mustRouter(t, Config{Providers: []ProviderConfig{pc, provider("b", closedURL(t), ModelConfig{ID: "m2"})}})
	_, err := r.Complete(context.Background(), mustChat(t, `{"model":"m1","messages":[{"role":"user","content":"hi"}]}`))
	var e *ragd.Error
	if !errors.As(err, &e) || e.Kind != ragd.EUNAVAILABLE ||
		e.Message != `every model of the fallback chain failed: chat provider "a" is unreachable; chat provider "b" is unreachable` {
		t.Fatalf("got %v", err)
	}
}

func TestRouterModels(t *testing.T) {
	up := newUpstream(t, answer("gpt-4o", "ok"))
	r := mustRouter(t, Config{Providers: []ProviderConfig{provider("openai", up.URL,
		ModelConfig{ID: "gpt-4o"}, ModelConfig{ID: "my-llama", Upstream: "llama3", ContextWindow: 4096, Encoding: "o200k_base"})}})
	t.Run("List", func(t *testing.T) {
		got := r.Models()
		want := []ModelInfo{
			{ID: "gpt-4o", Provider: "openai", ContextWindow: 128000, Encoding: "o200k_base"},
			{ID: "my-llama", Provider: "openai", ContextWindow: 4096, Encoding: "o200k_base"},
			{ID: ExtractiveModel, Provider: "ragd", ContextWindow: extractiveContextWindow, Encoding: "cl100k_base",
				Description: "extractive: quotes retrieved passages, no generative model"},
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("models\n%s\nwant\n%s", a, b)
		}
		if r.DefaultModel() != "gpt-4o" {
			t.Errorf("default %q", r.DefaultModel())
		}
	})
	t.Run("UnknownModel", func(t *testing.T) {
		_, err := r.Complete(context.Background(), mustChat(t, `{"model":"gpt-5","messages":[{"role":"user","content":"hi"}]}`))
		var e *ragd.Error
		if !errors.As(err, &e) || e.Kind != ragd.ENOTFOUND || e.Code != "model_not_found" || e.Param != "model" ||
			e.Message != `model "gpt-5" does not exist; available models: gpt-4o, my-llama, ragd-extractive` {
			t.Fatalf("got %v", err)
		}
		if up.count() != 0 {
			t.Error("an unknown model reached the upstream")
		}
	})
	t.Run("NoModelUsesDefault", func(t *testing.T) {
		res, err := r.Complete(context.Background(), mustChat(t, `{"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if res.Served.Model != "gpt-4o" || !strings.Contains(string(up.last(t).body), `"model":"gpt-4o"`) {
			t.Errorf("served %+v", res.Served)
		}
		h := http.Header{}
		res.Served.SetHeaders(h)
		if h.Get("x-model-used") != "gpt-4o" || h.Get("x-fallback-from") != "" || h.Get("x-fallback-depth") != "" {
			t.Errorf("headers %v", h)
		}
	})
	t.Run("NewIDPerCompletion", func(t *testing.T) {
		res, err := r.Complete(context.Background(), mustChat(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.Response.ID(), "chatcmpl-") || res.Response.ID() == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT" || res.Completion.ID != res.Response.ID() {
			t.Errorf("id %q, record id %q", res.Response.ID(), res.Completion.ID)
		}
	})
	t.Run("OfflineDefault", func(t *testing.T) {
		r := mustRouter(t, Config{})
		if r.DefaultModel() != ExtractiveModel || len(r.Models()) != 1 {
			t.Errorf("default %q, models %v", r.DefaultModel(), r.Models())
		}
	})
	t.Run("BadConfig", func(t *testing.T) {
		for name, cfg := range map[string]Config{
			"UnknownType":      {Providers: []ProviderConfig{{Name: "x", Type: "bedrock", BaseURL: "http://x"}}},
			"DuplicateModel":   {Providers: []ProviderConfig{provider("a", "http://x", ModelConfig{ID: "m"}), provider("b", "http://y", ModelConfig{ID: "m"})}},
			"UnknownFallback":  {Providers: []ProviderConfig{provider("a", "http://x", ModelConfig{ID: "m", Fallback: []string{"n"}})}},
			"SelfFallback":     {Providers: []ProviderConfig{provider("a", "http://x", ModelConfig{ID: "m", Fallback: []string{"m"}})}},
			"UnknownDefault":   {DefaultModel: "gpt-4o"},
			"UnknownEncoding":  {Providers: []ProviderConfig{provider("a", "http://x", ModelConfig{ID: "m", Encoding: "p50k"})}},
			"ModelWithoutName": {Providers: []ProviderConfig{provider("a", "http://x", ModelConfig{})}},
		} {
			t.Run(name, func(t *testing.T) {
				if _, err := NewRouter(cfg); ragd.ErrorKind(err) != ragd.EINVALID {
					t.Errorf("got %v", err)
				}
			})
		}
	})
}

func TestDefaultContextWindow(t *testing.T) {
	for model, want := range map[string]int{
		"gpt-4o-mini": 128000, "gpt-4.1-nano": 1047576, "gpt-4": 8192, "gpt-4-turbo": 128000, "gpt-3.5-turbo": 16385,
		"o3-mini": 200000, "llama3.1:8b": 131072, "llama3:8b": 8192, "meta-llama/Llama-3.1-8B-Instruct": 131072,
		"qwen2.5:7b": 32768, "some-local-model": 8192,
	} {
		if got := DefaultContextWindow(model); got != want {
			t.Errorf("%s: %d, want %d", model, got, want)
		}
	}
}
