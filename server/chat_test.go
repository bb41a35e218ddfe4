package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/internal/testwait"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/service"
)

// upstream is a fake OpenAI-compatible chat server that records what
// ragd sends it and answers in OpenAI's exact wire format.
type upstream struct {
	*httptest.Server
	mu       sync.Mutex
	requests []map[string]any
	auth     []string
	headers  []http.Header
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" && r.Method == "GET" { // the health check
			if r.Header.Get("Authorization") != "Bearer upstream-secret" {
				http.Error(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`, 401)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1,"owned_by":"fake"}]}`)
			return
		}
		if r.URL.Path != "/v1/chat/completions" || r.Method != "POST" {
			http.Error(w, `{"error":{"message":"no route"}}`, 404)
			return
		}
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		u.mu.Lock()
		u.requests = append(u.requests, body)
		u.auth = append(u.auth, r.Header.Get("Authorization"))
		u.headers = append(u.headers, r.Header.Clone())
		u.mu.Unlock()
		model, _ := body["model"].(string)
		if body["stream"] == true {
			w.Header().Set("Content-Type", "text/event-stream")
			for i, piece := range []string{"The answer", " is 42", " [1]."} {
				delta := map[string]any{"content": piece}
				if i == 0 {
					delta["role"] = "assistant"
				}
				chunk := map[string]any{"id": "up-1", "object": "chat.completion.chunk", "created": 1, "model": model,
					"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": nil}}}
				b, _ := json.Marshal(chunk)
				fmt.Fprintf(w, "data: %s\n\n", b)
				w.(http.Flusher).Flush()
			}
			fmt.Fprintf(w, "data: {\"id\":\"up-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", model)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"up-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"The answer is 42 [1]."},"finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":7,"total_tokens":57}}`, model)
	}))
	t.Cleanup(u.Close)
	return u
}

// calls returns how many chat requests the upstream received.
func (u *upstream) calls() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.requests)
}

// lastHeaders returns the Authorization and X-Request-Id of the last chat
// request.
func (u *upstream) lastHeaders() (auth, requestID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.auth[len(u.auth)-1], u.headers[len(u.headers)-1].Get("X-Request-Id")
}

func (u *upstream) last() map[string]any {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests[len(u.requests)-1]
}

// newChatServer is a test server whose chat models live on the fake
// upstream; "gpt-4o-mini" falls back to "backup" on a dead provider.
func newChatServer(t *testing.T, up *upstream) *testServer {
	t.Helper()
	return newChatServerWith(t, nil,
		rag.ProviderConfig{Name: "fake", BaseURL: up.URL + "/v1", APIKey: "upstream-secret", Models: []rag.ModelConfig{{ID: "gpt-4o-mini"}, {ID: "backup"}}},
		rag.ProviderConfig{Name: "dead", BaseURL: "http://127.0.0.1:1/v1", Models: []rag.ModelConfig{{ID: "flaky", Fallback: []string{"backup"}}, {ID: "down"}}})
}

// newChatServerWith is a test server with the given chat providers and,
// beside the hash model, embedding models.
func newChatServerWith(t *testing.T, embedders []embed.Embedder, providers ...rag.ProviderConfig) *testServer {
	t.Helper()
	router, err := rag.NewRouter(rag.Config{Providers: providers})
	if err != nil {
		t.Fatal(err)
	}
	reg := embed.NewRegistry(embed.HashModelName, append([]embed.Embedder{embed.NewHash(384)}, embedders...)...)
	return serve(t, setup{svc: service.Config{Embedders: reg, Chat: router}})
}

func seedKnowledge(t *testing.T, ts *testServer, key string) string {
	col := ts.collection(t, key, "kb")
	ts.item(t, key, col, "The ultimate answer to life, the universe and everything is 42, computed by Deep Thought.", map[string]any{"book": "hhgttg"})
	ts.item(t, key, col, "Towels are the most useful thing an interstellar hitchhiker can have.", nil)
	return col
}

