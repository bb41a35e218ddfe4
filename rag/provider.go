// Package rag answers chat requests: it routes OpenAI chat completions to
// the provider serving each model (with fallback chains), and answers RAG
// requests by retrieving passages from a collection, packing them into a
// system prompt within the model's context window, and asking the model to
// answer with citations. The built-in model ragd-extractive answers RAG
// requests offline by quoting the retrieved passages.
package rag

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ragd/ragd"
)

// Provider is a chat completion backend serving one or more models.
type Provider interface {
	// Name is the provider's configured name, used in errors and logs.
	Name() string
	// Complete returns a whole chat completion for req (whose model is the
	// provider's own model name). It returns a *ragd.Error: an upstream
	// 4xx keeps the upstream's message; an unreachable or failing (5xx)
	// upstream is EUNAVAILABLE and one that does not answer in time
	// ETIMEOUT, both naming the provider. When ctx is done it returns
	// ctx.Err().
	Complete(ctx context.Context, req *ChatRequest) (*ChatResponse, error)
	// Stream starts a streamed chat completion and returns once the
	// upstream has accepted it, with the errors of Complete. Cancelling ctx
	// or closing the stream stops the upstream request.
	Stream(ctx context.Context, req *ChatRequest) (Stream, error)
}

// Stream is a streamed chat completion as it arrives.
type Stream interface {
	// Recv returns the data of the next event, one chat.completion.chunk
	// JSON object, or io.EOF after the last one. A failure mid-stream is a
	// *ragd.Error like those of Provider.Complete, or ctx.Err().
	Recv() (json.RawMessage, error)
	// Close stops the upstream request and releases it; it is safe to call
	// more than once and after io.EOF.
	Close() error
}

// ChatRequest is an OpenAI chat completion request. It keeps every member
// of the JSON body as sent (tools, tool_choice, response_format, stop,
// seed, logprobs, ...) and only reads or overrides model, messages and
// stream, so unknown fields reach the upstream byte for byte.
type ChatRequest struct {
	obj *object
	// passages are the retrieved passages the system prompt was built
	// from, for the extractive model; rag marks a RAG request, whose
	// passages may be empty.
	passages []ragd.SearchResult
	rag      bool
}

// ParseChatRequest reads an OpenAI chat completion request body. It
// returns an EINVALID *ragd.Error when the body is not a JSON object, when
// model is not a string, or when messages is not a non-empty array of
// objects each with a role. An empty model selects the default model.
func ParseChatRequest(body []byte) (*ChatRequest, error) {
	obj, err := parseObject(body, "the request body")
	if err != nil {
		return nil, err
	}
	r := &ChatRequest{obj: obj}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *ChatRequest) validate() error {
	var model string
	if err := r.obj.get("model", &model); err != nil {
		return err
	}
	var stream bool
	if err := r.obj.get("stream", &stream); err != nil {
		return err
	}
	msgs, err := r.decodeMessages()
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return ragd.Invalid("messages", "messages must be a non-empty array of {role, content} objects")
	}
	for i, m := range msgs {
		if m.Role == "" {
			return ragd.Invalid("messages", "messages[%d] has no role; use system, user, assistant or tool", i)
		}
	}
	return nil
}

// Model returns the requested model, "" when none was given.
func (r *ChatRequest) Model() string { return r.obj.str("model") }

// IsStream reports whether the client asked for a streamed answer.
func (r *ChatRequest) IsStream() bool {
	var s bool
	_ = r.obj.get("stream", &s)
	return s
}

// Messages returns the conversation, each message as its raw JSON.
func (r *ChatRequest) Messages() []json.RawMessage {
	var msgs []json.RawMessage
	_ = r.obj.get("messages", &msgs)
	return msgs
}

// MaxTokens returns the completion budget the client set (max_tokens or
// max_completion_tokens), and whether it set one.
func (r *ChatRequest) MaxTokens() (int, bool) {
	for _, key := range []string{"max_completion_tokens", "max_tokens"} {
		var n int
		if r.obj.has(key) && r.obj.get(key, &n) == nil && n > 0 {
			return n, true
		}
	}
	return 0, false
}

// MarshalJSON returns the request body as it is sent upstream.
func (r *ChatRequest) MarshalJSON() ([]byte, error) { return r.obj.MarshalJSON() }

// withModel returns a copy of r asking for model, streamed or not. A
// stream member absent from the client's body stays absent when not
// streaming.
func (r *ChatRequest) withModel(model string, stream bool) *ChatRequest {
	c := *r
	c.obj = r.obj.clone()
	c.obj.set("model", model)
	if stream || c.obj.has("stream") {
		c.obj.set("stream", stream)
	}
	return &c
}

// message is what ragd reads of a chat message.
type message struct {
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	Name      string          `json:"name"`
	ToolCalls json.RawMessage `json:"tool_calls"`
}

// text returns the message's text: its content string, or the text of
// its content parts joined by newlines.
func (m message) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	texts := make([]string, 0, len(parts))
	for _, p := range parts {
		if p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

func (r *ChatRequest) decodeMessages() ([]message, error) {
	var msgs []message
	if err := r.obj.get("messages", &msgs); err != nil {
		return nil, ragd.Invalid("messages", "messages must be an array of {role, content} objects: %v", err)
	}
	return msgs, nil
}

// lastUserText returns the text of the last user message, "" when there
// is none.
func lastUserText(msgs []message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].text()
		}
	}
	return ""
}

// Usage is the token accounting of a completion.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// ChatResponse is an OpenAI chat completion (object "chat.completion"),
// kept member by member as the upstream sent it so that fields ragd does
// not know reach the client unchanged.
type ChatResponse struct {
	obj *object
}

// ParseChatResponse reads a chat completion body.
func ParseChatResponse(body []byte) (*ChatResponse, error) {
	obj, err := parseObject(body, "the chat completion")
	if err != nil {
		return nil, err
	}
	return &ChatResponse{obj: obj}, nil
}

// ID returns the completion's id.
func (r *ChatResponse) ID() string { return r.obj.str("id") }

// Model returns the model the response names.
func (r *ChatResponse) Model() string { return r.obj.str("model") }

// Usage returns the response's token usage and whether it has one.
func (r *ChatResponse) Usage() (Usage, bool) {
	var u *Usage
	_ = r.obj.get("usage", &u)
	if u == nil {
		return Usage{}, false
	}
	return *u, true
}

// MarshalJSON returns the response body sent to the client.
func (r *ChatResponse) MarshalJSON() ([]byte, error) { return r.obj.MarshalJSON() }
