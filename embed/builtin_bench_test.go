package embed_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/tokenize"
)

// BenchmarkBuiltinModels measures every built-in model in the same run:
// ingest throughput on 512 chunks of about 400 cl100k tokens (the GPL text,
// the size ragd's default chunker makes), and the latency of embedding one
// question, p50 over 200 questions, as a search does. The figures to compare
// are the models' ratios to each other on the same machine.
func BenchmarkBuiltinModels(b *testing.B) {
	text, err := os.ReadFile("glove/testdata/gpl-3.0.txt")
	if err != nil {
		b.Fatal(err)
	}
	words := strings.Fields(string(text))
	var chunks []string
	for i := 0; len(chunks) < 512; i = (i + 300) % (len(words) - 300) {
		chunks = append(chunks, strings.Join(words[i:i+300], " "))
	}
	enc, err := tokenize.Get(tokenize.CL100K)
	if err != nil {
		b.Fatal(err)
	}
	tokens := 0
	for _, c := range chunks {
		tokens += enc.Count(c)
	}
	questions := make([]string, 200)
	for i := range questions {
		questions[i] = "How do I " + strings.Join(words[i*7:i*7+8], " ") + "?"
	}
	models, err := embed.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, m := range models {
		b.Run(m.Name(), func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				if _, err := m.Embed(ctx, chunks); err != nil {
					b.Fatal(err)
				}
			}
			sec := time.Since(start).Seconds() / float64(b.N)
			lat := make([]time.Duration, len(questions))
			for i, q := range questions {
				t := time.Now()
				if _, err := m.Embed(ctx, []string{q}); err != nil {
					b.Fatal(err)
				}
				lat[i] = time.Since(t)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(len(chunks))/sec, "chunks/s")
			b.ReportMetric(float64(tokens)/float64(len(chunks)), "tokens/chunk")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "query-p50-ms")
		})
	}
}
