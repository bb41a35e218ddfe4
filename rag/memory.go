package rag

import (
	"context"
	"encoding/json"
)

// LastUserText returns the text of the request's last user message, the
// question a memory of the conversation is recalled for.
func (r *ChatRequest) LastUserText() string {
	msgs, _ := r.decodeMessages()
	return lastUserText(msgs)
}

// WithSystem returns a copy of r whose messages start with a system
// message holding text: context ragd adds, such as what it remembers of
// the end user, ahead of the client's own messages.
func (r *ChatRequest) WithSystem(text string) *ChatRequest {
	c := *r
	c.obj = r.obj.clone()
	sys, _ := json.Marshal(map[string]string{"role": "system", "content": text})
	msgs := append([]json.RawMessage{sys}, r.Messages()...)
	raw, _ := json.Marshal(msgs)
	c.obj.setRaw("messages", raw)
	return &c
}

// LastUserText returns the text of the RAG request's last user message.
func (r *RAGRequest) LastUserText() string { return r.chat.LastUserText() }

// WithSystem returns a copy of r whose conversation starts with a system
// message holding text (see ChatRequest.WithSystem).
func (r *RAGRequest) WithSystem(text string) *RAGRequest {
	c := *r
	c.chat = r.chat.WithSystem(text)
	return &c
}

// Text returns the text of the completion's answer.
func (c *Completion) Text() string { return completionText(c.Choices) }

// endUserKey is the context key of the end user a request is made for.
type endUserKey struct{}

// WithEndUser returns ctx carrying the end user (x-user-id) the request
// is made for, which providers pass upstream in the x-user-id header.
func WithEndUser(ctx context.Context, user string) context.Context {
	if user == "" {
		return ctx
	}
	return context.WithValue(ctx, endUserKey{}, user)
}

// endUser returns the end user ctx carries, "" if none.
func endUser(ctx context.Context) string {
	u, _ := ctx.Value(endUserKey{}).(string)
	return u
}
