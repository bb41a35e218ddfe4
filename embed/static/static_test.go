package static

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// TestMatchesTrainer checks that the Go model embeds the trainer's sample
// texts as the trainer did with the same int8 weights (testdata/golden.json
// is written by models/static/train.py --golden).
func TestMatchesTrainer(t *testing.T) {
	var golden struct {
		Texts   []string    `json:"texts"`
		Vectors [][]float64 `json:"vectors"`
	}
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	m := mustNew(t)
	got, err := m.Embed(context.Background(), golden.Texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range golden.Texts {
		var dot float64
		for d, x := range golden.Vectors[i] {
			dot += x * float64(got[i][d])
		}
		if dot < 0.9999 {
			t.Errorf("%q: cosine with the trainer's vector %.6f, want >= 0.9999", text, dot)
		}
	}
}

// TestModelFileChecksum pins the embedded file to the checksum that
// models/static/build.sh recorded when it trained it.
func TestModelFileChecksum(t *testing.T) {
	want, err := os.ReadFile("ragd-static.bin.sha256")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(modelFile)
	if got := hex.EncodeToString(sum[:]); !strings.HasPrefix(string(want), got+" ") {
		t.Errorf("ragd-static.bin sha256 %s, recorded %s", got, strings.TrimSpace(string(want)))
	}
}

func TestEmbedProperties(t *testing.T) {
	m := mustNew(t)
	texts := []string{
		"How do I upgrade all installed packages?",
		"Run apt-get update, then apt-get upgrade to install newer versions of every package.",
		"The kernel scheduler decides which task runs next on each CPU.",
		"",
		"HOW DO I UPGRADE ALL INSTALLED PACKAGES?",
	}
	vs, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if len(v) != m.Dimensions() {
			t.Fatalf("vector %d has %d dimensions, want %d", i, len(v), m.Dimensions())
		}
		var sum float64
		for _, x := range v {
			sum += float64(x) * float64(x)
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Errorf("vector %d has squared norm %f, want 1", i, sum)
		}
	}
	if vs[3][0] != 1 {
		t.Errorf("a text without words embeds to %v..., want the first unit vector", vs[3][:3])
	}
	if d := dot(vs[0], vs[4]); d < 0.9999 {
		t.Errorf("case changed the vector: cosine %f", d)
	}
	// The question is closer to its answer than to an unrelated passage.
	if related, unrelated := dot(vs[0], vs[1]), dot(vs[0], vs[2]); related <= unrelated {
		t.Errorf("question~answer %.3f <= question~unrelated %.3f", related, unrelated)
	}
}

func TestEmbedBatchMatchesSingle(t *testing.T) {
	m := mustNew(t)
	texts := make([]string, 100)
	for i := range texts {
		texts[i] = strings.Repeat("packages kernel python ", i%7) + "word" + strings.Repeat("x", i)
	}
	batch, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		one, err := m.Embed(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		if d := dot(batch[i], one[0]); d < 0.99999 {
			t.Fatalf("text %d: batch and single vectors differ (cosine %f)", i, d)
		}
	}
}

func TestEmbedCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mustNew(t).Embed(ctx, []string{"a", "b"}); err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestWords(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hello, World!", "hello world"},
		{"os.path.join(a, b_c)", "os path join a b c"},
		{"Über naïve café 1½", "über naïve café 1½"},
		{"東京タワー", "東京タワー"},
		{"--- !!!", ""},
	} {
		var got []string
		Words(tc.in, func(w string) { got = append(got, w) })
		if strings.Join(got, " ") != tc.want {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLoadRejectsCorruptFiles(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("RAGDXXX1"), modelFile[8:]...),
		"truncated": modelFile[:len(modelFile)-1],
	} {
		if _, err := load(b); err == nil {
			t.Errorf("%s: load succeeded", name)
		}
	}
}

func mustNew(t testing.TB) *Model {
	t.Helper()
	m, err := New()
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
