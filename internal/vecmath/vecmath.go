// Package vecmath holds the vector arithmetic that packages outside the
// store's scan kernels share.
package vecmath

import "math"

// Cosine returns the cosine similarity of a and b, computed in float64;
// 0 when either is zero. Its callers compare few vectors (memories, a
// reranker's candidates), so it favours precision over speed.
func Cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}
