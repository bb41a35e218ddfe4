package rag

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/ragd/ragd"
)

func TestExtractive(t *testing.T) {
	passages := paragraphs(t, "apache-2.0.txt")
	e := NewEngine(mustRouter(t, Config{}), &fakeRetriever{passages: passages})
	for _, tc := range []struct {
		name, question string
		want           []string // quoted text, each with its citation
	}{
		{"Trademarks", "Does the license grant permission to use trademarks?",
			[]string{"This License does not grant permission to use the trade names, trademarks, service marks, or product names of the Licensor,"}},
		{"Warranty", "Is the work provided with a warranty?",
			[]string{`Unless required by applicable law or agreed to in writing, Licensor provides the Work (and each Contributor provides its Contributions) on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Complete(context.Background(), mustRAG(t, `{"collection":"c","messages":[{"role":"user","content":"`+tc.question+`"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			text := completionText(res.Completion.Choices)
			for _, w := range tc.want {
				i := strings.Index(text, w)
				if i < 0 {
					t.Fatalf("answer %q lacks %q", text, w)
				}
				// The citation after the quote names the passage it came from.
				rest := text[i:]
				n := rest[strings.Index(rest, " [")+2 : strings.Index(rest, "]")]
				var k int
				json.Unmarshal([]byte(n), &k)
				if k < 1 || k > len(res.Completion.Sources) || !strings.Contains(strings.Join(strings.Fields(res.Completion.Sources[k-1].Content), " "), w) {
					t.Errorf("quote cited [%s], which does not hold it; answer %q", n, text)
				}
			}
			if res.Served.Model != ExtractiveModel || res.Served.Provider != "ragd" || res.Completion.Model != ExtractiveModel {
				t.Errorf("served %+v", res.Served)
			}
			if u := res.Completion.Usage; u.PromptTokens == 0 || u.CompletionTokens == 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("usage %+v", u)
			}
		})
	}
	t.Run("NothingFound", func(t *testing.T) {
		res, err := NewEngine(mustRouter(t, Config{}), &fakeRetriever{}).Complete(context.Background(),
			mustRAG(t, `{"collection":"c","messages":[{"role":"user","content":"Who painted the Mona Lisa?"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := completionText(res.Completion.Choices); got != extractiveNothingFound {
			t.Errorf("answer %q", got)
		}
	})
	t.Run("NoMatchingTerm", func(t *testing.T) {
		res, err := e.Complete(context.Background(), mustRAG(t, `{"collection":"c","messages":[{"role":"user","content":"Explain the warranty zzyzx"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		ex := NewExtractive()
		// Retrieval matched "warranty"; a request whose terms no passage holds:
		req := &ChatRequest{obj: mustChat(t, `{"messages":[{"role":"user","content":"zzyzx qwfp"}]}`).obj, rag: true, passages: res.Completion.Sources}
		if a := ex.answer(req); strings.Join(a.pieces, "") != extractiveNoMatch {
			t.Errorf("answer %q", a.pieces)
		}
	})
	t.Run("MaxTokens", func(t *testing.T) {
		res, err := e.Complete(context.Background(), mustRAG(t, `{"collection":"c","max_tokens":10,"messages":[{"role":"user","content":"Is the work provided with a warranty?"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		var choices []struct {
			FinishReason string `json:"finish_reason"`
		}
		json.Unmarshal(res.Completion.Choices, &choices)
		if res.Completion.Usage.CompletionTokens > 10 || choices[0].FinishReason != "length" {
			t.Errorf("usage %+v, finish %q", res.Completion.Usage, choices[0].FinishReason)
		}
	})
	t.Run("PlainChat", func(t *testing.T) {
		r := mustRouter(t, Config{})
		for _, tc := range []struct{ name, body, want string }{
			{"NoContext", `{"model":"ragd-extractive","messages":[{"role":"user","content":"Hello"}]}`, extractiveNoContext},
			{"QuotesEarlierMessages", `{"model":"ragd-extractive","messages":[
				{"role":"system","content":"Opening hours: the library opens at 9am. It closes at 6pm on weekdays."},
				{"role":"assistant","content":"The library closes whenever."},
				{"role":"user","content":"When does the library close?"}]}`, "Opening hours: the library opens at 9am. It closes at 6pm on weekdays. [1]"},
			{"QuotesTheMessageThatMatches", `{"model":"ragd-extractive","messages":[
				{"role":"system","content":"You are the front desk of the town library."},
				{"role":"user","content":"Parking: the car park behind the library is free after 5pm."},
				{"role":"user","content":"Where can I park my car?"}]}`, "Parking: the car park behind the library is free after 5pm. [2]"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := r.Complete(context.Background(), mustChat(t, tc.body))
				if err != nil {
					t.Fatal(err)
				}
				if got := completionText(res.Completion.Choices); got != tc.want {
					t.Errorf("answer %q, want %q", got, tc.want)
				}
			})
		}
	})
}

var update = flag.Bool("update", false, "rewrite the golden answers in testdata/extractive")

// TestExtractiveGolden answers the question of each case in
// testdata/extractive from its passages, given in retrieval order, and
// compares the answer with the case's golden answer.md. Whatever the
// golden text, every answer must quote one passage, cite it by its
// number, and keep its words in the passage's order.
func TestExtractiveGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "extractive", "*", "input.txt"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no cases in testdata/extractive: %v", err)
	}
	x := NewExtractive()
	for _, in := range inputs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			question, passages := readExtractiveCase(t, in)
			body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": question}}})
			req := &ChatRequest{obj: mustChat(t, string(body)).obj, rag: true, passages: passages}
			got := strings.Join(x.answer(req).pieces, "")
			golden := filepath.Join(dir, "answer.md")
			if *update {
				if err := os.WriteFile(golden, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got+"\n" != string(want) {
				t.Errorf("answer differs from %s (run go test -update and review the diff):\n%s", golden, got)
			}
			checkQuote(t, got, passages)
		})
	}
}

// FuzzExtractiveQuote checks on any passage what TestExtractiveGolden
// checks on real ones: the answer quotes the passage, cited as [1], in
// its order (passages holding a citation-like "[" are left out: their
// own marks would be quoted).
func FuzzExtractiveQuote(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "extractive", "*", "input.txt"))
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		parts := strings.Split(string(data), "=== passage\n")
		f.Add("how do I install rustfmt with apt-get on Debian?", parts[len(parts)-1])
	}
	x := NewExtractive()
	f.Fuzz(func(t *testing.T, question, passage string) {
		if strings.ContainsAny(passage, "[]") {
			return
		}
		body, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": question}}})
		req := &ChatRequest{obj: mustChat(t, string(body)).obj, rag: true, passages: []ragd.SearchResult{result("fuzz", 0, passage)}}
		if got := strings.Join(x.answer(req).pieces, ""); got != extractiveNoMatch {
			checkQuote(t, got, req.passages)
		}
	})
}

// readExtractiveCase reads a case file: "source:" and "question:" lines,
// then each passage after a "=== passage" line.
func readExtractiveCase(t *testing.T, path string) (string, []ragd.SearchResult) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(data), "=== passage\n")
	var question string
	for _, l := range strings.Split(parts[0], "\n") {
		if q, ok := strings.CutPrefix(l, "question: "); ok {
			question = q
		}
	}
	if question == "" || len(parts) < 2 {
		t.Fatalf("%s: want a question: line and at least one === passage", path)
	}
	var passages []ragd.SearchResult
	for i, p := range parts[1:] {
		passages = append(passages, result(filepath.Base(filepath.Dir(path)), i, strings.TrimSpace(p)))
	}
	return question, passages
}

var citation = regexp.MustCompile(`\[(\d+)\]`)

// checkQuote checks that answer cites one passage and that its words,
// citations left out, occur in that passage in the same order (the last
// one may be cut short).
func checkQuote(t *testing.T, answer string, passages []ragd.SearchResult) {
	t.Helper()
	cited := map[string]bool{}
	for _, m := range citation.FindAllStringSubmatch(answer, -1) {
		cited[m[1]] = true
	}
	if len(cited) != 1 {
		t.Fatalf("answer cites %v, want one passage: %q", cited, answer)
	}
	var k int
	for n := range cited {
		k, _ = strconv.Atoi(n)
	}
	if k < 1 || k > len(passages) {
		t.Fatalf("answer cites [%d] of %d passages", k, len(passages))
	}
	words := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	quoted, source := words(citation.ReplaceAllString(answer, " ")), words(passages[k-1].Content)
	j := 0
	for i, w := range quoted {
		for j < len(source) && source[j] != w && !(i == len(quoted)-1 && strings.HasPrefix(source[j], w)) {
			j++
		}
		if j == len(source) {
			t.Fatalf("quoted word %d %q is not next in passage [%d]; answer %q", i, w, k, answer)
		}
		j++
	}
}

// TestParsePassage shows the units the extractive model quotes whole,
// one per line: kind, then "P" for a new paragraph, "L" for a new line,
// ":" for a unit that introduces the next.
func TestParsePassage(t *testing.T) {
	kinds := map[unitKind]string{unitSentence: "sentence", unitItem: "item", unitCode: "code", unitHeading: "heading"}
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"TildeFenceAfterColon", "Install it with:\r\n\r\n~~~\r\napt install ragd\r\n~~~\r\nDone.",
			[]string{"sentence : Install it with:", "code P ~~~\napt install ragd\n~~~", "sentence P Done."}},
		{"CodeDirective", ".. code-block:: python\n\n   print(1)\n\nThat prints 1.",
			[]string{"code ```\nprint(1)\n```", "sentence P That prints 1."}},
		{"RSTLiteralAfterBareColons", "Like this:\n\n::\n\n   x = 1",
			[]string{"sentence : Like this:", "code P ```\nx = 1\n```"}},
		{"IndentedProseIsNoCode", "Terms:\n\n  (a) You must give a copy.\n  (b) You must keep notices.",
			[]string{"sentence : Terms:", "item L (a) You must give a copy.", "item L (b) You must keep notices."}},
		{"NumberedListWithTwoSentences", "Steps:\n1) Stop it. Wait.\n2) Copy the file.",
			[]string{"sentence : Steps:", "item L 1) Stop it.", "sentence Wait.", "item L 2) Copy the file."}},
		{"WrappedColonGoesOn", "It solves a problem with assignment:\nsince local variables differ.",
			[]string{"sentence It solves a problem with assignment: since local variables differ."}},
		{"DefinitionTerms", "Features:\nFreedom:\nIt is free.\nSpeed:\nIt is fast.",
			[]string{"sentence : Features:", "sentence L: Freedom:", "sentence L It is free.", "sentence L: Speed:", "sentence L It is fast."}},
		{"Headings", "Install\n=======\n\n## Linux\nRun make.",
			[]string{"heading Install", "heading P ## Linux", "sentence P Run make."}},
		{"Ideographic", "これは本です。あれはペンです。",
			[]string{"sentence これは本です。", "sentence あれはペンです。"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, u := range parsePassage(tc.text) {
				flags := ""
				if u.para {
					flags += "P"
				}
				if u.line {
					flags += "L"
				}
				if u.binds {
					flags += ":"
				}
				got = append(got, strings.Join(strings.Fields(kinds[u.kind]+" "+flags), " ")+" "+u.text)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("units\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestSplitSentences(t *testing.T) {
	got := splitSentences("6. Trademarks. This License does\n   not grant. Second one?  Third!\nA heading\n  \nv1.2 is a version. End")
	want := []string{"6. Trademarks.", "This License does not grant.", "Second one?", "Third!", "A heading", "v1.2 is a version.", "End"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q", got)
	}
}

// chatServer serves the router and the engine the way ragd's handlers do,
// for OpenAI's own client: /v1/chat/completions is plain chat, and
// /rag/chat/completions a RAG request.
func chatServer(t *testing.T, r *Router, e *Engine) *httptest.Server {
	t.Helper()
	fail := func(w http.ResponseWriter, err error) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": err.Error(), "type": "invalid_request_error"}})
	}
	serve := func(w http.ResponseWriter, res *Result, s *ChatStream, err error) {
		switch {
		case err != nil:
			fail(w, err)
		case s != nil:
			s.Served.SetHeaders(w.Header())
			w.Header().Set("Content-Type", "text/event-stream")
			if err := WriteSSE(w, w.(http.Flusher).Flush, s); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("stream: %v", err)
			}
		default:
			res.Served.SetHeaders(w.Header())
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(res.Response)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		chat, err := ParseChatRequest(body)
		if err != nil {
			fail(w, err)
			return
		}
		if chat.IsStream() {
			s, err := r.Stream(req.Context(), chat)
			serve(w, nil, s, err)
			return
		}
		res, err := r.Complete(req.Context(), chat)
		serve(w, res, nil, err)
	})
	mux.HandleFunc("POST /rag/chat/completions", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rr, err := ParseRAGRequest(body)
		if err != nil {
			fail(w, err)
			return
		}
		if rr.IsStream() {
			s, err := e.Stream(req.Context(), rr)
			serve(w, nil, s, err)
			return
		}
		res, err := e.Complete(req.Context(), rr)
		serve(w, res, nil, err)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestOpenAIClient checks with OpenAI's official Go client that what ragd
// produces is OpenAI's wire format, plain and streamed.
func TestOpenAIClient(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req struct {
			Stream bool `json:"stream"`
		}
		json.Unmarshal(body, &req)
		if req.Stream {
			streamEvents(toolCallChunks("gpt-4o-mini"))(w, r, body)
			return
		}
		answer("gpt-4o-mini", "Paris is sunny.")(w, r, body)
	})
	r := mustRouter(t, Config{Providers: []ProviderConfig{provider("openai", up.URL, ModelConfig{ID: "gpt-4o-mini"})}})
	e := NewEngine(r, &fakeRetriever{passages: paragraphs(t, "apache-2.0.txt")})
	srv := chatServer(t, r, e)
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("ragd-key"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{Model: "gpt-4o-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_weather"})}}
	ctx := context.Background()

	t.Run("Plain", func(t *testing.T) {
		var hr *http.Response
		c, err := client.Chat.Completions.New(ctx, params, option.WithResponseInto(&hr))
		if err != nil {
			t.Fatal(err)
		}
		if c.Choices[0].Message.Content != "Paris is sunny." || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Usage.TotalTokens != 29 || hr.Header.Get("x-model-used") != "gpt-4o-mini" {
			t.Errorf("completion %+v", c)
		}
		if !strings.Contains(string(up.last(t).body), `"tools":[{"function":{"name":"get_weather"`) {
			t.Errorf("tools not passed: %s", up.last(t).body)
		}
	})
	t.Run("StreamedToolCall", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		acc := openai.ChatCompletionAccumulator{}
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		tc := acc.Choices[0].Message.ToolCalls
		if len(tc) != 1 || tc[0].Function.Name != "get_weather" || tc[0].Function.Arguments != `{"location":"Paris"}` || acc.Choices[0].FinishReason != "tool_calls" {
			t.Errorf("accumulated %+v", acc.Choices)
		}
	})
	t.Run("RAGExtractiveStreamed", func(t *testing.T) {
		rag := openai.NewClient(option.WithBaseURL(srv.URL+"/rag/"), option.WithAPIKey("ragd-key"), option.WithMaxRetries(0))
		p := openai.ChatCompletionNewParams{Model: ExtractiveModel, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Does the license grant permission to use trademarks?")}}
		whole, err := rag.Chat.Completions.New(ctx, p, option.WithJSONSet("collection", "licenses"))
		if err != nil {
			t.Fatal(err)
		}
		stream := rag.Chat.Completions.NewStreaming(ctx, p, option.WithJSONSet("collection", "licenses"))
		acc := openai.ChatCompletionAccumulator{}
		var first string
		for stream.Next() {
			if first == "" {
				first = stream.Current().RawJSON()
			}
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		var head struct {
			Sources []json.RawMessage `json:"sources"`
		}
		json.Unmarshal([]byte(first), &head)
		if len(head.Sources) == 0 {
			t.Errorf("first chunk has no sources: %s", first)
		}
		got := acc.Choices[0].Message.Content
		if got != whole.Choices[0].Message.Content || !strings.Contains(got, "does not grant permission to use the trade names") || !strings.Contains(got, "[1]") {
			t.Errorf("streamed %q, whole %q", got, whole.Choices[0].Message.Content)
		}
		if !strings.Contains(whole.RawJSON(), `"sources":[{"id":"chunk_apache-2.0.txt_`) {
			t.Errorf("whole answer lacks sources: %s", whole.RawJSON())
		}
	})
	t.Run("ErrorsAreOpenAIErrors", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o-mini"})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
			t.Errorf("got %v", err)
		}
	})
}

// TestClientGone checks the whole path: a client that goes away in the
// middle of a streamed answer stops the upstream request.
func TestClientGone(t *testing.T) {
	upstreamDone := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: "+textChunks("m", "Hello")[1]+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(upstreamDone)
	})
	r := mustRouter(t, Config{Providers: []ProviderConfig{provider("p", up.URL, ModelConfig{ID: "m"})}})
	srv := chatServer(t, r, NewEngine(r, &fakeRetriever{}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/rag/"), option.WithMaxRetries(0))
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "m",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi there")}}, option.WithJSONSet("collection", "c"))
	var got []string
	for stream.Next() {
		got = append(got, stream.Current().Choices[0].Delta.Content)
		if len(got) == 2 { // the sources chunk, then the upstream's first
			cancel()
		}
	}
	<-upstreamDone
	if len(got) != 2 || got[1] != "Hello" {
		t.Errorf("received %q", got)
	}
}

func TestWriteSSEError(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: "+textChunks("m", "Hel")[1]+"\n\n")
		io.WriteString(w, "event: error\ndata: {\"message\":\"overloaded\"}\n\n")
	})
	r := mustRouter(t, Config{Providers: []ProviderConfig{provider("p", up.URL, ModelConfig{ID: "m"})}})
	s, err := r.Stream(context.Background(), mustChat(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	flushes := 0
	err = WriteSSE(&b, func() { flushes++ }, s)
	events := strings.Split(strings.TrimSuffix(b.String(), "\n\n"), "\n\n")
	if ragd.ErrorKind(err) != ragd.EUNAVAILABLE || len(events) != 2 || flushes != 2 ||
		events[1] != `data: {"error":{"message":"chat provider \"p\" failed mid-stream: overloaded","type":"server_error","code":"upstream_unavailable"}}` {
		t.Errorf("err %v, wrote %q", err, b.String())
	}
	if !strings.HasPrefix(events[0], `data: {"id":"`+s.ID()+`"`) {
		t.Errorf("first event %q", events[0])
	}
}
