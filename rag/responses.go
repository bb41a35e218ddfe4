package rag

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/tokenize"
)

// IncludeFileSearchResults is the include value of a Responses request
// that asks for the file_search_call item's results.
const IncludeFileSearchResults = "file_search_call.results"

// responsesParams are the members of a Responses request that OpenAI
// documents. Those ragd reads are checked; the others (store, metadata,
// reasoning, user, truncation, ...) are accepted and have no effect, as
// ragd cannot honour them. Any other member is refused, as OpenAI does.
var responsesParams = []string{"model", "input", "instructions", "tools", "tool_choice", "include", "stream",
	"stream_options", "max_output_tokens", "max_tool_calls", "temperature", "top_p", "top_logprobs", "store",
	"metadata", "parallel_tool_calls", "truncation", "user", "reasoning", "previous_response_id", "conversation",
	"text", "service_tier", "background", "prompt", "prompt_cache_key", "prompt_cache_retention",
	"prompt_cache_options", "safety_identifier", "context_management", "moderation"}

// ResponsesRequest is a request to OpenAI's Responses API (POST
// /v1/responses): a conversation (input, instructions) answered by a chat
// model, with at most one file_search tool whose results ground the
// answer. It becomes a chat completion request for the Router: with the
// tool, the one the RAG engine makes, with the results as numbered
// sources in the system prompt.
type ResponsesRequest struct {
	// FileSearch is the file_search tool; nil when the request has none
	// or its tool_choice is "none".
	FileSearch *FileSearchTool

	chat    *ChatRequest
	query   string
	include bool
	echo    requestEcho
}

// FileSearchTool is the file_search tool of a Responses request, checked
// for types; the service checks its values and runs the search.
type FileSearchTool struct {
	// Param names the tool in errors: "tools[0]".
	Param string `json:"-"`
	// Type is "file_search".
	Type string `json:"type"`
	// VectorStoreIDs are the collections searched.
	VectorStoreIDs []string `json:"vector_store_ids"`
	// MaxNumResults is the number of results wanted, when set.
	MaxNumResults *int `json:"max_num_results"`
	// Filters is an OpenAI attribute filter (ragd.ParseOpenAIFilter).
	Filters json.RawMessage `json:"filters"`
	// RankingOptions are the ranker and score threshold, when set.
	RankingOptions *RankingOptions `json:"ranking_options"`
}

// RankingOptions are the ranking options of a file_search tool.
type RankingOptions struct {
	// Ranker is "auto", "none" or "default-2024-11-15": "none" is ragd's
	// hybrid search alone, the others add ragd's default rerank.
	Ranker string `json:"ranker"`
	// ScoreThreshold drops results scoring below it, 0..1.
	ScoreThreshold *float64 `json:"score_threshold"`
	// HybridSearch weighs embedding and text matches in OpenAI's hybrid
	// search; ragd's relative-score fusion is not tunable per request.
	HybridSearch *struct {
		EmbeddingWeight float64 `json:"embedding_weight"`
		TextWeight      float64 `json:"text_weight"`
	} `json:"hybrid_search"`
}

// requestEcho are the request's settings that the response repeats.
type requestEcho struct {
	instructions      *string
	maxOutputTokens   *int
	temperature       float64
	topP              float64
	toolChoice        json.RawMessage
	tools             []any
	parallelToolCalls bool
	metadata          json.RawMessage
}

