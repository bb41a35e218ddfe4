package rag

import (
	"encoding/json"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/tokenize"
)

// Completion is the record of one answered chat completion, plain or RAG,
// stored so that GET /v1/chat/completions/{id} can return it. It is the
// OpenAI chat completion shape plus the sources a RAG answer used.
type Completion struct {
	// ID is ragd's id of the completion, "chatcmpl-...".
	ID string `json:"id"`
	// Object is always "chat.completion".
	Object string `json:"object"`
	// Created is when the completion was created, in Unix seconds.
	Created int64 `json:"created"`
	// Model is the model that answered, as the provider names it.
	Model string `json:"model"`
	// Choices are the answer's choices in OpenAI's shape, each with a
	// message and a finish_reason.
	Choices json.RawMessage `json:"choices"`
	// Usage counts the tokens; estimated with tiktoken when a streaming
	// upstream did not report it.
	Usage Usage `json:"usage"`
	// Sources are the passages a RAG answer was given; nil for plain chat.
	Sources []ragd.SearchResult `json:"sources,omitempty"`
}

// completionOf returns the record of a whole completion answering req.
func completionOf(resp *ChatResponse, req *ChatRequest) *Completion {
	c := &Completion{ID: resp.ID(), Object: "chat.completion", Model: resp.Model(), Choices: resp.obj.raw("choices")}
	_ = resp.obj.get("created", &c.Created)
	if c.Created == 0 {
		c.Created = time.Now().Unix()
	}
	if u, ok := resp.Usage(); ok {
		c.Usage = u
	} else {
		c.Usage = estimateUsage(req, completionText(c.Choices))
	}
	if c.Choices == nil {
		c.Choices = json.RawMessage("[]")
	}
	return c
}

// completionText returns the text of every choice's message.
func completionText(choices json.RawMessage) string {
	var cs []struct {
		Message message `json:"message"`
	}
	_ = json.Unmarshal(choices, &cs)
	var text string
	for _, c := range cs {
		text += c.Message.text()
	}
	return text
}

// estimateUsage counts the prompt of req and the answer text with the
// model's encoding, for upstreams that report no usage.
func estimateUsage(req *ChatRequest, answer string) Usage {
	enc := tokenize.MustGet(tokenize.EncodingNameForModel(req.Model()))
	msgs, _ := req.decodeMessages()
	u := Usage{PromptTokens: countMessages(enc, msgs), CompletionTokens: enc.Count(answer)}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}
