package tokenize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// cookbook is the example conversation of OpenAI's "How to count tokens
// with tiktoken", for which the API reports 129 prompt tokens on gpt-4 and
// gpt-3.5-turbo (cl100k_base) and 124 on gpt-4o (o200k_base).
var cookbook = []Message{
	{Role: "system", Content: "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
	{Role: "system", Name: "example_user", Content: "New synergies will help drive top-line growth."},
	{Role: "system", Name: "example_assistant", Content: "Things working well together will increase revenue."},
	{Role: "system", Name: "example_user", Content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
	{Role: "system", Name: "example_assistant", Content: "Let's talk later when we're less busy about how to do better."},
	{Role: "user", Content: "This late pivot means we don't have time to boil the ocean for the client deliverable."},
}

func TestCountMessages(t *testing.T) {
	for _, c := range []struct {
		model string
		want  int
	}{{"gpt-4-0613", 129}, {"gpt-3.5-turbo", 129}, {"gpt-4o-2024-08-06", 124}} {
		t.Run(c.model, func(t *testing.T) {
			if got := ForModel(c.model).CountMessages(cookbook); got != c.want {
				t.Fatalf("CountMessages = %d, want %d", got, c.want)
			}
		})
	}
	if got := MustGet(CL100K).CountMessages(nil); got != tokensPerReply {
		t.Fatalf("no messages: %d", got)
	}
}

func TestTruncate(t *testing.T) {
	doc := readTestdata(t, "tiktoken-go-README_zh-hans.md")
	for _, enc := range []*Encoding{MustGet(CL100K), MustGet(O200K)} {
		total := enc.Count(doc)
		for _, max := range []int{0, 1, 2, 3, 10, 333, total - 1, total, total + 5} {
			t.Run(enc.Name(), func(t *testing.T) {
				got, n := enc.Truncate(doc, max)
				if !strings.HasPrefix(doc, got) || !utf8.ValidString(got) {
					t.Fatalf("max %d: %q is not a valid prefix", max, got)
				}
				if c := enc.Count(got); c != n || n > max {
					t.Fatalf("max %d: %d tokens, reported %d", max, c, n)
				}
				if max >= total && got != doc {
					t.Fatalf("max %d >= %d cut the text", max, total)
				}
				// Nearly full: at most a character's tokens are given up.
				if max < total && max >= 4 && n < max-4 {
					t.Fatalf("max %d: only %d tokens kept", max, n)
				}
			})
		}
	}
}
