package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
)

const deepThought = "What is the answer to life, the universe and everything?"

// fileSearch is a file_search tool over the vector stores ids.
func fileSearch(ids ...string) map[string]any {
	return map[string]any{"type": "file_search", "vector_store_ids": ids}
}

// outputItems returns a response's file_search_call item (nil when there
// is none) and the text part of its message.
func outputItems(t *testing.T, b map[string]any) (search, text map[string]any) {
	t.Helper()
	for _, it := range list(b["output"]) {
		switch obj(it)["type"] {
		case "file_search_call":
			search = obj(it)
		case "message":
			m := obj(it)
			if m["role"] != "assistant" || m["status"] != "completed" || len(list(m["content"])) != 1 || !strings.HasPrefix(str(m["id"]), "msg_") {
				t.Fatalf("message item %v", m)
			}
			text = obj(list(m["content"])[0])
		}
	}
	if text == nil || text["type"] != "output_text" {
		t.Fatalf("no output_text in %v", b)
	}
	return search, text
}

// citedAt checks that annotation a is a file_citation of result r at
// index, a position inside text.
func citedAt(t *testing.T, a any, r map[string]any, text string, index int) {
	t.Helper()
	an := obj(a)
	if an["type"] != "file_citation" || an["file_id"] != r["file_id"] || an["filename"] != r["filename"] || an["index"] != float64(index) ||
		index > utf8.RuneCountInString(text) {
		t.Fatalf("annotation %v, want a citation of %v at %d in %q", an, r, index, text)
	}
}

func TestResponsesFileSearchOffline(t *testing.T) {
	ts := newTestServer(t)
	col := seedKnowledge(t, ts, ts.admin)
	b := ts.do(t, "POST", "/v1/responses", ts.admin, map[string]any{"model": "ragd-extractive", "input": deepThought,
		"tools": []any{fileSearch(col)}, "include": []string{"file_search_call.results"},
		"store": true, "metadata": map[string]string{"k": "v"}, "user": "u1", "reasoning": map[string]any{}, "truncation": "auto"}).must(t, 200)
	if !strings.HasPrefix(str(b["id"]), "resp_") || b["object"] != "response" || b["status"] != "completed" || b["model"] != "ragd-extractive" ||
		b["error"] != nil || b["store"] != false || obj(b["metadata"])["k"] != "v" || b["tool_choice"] != "auto" {
		t.Fatalf("response %v", b)
	}
	if tools := list(b["tools"]); len(tools) != 1 || obj(tools[0])["max_num_results"] != 10.0 || list(obj(tools[0])["vector_store_ids"])[0] != col {
		t.Fatalf("tools %v", b["tools"])
	}
	if u := obj(b["usage"]); u["input_tokens"].(float64) <= 0 || u["output_tokens"].(float64) <= 0 ||
		u["total_tokens"] != u["input_tokens"].(float64)+u["output_tokens"].(float64) {
		t.Fatalf("usage %v", u)
	}
	search, text := outputItems(t, b)
	results := list(search["results"])
	if search["status"] != "completed" || !strings.HasPrefix(str(search["id"]), "fs_") || list(search["queries"])[0] != deepThought ||
		len(results) != 2 || !strings.Contains(str(obj(results[0])["text"]), "Deep Thought") || obj(results[0])["file_id"] != "" ||
		obj(obj(results[0])["attributes"])["book"] != "hhgttg" {
		t.Fatalf("file_search_call %v", search)
	}
	// ragd-extractive quotes the best passage and cites it at its end;
	// the marker leaves the text and becomes the annotation.
	answer := str(text["text"])
	annotations := list(text["annotations"])
	if !strings.Contains(answer, "computed by Deep Thought.") || strings.Contains(answer, "[1]") || len(annotations) != 1 {
		t.Fatalf("answer %q with annotations %v", answer, annotations)
	}
	citedAt(t, annotations[0], obj(results[0]), answer, utf8.RuneCountInString(answer))

	// Without include, the results are null.
	b = ts.do(t, "POST", "/v1/responses", ts.admin, map[string]any{"model": "ragd-extractive", "input": deepThought,
		"tools": []any{fileSearch(col)}}).must(t, 200)
	if search, _ := outputItems(t, b); search["results"] != nil {
		t.Fatalf("results without include: %v", search)
	}
	// tool_choice "none" answers without searching.
	b = ts.do(t, "POST", "/v1/responses", ts.admin, map[string]any{"model": "ragd-extractive", "input": deepThought,
		"tools": []any{fileSearch(col)}, "tool_choice": "none"}).must(t, 200)
	if search, _ := outputItems(t, b); search != nil || b["tool_choice"] != "none" {
		t.Fatalf("tool_choice none: %v", b)
	}
	// The search's embedding tokens and the answer's are counted.
	use := obj(obj(obj(ts.do(t, "GET", "/v1/usage", ts.admin, nil).must(t, 200)["current_month"])["by_endpoint"])["POST /v1/responses"])
	if use["requests"] != 3.0 || use["embedding_tokens"].(float64) <= 0 || use["completion_tokens"].(float64) <= 0 {
		t.Fatalf("usage of /v1/responses %v", use)
	}
}

