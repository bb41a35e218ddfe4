package rag

import (
	"encoding/json"

	"github.com/ragd/ragd"
)

// ParseInferRequest reads the body of seed 000's POST /v1/infer (stream
// false) or POST /v1/stream (stream true): an OpenAI chat completion
// request in which prompt, a string, may stand in for messages as a
// single user message. Every other member passes through as in
// ParseChatRequest. It returns an EINVALID *ragd.Error naming the field
// when the body has both prompt and messages or neither, when prompt is
// not a non-empty string, or when stream contradicts the route.
func ParseInferRequest(body []byte, stream bool) (*ChatRequest, error) {
	obj, err := parseObject(body, "the request body")
	if err != nil {
		return nil, err
	}
	switch prompt, ok := obj.vals["prompt"]; {
	case ok && obj.has("messages"):
		return nil, ragd.Invalid("prompt", "send prompt (a string) or messages (a chat conversation), not both")
	case ok:
		var text string
		if json.Unmarshal(prompt, &text) != nil || text == "" {
			return nil, ragd.Invalid("prompt", "prompt must be a non-empty string, got %s", truncate(string(prompt), 100))
		}
		obj.del("prompt")
		obj.set("messages", []map[string]json.RawMessage{{"role": json.RawMessage(`"user"`), "content": prompt}})
	case !obj.has("messages"):
		return nil, ragd.Invalid("prompt", "prompt is required: the text to answer (or send messages, a chat conversation)")
	}
	var asked *bool
	if err := obj.get("stream", &asked); err != nil {
		return nil, err
	}
	if asked != nil && *asked != stream {
		if stream {
			return nil, ragd.Invalid("stream", "POST /v1/stream always streams; use POST /v1/infer for one whole response")
		}
		return nil, ragd.Invalid("stream", "POST /v1/infer answers with one whole response; use POST /v1/stream to stream")
	}
	if stream {
		obj.set("stream", true)
	}
	r := &ChatRequest{obj: obj}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// WithText returns a copy of r with the member text: the content of its
// first choice's message, which seed 000's clients read as the typed
// response's answer ("" when the model answered with tool calls only).
func (r *ChatResponse) WithText() *ChatResponse {
	var body struct {
		Choices []struct {
			Message message `json:"message"`
		} `json:"choices"`
	}
	c := &ChatResponse{obj: r.obj.clone()}
	var text string
	if json.Unmarshal(r.obj.raw("choices"), &body.Choices) == nil && len(body.Choices) > 0 {
		text = body.Choices[0].Message.text()
	}
	c.obj.set("text", text)
	return c
}