func TestRAGExtractiveOffline(t *testing.T) {
	ts := newTestServer(t)
	col := seedKnowledge(t, ts, ts.admin)
	b := ts.do(t, "POST", "/v1/chat/completions/RAG", ts.admin, map[string]any{"collection": col, "model": "ragd-extractive",
		"messages": []any{map[string]any{"role": "user", "content": "What is the answer to life, the universe and everything?"}}}).must(t, 200)
	content := str(obj(obj(list(b["choices"])[0])["message"])["content"])
	sources := list(b["sources"])
	if !strings.Contains(content, "42") || !strings.Contains(content, "[1]") || len(sources) == 0 ||
		!strings.Contains(str(obj(sources[0])["content"]), "Deep Thought") {
		t.Fatalf("extractive answer %q with sources %v", content, sources)
	}
	id := str(b["id"])
	got := ts.do(t, "GET", "/v1/chat/completions/"+id, ts.admin, nil).must(t, 200)
	if got["id"] != id || len(list(got["sources"])) != len(sources) || got["vote"] != nil {
		t.Fatalf("stored completion %v", got)
	}
	ts.do(t, "POST", "/v1/chat/completions/"+id+"/vote", ts.admin, map[string]any{"vote": "up"}).must(t, 200)
	if v := ts.do(t, "GET", "/v1/chat/completions/"+id, ts.admin, nil).must(t, 200)["vote"]; v != "up" {
		t.Fatalf("vote %v", v)
	}
	if r := ts.do(t, "POST", "/v1/chat/completions/"+id+"/vote", ts.admin, map[string]any{"vote": "meh"}); r.status != 400 {
		t.Fatalf("vote meh: %d", r.status)
	}
	ts.do(t, "POST", "/v1/chat/completions/chatcmpl-nope/vote", ts.admin, map[string]any{"vote": "down"}).must(t, 404)
	other := ts.key(t, "other", false)
	ts.do(t, "GET", "/v1/chat/completions/"+id, other, nil).must(t, 404)
	ts.do(t, "POST", "/v1/chat/completions/"+id+"/vote", other, map[string]any{"vote": "down"}).must(t, 404)
	// Another workspace cannot retrieve from this collection.
	ts.do(t, "POST", "/v1/chat/completions/RAG", other, map[string]any{"collection": col, "model": "ragd-extractive",
		"messages": []any{map[string]any{"role": "user", "content": "answer?"}}}).must(t, 404)

	// Nothing relevant still answers, and says so.
	empty := ts.collection(t, ts.admin, "empty")
	b = ts.do(t, "POST", "/v1/chat/completions/RAG", ts.admin, map[string]any{"collection": empty,
		"messages": []any{map[string]any{"role": "user", "content": "anything?"}}}).must(t, 200)
	if len(list(b["sources"])) != 0 || str(obj(obj(list(b["choices"])[0])["message"])["content"]) == "" {
		t.Fatalf("empty collection answer %v", b)
	}
}

