package uselite

import (
	"context"
	"testing"

	"github.com/ragd/ragd/internal/vecmath"
)

// TestEmbedEveryKernel embeds every n-th sentence of the golden corpus
// (TestEmbedParity runs them all with the fastest kernel) with each kernel
// this CPU can run (AVX-512, AVX2/FMA, portable Go, the last on fewer
// sentences to keep -race runs short) and checks every vector against the
// reference implementation's.
func TestEmbedEveryKernel(t *testing.T) {
	m := model(t)
	golden := loadGolden(t)
	has512, has2 := useAVX512, useAVX2
	defer func() { useAVX512, useAVX2 = has512, has2 }()
	tests := []struct {
		name         string
		avx512, avx2 bool
		every        int
	}{
		{"AVX512", true, true, 8},
		{"AVX2", false, true, 8},
		{"Go", false, false, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if (tt.avx512 && !has512) || (tt.avx2 && !has2) {
				t.Logf("this CPU has no %s; checked on the others", tt.name)
				return
			}
			var cases []goldenCase
			var texts []string
			for i, c := range golden {
				if i%tt.every == 0 {
					cases = append(cases, c)
					texts = append(texts, c.Text)
				}
			}
			useAVX512, useAVX2 = tt.avx512, tt.avx2
			got, err := m.Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			worst := 2.0
			for i, c := range cases {
				cos := vecmath.Cosine(got[i], c.vector(t))
				if cos < 0.999 {
					t.Errorf("cosine(%q) = %.6f, want >= 0.999", c.Text, cos)
				}
				worst = min(worst, cos)
			}
			t.Logf("lowest cosine %.7f", worst)
		})
	}
}