// event is one server-sent event of a Responses stream.
type event struct {
	name string
	data map[string]any
}

// streamResponse posts a streamed Responses request and reads its events.
func streamResponse(t *testing.T, ts *testServer, body map[string]any) []event {
	t.Helper()
	body["stream"] = true
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", ts.URL+"/v1/responses", strings.NewReader(string(data)))
	req.Header.Set("Authorization", "Bearer "+ts.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var events []event
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var e event
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e.data); err != nil {
				t.Fatalf("event data %q: %v", line, err)
			}
			e.name = name
			events = append(events, e)
		case line != "":
			t.Fatalf("unexpected line %q", line)
		}
	}
	for i, e := range events {
		if e.data["type"] != e.name || e.data["sequence_number"] != float64(i) {
			t.Fatalf("event %d: %q with %v", i, e.name, e.data)
		}
	}
	return events
}

// checkStream checks the events of a streamed response and returns the
// completed response: the order, the deltas adding up to the final text,
// and each annotation announced where its index says.
func checkStream(t *testing.T, events []event, searched bool) map[string]any {
	t.Helper()
	var order []string
	var text strings.Builder
	chars := 0
	var annotations []any
	for _, e := range events {
		switch typ := e.name; typ {
		case "response.output_text.delta":
			text.WriteString(str(e.data["delta"]))
			chars += utf8.RuneCountInString(str(e.data["delta"]))
		case "response.output_text.annotation.added":
			if e.data["annotation_index"] != float64(len(annotations)) || obj(e.data["annotation"])["index"] != float64(chars) {
				t.Fatalf("annotation event %v after %d characters", e.data, chars)
			}
			annotations = append(annotations, e.data["annotation"])
		default:
			order = append(order, typ)
		}
	}
	want := []string{"response.created", "response.in_progress"}
	if searched {
		want = append(want, "response.output_item.added", "response.file_search_call.in_progress", "response.file_search_call.searching",
			"response.file_search_call.completed", "response.output_item.done")
	}
	want = append(want, "response.output_item.added", "response.content_part.added", "response.output_text.done",
		"response.content_part.done", "response.output_item.done", "response.completed")
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v", order, want)
	}
	for _, e := range events {
		if e.name == "response.output_text.done" && (e.data["text"] != text.String() || e.data["item_id"] == "") {
			t.Fatalf("output_text.done %v, deltas %q", e.data, text.String())
		}
	}
	final := obj(events[len(events)-1].data["response"])
	_, part := outputItems(t, final)
	if part["text"] != text.String() || len(list(part["annotations"])) != len(annotations) {
		t.Fatalf("completed response %v, streamed %q with %v", part, text.String(), annotations)
	}
	if created := obj(events[0].data["response"]); created["status"] != "in_progress" || created["id"] != final["id"] || len(list(created["output"])) != 0 {
		t.Fatalf("response.created %v", created)
	}
	return final
}