// inputItem is what ragd reads of an item of a Responses input list.
type inputItem struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// ParseResponsesRequest reads and checks a Responses request body. It
// returns an EINVALID *ragd.Error naming the bad field (as in
// "tools[0].max_num_results"); an undocumented member is an error with
// code unknown_parameter.
func ParseResponsesRequest(body []byte) (*ResponsesRequest, error) {
	obj, err := parseObject(body, "the request body")
	if err != nil {
		return nil, err
	}
	for _, k := range obj.keys {
		if !slices.Contains(responsesParams, k) {
			return nil, &ragd.Error{Kind: ragd.EINVALID, Code: "unknown_parameter", Param: k,
				Message: fmt.Sprintf("unknown parameter: %q", k)}
		}
	}
	// Each member is decoded on its own so that a wrong type names it;
	// store, user, truncation and reasoning are only checked.
	var p struct {
		Model             string
		Input             json.RawMessage
		Instructions      *string
		Tools             []json.RawMessage
		ToolChoice        json.RawMessage
		Include           []string
		Stream            bool
		MaxOutputTokens   *int
		Temperature       *float64
		TopP              *float64
		Metadata          map[string]string
		ParallelToolCalls *bool
		PreviousResponse  *string
		Conversation      json.RawMessage
		Background        *bool
		Store             *bool
		User              *string
		Truncation        *string
		Reasoning         *struct{}
	}
	for key, v := range map[string]any{"model": &p.Model, "input": &p.Input, "instructions": &p.Instructions,
		"tools": &p.Tools, "tool_choice": &p.ToolChoice, "include": &p.Include, "stream": &p.Stream,
		"max_output_tokens": &p.MaxOutputTokens, "temperature": &p.Temperature, "top_p": &p.TopP,
		"metadata": &p.Metadata, "parallel_tool_calls": &p.ParallelToolCalls, "previous_response_id": &p.PreviousResponse,
		"conversation": &p.Conversation, "background": &p.Background, "store": &p.Store, "user": &p.User,
		"truncation": &p.Truncation, "reasoning": &p.Reasoning} {
		if err := obj.get(key, v); err != nil {
			return nil, err
		}
	}
	switch {
	case p.Model == "":
		return nil, ragd.Invalid("model", "model is required: the chat model that answers (see GET /v1/models)")
	case p.PreviousResponse != nil || len(p.Conversation) > 0 && string(p.Conversation) != "null":
		param := "previous_response_id"
		if p.PreviousResponse == nil {
			param = "conversation"
		}
		return nil, ragd.Invalid(param, "ragd does not store responses or conversations; send the whole conversation in input")
	case p.Background != nil && *p.Background:
		return nil, ragd.Invalid("background", "ragd does not run responses in the background; leave background unset")
	}
	if err := checkSampling("max_output_tokens", p.MaxOutputTokens, p.Temperature, p.TopP); err != nil {
		return nil, err
	}
	r := &ResponsesRequest{include: slices.Contains(p.Include, IncludeFileSearchResults),
		echo: requestEcho{instructions: p.Instructions, maxOutputTokens: p.MaxOutputTokens, temperature: 1, topP: 1,
			toolChoice: json.RawMessage(`"auto"`), tools: []any{}, parallelToolCalls: true, metadata: json.RawMessage("{}")}}
	if p.Temperature != nil {
		r.echo.temperature = *p.Temperature
	}
	if p.TopP != nil {
		r.echo.topP = *p.TopP
	}
	if p.ParallelToolCalls != nil {
		r.echo.parallelToolCalls = *p.ParallelToolCalls
	}
	if p.Metadata != nil {
		r.echo.metadata = obj.raw("metadata")
	}
	if err := r.parseTools(p.Tools, p.ToolChoice); err != nil {
		return nil, err
	}
	msgs, err := inputMessages(p.Input, p.Instructions)
	if err != nil {
		return nil, err
	}
	if r.query = lastUserText(msgs); r.FileSearch != nil && strings.TrimSpace(r.query) == "" {
		return nil, ragd.Invalid("input", "input must end with a user message holding the question to search for")
	}
	chat := map[string]any{"model": p.Model, "messages": msgs}
	if p.Stream {
		chat["stream"] = true
		chat["stream_options"] = map[string]bool{"include_usage": true}
	}
	if p.MaxOutputTokens != nil {
		chat["max_tokens"] = *p.MaxOutputTokens
	}
	if p.Temperature != nil {
		chat["temperature"] = *p.Temperature
	}
	if p.TopP != nil {
		chat["top_p"] = *p.TopP
	}
	data, _ := json.Marshal(chat)
	co, _ := parseObject(data, "the chat request")
	r.chat = &ChatRequest{obj: co, rag: r.FileSearch != nil}
	return r, nil
}

