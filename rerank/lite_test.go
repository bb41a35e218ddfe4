package rerank_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ragd/ragd/embed/uselite"
	"github.com/ragd/ragd/rerank"
)

func TestLead(t *testing.T) {
	long := strings.Repeat("word ", 40)
	cases := []struct{ name, text, want string }{
		{"Empty", "", ""},
		{"Short", "Back up\tthe   database.\n", "Back up the database."},
		{"Exactly", strings.Repeat("w ", rerank.LeadWords), strings.TrimSpace(strings.Repeat("w ", rerank.LeadWords))},
		{"Long", long, strings.TrimSpace(strings.Repeat("word ", rerank.LeadWords))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := rerank.Lead(c.text); got != c.want {
				t.Errorf("Lead(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

// countingEncoder is the real sentence encoder, recording the texts of
// each call.
type countingEncoder struct {
	*uselite.Model
	mu    sync.Mutex
	calls [][]string
}

func (c *countingEncoder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.mu.Lock()
	c.calls = append(c.calls, texts)
	c.mu.Unlock()
	return c.Model.Embed(ctx, texts)
}

func TestLite(t *testing.T) {
	m, err := uselite.New()
	if err != nil {
		t.Fatal(err)
	}
	enc := &countingEncoder{Model: m}
	lite := rerank.NewLite(enc)
	if rerank.BlendOf(lite) != rerank.LiteBlend || lite.Name() != rerank.LiteName || lite.Ping(context.Background()) != nil {
		t.Fatalf("blend %v, name %q", rerank.BlendOf(lite), lite.Name())
	}
	query := "How do I make my program run faster?"
	docs := []string{
		"Zebras live in herds on the grasslands of Africa and eat grass.",
		"Profile the code first to find where the time goes, then optimise the slowest functions." + strings.Repeat(" More detail follows.", 20),
		"",
	}
	scores, err := lite.Rerank(context.Background(), query, docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != 3 || scores[1] <= scores[0] {
		t.Fatalf("scores %v: the answer about speed must score above the one about zebras", scores)
	}
	for _, s := range scores {
		if s < -1 || s > 1 {
			t.Errorf("score %v is not a cosine", s)
		}
	}
	if len(enc.calls) != 1 || len(enc.calls[0]) != 4 || enc.calls[0][2] != rerank.Lead(docs[1]) {
		t.Fatalf("encoder calls %q, want one with the query and each document's lead", enc.calls)
	}

	// The second time, only the query and the new passage are encoded;
	// the cached passages score as before.
	again, err := lite.Rerank(context.Background(), query, []string{docs[1], "A new passage.", docs[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.calls) != 2 || len(enc.calls[1]) != 2 || enc.calls[1][1] != "A new passage." {
		t.Fatalf("second call encoded %q, want the query and the one new passage", enc.calls[1:])
	}
	if again[0] != scores[1] || again[2] != scores[0] {
		t.Errorf("cached passages scored %v, first time %v", again, scores)
	}
}

// wrapped is a reranker that wraps another, as the server's metrics do.
type wrapped struct{ rerank.Reranker }

func (w wrapped) Unwrap() rerank.Reranker { return w.Reranker }

func TestBlendOf(t *testing.T) {
	m, err := uselite.New()
	if err != nil {
		t.Fatal(err)
	}
	lite := rerank.NewLite(m)
	tei, err := rerank.NewTEI(rerank.RemoteConfig{BaseURL: "http://127.0.0.1:1", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		r    rerank.Reranker
		want float64
	}{
		{"Lite", lite, rerank.LiteBlend},
		{"Wrapped", wrapped{wrapped{lite}}, rerank.LiteBlend},
		{"CrossEncoder", tei, 0},
		{"WrappedCrossEncoder", wrapped{tei}, 0},
	} {
		if got := rerank.BlendOf(c.r); got != c.want {
			t.Errorf("%s: BlendOf = %v, want %v", c.name, got, c.want)
		}
	}
}