func TestChatThroughUpstreamWithOpenAIClient(t *testing.T) {
	up := newUpstream(t)
	ts := newChatServer(t, up)
	client := openaiClient(ts, ts.admin)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		Seed: openai.Int(7)}
	comp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if comp.Choices[0].Message.Content != "The answer is 42 [1]." || comp.Usage.TotalTokens != 57 || !strings.HasPrefix(comp.ID, "chatcmpl-") {
		t.Fatalf("completion %+v", comp)
	}
	if sent := up.last(); sent["seed"] != 7.0 || sent["model"] != "gpt-4o-mini" || up.auth[0] != "Bearer upstream-secret" {
		t.Fatalf("sent upstream %v with %q", sent, up.auth[0])
	}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var text strings.Builder
	for stream.Next() {
		ch := stream.Current()
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil || text.String() != "The answer is 42 [1]." {
		t.Fatalf("stream %q: %v", text.String(), err)
	}
	// The plain answer reported 7 completion tokens; the streamed one's
	// tokens are counted by ragd.
	// The stream's request is counted once its handler returns, which may
	// be just after the client read [DONE].
	var chat map[string]any
	testwait.Until(t, 30*time.Second, func() bool {
		use := obj(ts.do(t, "GET", "/v1/usage", ts.admin, nil).must(t, 200)["current_month"])
		chat = obj(obj(use["by_endpoint"])["POST /v1/chat/completions"])
		return chat["requests"] == 2.0
	}, "the streamed chat request was not counted")
	if chat["requests"] != 2.0 || chat["completion_tokens"].(float64) <= 7 || chat["prompt_tokens"].(float64) <= 50 {
		t.Fatalf("chat usage %v", chat)
	}
	// Both completions were stored.
	b := ts.do(t, "GET", "/v1/chat/completions/"+comp.ID, ts.admin, nil).must(t, 200)
	if b["model"] != "gpt-4o-mini" {
		t.Fatalf("stored %v", b)
	}
	// Fallback: the dead provider's model falls back to the live one.
	r := ts.do(t, "POST", "/v1/chat/completions", ts.admin, map[string]any{"model": "flaky", "messages": []any{map[string]any{"role": "user", "content": "hi"}}})
	r.must(t, 200)
	if r.header.Get("x-model-used") != "backup" || r.header.Get("x-fallback-from") != "flaky" || r.header.Get("x-fallback-depth") != "1" {
		t.Fatalf("fallback headers %v", r.header)
	}
	// No fallback: the provider is unreachable.
	r = ts.do(t, "POST", "/v1/chat/completions", ts.admin, map[string]any{"model": "down", "messages": []any{map[string]any{"role": "user", "content": "hi"}}})
	if r.status != 503 || !strings.Contains(str(obj(r.body["error"])["message"]), "dead") {
		t.Fatalf("unreachable upstream: %d %s", r.status, r.raw)
	}
	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "nope", Messages: params.Messages})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.Message, "gpt-4o-mini") {
		t.Fatalf("unknown model: %v", err)
	}
}

func TestRAGThroughUpstream(t *testing.T) {
	up := newUpstream(t)
	ts := newChatServer(t, up)
	col := seedKnowledge(t, ts, ts.admin)
	b := ts.do(t, "POST", "/v1/chat/completions/RAG", ts.admin, map[string]any{"collection": "kb", "model": "gpt-4o-mini", "max_tokens": 100,
		"messages": []any{map[string]any{"role": "user", "content": "What did Deep Thought compute?"}}}).must(t, 200)
	if len(list(b["sources"])) == 0 || str(obj(list(b["sources"])[0])["item_id"]) == "" {
		t.Fatalf("RAG response %v", b)
	}
	sent := up.last()
	msgs := list(sent["messages"])
	system := str(obj(msgs[0])["content"])
	if obj(msgs[0])["role"] != "system" || !strings.Contains(system, "[1]") || !strings.Contains(system, "Deep Thought") || sent["max_tokens"] != 100.0 {
		t.Fatalf("prompt sent upstream: %v", sent)
	}
	// Streaming: sources arrive in the first chunk, then the answer, then [DONE].
	req, _ := http.NewRequest("POST", ts.URL+"/v1/chat/completions/RAG", strings.NewReader(`{"collection":"`+col+`","model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"What did Deep Thought compute?"}]}`))
	req.Header.Set("Authorization", "Bearer "+ts.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	events := strings.Split(strings.TrimSpace(string(raw)), "\n\n")
	if resp.Header.Get("Content-Type") != "text/event-stream" || len(events) < 3 || events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("stream %q", raw)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(events[0], "data: ")), &first); err != nil || len(list(first["sources"])) == 0 {
		t.Fatalf("first event %q: %v", events[0], err)
	}
}

func TestTokenize(t *testing.T) {
	ts := newTestServer(t)
	b := ts.do(t, "POST", "/v1/tokenize", ts.admin, map[string]any{"model": "hash", "input": "hello world"}).must(t, 200)
	if b["tokens"] != 2.0 || b["encoding"] != "cl100k_base" {
		t.Fatalf("tokenize %v", b)
	}
	b = ts.do(t, "POST", "/v1/tokenize", ts.admin, map[string]any{"messages": []any{map[string]any{"role": "user", "content": "hello world"}}}).must(t, 200)
	if n := b["tokens"].(float64); n <= 2 {
		t.Fatalf("messages count %v, want the framing counted too", n)
	}
	ts.do(t, "POST", "/v1/tokenize", ts.admin, map[string]any{"model": "nope", "input": "x"}).must(t, 404)
	ts.do(t, "POST", "/v1/tokenize", ts.admin, map[string]any{}).must(t, 400)
}
