package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store"
	"github.com/ragd/ragd/store/storetest"
)

// benchText is real prose: generated documents are windows of it, so
// words come with their natural frequencies.
func benchText(b *testing.B) []string {
	var words []string
	for _, f := range []string{"../rag/testdata/gpl-3.0.txt", "../rag/testdata/apache-2.0.txt"} {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		words = append(words, strings.Fields(string(data))...)
	}
	return words
}

// benchDoc returns n consecutive words of text from a random place.
func benchDoc(r *rand.Rand, text []string, n int) string {
	start := r.IntN(len(text) - n)
	return strings.Join(text[start:start+n], " ")
}

// BenchmarkRAGOverhead measures what ragd adds to a RAG request besides
// the model: retrieval (embedding the question and a hybrid search) and
// prompt assembly, over a collection of 10k chunks of ~400 tokens of real
// prose, with the search alone measured in the same run as the peer.
func BenchmarkRAGOverhead(b *testing.B) {
	const items = 10000
	st, err := store.Open(filepath.Join(b.TempDir(), store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg := embed.NewRegistry(embed.HashModelName, embed.NewHash(embed.HashDimensions))
	s := New(service.New(service.Config{Store: st, Embedders: reg}), Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	col := &ragd.Collection{Workspace: "bench", Name: "bench", EmbeddingModel: "hash", Dimensions: embed.HashDimensions,
		Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 0}}
	if err := st.CreateCollection(ctx, storetest.StampCollection(col)); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	text := benchText(b)
	for done := 0; done < items; done += 500 {
		batch := make([]ragd.NewItem, 500)
		for i := range batch {
			batch[i] = ragd.NewItem{Content: benchDoc(r, text, 300)}
		}
		prepared, _, err := ingest.PrepareItems(ctx, reg.Default(), col.Chunking, batch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.InsertItems(ctx, "bench", col.ID, storetest.Stamp(prepared)); err != nil {
			b.Fatal(err)
		}
	}
	var retrieval, assembly, search []time.Duration
	ask := func() {
		q := benchDoc(r, text, 12) + "?"
		body := fmt.Sprintf(`{"collection": %q, "model": "ragd-extractive", "max_tokens": 256, "messages": [{"role": "user", "content": %q}]}`, col.ID, q)
		req, err := rag.ParseRAGRequest([]byte(body))
		if err != nil {
			b.Fatal(err)
		}
		res, _, err := s.svc.RAG(ctx, "bench", service.Turn{}, req, func(service.Tokens) {})
		if err != nil {
			b.Fatal(err)
		}
		retrieval = append(retrieval, res.Timings.Retrieval)
		assembly = append(assembly, res.Timings.Assembly)
		start := time.Now()
		if _, _, err := s.svc.Search(ctx, "bench", col.ID, service.SearchRequest{Input: q, Query: ragd.SearchQuery{TopK: 10, Mode: ragd.ModeHybrid}}); err != nil {
			b.Fatal(err)
		}
		search = append(search, time.Since(start))
	}
	// Unmeasured questions load the vector cache; then each iteration
	// asks 50, so that percentiles mean something even at -benchtime 1x.
	for i := 0; i < 5; i++ {
		ask()
	}
	retrieval, assembly, search = nil, nil, nil
	b.ResetTimer()
	for i := 0; i < b.N*50; i++ {
		ask()
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"retrieval", retrieval}, {"assembly", assembly}, {"search-alone", search}} {
		sort.Slice(m.d, func(i, j int) bool { return m.d[i] < m.d[j] })
		b.ReportMetric(float64(m.d[len(m.d)/2].Microseconds())/1000, m.name+"-p50-ms")
	}
}