func TestResponsesFileSearchOfflineStream(t *testing.T) {
	ts := newTestServer(t)
	col := seedKnowledge(t, ts, ts.admin)
	events := streamResponse(t, ts, map[string]any{"model": "ragd-extractive", "input": deepThought,
		"tools": []any{fileSearch(col)}, "include": []string{"file_search_call.results"}})
	final := checkStream(t, events, true)
	search, text := outputItems(t, final)
	annotations := list(text["annotations"])
	if len(annotations) != 1 || !strings.Contains(str(text["text"]), "Deep Thought") {
		t.Fatalf("final %v", text)
	}
	citedAt(t, annotations[0], obj(list(search["results"])[0]), str(text["text"]), utf8.RuneCountInString(str(text["text"])))
	if added := obj(events[2].data["item"]); added["type"] != "file_search_call" || added["status"] != "in_progress" || events[3].data["item_id"] != added["id"] {
		t.Fatalf("file search events %v %v", events[2].data, events[3].data)
	}
}

func TestResponsesThroughUpstream(t *testing.T) {
	up := newUpstream(t)
	ts := newChatServer(t, up)
	col := seedKnowledge(t, ts, ts.admin)
	req := map[string]any{"model": "gpt-4o-mini", "instructions": "Be brief.", "max_output_tokens": 100, "temperature": 0.5,
		"input": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "input_text", "text": "What did Deep Thought compute?"}}}},
		"tools": []any{fileSearch(col)}, "include": []string{"file_search_call.results"}, "parallel_tool_calls": false}
	b := ts.do(t, "POST", "/v1/responses", ts.admin, req).must(t, 200)
	sent := up.last()
	msgs := list(sent["messages"])
	if len(msgs) != 3 || obj(msgs[0])["role"] != "system" || !strings.Contains(str(obj(msgs[0])["content"]), "[1]") ||
		!strings.Contains(str(obj(msgs[0])["content"]), "Deep Thought") || obj(msgs[1])["content"] != "Be brief." ||
		obj(msgs[2])["content"] != "What did Deep Thought compute?" || sent["max_tokens"] != 100.0 || sent["temperature"] != 0.5 ||
		sent["tools"] != nil || sent["input"] != nil {
		t.Fatalf("sent upstream %v", sent)
	}
	// "The answer is 42 [1]." becomes "The answer is 42." citing [1] after "42".
	search, text := outputItems(t, b)
	if text["text"] != "The answer is 42." || b["model"] != "gpt-4o-mini" || b["parallel_tool_calls"] != false ||
		b["temperature"] != 0.5 || b["max_output_tokens"] != 100.0 || b["instructions"] != "Be brief." || obj(b["usage"])["input_tokens"] != 50.0 {
		t.Fatalf("response %v", b)
	}
	citedAt(t, list(text["annotations"])[0], obj(list(search["results"])[0]), "The answer is 42.", 16)

	final := checkStream(t, streamResponse(t, ts, req), true)
	if sent := up.last(); sent["stream"] != true || obj(sent["stream_options"])["include_usage"] != true {
		t.Fatalf("streamed request upstream %v", sent)
	}
	_, text = outputItems(t, final)
	if text["text"] != "The answer is 42." || obj(list(text["annotations"])[0])["index"] != 16.0 {
		t.Fatalf("streamed response %v", final)
	}
}

func TestResponsesWithoutTools(t *testing.T) {
	up := newUpstream(t)
	ts := newChatServer(t, up)
	req := map[string]any{"model": "gpt-4o-mini", "input": []any{
		map[string]any{"role": "developer", "content": "Answer in one line."},
		map[string]any{"type": "message", "role": "user", "content": "What is the answer?"}}}
	b := ts.do(t, "POST", "/v1/responses", ts.admin, req).must(t, 200)
	sent := up.last()
	if msgs := list(sent["messages"]); len(msgs) != 2 || obj(msgs[0])["role"] != "system" || obj(msgs[1])["content"] != "What is the answer?" {
		t.Fatalf("sent upstream %v", sent)
	}
	// No sources: the text is the model's, brackets and all.
	search, text := outputItems(t, b)
	if search != nil || text["text"] != "The answer is 42 [1]." || len(list(text["annotations"])) != 0 || len(list(b["tools"])) != 0 {
		t.Fatalf("response %v", b)
	}
	_, text = outputItems(t, checkStream(t, streamResponse(t, ts, req), false))
	if text["text"] != "The answer is 42 [1]." {
		t.Fatalf("streamed %v", text)
	}
}