// parseTools reads the tools (only file_search, at most one) and
// tool_choice ("auto", "required", "none" or {"type": "file_search"}).
func (r *ResponsesRequest) parseTools(tools []json.RawMessage, choice json.RawMessage) error {
	for i, raw := range tools {
		param := fmt.Sprintf("tools[%d]", i)
		var head struct {
			Type string `json:"type"`
		}
		if err := decodeParam(param, raw, &head); err != nil {
			return err
		}
		if head.Type != "file_search" {
			return ragd.Invalid(param+".type", "unsupported tool type %q: ragd runs only the file_search tool", head.Type)
		}
		if r.FileSearch != nil {
			return ragd.Invalid(param, "only one file_search tool may be given; list every vector store in its vector_store_ids")
		}
		t := &FileSearchTool{Param: param}
		if err := decodeStrict(param, raw, t); err != nil {
			return err
		}
		r.FileSearch = t
		r.echo.tools = append(r.echo.tools, fileSearchEcho(t))
	}
	if len(choice) == 0 || string(choice) == "null" {
		return nil
	}
	var mode string
	var forced struct {
		Type string `json:"type"`
	}
	switch {
	case json.Unmarshal(choice, &mode) == nil && (mode == "auto" || mode == "required"):
	case json.Unmarshal(choice, &mode) == nil && mode == "none":
		r.FileSearch = nil
	case json.Unmarshal(choice, &forced) == nil && forced.Type == "file_search" && r.FileSearch != nil:
	default:
		return ragd.Invalid("tool_choice", `tool_choice must be "auto", "required", "none" or {"type": "file_search"} with a file_search tool`)
	}
	r.echo.toolChoice = choice
	return nil
}

// fileSearchEcho is the tool as a response lists it, defaults filled in.
func fileSearchEcho(t *FileSearchTool) map[string]any {
	limit, ranking := DefaultFileSearchResults, map[string]any{"ranker": "auto", "score_threshold": 0.0}
	if t.MaxNumResults != nil {
		limit = *t.MaxNumResults
	}
	if o := t.RankingOptions; o != nil {
		if o.Ranker != "" {
			ranking["ranker"] = o.Ranker
		}
		if o.ScoreThreshold != nil {
			ranking["score_threshold"] = *o.ScoreThreshold
		}
	}
	filters := t.Filters
	if len(filters) == 0 {
		filters = json.RawMessage("null")
	}
	return map[string]any{"type": "file_search", "vector_store_ids": t.VectorStoreIDs, "filters": filters,
		"max_num_results": limit, "ranking_options": ranking}
}

// DefaultFileSearchResults is the number of results a file_search tool
// asks for when it sets no max_num_results.
const DefaultFileSearchResults = 10

// decodeParam decodes raw, the request field param, into v; a member of
// the wrong type is an EINVALID error naming it inside param.
func decodeParam(param string, raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			param += "." + te.Field
		}
		return ragd.Invalid(param, "%s has the wrong type: %v", param, err)
	}
	return nil
}

// decodeStrict is decodeParam refusing members v does not have.
func decodeStrict(param string, raw json.RawMessage, v any) error {
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return decodeParam(param, raw, v)
		}
		return ragd.Invalid(param, "%s: %v", param, err)
	}
	return nil
}

