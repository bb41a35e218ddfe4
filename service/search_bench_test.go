package service_test

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd"
	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/embed/static"
	"github.com/ragd/ragd/embed/uselite"
	"github.com/ragd/ragd/rerank"
	"github.com/ragd/ragd/service"
	"github.com/ragd/ragd/store/storetest"
)

// BenchmarkDefaultRerank measures what the default rerank (the built-in
// reranker over the first 30 hybrid results) adds to a hybrid search of
// a ragd-static collection of 20,000 passages (60-word windows of real
// prose), p50 over 200 questions, beside the same searches with the
// rerank off ("none") in the same run: the first pass meets most
// passages for the first time (the reranker encodes them), the second
// finds them in its cache.
func BenchmarkDefaultRerank(b *testing.B) {
	const passages, questions = 20_000, 200
	data, err := os.ReadFile("../rag/testdata/gpl-3.0.txt")
	if err != nil {
		b.Fatal(err)
	}
	words := strings.Fields(string(data))
	st, err := static.New()
	if err != nil {
		b.Fatal(err)
	}
	enc, err := uselite.New()
	if err != nil {
		b.Fatal(err)
	}
	svc := service.New(service.Config{Store: storetest.MustOpen(b), Embedders: embed.NewRegistry(static.Name, st),
		Rerankers: rerank.NewRegistry(rerank.NewLite(enc)), DefaultRerank: rerank.DefaultOptions(rerank.LiteName)})
	ctx := context.Background()
	col, err := svc.CreateCollection(ctx, ragd.DefaultWorkspace, service.NewCollection{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	window := func(n int) string {
		start := r.IntN(len(words) - n)
		return strings.Join(words[start:start+n], " ")
	}
	for done := 0; done < passages; done += 1000 {
		in := make([]service.ItemInput, 1000)
		for i := range in {
			c := window(60)
			in[i].Content = &c
		}
		if _, _, err := svc.AddItems(ctx, ragd.DefaultWorkspace, col.ID, in, true); err != nil {
			b.Fatal(err)
		}
	}
	qs := make([]string, questions)
	for i := range qs {
		qs[i] = "How do I " + window(8) + "?"
	}
	search := func(q string, rr *rerank.Options) time.Duration {
		start := time.Now()
		res, _, err := svc.Search(ctx, ragd.DefaultWorkspace, col.ID, service.SearchRequest{Input: q,
			Query: ragd.SearchQuery{Mode: ragd.ModeHybrid, TopK: 10}, Rerank: rr})
		if err != nil || len(res) != 10 || (rr == nil) != (res[0].RerankScore != nil) {
			b.Fatalf("search: %d results, %v", len(res), err)
		}
		return time.Since(start)
	}
	p50 := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / 1e6
	}
	for range b.N {
		var off, first, second []time.Duration
		for _, q := range qs {
			off = append(off, search(q, &rerank.Options{Model: rerank.NoModel}))
			first = append(first, search(q, nil))
		}
		for _, q := range qs {
			second = append(second, search(q, nil))
		}
		b.ReportMetric(p50(off), "off-p50-ms")
		b.ReportMetric(p50(first), "first-p50-ms")
		b.ReportMetric(p50(second), "cached-p50-ms")
		b.ReportMetric(p50(first)/p50(off), "first/off")
		b.ReportMetric(p50(second)/p50(off), "cached/off")
	}
}
