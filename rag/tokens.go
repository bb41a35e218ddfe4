package rag

import (
	"encoding/json"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/tokenize"
)

// CountTokens counts text and a chat conversation (with OpenAI's per
// message framing) in the named encoding, without running a model.
func CountTokens(encoding, text string, messages json.RawMessage) (int, error) {
	enc, err := tokenize.Get(encoding)
	if err != nil {
		return 0, err
	}
	n := 0
	if text != "" {
		n += enc.Count(text)
	}
	if len(messages) > 0 && string(messages) != "null" {
		var msgs []message
		if err := json.Unmarshal(messages, &msgs); err != nil {
			return 0, ragd.Invalid("messages", "messages must be an array of {role, content} objects")
		}
		n += countMessages(enc, msgs)
	}
	return n, nil
}