// inputMessages turns a Responses input, a string or a list of message
// items, and the instructions into chat messages {role, content}: the
// instructions first, as a system message, a developer message as a
// system message (which every OpenAI-compatible server knows). Items of
// type file_search_call, which a client replaying a response's output
// sends back, are skipped.
func inputMessages(input json.RawMessage, instructions *string) ([]message, error) {
	var msgs []message
	text := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	if instructions != nil && *instructions != "" {
		msgs = append(msgs, message{Role: "system", Content: text(*instructions)})
	}
	if len(input) == 0 || string(input) == "null" {
		return nil, ragd.Invalid("input", "input is required: the question, or a list of {role, content} messages")
	}
	var s string
	if json.Unmarshal(input, &s) == nil {
		return append(msgs, message{Role: "user", Content: text(s)}), nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(input, &items); err != nil {
		return nil, ragd.Invalid("input", "input must be a string or a list of message items")
	}
	for i, raw := range items {
		param := fmt.Sprintf("input[%d]", i)
		var it inputItem
		if err := decodeParam(param, raw, &it); err != nil {
			return nil, err
		}
		switch {
		case it.Type == "file_search_call":
			continue
		case it.Type != "" && it.Type != "message":
			return nil, ragd.Invalid(param+".type", "unsupported input item type %q: ragd takes message items", it.Type)
		}
		role := it.Role
		switch role {
		case "user", "assistant", "system":
		case "developer":
			role = "system"
		default:
			return nil, ragd.Invalid(param+".role", "role must be user, assistant, system or developer, got %q", it.Role)
		}
		t, err := itemText(param+".content", it.Content)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, message{Role: role, Content: text(t)})
	}
	if len(msgs) == 0 {
		return nil, ragd.Invalid("input", "input must hold at least one message")
	}
	return msgs, nil
}

// itemText returns a message item's text: its content string, or its
// text parts (input_text, or output_text of a replayed answer) joined by
// newlines.
func itemText(param string, content json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := decodeParam(param, content, &parts); err != nil {
		return "", err
	}
	texts := make([]string, 0, len(parts))
	for j, part := range parts {
		if part.Type != "input_text" && part.Type != "output_text" {
			return "", ragd.Invalid(fmt.Sprintf("%s[%d].type", param, j), "unsupported content type %q: ragd reads input_text parts", part.Type)
		}
		texts = append(texts, part.Text)
	}
	return strings.Join(texts, "\n"), nil
}

// Model returns the requested model.
func (r *ResponsesRequest) Model() string { return r.chat.Model() }

// IsStream reports whether the client asked for a streamed response.
func (r *ResponsesRequest) IsStream() bool { return r.chat.IsStream() }

// Query returns the text searched by the file_search tool: the last user
// message's.
func (r *ResponsesRequest) Query() string { return r.query }

// ExpectedTokens estimates the tokens the request uses, for rate limits:
// its messages counted in cl100k_base (ragd's usage unit) plus its
// completion budget (max_output_tokens, else DefaultMaxTokens). The
// sources a file_search adds to the prompt are charged when it settles.
func (r *ResponsesRequest) ExpectedTokens() int {
	msgs, _ := r.chat.decodeMessages()
	budget, ok := r.chat.MaxTokens()
	if !ok {
		budget = DefaultMaxTokens
	}
	return countMessages(tokenize.MustGet(tokenize.CL100K), msgs) + budget
}

// FileSearchResult is one passage the file_search tool found, in
// OpenAI's shape.
type FileSearchResult struct {
	// FileID is the OpenAI file ID of the passage's file, "" for an item.
	FileID string `json:"file_id"`
	// Filename is the file's name, "" for an item.
	Filename string `json:"filename"`
	// Score is the search score.
	Score float64 `json:"score"`
	// Text is the passage.
	Text string `json:"text"`
	// Attributes are the passage's metadata.
	Attributes map[string]any `json:"attributes"`
	// Source is the passage as ragd's search found it; the prompt quotes
	// it and labels it like a RAG source.
	Source ragd.SearchResult `json:"-"`
}

// ResponseResult is a whole (non-streamed) Responses answer.
type ResponseResult struct {
	// Response is the body to send.
	Response *Response
	// Chat is the chat completion it was made from: the model that
	// answered, its usage and timing.
	Chat *Result
}

