package rag

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/tokenize"
)

// sentRequest is what ragd sent upstream for a RAG request.
type sentRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

func decodeSent(t *testing.T, body []byte) sentRequest {
	t.Helper()
	var s sentRequest
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return s
}

// countSent counts the prompt tokens of a sent request as OpenAI does,
// independently of the package's own counting.
func countSent(enc *tokenize.Encoding, s sentRequest) int {
	n := 3
	for _, m := range s.Messages {
		n += 3 + enc.Count(m.Role) + enc.Count(m.Content)
	}
	return n
}

func TestRAGPrompt(t *testing.T) {
	up := newUpstream(t, answer("gpt-4o-mini-2024-07-18", "Contributions are licensed under the License [1]."))
	r := mustRouter(t, Config{Providers: []ProviderConfig{provider("openai", up.URL, ModelConfig{ID: "gpt-4o-mini"})}})
	ret := &fakeRetriever{passages: paragraphs(t, "apache-2.0.txt")}
	e := NewEngine(r, ret)
	req := mustRAG(t, `{"collection":"licenses","model":"gpt-4o-mini","max_tokens":200,"temperature":0.2,"top_k":40,"seed":-1,
		"messages":[{"role":"system","content":"Answer in one sentence."},{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"},
		{"role":"user","content":"What are the terms for submission of contributions?"}],
		"response_format":{"type":"json_object"},"retrieval":{"top_k":3,"mode":"keyword","score_threshold":0.5,"filter":{"key":"filename","op":"eq","value":"apache-2.0.txt"}}}`)
	res, err := e.Complete(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Retrieval", func(t *testing.T) {
		c := ret.calls[0]
		if c.collection != "licenses" || c.query != "What are the terms for submission of contributions?" ||
			c.opts.TopK != 3 || c.opts.Mode != ragd.ModeKeyword || *c.opts.ScoreThreshold != 0.5 ||
			c.opts.Filter.Key != "filename" || c.opts.Filter.Value != "apache-2.0.txt" {
			t.Errorf("retrieved with %+v", c)
		}
	})
	sent := up.last(t)
	s := decodeSent(t, sent.body)
	t.Run("SystemPromptHoldsNumberedPassages", func(t *testing.T) {
		if len(s.Messages) != 5 || s.Messages[0].Role != "system" || s.Messages[1].Content != "Answer in one sentence." ||
			s.Messages[4].Content != "What are the terms for submission of contributions?" {
			t.Fatalf("sent messages %+v", s.Messages)
		}
		sys := s.Messages[0].Content
		for _, want := range []string{"[1] apache-2.0.txt, page", "[2] apache-2.0.txt", "[3] apache-2.0.txt",
			"5. Submission of Contributions. Unless You explicitly state otherwise,", "cite each fact", "do not contain the answer"} {
			if !strings.Contains(sys, want) {
				t.Errorf("system prompt lacks %q:\n%s", want, sys)
			}
		}
		if strings.Contains(sys, "[4]") {
			t.Errorf("more passages than retrieval.top_k:\n%s", sys)
		}
	})
	t.Run("OtherFieldsPassedThrough", func(t *testing.T) {
		for _, f := range []string{`"max_tokens":200`, `"temperature":0.2`, `"top_k":40`, `"seed":-1`, `"response_format":{"type":"json_object"}`, `"model":"gpt-4o-mini"`} {
			if !bytes.Contains(sent.body, []byte(f)) {
				t.Errorf("sent body lacks %s", f)
			}
		}
		for _, f := range []string{`"collection"`, `"retrieval"`, `"stream"`} {
			if bytes.Contains(sent.body, []byte(f)) {
				t.Errorf("sent body has ragd's own field %s", f)
			}
		}
	})
	t.Run("ResponseCarriesSources", func(t *testing.T) {
		body, _ := res.Response.MarshalJSON()
		var out struct {
			ID      string              `json:"id"`
			Sources []ragd.SearchResult `json:"sources"`
			Usage   Usage               `json:"usage"`
			Choices []struct {
				Message struct{ Content string } `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Sources) != 3 || !strings.HasPrefix(out.Sources[0].Content, "5. Submission of Contributions.") || *out.Sources[0].Filename != "apache-2.0.txt" {
			t.Errorf("sources %+v", out.Sources)
		}
		if out.ID != res.Completion.ID || out.Usage.TotalTokens != 29 || out.Choices[0].Message.Content != "Contributions are licensed under the License [1]." {
			t.Errorf("response %s", body)
		}
		rec, _ := json.Marshal(res.Completion)
		var back Completion
		if err := json.Unmarshal(rec, &back); err != nil || len(back.Sources) != 3 || back.Model != "gpt-4o-mini-2024-07-18" ||
			back.Object != "chat.completion" || back.Usage.PromptTokens != 19 || completionText(back.Choices) != out.Choices[0].Message.Content {
			t.Errorf("record %s", rec)
		}
	})
	t.Run("Timings", func(t *testing.T) {
		if res.Timings.Retrieval <= 0 || res.Timings.Assembly <= 0 || res.Timings.Model <= 0 {
			t.Errorf("timings %+v", res.Timings)
		}
	})
}

func TestRAGBudget(t *testing.T) {
	chunks := tokenChunks(t, "gpl-3.0.txt", 500)
	for _, tc := range []struct {
		name           string
		window, max    int
		maxTokensField string
		encoding       string
	}{
		{"Small", 2000, 300, `"max_tokens":300,`, "cl100k_base"},
		{"DefaultMaxTokens", 3000, DefaultMaxTokens, ``, "cl100k_base"},
		{"O200k", 4000, 1000, `"max_completion_tokens":1000,`, "o200k_base"},
		{"Roomy", 60000, 500, `"max_tokens":500,`, "cl100k_base"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, answer("local", "ok"))
			r := mustRouter(t, Config{Providers: []ProviderConfig{provider("vllm", up.URL, ModelConfig{ID: "local", ContextWindow: tc.window, Encoding: tc.encoding})}})
			// Every chunk matches "the": the retriever returns 20 of them.
			e := NewEngine(r, &fakeRetriever{passages: chunks})
			res, err := e.Complete(context.Background(), mustRAG(t, `{"collection":"c","model":"local",`+tc.maxTokensField+
				`"messages":[{"role":"user","content":"What does the license say about the conveying of verbatim copies?"}],"retrieval":{"top_k":20}}`))
			if err != nil {
				t.Fatal(err)
			}
			s := decodeSent(t, up.last(t).body)
			enc := tokenize.MustGet(tc.encoding)
			sent := countSent(enc, s)
			if sent+tc.max > tc.window {
				t.Errorf("sent %d prompt tokens + %d max_tokens > window %d", sent, tc.max, tc.window)
			}
			used := res.Completion.Sources
			retrieved, _ := (&fakeRetriever{passages: chunks}).Retrieve(context.Background(), "c", "What does the license say about the conveying of verbatim copies?", RetrieveOptions{TopK: 20})
			if tc.window < 60000 {
				// Lower-ranked passages were dropped, and the last one was cut
				// unless too little room was left for a useful piece.
				if len(used) == 0 || len(used) >= len(retrieved) {
					t.Errorf("used %d of %d passages", len(used), len(retrieved))
				}
				cut := strings.HasSuffix(s.Messages[0].Content, truncationMark)
				if room := tc.window - sent - tc.max; !cut && room > minTruncatedTokens+20 {
					t.Errorf("%d tokens left unused and no passage cut", room)
				}
			} else if len(used) != len(retrieved) {
				t.Errorf("a roomy window used %d of %d passages", len(used), len(retrieved))
			}
			for i, u := range used {
				if !strings.Contains(s.Messages[0].Content, "["+strconv.Itoa(i+1)+"] gpl-3.0.txt") || !strings.Contains(s.Messages[0].Content, u.Content) {
					t.Errorf("source %d is not in the prompt as sent", i+1)
				}
			}
		})
	}
	t.Run("ConversationTooLong", func(t *testing.T) {
		r := mustRouter(t, Config{Providers: []ProviderConfig{provider("vllm", closedURL(t), ModelConfig{ID: "tiny", ContextWindow: 600})}})
		e := NewEngine(r, &fakeRetriever{passages: chunks})
		long := strings.Repeat("license ", 400)
		_, err := e.Complete(context.Background(), mustRAG(t, `{"collection":"c","model":"tiny","messages":[{"role":"user","content":"`+long+`"}]}`))
		var re *ragd.Error
		if !errors.As(err, &re) || re.Code != "context_length_exceeded" || re.Kind != ragd.EINVALID {
			t.Fatalf("got %v", err)
		}
	})
}

// The model sees each source's file, section and page, so that it can
// say where an answer comes from. The passages are from rustfmt's README
// (testdata/extract/markdown-rustfmt) with the sections ragd gives them.
func TestRAGSourceLabels(t *testing.T) {
	const content = "To install: rustup component add rustfmt. To run on a cargo project in the current working directory: cargo fmt"
	deep := "rustfmt > Quick start > Installing rustfmt on the Stable toolchain > On Linux and macOS > From rustup > " +
		"Adding the component to an existing toolchain > Checking the installation"
	tests := []struct {
		name, filename, description, section string
		page                                 int
		want                                 string
	}{
		{"Section", "README.md", "", "rustfmt > Quick start > On the Stable toolchain", 0, `README.md, "rustfmt > Quick start > On the Stable toolchain"`},
		{"SectionAndPage", "rustfmt.pdf", "", "rustfmt > Quick start", 2, `rustfmt.pdf, "rustfmt > Quick start", page 2`},
		{"NoSection", "README.txt", "", "", 1, `README.txt, page 1`},
		{"Description", "", "rustfmt's README", "rustfmt > Quick start", 0, `rustfmt's README, "rustfmt > Quick start"`},
		{"LongSectionKeepsItsEnd", "README.md", "", deep, 0,
			`README.md, "... > On Linux and macOS > From rustup > Adding the component to an existing toolchain > Checking the installation"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t, answer("m", "Run rustup component add rustfmt [1]."))
			r := mustRouter(t, Config{Providers: []ProviderConfig{provider("p", up.URL, ModelConfig{ID: "m"})}})
			p := ragd.SearchResult{ID: "chunk_1", ItemID: "item_1", Description: tc.description, Content: content,
				Position: ragd.Position{Chunk: 1, Page: tc.page, Section: tc.section}}
			if tc.filename != "" {
				p.Filename = &tc.filename
			}
			e := NewEngine(r, &fakeRetriever{passages: []ragd.SearchResult{p}})
			if _, err := e.Complete(context.Background(), mustRAG(t, `{"collection":"docs","model":"m","messages":[{"role":"user","content":"How do I install rustfmt?"}]}`)); err != nil {
				t.Fatal(err)
			}
			sys := decodeSent(t, up.last(t).body).Messages[0].Content
			if want := "\n[1] " + tc.want + "\n" + content; !strings.Contains(sys, want) {
				t.Errorf("system prompt lacks %q:\n%s", want, sys)
			}
		})
	}
}

func TestRAGNothingFound(t *testing.T) {
	up := newUpstream(t, answer("m", "Nothing relevant was found in the collection."))
	r := mustRouter(t, Config{Providers: []ProviderConfig{provider("p", up.URL, ModelConfig{ID: "m"})}})
	e := NewEngine(r, &fakeRetriever{})
	res, err := e.Complete(context.Background(), mustRAG(t, `{"collection":"empty","model":"m","messages":[{"role":"user","content":"Who won in 1998?"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := decodeSent(t, up.last(t).body)
	if s.Messages[0].Content != nothingFound {
		t.Errorf("system prompt %q", s.Messages[0].Content)
	}
	body, _ := res.Response.MarshalJSON()
	if !bytes.Contains(body, []byte(`"sources":[]`)) {
		t.Errorf("response %s", body)
	}
}

func TestRAGRequestErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, param string }{
		{"NoCollection", `{"model":"m","messages":[{"role":"user","content":"q"}]}`, "collection"},
		{"CollectionNotString", `{"collection":5,"messages":[{"role":"user","content":"q"}]}`, "collection"},
		{"TopKTooBig", `{"collection":"c","messages":[{"role":"user","content":"q"}],"retrieval":{"top_k":500}}`, "retrieval.top_k"},
		{"BadMode", `{"collection":"c","messages":[{"role":"user","content":"q"}],"retrieval":{"mode":"fuzzy"}}`, "retrieval.mode"},
		{"RetrievalNotObject", `{"collection":"c","messages":[{"role":"user","content":"q"}],"retrieval":3}`, "retrieval"},
		{"Temperature", `{"collection":"c","messages":[{"role":"user","content":"q"}],"temperature":3}`, "temperature"},
		{"TopP", `{"collection":"c","messages":[{"role":"user","content":"q"}],"top_p":-1}`, "top_p"},
		{"MaxTokensZero", `{"collection":"c","messages":[{"role":"user","content":"q"}],"max_tokens":0}`, "max_tokens"},
		{"MaxTokensFloat", `{"collection":"c","messages":[{"role":"user","content":"q"}],"max_tokens":1.5}`, ""},
		{"NoMessages", `{"collection":"c","messages":[]}`, "messages"},
		{"NoUserTurn", `{"collection":"c","messages":[{"role":"system","content":"be brief"}]}`, "messages"},
		{"EmptyQuestion", `{"collection":"c","messages":[{"role":"user","content":""}]}`, "messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRAGRequest([]byte(tc.body))
			var e *ragd.Error
			if !errors.As(err, &e) || e.Kind != ragd.EINVALID || e.Param != tc.param {
				t.Fatalf("got %v, want EINVALID about %q", err, tc.param)
			}
		})
	}
	t.Run("UnknownModel", func(t *testing.T) {
		ret := &fakeRetriever{}
		e := NewEngine(mustRouter(t, Config{}), ret)
		_, err := e.Complete(context.Background(), mustRAG(t, `{"collection":"c","model":"gpt-4o","messages":[{"role":"user","content":"q"}]}`))
		if ragd.ErrorKind(err) != ragd.ENOTFOUND || len(ret.calls) != 0 {
			t.Fatalf("got %v after %d retrievals", err, len(ret.calls))
		}
	})
	t.Run("RetrieverError", func(t *testing.T) {
		e := NewEngine(mustRouter(t, Config{}), failingRetriever{})
		_, err := e.Stream(context.Background(), mustRAG(t, `{"collection":"nope","messages":[{"role":"user","content":"q"}]}`))
		if ragd.ErrorKind(err) != ragd.ENOTFOUND {
			t.Fatalf("got %v", err)
		}
	})
}

type failingRetriever struct{}

func (failingRetriever) Retrieve(ctx context.Context, collection, query string, opts RetrieveOptions) ([]ragd.SearchResult, error) {
	return nil, ragd.NotFound("collection", collection)
}

func TestRAGStream(t *testing.T) {
	release := make(chan struct{})
	events := toolCallChunks("gpt-4o-mini")
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: " + events[0] + "\n\n"))
		w.(http.Flusher).Flush()
		<-release
		streamEvents(events[1:])(w, r, body)
	})
	r := mustRouter(t, Config{Providers: []ProviderConfig{provider("openai", up.URL, ModelConfig{ID: "gpt-4o-mini"})}})
	e := NewEngine(r, &fakeRetriever{passages: paragraphs(t, "apache-2.0.txt")})
	s, err := e.Stream(context.Background(), mustRAG(t, `{"collection":"c","model":"gpt-4o-mini","stream":true,
		"messages":[{"role":"user","content":"What about trademarks?"}],"tools":[{"type":"function","function":{"name":"get_weather"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if sent := up.last(t).body; !bytes.Contains(sent, []byte(`"stream":true`)) || !bytes.Contains(sent, []byte(`"tools":[{"type":"function","function":{"name":"get_weather"}}]`)) {
		t.Errorf("sent %s", sent)
	}
	first, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		ID      string              `json:"id"`
		Object  string              `json:"object"`
		Sources []ragd.SearchResult `json:"sources"`
	}
	json.Unmarshal(first, &head)
	if head.ID != s.ID() || head.Object != "chat.completion.chunk" || len(head.Sources) == 0 || !strings.HasPrefix(head.Sources[0].Content, "6. Trademarks.") {
		t.Fatalf("first chunk %s", first)
	}
	// The upstream's first chunk comes through while it holds the rest.
	second, err := s.Recv()
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	rest := drain(t, s)
	if len(rest) != len(events)-1 {
		t.Fatalf("%d chunks after the first, want %d", len(rest), len(events)-1)
	}
	for i, c := range append([]json.RawMessage{second}, rest...) {
		var got map[string]any
		json.Unmarshal(c, &got)
		if got["id"] != s.ID() {
			t.Errorf("chunk %d id %v", i, got["id"])
		}
		got["id"] = "chatcmpl-tool1"
		a, _ := json.Marshal(got)
		if !jsonEqual(t, a, []byte(events[i])) {
			t.Errorf("chunk %d changed:\n%s\nwant\n%s", i, c, events[i])
		}
	}
	rec := s.Completion()
	want := `[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}]`
	if string(rec.Choices) != want || rec.ID != s.ID() || len(rec.Sources) != len(head.Sources) || rec.Model != "gpt-4o-mini" {
		t.Errorf("record choices %s", rec.Choices)
	}
	if rec.Usage.PromptTokens == 0 {
		t.Errorf("usage not estimated: %+v", rec.Usage)
	}
	if tm := s.Timings(); tm.Retrieval <= 0 || tm.Assembly <= 0 || tm.Model <= 0 {
		t.Errorf("timings %+v", tm)
	}
}
