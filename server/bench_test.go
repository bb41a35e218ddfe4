package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/ingest"
	"github.com/ragd/ragd/rag"
	"github.com/ragd/ragd/store"
)

// benchWords is a vocabulary for generated documents.
var benchWords = strings.Fields(`system data query index vector search storage memory process thread network
request response server client cache disk page table column row file text token model embedding score
rank filter metadata collection item chunk batch stream error retry backoff timeout signal shutdown
backup restore replica cluster node leader follower commit transaction journal checkpoint vacuum`)

func benchDoc(r *rand.Rand, words int) string {
	var b strings.Builder
	for i := 0; i < words; i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(benchWords[r.IntN(len(benchWords))])
		if i%12 == 11 {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// BenchmarkRAGOverhead measures what ragd adds to a RAG request besides
// the model: retrieval (embedding the question and a hybrid search) and
// prompt assembly, over a collection of 10k chunks of ~400 tokens, with
// the search alone measured in the same run as the peer.
func BenchmarkRAGOverhead(b *testing.B) {
	const items = 10000
	st, err := store.Open(filepath.Join(b.TempDir(), store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg := embed.NewRegistry(embed.HashModelName, embed.NewHash(embed.HashDimensions))
	s := New(st, reg, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	col := &store.Collection{Workspace: "bench", Name: "bench", EmbeddingModel: "hash", Dimensions: embed.HashDimensions,
		Chunking: store.Chunking{MaxTokens: 512, OverlapTokens: 0}}
	if err := st.CreateCollection(ctx, col); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for done := 0; done < items; done += 500 {
		batch := make([]store.NewItem, 500)
		for i := range batch {
			batch[i] = store.NewItem{Content: benchDoc(r, 300)}
		}
		prepared, _, err := ingest.PrepareItems(ctx, reg.Default(), col.Chunking, batch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.InsertItems(ctx, "bench", col.ID, prepared); err != nil {
			b.Fatal(err)
		}
	}
	engine := rag.NewEngine(s.chat, retriever{s, "bench"})
	var retrieval, assembly, search []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := benchDoc(r, 12) + "?"
		body := fmt.Sprintf(`{"collection": %q, "model": "ragd-extractive", "max_tokens": 256, "messages": [{"role": "user", "content": %q}]}`, col.ID, q)
		req, err := rag.ParseRAGRequest([]byte(body))
		if err != nil {
			b.Fatal(err)
		}
		res, err := engine.Complete(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		retrieval = append(retrieval, res.Timings.Retrieval)
		assembly = append(assembly, res.Timings.Assembly)
		start := time.Now()
		if _, _, err := s.search(ctx, "bench", col.ID, q, store.SearchQuery{TopK: 10, Mode: store.ModeHybrid}); err != nil {
			b.Fatal(err)
		}
		search = append(search, time.Since(start))
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
