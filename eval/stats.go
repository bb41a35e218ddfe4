package eval

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Resamples is the number of bootstrap draws behind every interval.
const Resamples = 2000

// bootstrapSeed seeds every bootstrap: a run's intervals are reproducible,
// and every row of a table is resampled over the same draws of questions.
const bootstrapSeed = 11

// Interval is a 95% confidence interval.
type Interval struct{ Lo, Hi float64 }

// Contains reports whether v lies in the interval, ends included.
func (iv Interval) Contains(v float64) bool { return iv.Lo <= v && v <= iv.Hi }

// bootstrap returns the 95% percentile interval of stat over Resamples
// draws of n question indexes with replacement. The draws come from a PCG
// seeded with bootstrapSeed, so the same n gives the same draws in every
// call: a statistic over two paired lists sees each question in both.
func bootstrap(n int, stat func(idx []int) float64) Interval {
	if n == 0 {
		return Interval{math.NaN(), math.NaN()}
	}
	rng := rand.New(rand.NewPCG(bootstrapSeed, bootstrapSeed))
	idx := make([]int, n)
	vals := make([]float64, Resamples)
	for r := range vals {
		for i := range idx {
			idx[i] = rng.IntN(n)
		}
		vals[r] = stat(idx)
	}
	slices.Sort(vals)
	return Interval{vals[int(0.025*Resamples)], vals[int(math.Ceil(0.975*Resamples))-1]}
}

// meanAt is the mean of xs over the drawn indexes.
func meanAt(xs []float64, idx []int) float64 {
	var s float64
	for _, i := range idx {
		s += xs[i]
	}
	return s / float64(len(idx))
}

// mean is the mean of xs, NaN for none.
func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// MeanCI is the bootstrap 95% interval of the mean of xs, one value per
// question.
func MeanCI(xs []float64) Interval {
	return bootstrap(len(xs), func(idx []int) float64 { return meanAt(xs, idx) })
}

// RatioCI is the paired bootstrap 95% interval of mean(xs) / mean(ys),
// where xs[i] and ys[i] are two systems' scores on question i. A draw in
// which ys averages 0 counts as +Inf, or as 1 when xs does too.
func RatioCI(xs, ys []float64) Interval {
	return bootstrap(len(xs), func(idx []int) float64 { return ratio(meanAt(xs, idx), meanAt(ys, idx)) })
}

// ratio is x / y with the conventions of RatioCI for y = 0.
func ratio(x, y float64) float64 {
	switch {
	case y != 0:
		return x / y
	case x == 0:
		return 1
	default:
		return math.Inf(1)
	}
}

// DiffCI is the paired bootstrap 95% interval of mean(xs) - mean(ys),
// where xs[i] and ys[i] are two systems' scores on question i.
func DiffCI(xs, ys []float64) Interval {
	return bootstrap(len(xs), func(idx []int) float64 { return meanAt(xs, idx) - meanAt(ys, idx) })
}