func TestResponsesErrors(t *testing.T) {
	ts := newTestServer(t)
	col := seedKnowledge(t, ts, ts.admin)
	other := ts.collection(t, ts.key(t, "other", true), "theirs")
	tool := func(fields map[string]any) map[string]any {
		t := fileSearch(col)
		for k, v := range fields {
			t[k] = v
		}
		return t
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		param  string
	}{
		{"ErrModelRequired", map[string]any{"input": "hi"}, 400, "model"},
		{"ErrInputRequired", map[string]any{"model": "ragd-extractive"}, 400, "input"},
		{"ErrInputType", map[string]any{"model": "ragd-extractive", "input": 42}, 400, "input"},
		{"ErrInputPart", map[string]any{"model": "ragd-extractive", "input": []any{map[string]any{"role": "user",
			"content": []any{map[string]any{"type": "input_image", "image_url": "http://x"}}}}}, 400, "input[0].content[0].type"},
		{"ErrInputRole", map[string]any{"model": "ragd-extractive", "input": []any{map[string]any{"role": "robot", "content": "hi"}}}, 400, "input[0].role"},
		{"ErrUnknownModel", map[string]any{"model": "nope", "input": "hi"}, 404, "model"},
		{"ErrUnknownParameter", map[string]any{"model": "ragd-extractive", "input": "hi", "colour": "blue"}, 400, "colour"},
		{"ErrStoreType", map[string]any{"model": "ragd-extractive", "input": "hi", "store": "yes"}, 400, "store"},
		{"ErrMaxOutputTokens", map[string]any{"model": "ragd-extractive", "input": "hi", "max_output_tokens": 0}, 400, "max_output_tokens"},
		{"ErrPreviousResponse", map[string]any{"model": "ragd-extractive", "input": "hi", "previous_response_id": "resp_1"}, 400, "previous_response_id"},
		{"ErrToolType", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{map[string]any{"type": "web_search"}}}, 400, "tools[0].type"},
		{"ErrToolUnknownField", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{tool(map[string]any{"colour": 1})}}, 400, "tools[0]"},
		{"ErrVectorStoreIDsEmpty", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{fileSearch()}}, 400, "tools[0].vector_store_ids"},
		{"ErrTooManyVectorStores", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{fileSearch(strings.Split(strings.Repeat("col_x,", 11), ",")[:11]...)}}, 400, "tools[0].vector_store_ids"},
		{"ErrMaxNumResults0", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{tool(map[string]any{"max_num_results": 0})}}, 400, "tools[0].max_num_results"},
		{"ErrMaxNumResults51", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{tool(map[string]any{"max_num_results": 51})}}, 400, "tools[0].max_num_results"},
		{"ErrMaxNumResultsType", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{tool(map[string]any{"max_num_results": "5"})}}, 400, "tools[0].max_num_results"},
		{"ErrFilter", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{tool(map[string]any{"filters": map[string]any{"type": "like", "key": "book", "value": "x"}})}}, 400, "tools[0].filters.type"},
		{"ErrRanker", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{tool(map[string]any{"ranking_options": map[string]any{"ranker": "best"}})}}, 400, "tools[0].ranking_options.ranker"},
		{"ErrScoreThreshold", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{tool(map[string]any{"ranking_options": map[string]any{"score_threshold": 2}})}}, 400, "tools[0].ranking_options.score_threshold"},
		{"ErrToolChoice", map[string]any{"model": "ragd-extractive", "input": "hi", "tool_choice": map[string]any{"type": "function", "name": "f"}}, 400, "tool_choice"},
		{"ErrNoQuestion", map[string]any{"model": "ragd-extractive", "input": []any{map[string]any{"role": "system", "content": "x"}}, "tools": []any{fileSearch(col)}}, 400, "input"},
		{"ErrOtherWorkspacesStore", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{fileSearch(other)}}, 404, "tools[0].vector_store_ids[0]"},
		{"ErrUnknownStore", map[string]any{"model": "ragd-extractive", "input": "hi", "tools": []any{fileSearch(col, "col_nope")}}, 404, "tools[0].vector_store_ids[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, "POST", "/v1/responses", ts.admin, tt.body)
			e := obj(r.body["error"])
			_, param := r.errCode()
			if r.status != tt.status || str(param) != tt.param || str(e["message"]) == "" || str(e["type"]) == "" {
				t.Fatalf("got %d %s, want %d with param %q", r.status, r.raw, tt.status, tt.param)
			}
		})
	}
	// A good filter narrows the search.
	b := ts.do(t, "POST", "/v1/responses", ts.admin, map[string]any{"model": "ragd-extractive", "input": deepThought, "include": []string{"file_search_call.results"},
		"tools": []any{tool(map[string]any{"filters": map[string]any{"type": "eq", "key": "book", "value": "hhgttg"}, "max_num_results": 5})}}).must(t, 200)
	if search, _ := outputItems(t, b); len(list(search["results"])) != 1 {
		t.Fatalf("filtered search %v", search)
	}
}

