package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
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

// BenchmarkHTTPSearch measures vector search at 100k chunks x 384
// through the HTTP API (POST /v1/vector_store/:id/search with the query
// vector, top_k 10, over loopback with keep-alive) beside the same
// searches in process (store.Search), alternating, in the same run: what
// JSON, routing, authentication and the response add to the scan (issue
// 13: within 1.5x).
func BenchmarkHTTPSearch(b *testing.B) {
	const n, dims, queries = 100_000, 384, 200
	st, err := store.Open(filepath.Join(b.TempDir(), store.FileName))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	col := &ragd.Collection{Workspace: ragd.DefaultWorkspace, Name: "bench", EmbeddingModel: "none", Dimensions: dims,
		Chunking: ragd.Chunking{MaxTokens: 512, OverlapTokens: 64}}
	if err := st.CreateCollection(ctx, storetest.StampCollection(col)); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	unit := func() []float32 { return storetest.UnitVector(r, dims) }
	text := benchText(b)
	for done := 0; done < n; done += 1000 {
		batch := make([]ragd.NewItem, 1000)
		for i := range batch {
			c := benchDoc(r, text, 60)
			batch[i] = ragd.NewItem{Content: c, Metadata: map[string]any{"n": done + i},
				Chunks: []ragd.Chunk{{Content: c, Tokens: 80, End: len(c), Vector: unit()}}}
		}
		if _, err := st.InsertItems(ctx, ragd.DefaultWorkspace, col.ID, storetest.Stamp(batch)); err != nil {
			b.Fatal(err)
		}
	}
	const key = "bench-admin-key-0123456789abcdef"
	s := New(service.New(service.Config{Store: st, Embedders: embed.NewRegistry(embed.HashModelName, embed.NewHash(embed.HashDimensions))}),
		Config{AdminKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	client := ts.Client()
	viaHTTP := func(v []float32) error {
		body, _ := json.Marshal(map[string]any{"vector": v, "mode": "vector", "top_k": 10})
		req, _ := http.NewRequest("POST", ts.URL+"/v1/vector_store/"+col.ID+"/search", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Results []ragd.SearchResult `json:"results"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 || len(out.Results) != 10 {
			return fmt.Errorf("search: status %d, %d results, %v", resp.StatusCode, len(out.Results), err)
		}
		return nil
	}
	inProcess := func(v []float32) error {
		res, err := st.Search(ctx, ragd.DefaultWorkspace, col.ID, ragd.SearchQuery{Mode: ragd.ModeVector, Vector: v, TopK: 10})
		if err == nil && len(res) != 10 {
			err = fmt.Errorf("%d results", len(res))
		}
		return err
	}
	for range 10 { // load the cache, warm the connection
		if err := viaHTTP(unit()); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		var web, local []time.Duration
		for range queries {
			v := unit()
			for _, f := range []struct {
				search func([]float32) error
				into   *[]time.Duration
			}{{viaHTTP, &web}, {inProcess, &local}} {
				start := time.Now()
				if err := f.search(v); err != nil {
					b.Fatal(err)
				}
				*f.into = append(*f.into, time.Since(start))
			}
		}
		p50 := func(d []time.Duration) time.Duration {
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			return d[len(d)/2]
		}
		w, l := p50(web), p50(local)
		b.ReportMetric(float64(w)/1e6, "http-p50-ms")
		b.ReportMetric(float64(l)/1e6, "in-process-p50-ms")
		b.ReportMetric(float64(w)/float64(l), "http/in-process")
	}
}
