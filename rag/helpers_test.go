package rag

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/tokenize"
)

// fakeRetriever ranks fixed passages by the query words they hold, rarer
// words weighing more (like a keyword ranking), and records what it was
// asked.
type fakeRetriever struct {
	passages []ragd.SearchResult
	mu       sync.Mutex
	calls    []retrieveCall
}

type retrieveCall struct {
	collection, query string
	opts              RetrieveOptions
}

func (f *fakeRetriever) Retrieve(ctx context.Context, collection, query string, opts RetrieveOptions) ([]ragd.SearchResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, retrieveCall{collection, query, opts})
	f.mu.Unlock()
	var words []string
	df := map[string]int{}
	for _, w := range strings.Fields(strings.ToLower(query)) {
		if w = strings.Trim(w, "?.,!"); len(w) > 3 {
			words = append(words, w)
			for _, p := range f.passages {
				if strings.Contains(strings.ToLower(p.Content), w) {
					df[w]++
				}
			}
		}
	}
	type hit struct {
		r ragd.SearchResult
		n float64
	}
	var hits []hit
	for _, p := range f.passages {
		low := strings.ToLower(p.Content)
		n := 0.0
		for _, w := range words {
			if strings.Contains(low, w) {
				// Rarer words weigh more, as in a keyword ranking.
				n += math.Log(1 + float64(len(f.passages))/float64(df[w]))
			}
		}
		if n > 0 {
			hits = append(hits, hit{p, n})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].n > hits[j].n })
	var out []ragd.SearchResult
	for i, h := range hits {
		if i == opts.TopK {
			break
		}
		h.r.Score = float64(h.n)
		out = append(out, h.r)
	}
	return out, nil
}

// paragraphs returns a testdata file's paragraphs as search results.
func paragraphs(t testing.TB, name string) []ragd.SearchResult {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out []ragd.SearchResult
	for i, p := range strings.Split(string(data), "\n\n") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		out = append(out, result(name, i, strings.TrimSpace(p)))
	}
	return out
}

// tokenChunks returns a testdata file cut into chunks of n cl100k tokens.
func tokenChunks(t testing.TB, name string, n int) []ragd.SearchResult {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	enc := tokenize.MustGet(tokenize.CL100K)
	toks := enc.Encode(string(data))
	var out []ragd.SearchResult
	for i := 0; i < len(toks); i += n {
		out = append(out, result(name, i/n, enc.Decode(toks[i:min(i+n, len(toks))])))
	}
	return out
}

func result(file string, chunk int, content string) ragd.SearchResult {
	fileID := "file_" + file
	return ragd.SearchResult{ID: fmt.Sprintf("chunk_%s_%d", file, chunk), ItemID: "item_" + file, FileID: &fileID,
		Filename: &file, Content: content, Metadata: map[string]any{}, Position: ragd.Position{Chunk: chunk, Page: 1 + chunk/4}}
}

// upstream is an httptest server speaking OpenAI's chat completions wire
// format; it records every request it receives.
type upstream struct {
	*httptest.Server
	mu       sync.Mutex
	requests []upstreamRequest
}

type upstreamRequest struct {
	path, auth, accept string
	body               []byte
}

func newUpstream(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *upstream {
	t.Helper()
	return newUpstreamOn(t, httptest.NewServer, handle)
}

// newUpstreamOn is newUpstream on a server started by start:
// pipenet.NewServer for a test inside a synctest bubble, whose providers
// must then use the server's Client.
func newUpstreamOn(t *testing.T, start func(http.Handler) *httptest.Server, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.requests = append(u.requests, upstreamRequest{r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Accept"), body})
		u.mu.Unlock()
		handle(w, r, body)
	}))
	t.Cleanup(u.Close)
	return u
}

// last returns the last request received.
func (u *upstream) last(t *testing.T) upstreamRequest {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.requests) == 0 {
		t.Fatal("the upstream received no request")
	}
	return u.requests[len(u.requests)-1]
}

func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.requests)
}

// completionJSON is a chat completion exactly as OpenAI sends one.
func completionJSON(model, content string) string {
	c, _ := json.Marshal(content)
	return `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"` + model + `",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":` + string(c) + `,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},` +
		`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},` +
		`"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`
}

// answer returns a handler answering every request with content.
func answer(model, content string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, completionJSON(model, content))
	}
}

// textChunks are the events of a streamed text answer, as OpenAI sends them.
func textChunks(model string, pieces ...string) []string {
	head := `{"id":"chatcmpl-stream1","object":"chat.completion.chunk","created":1741569952,"model":"` + model + `","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":`
	out := []string{head + `{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}`}
	for _, p := range pieces {
		c, _ := json.Marshal(p)
		out = append(out, head+`{"content":`+string(c)+`},"logprobs":null,"finish_reason":null}]}`)
	}
	return append(out, head+`{},"logprobs":null,"finish_reason":"stop"}]}`)
}

// toolCallChunks are the events of a streamed tool call, as OpenAI sends them.
func toolCallChunks(model string) []string {
	head := `{"id":"chatcmpl-tool1","object":"chat.completion.chunk","created":1741569952,"model":"` + model + `","system_fingerprint":"fp_1","choices":[{"index":0,"delta":`
	return []string{
		head + `{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]}`,
		head + `{"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]},"logprobs":null,"finish_reason":null}]}`,
		head + `{"tool_calls":[{"index":0,"function":{"arguments":"location"}}]},"logprobs":null,"finish_reason":null}]}`,
		head + `{"tool_calls":[{"index":0,"function":{"arguments":"\":\""}}]},"logprobs":null,"finish_reason":null}]}`,
		head + `{"tool_calls":[{"index":0,"function":{"arguments":"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]}`,
		head + `{},"logprobs":null,"finish_reason":"tool_calls"}]}`,
	}
}

// streamEvents returns a handler streaming events as server-sent events,
// flushing each, then data: [DONE].
func streamEvents(events []string) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			fmt.Fprintf(w, "data: %s\n\n", e)
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, "data: [DONE]\n\n")
	}
}

// mustRouter builds a router or fails the test.
func mustRouter(t testing.TB, cfg Config) *Router {
	t.Helper()
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// provider returns a provider config for an upstream serving models.
func provider(name, url string, models ...ModelConfig) ProviderConfig {
	return ProviderConfig{Name: name, Type: ProviderOpenAI, BaseURL: url + "/v1", APIKey: "sk-" + name, Models: models}
}

// mustChat parses a chat request or fails the test.
func mustChat(t testing.TB, body string) *ChatRequest {
	t.Helper()
	r, err := ParseChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mustRAG parses a RAG request or fails the test.
func mustRAG(t testing.TB, body string) *RAGRequest {
	t.Helper()
	r, err := ParseRAGRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// drain reads a stream to its end and returns the chunks.
func drain(t *testing.T, s interface {
	Recv() (json.RawMessage, error)
}) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for {
		c, err := s.Recv()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}