func TestResponsesWithOpenAIClient(t *testing.T) {
	fs := newFileServer(t, 0)
	col := fs.collection(t, fs.admin, "docs")
	f := obj(fs.upload(t, fs.admin, col, "?wait=true", "README.md", readTestdata(t, "markdown-rustfmt/input.md"), nil).must(t, 201)["file"])
	client := openaiClient(fs.testServer, fs.admin)
	ctx := context.Background()
	params := responses.ResponseNewParams{
		Model:   "ragd-extractive",
		Input:   responses.ResponseNewParamsInputUnion{OfString: openai.String("What is a tool for formatting Rust code according to style guidelines?")},
		Tools:   []responses.ToolUnionParam{{OfFileSearch: &responses.FileSearchToolParam{VectorStoreIDs: []string{col}, MaxNumResults: openai.Int(3)}}},
		Include: []responses.ResponseIncludable{responses.ResponseIncludableFileSearchCallResults},
	}
	check := func(t *testing.T, resp *responses.Response) {
		t.Helper()
		if resp.Status != responses.ResponseStatusCompleted || len(resp.Output) != 2 {
			t.Fatalf("response %s", resp.RawJSON())
		}
		call := resp.Output[0].AsFileSearchCall()
		if len(call.Results) == 0 || call.Results[0].FileID != f["id"] || call.Results[0].Filename != "README.md" {
			t.Fatalf("file_search_call %s", resp.Output[0].RawJSON())
		}
		msg := resp.Output[1].AsMessage()
		text := msg.Content[0].AsOutputText()
		if len(text.Annotations) == 0 || text.Text != resp.OutputText() {
			t.Fatalf("message %s", resp.Output[1].RawJSON())
		}
		for _, a := range text.Annotations {
			c := a.AsFileCitation()
			if a.Type != "file_citation" || c.FileID != str(f["id"]) || c.Filename != "README.md" || c.Index < 1 || c.Index > int64(utf8.RuneCountInString(text.Text)) {
				t.Fatalf("annotation %s in %q", a.RawJSON(), text.Text)
			}
		}
	}
	resp, err := client.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	check(t, resp)

	stream := client.Responses.NewStreaming(ctx, params)
	var deltas strings.Builder
	var completed *responses.Response
	annotations := 0
	for stream.Next() {
		switch ev := stream.Current().AsAny().(type) {
		case responses.ResponseTextDeltaEvent:
			deltas.WriteString(ev.Delta)
		case responses.ResponseOutputTextAnnotationAddedEvent:
			annotations++
		case responses.ResponseCompletedEvent:
			completed = &ev.Response
		}
	}
	if err := stream.Err(); err != nil || completed == nil {
		t.Fatalf("stream: %v", err)
	}
	check(t, completed)
	if completed.OutputText() != deltas.String() || annotations != len(completed.Output[1].AsMessage().Content[0].AsOutputText().Annotations) {
		t.Fatalf("streamed %q with %d annotations, completed %s", deltas.String(), annotations, completed.RawJSON())
	}
}