// Respond answers req whole; with a file_search tool the answer is
// grounded on found, the tool's results, best first, and the sources it
// cites become file_citation annotations.
func (r *Router) Respond(ctx context.Context, req *ResponsesRequest, found []FileSearchResult) (*ResponseResult, error) {
	chat, sources, err := r.responseChat(req, found)
	if err != nil {
		return nil, err
	}
	res, err := r.Complete(ctx, chat)
	if err != nil {
		return nil, err
	}
	b := newResponseBuilder(req, res.Served.Model, found, sources, r.now().Unix())
	b.addText(completionText(res.Completion.Choices))
	return &ResponseResult{Response: b.finish(finishReason(res.Completion.Choices), res.Completion.Usage), Chat: res}, nil
}

// responseChat returns the chat request answering req and the results
// its prompt numbers as sources, from 1.
func (r *Router) responseChat(req *ResponsesRequest, found []FileSearchResult) (*ChatRequest, []FileSearchResult, error) {
	if req.FileSearch == nil {
		return req.chat, nil, nil
	}
	chain, err := r.chain(req.Model())
	if err != nil {
		return nil, nil, err
	}
	results := make([]ragd.SearchResult, len(found))
	for i, f := range found {
		results[i] = f.Source
	}
	chat, err := assemble(chain, &RAGRequest{chat: req.chat, query: req.query}, results)
	if err != nil {
		return nil, nil, err
	}
	// The prompt holds the best results, in order, as far as they fit.
	return chat, found[:len(chat.passages)], nil
}

// finishReason returns the first choice's finish reason.
func finishReason(choices json.RawMessage) string {
	var cs []struct {
		FinishReason string `json:"finish_reason"`
	}
	_ = json.Unmarshal(choices, &cs)
	if len(cs) == 0 {
		return ""
	}
	return cs[0].FinishReason
}

// Response is a response of OpenAI's Responses API (object "response").
type Response struct {
	obj responseObject
}

// ID returns the response's id, "resp_...".
func (r *Response) ID() string { return r.obj.ID }

// MarshalJSON returns the response body.
func (r *Response) MarshalJSON() ([]byte, error) { return json.Marshal(r.obj) }

