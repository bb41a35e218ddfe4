package glove_test

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/embed/glove"
	"github.com/ragd/ragd/tokenize"
)

var _ embed.Embedder = (*glove.Model)(nil)

func mustNew(t testing.TB) *glove.Model {
	t.Helper()
	m, err := glove.New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestModel(t *testing.T) {
	m := mustNew(t)
	if m2 := mustNew(t); m2 != m {
		t.Error("New returned a second model; want the one loaded once")
	}
	if m.Name() != "glove-100d" || m.Dimensions() != 100 || m.MaxInputTokens() <= 0 {
		t.Errorf("Name, Dimensions, MaxInputTokens = %q, %d, %d", m.Name(), m.Dimensions(), m.MaxInputTokens())
	}
}

func TestEmbedSemantics(t *testing.T) {
	m := mustNew(t)
	texts := []string{
		"How do I repair my car?",
		"Fixing an automobile engine at home.",
		"A recipe for banana bread.",
		"The cat sat on the mat.",
		"A kitten is sleeping on the rug.",
		"Stock markets fell sharply on Tuesday.",
	}
	v, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		a, near, far int
	}{
		{"CarAutomobile", 0, 1, 2},
		{"CatKitten", 3, 4, 5},
		{"MarketsNotPets", 5, 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			near, far := dot(v[tc.a], v[tc.near]), dot(v[tc.a], v[tc.far])
			if near <= far {
				t.Errorf("cos(%q, %q) = %.3f <= cos(%q, %q) = %.3f", texts[tc.a], texts[tc.near], near, texts[tc.a], texts[tc.far], far)
			}
		})
	}
}

func TestEmbedVectors(t *testing.T) {
	m := mustNew(t)
	for _, tc := range []struct{ name, text string }{
		{"Sentence", "Python is an interpreted, interactive, object-oriented programming language."},
		{"OnlyStopWords", "the of and"},
		{"Empty", ""},
		{"NoKnownWord", "zzxqv 12345 __qqq__"},
		{"InvalidUTF8", "caf\xe9 \xff\xfe python"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := m.Embed(context.Background(), []string{tc.text})
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != 1 || len(v[0]) != 100 {
				t.Fatalf("got %d vectors", len(v))
			}
			if n := math.Sqrt(dot(v[0], v[0])); math.Abs(n-1) > 1e-5 {
				t.Errorf("|v| = %v, want 1", n)
			}
		})
	}
	t.Run("NoWordIsFirstUnitVector", func(t *testing.T) {
		v, _ := m.Embed(context.Background(), []string{"..."})
		if v[0][0] != 1 {
			t.Errorf("v[0] = %v, want 1", v[0][0])
		}
	})
	t.Run("IgnoresOutOfVocabulary", func(t *testing.T) {
		v, _ := m.Embed(context.Background(), []string{"python language", "python zzxqv language 12345"})
		if d := dot(v[0], v[1]); d < 0.99999 {
			t.Errorf("cos = %v, want 1", d)
		}
	})
}

// TestEmbedBatch checks that a large batch, spread over all CPUs, gives
// each text the vector it gets alone.
func TestEmbedBatch(t *testing.T) {
	m := mustNew(t)
	chunks := gplChunks(t, 150)
	batch, err := m.Embed(context.Background(), chunks)
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != len(chunks) {
		t.Fatalf("got %d vectors for %d texts", len(batch), len(chunks))
	}
	for _, i := range []int{0, 1, 17, len(chunks) - 1} {
		one, _ := m.Embed(context.Background(), chunks[i:i+1])
		if d := dot(one[0], batch[i]); d < 0.99999 {
			t.Errorf("text %d: cos(alone, in batch) = %v", i, d)
		}
	}
}

func TestEmbedCanceled(t *testing.T) {
	m := mustNew(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, n := range []int{1, 1000} {
		if _, err := m.Embed(ctx, make([]string, n)); !errors.Is(err, context.Canceled) {
			t.Errorf("%d texts: err = %v, want context.Canceled", n, err)
		}
	}
}

// gplChunks splits testdata/gpl-3.0.txt (the GNU GPL v3, a real English
// text of 5,600 words) into chunks of n words.
func gplChunks(t testing.TB, n int) []string {
	b, err := os.ReadFile("testdata/gpl-3.0.txt")
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields(string(b))
	var chunks []string
	for i := 0; i < len(words); i += n {
		chunks = append(chunks, strings.Join(words[i:min(i+n, len(words))], " "))
	}
	return chunks
}

// BenchmarkEmbed measures throughput on 2,000 chunks of about 200
// cl100k tokens (the GPL text, repeated), beside the hash model, the other
// built-in model without a neural network, in the same run.
func BenchmarkEmbed(b *testing.B) {
	base := gplChunks(b, 150)
	var chunks []string
	for len(chunks) < 2000 {
		chunks = append(chunks, base...)
	}
	chunks = chunks[:2000]
	enc, err := tokenize.Get(tokenize.CL100K)
	if err != nil {
		b.Fatal(err)
	}
	tokens := 0
	for _, c := range chunks {
		tokens += enc.Count(c)
	}
	g := mustNew(b)
	for _, e := range []embed.Embedder{g, embed.NewHash(384)} {
		b.Run(e.Name(), func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				if _, err := e.Embed(context.Background(), chunks); err != nil {
					b.Fatal(err)
				}
			}
			sec := time.Since(start).Seconds() / float64(b.N)
			b.ReportMetric(float64(tokens)/sec, "tokens/s")
			b.ReportMetric(float64(len(chunks))/sec, "chunks/s")
		})
	}
}
