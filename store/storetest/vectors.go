package storetest

import (
	"math/rand/v2"

	"github.com/ragd/ragd/embed"
)

// UnitVector returns a vector of dims dimensions drawn uniformly from the
// unit sphere by r: the random, worst-case vectors of the tests and
// benchmarks of search.
func UnitVector(r *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	embed.Normalize(v)
	return v
}
