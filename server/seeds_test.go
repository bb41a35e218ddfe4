package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/internal/testwait"
)

// postWith sends body as JSON to path with key and the headers h, as
// name, value pairs.
func (ts *testServer) postWith(t *testing.T, path, key string, body any, h ...string) response {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", ts.URL+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	return send(t, req)
}

// post sends body to path with the request id reqID, as a client of the
// seeds would.
func (ts *testServer) post(t *testing.T, path, reqID string, body any) response {
	t.Helper()
	return ts.postWith(t, path, ts.admin, body, "X-Request-Id", reqID)
}

func user(text string) []any { return []any{map[string]any{"role": "user", "content": text}} }

// TestSeedChatAliases sends each seed's request to its route and checks
// what the upstream received (path, key, body, request id) and what the
// client got back, field by field.
func TestSeedChatAliases(t *testing.T) {
	up := newUpstream(t)
	ts := newChatServer(t, up)
	for _, tc := range []struct {
		name, path string
		body       map[string]any
		// sent is what the upstream must receive beside model and the
		// messages [{user, "hi"}].
		sent map[string]any
		// text is the answer's text member, absent when "".
		text string
	}{
		{name: "InferPrompt", path: "/v1/infer", body: map[string]any{"model": "gpt-4o-mini", "prompt": "hi", "temperature": 0.2},
			sent: map[string]any{"temperature": 0.2}, text: "The answer is 42 [1]."},
		{name: "InferMessages", path: "/v1/infer", body: map[string]any{"model": "gpt-4o-mini", "messages": user("hi"), "stream": false},
			sent: map[string]any{"stream": false}, text: "The answer is 42 [1]."},
		// Seed 001's example request, word for word but the model.
		{name: "Chat", path: "/v1/chat", body: map[string]any{"model": "gpt-4o-mini", "messages": user("hi"), "max_tokens": 1000, "temperature": 0.7},
			sent: map[string]any{"max_tokens": 1000.0, "temperature": 0.7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.post(t, tc.path, "req-"+tc.name, tc.body)
			b := r.must(t, 200)
			want := map[string]any{"model": "gpt-4o-mini", "messages": user("hi")}
			for k, v := range tc.sent {
				want[k] = v
			}
			if sent := up.last(); !reflect.DeepEqual(sent, want) {
				t.Errorf("upstream received %v, want %v", sent, want)
			}
			if auth, id := up.lastHeaders(); auth != "Bearer upstream-secret" || id != "req-"+tc.name {
				t.Errorf("upstream headers: Authorization %q, X-Request-Id %q", auth, id)
			}
			// An OpenAI chat completion (seed 001), with text for seed 000.
			choice := obj(list(b["choices"])[0])
			msg := obj(choice["message"])
			u := obj(b["usage"])
			if !strings.HasPrefix(str(b["id"]), "chatcmpl-") || b["object"] != "chat.completion" || b["created"] == nil || b["model"] != "gpt-4o-mini" ||
				choice["index"] != 0.0 || msg["role"] != "assistant" || msg["content"] != "The answer is 42 [1]." || choice["finish_reason"] != "stop" ||
				u["prompt_tokens"] != 50.0 || u["completion_tokens"] != 7.0 || u["total_tokens"] != 57.0 {
				t.Errorf("response %s", r.raw)
			}
			if text, ok := b["text"]; (tc.text == "" && ok) || (tc.text != "" && text != tc.text) {
				t.Errorf("text %v, want %q", text, tc.text)
			}
			if r.header.Get("x-model-used") != "gpt-4o-mini" || r.header.Get("X-RateLimit-Remaining-Requests") == "" || r.header.Get("x-request-id") != "req-"+tc.name {
				t.Errorf("headers %v", r.header)
			}
			// The completion is stored like any other.
			ts.do(t, "GET", "/v1/chat/completions/"+str(b["id"]), ts.admin, nil).must(t, 200)
		})
	}

	t.Run("Stream", func(t *testing.T) {
		r := ts.post(t, "/v1/stream", "req-stream", map[string]any{"model": "gpt-4o-mini", "prompt": "hi"})
		r.must(t, 200)
		events := strings.Split(strings.TrimSpace(string(r.raw)), "\n\n")
		var text strings.Builder
		for _, e := range events[:len(events)-1] {
			var chunk struct {
				Object  string `json:"object"`
				Choices []struct {
					Delta struct{ Content string } `json:"delta"`
				} `json:"choices"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(e, "data: ")), &chunk); err != nil || chunk.Object != "chat.completion.chunk" {
				t.Fatalf("event %q: %v", e, err)
			}
			text.WriteString(chunk.Choices[0].Delta.Content)
		}
		if r.header.Get("Content-Type") != "text/event-stream" || events[len(events)-1] != "data: [DONE]" || text.String() != "The answer is 42 [1]." {
			t.Fatalf("stream %q", r.raw)
		}
		want := map[string]any{"model": "gpt-4o-mini", "messages": user("hi"), "stream": true}
		if sent := up.last(); !reflect.DeepEqual(sent, want) {
			t.Errorf("upstream received %v, want %v", sent, want)
		}
		if _, id := up.lastHeaders(); id != "req-stream" {
			t.Errorf("X-Request-Id %q", id)
		}
	})

	t.Run("Fallback", func(t *testing.T) {
		r := ts.post(t, "/v1/infer", "req-fallback", map[string]any{"model": "flaky", "prompt": "hi"})
		if b := r.must(t, 200); b["text"] != "The answer is 42 [1]." || r.header.Get("x-model-used") != "backup" ||
			r.header.Get("x-fallback-from") != "flaky" || r.header.Get("x-fallback-depth") != "1" {
			t.Fatalf("fallback: %v %s", r.header, r.raw)
		}
	})

	t.Run("DefaultModel", func(t *testing.T) {
		// As on /v1/chat/completions, no model means the default one.
		r := ts.post(t, "/v1/infer", "req-default", map[string]any{"prompt": "hi"})
		if r.must(t, 200); r.header.Get("x-model-used") != "gpt-4o-mini" {
			t.Fatalf("default model: %v", r.header)
		}
	})

	t.Run("Usage", func(t *testing.T) {
		testwait.Until(t, 30*time.Second, func() bool {
			byEndpoint := obj(obj(ts.do(t, "GET", "/v1/usage", ts.admin, nil).must(t, 200)["current_month"])["by_endpoint"])
			return obj(byEndpoint["POST /v1/infer"])["requests"] == 4.0 && obj(byEndpoint["POST /v1/chat"])["completion_tokens"] == 7.0 &&
				obj(byEndpoint["POST /v1/stream"])["requests"] == 1.0
		}, "the aliases' usage was not counted")
	})
}

// TestSeedChatAliasesBadInput checks that a bad request is refused with
// the field to fix, before anything reaches the upstream.
func TestSeedChatAliasesBadInput(t *testing.T) {
	up := newUpstream(t)
	ts := newChatServer(t, up)
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		param      any
	}{
		{"ErrPromptAndMessages", "/v1/infer", map[string]any{"model": "gpt-4o-mini", "prompt": "hi", "messages": user("hi")}, 400, "prompt"},
		{"ErrPromptRequired", "/v1/infer", map[string]any{"model": "gpt-4o-mini"}, 400, "prompt"},
		{"ErrPromptRequiredStream", "/v1/stream", map[string]any{"model": "gpt-4o-mini", "temperature": 1}, 400, "prompt"},
		{"ErrPromptNotString", "/v1/infer", map[string]any{"model": "gpt-4o-mini", "prompt": 5}, 400, "prompt"},
		{"ErrPromptEmpty", "/v1/infer", map[string]any{"model": "gpt-4o-mini", "prompt": ""}, 400, "prompt"},
		{"ErrPromptList", "/v1/stream", map[string]any{"model": "gpt-4o-mini", "prompt": []any{"a", "b"}}, 400, "prompt"},
		{"ErrModelNotString", "/v1/infer", map[string]any{"model": 5, "prompt": "hi"}, 400, "model"},
		{"ErrInferStream", "/v1/infer", map[string]any{"model": "gpt-4o-mini", "prompt": "hi", "stream": true}, 400, "stream"},
		{"ErrStreamNotStreaming", "/v1/stream", map[string]any{"model": "gpt-4o-mini", "prompt": "hi", "stream": false}, 400, "stream"},
		{"ErrStreamNotBool", "/v1/stream", map[string]any{"model": "gpt-4o-mini", "prompt": "hi", "stream": "yes"}, 400, "stream"},
		{"ErrMessagesRequired", "/v1/chat", map[string]any{"model": "gpt-4o-mini"}, 400, "messages"},
		{"ErrMessagesNotArray", "/v1/chat", map[string]any{"model": "gpt-4o-mini", "messages": "hi"}, 400, "messages"},
		{"ErrMessageRole", "/v1/infer", map[string]any{"model": "gpt-4o-mini", "messages": []any{map[string]any{"content": "hi"}}}, 400, "messages"},
		{"ErrNotJSON", "/v1/infer", "prompt=hi", 400, nil},
		{"ErrModelNotFound", "/v1/chat", map[string]any{"model": "nope", "messages": user("hi")}, 404, "model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := up.calls()
			r := ts.do(t, "POST", tc.path, ts.admin, tc.body)
			if _, param := r.errCode(); r.status != tc.status || param != tc.param {
				t.Fatalf("status %d param %v, want %d %v: %s", r.status, param, tc.status, tc.param, r.raw)
			}
			if up.calls() != before {
				t.Fatal("a refused request reached the upstream")
			}
		})
	}
}

func TestChatModels(t *testing.T) {
	up := newUpstream(t)
	ts := newChatServer(t, up)
	b := ts.do(t, "GET", "/v1/chat/models", ts.admin, nil).must(t, 200)
	var ids []string
	for _, m := range list(b["models"]) {
		m := obj(m)
		if m["type"] != "chat" || m["object"] != "model" || m["context_window"].(float64) <= 0 {
			t.Errorf("chat model %v", m)
		}
		ids = append(ids, str(m["id"]))
	}
	if want := []string{"gpt-4o-mini", "backup", "flaky", "down", "ragd-extractive"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("chat models %v, want %v", ids, want)
	}
	if pm, ok := b["private_models"].([]any); !ok || len(pm) != 0 {
		t.Fatalf("private_models %v", b["private_models"])
	}
	// /v1/models carries each model's context window (seed 000).
	for _, m := range list(ts.do(t, "GET", "/v1/models", ts.admin, nil).must(t, 200)["data"]) {
		if m := obj(m); m["type"] != "rerank" && m["context_window"].(float64) <= 0 {
			t.Errorf("model without a context window: %v", m)
		}
	}
	ts.do(t, "GET", "/v1/chat/models", "", nil).must(t, 401)
}