// responseObject is the Responses API's response object, with every
// member the SDKs require.
type responseObject struct {
	ID                 string             `json:"id"`
	Object             string             `json:"object"`
	CreatedAt          int64              `json:"created_at"`
	Status             string             `json:"status"`
	Background         bool               `json:"background"`
	Error              *responseError     `json:"error"`
	IncompleteDetails  *incompleteDetails `json:"incomplete_details"`
	Instructions       *string            `json:"instructions"`
	MaxOutputTokens    *int               `json:"max_output_tokens"`
	Model              string             `json:"model"`
	Output             []any              `json:"output"`
	ParallelToolCalls  bool               `json:"parallel_tool_calls"`
	PreviousResponseID *string            `json:"previous_response_id"`
	Reasoning          map[string]any     `json:"reasoning"`
	Store              bool               `json:"store"`
	Temperature        float64            `json:"temperature"`
	Text               map[string]any     `json:"text"`
	ToolChoice         json.RawMessage    `json:"tool_choice"`
	Tools              []any              `json:"tools"`
	TopP               float64            `json:"top_p"`
	Truncation         string             `json:"truncation"`
	Usage              *responseUsage     `json:"usage"`
	User               *string            `json:"user"`
	Metadata           json.RawMessage    `json:"metadata"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incompleteDetails struct {
	Reason string `json:"reason"`
}

type responseUsage struct {
	InputTokens         int            `json:"input_tokens"`
	InputTokensDetails  map[string]int `json:"input_tokens_details"`
	OutputTokens        int            `json:"output_tokens"`
	OutputTokensDetails map[string]int `json:"output_tokens_details"`
	TotalTokens         int            `json:"total_tokens"`
}

// fileSearchCall is the file_search_call output item.
type fileSearchCall struct {
	ID      string             `json:"id"`
	Type    string             `json:"type"`
	Status  string             `json:"status"`
	Queries []string           `json:"queries"`
	Results []FileSearchResult `json:"results"`
}

// outputMessage is the assistant's message output item.
type outputMessage struct {
	ID      string       `json:"id"`
	Type    string       `json:"type"`
	Role    string       `json:"role"`
	Status  string       `json:"status"`
	Content []outputText `json:"content"`
}

// outputText is the output_text content part of the message.
type outputText struct {
	Type        string         `json:"type"`
	Text        string         `json:"text"`
	Annotations []fileCitation `json:"annotations"`
	Logprobs    []any          `json:"logprobs"`
}

// fileCitation is a file_citation annotation: Index is where in the text
// the cited source is referenced, in characters (Unicode code points).
type fileCitation struct {
	Type     string `json:"type"`
	FileID   string `json:"file_id"`
	Filename string `json:"filename"`
	Index    int    `json:"index"`
}

// responseBuilder assembles a response: its file_search_call item (when
// the request searched) and its message, whose text the model's output
// becomes with the citation markers turned into annotations.
type responseBuilder struct {
	obj    responseObject
	search *fileSearchCall
	msg    outputMessage
	cites  citations
}

func newResponseBuilder(req *ResponsesRequest, model string, found, sources []FileSearchResult, created int64) *responseBuilder {
	e := req.echo
	b := &responseBuilder{obj: responseObject{ID: "resp_" + rand.Text(), Object: "response", CreatedAt: created,
		Status: "in_progress", Instructions: e.instructions, MaxOutputTokens: e.maxOutputTokens, Model: model,
		Output: []any{}, ParallelToolCalls: e.parallelToolCalls, Reasoning: map[string]any{"effort": nil, "summary": nil},
		Temperature: e.temperature, Text: map[string]any{"format": map[string]string{"type": "text"}},
		ToolChoice: e.toolChoice, Tools: e.tools, TopP: e.topP, Truncation: "disabled", Metadata: e.metadata},
		msg:   outputMessage{ID: "msg_" + rand.Text(), Type: "message", Role: "assistant", Status: "in_progress"},
		cites: citations{sources: sources}}
	if req.FileSearch != nil {
		b.search = &fileSearchCall{ID: "fs_" + rand.Text(), Type: "file_search_call", Status: "completed", Queries: []string{req.query}}
		if req.include {
			b.search.Results = found
			if b.search.Results == nil {
				b.search.Results = []FileSearchResult{}
			}
		}
	}
	return b
}

// addText adds a piece of the model's answer and returns it as the text
// and annotations to send, in order.
func (b *responseBuilder) addText(s string) []textPiece { return b.cites.add(s) }

// text returns the message's text part so far.
func (b *responseBuilder) text() outputText {
	return outputText{Type: "output_text", Text: b.cites.text.String(), Annotations: b.cites.annotations, Logprobs: []any{}}
}

// output returns the output items: the search, then the message.
func (b *responseBuilder) output() []any {
	var out []any
	if b.search != nil {
		out = append(out, b.search)
	}
	return append(out, b.msg)
}

// finish completes the response with the model's finish reason and usage:
// "incomplete" when the answer was cut at max_output_tokens.
func (b *responseBuilder) finish(reason string, u Usage) *Response {
	b.cites.flush()
	b.msg.Status, b.obj.Status = "completed", "completed"
	if reason == "length" {
		b.msg.Status, b.obj.Status = "incomplete", "incomplete"
		b.obj.IncompleteDetails = &incompleteDetails{Reason: "max_output_tokens"}
	}
	b.msg.Content = []outputText{b.text()}
	b.obj.Output = b.output()
	b.obj.Usage = &responseUsage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, TotalTokens: u.TotalTokens,
		InputTokensDetails: map[string]int{"cached_tokens": 0}, OutputTokensDetails: map[string]int{"reasoning_tokens": 0}}
	return &Response{obj: b.obj}
}

// snapshot returns the response as it stands, for the stream's events.
func (b *responseBuilder) snapshot() *Response {
	r := &Response{obj: b.obj}
	r.obj.Output = slices.Clone(b.obj.Output)
	return r
}
