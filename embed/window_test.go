package embed_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/ragd/ragd/embed"
	"github.com/ragd/ragd/tokenize"
)

// limited is the hash model with a short input limit.
type limited struct{ *embed.Hash }

func (limited) MaxInputTokens() int { return 8 }

func TestWindowed(t *testing.T) {
	base := limited{embed.NewHash(64)}
	w := embed.NewWindowed(base, 1000)
	if w.MaxInputTokens() != 1000 || w.Dimensions() != 64 || w.Name() != "hash" {
		t.Fatalf("wrapper reports %d tokens, %d dims, %q", w.MaxInputTokens(), w.Dimensions(), w.Name())
	}
	short := "a short text"
	long := strings.Repeat("alpha beta gamma delta ", 10) + "omega"
	got, err := w.Embed(context.Background(), []string{short, long})
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := base.Embed(context.Background(), []string{short})
	for i := range direct[0] {
		if got[0][i] != direct[0][i] {
			t.Fatal("a text within the limit is not embedded as is")
		}
	}
	// The long text is the normalised mean of its 8-token windows.
	enc := tokenize.MustGet(tokenize.CL100K)
	toks := enc.Encode(long)
	var windows []string
	for s := 0; s < len(toks); s += 8 {
		windows = append(windows, enc.Decode(toks[s:min(s+8, len(toks))]))
	}
	if len(windows) < 5 {
		t.Fatalf("only %d windows", len(windows))
	}
	wv, _ := base.Embed(context.Background(), windows)
	want := make([]float32, 64)
	for _, v := range wv {
		for i, x := range v {
			want[i] += x
		}
	}
	embed.Normalize(want)
	var norm float64
	for i := range want {
		if math.Abs(float64(want[i]-got[1][i])) > 1e-6 {
			t.Fatalf("dim %d: %v, want %v", i, got[1][i], want[i])
		}
		norm += float64(got[1][i] * got[1][i])
	}
	if math.Abs(norm-1) > 1e-5 {
		t.Fatalf("norm %v", norm)
	}
}
