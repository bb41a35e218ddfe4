package eval

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestBootstrap(t *testing.T) {
	// 400 questions, half answered: the mean is exactly 0.5, and the
	// normal approximation puts the 95% interval at 0.5 +- 1.96 *
	// sqrt(0.25/400) = 0.5 +- 0.049.
	half := make([]float64, 400)
	for i := range half {
		half[i] = float64(i % 2)
	}
	t.Run("CoversTrueMean", func(t *testing.T) {
		iv := MeanCI(half)
		if !iv.Contains(0.5) {
			t.Errorf("MeanCI = %v, does not contain 0.5", iv)
		}
		if w := (iv.Hi - iv.Lo) / 2; w < 0.8*0.049 || w > 1.2*0.049 {
			t.Errorf("MeanCI = %v: half-width %.4f, want about 0.049", iv, w)
		}
	})
	t.Run("Deterministic", func(t *testing.T) {
		if a, b := MeanCI(half), MeanCI(half); a != b {
			t.Errorf("two runs gave %v and %v", a, b)
		}
	})
	t.Run("Coverage", func(t *testing.T) {
		// Samples of 100 draws of Bernoulli(0.3), from a seeded source:
		// about 95% of their intervals contain 0.3.
		rng := rand.New(rand.NewPCG(1, 2))
		covered := 0
		const samples = 40
		for range samples {
			xs := make([]float64, 100)
			for i := range xs {
				if rng.Float64() < 0.3 {
					xs[i] = 1
				}
			}
			if MeanCI(xs).Contains(0.3) {
				covered++
			}
		}
		if covered < 34 {
			t.Errorf("%d of %d intervals contain the true mean, want about 95%%", covered, samples)
		}
	})
	t.Run("Paired", func(t *testing.T) {
		// Paired statistics of lists that differ by a constant factor or
		// offset have no spread, whatever the questions drawn.
		base := make([]float64, 50)
		double, plus := make([]float64, 50), make([]float64, 50)
		for i := range base {
			base[i] = float64(i%7) + 1
			double[i], plus[i] = 2*base[i], base[i]+0.25
		}
		if iv := RatioCI(double, base); math.Abs(iv.Lo-2) > 1e-12 || math.Abs(iv.Hi-2) > 1e-12 {
			t.Errorf("RatioCI = %v, want [2, 2]", iv)
		}
		if iv := DiffCI(plus, base); math.Abs(iv.Lo-0.25) > 1e-12 || math.Abs(iv.Hi-0.25) > 1e-12 {
			t.Errorf("DiffCI = %v, want [0.25, 0.25]", iv)
		}
		// Unpaired, the same lists would spread: the pairing matters.
		if iv := MeanCI(double); iv.Hi-iv.Lo < 0.5 {
			t.Errorf("MeanCI = %v, want a wide interval", iv)
		}
	})
	t.Run("RatioOfZeros", func(t *testing.T) {
		zero, one := []float64{0, 0, 0}, []float64{1, 0, 1}
		if iv := RatioCI(zero, zero); iv != (Interval{1, 1}) {
			t.Errorf("RatioCI(0, 0) = %v, want [1, 1]", iv)
		}
		if iv := RatioCI(one, zero); !math.IsInf(iv.Hi, 1) {
			t.Errorf("RatioCI(x, 0) = %v, want +Inf above", iv)
		}
	})
}

func TestRankingGains(t *testing.T) {
	r := NewRanking([]int{1, 3, 0, 11})
	g := r.Gains()
	if g[0] != 1 || g[1] != 0.5 || g[2] != 0 || g[3] != 0 {
		t.Errorf("Gains = %v, want [1 0.5 0 0]", g)
	}
	if m := mean(g); m != r.NDCG10 {
		t.Errorf("mean gain %v != NDCG10 %v", m, r.NDCG10)
	}
}
