package rag

import (
	"strings"
	"testing"

	"github.com/ragd/ragd/tokenize"
)

// BenchmarkRAGOverhead measures what ragd adds to a RAG request besides
// retrieval and the model: packing 20 retrieved passages of 500 tokens
// (real license text) into a prompt within a 32k context window, and the
// extractive model's answer over them. The floor beside it is tokenizing
// the same passages once, which any token-budgeted packing must do.
func BenchmarkRAGOverhead(b *testing.B) {
	passages := append(tokenChunks(b, "gpl-3.0.txt", 500), tokenChunks(b, "apache-2.0.txt", 500)...)[:20]
	r := mustRouter(b, Config{Providers: []ProviderConfig{provider("p", "http://127.0.0.1:1", ModelConfig{ID: "local-32k", ContextWindow: 32768})}})
	chain, err := r.chain("local-32k")
	if err != nil {
		b.Fatal(err)
	}
	req := mustRAG(b, `{"collection":"c","model":"local-32k","max_tokens":1024,"messages":[
		{"role":"system","content":"Answer briefly."},{"role":"user","content":"What must I do when I convey the object code of a covered work?"}]}`)
	enc := tokenize.MustGet(tokenize.CL100K)
	var total int
	for _, p := range passages {
		total += enc.Count(p.Content)
	}
	b.Logf("%d passages, %d tokens", len(passages), total)

	b.Run("FloorTokenizeOnce", func(b *testing.B) {
		for b.Loop() {
			for _, p := range passages {
				enc.Count(p.Content)
			}
		}
	})
	b.Run("AssemblePrompt", func(b *testing.B) {
		var out *ChatRequest
		for b.Loop() {
			out, err = assemble(chain, req, passages)
			if err != nil {
				b.Fatal(err)
			}
		}
		if len(out.passages) != 20 {
			b.Fatalf("packed %d passages", len(out.passages))
		}
	})
	b.Run("AssemblePromptTight", func(b *testing.B) {
		// An 8k window: passages are dropped and one is cut.
		tight := mustRouter(b, Config{Providers: []ProviderConfig{provider("p", "http://127.0.0.1:1", ModelConfig{ID: "local-32k", ContextWindow: 8192})}})
		chain, _ := tight.chain("local-32k")
		for b.Loop() {
			if _, err := assemble(chain, req, passages); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ExtractiveAnswer", func(b *testing.B) {
		chat, err := assemble(chain, req, passages)
		if err != nil {
			b.Fatal(err)
		}
		x := NewExtractive()
		var a extractiveAnswer
		for b.Loop() {
			a = x.answer(chat)
		}
		if !strings.Contains(strings.Join(a.pieces, ""), "[") {
			b.Fatalf("answer %q", a.pieces)
		}
	})
}
