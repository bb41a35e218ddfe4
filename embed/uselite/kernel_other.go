//go:build !amd64

package uselite

// useAVX2 is false off amd64: the portable kernel runs.
const useAVX2 = false

// dot4x2 computes out[2r+c] = x[r]·w[c] for four rows of x (xstride apart)
// and two rows of w (wstride apart), each of length n.
func dot4x2(x []float32, xstride int, w []float32, wstride, n int, out *[8]float32) {
	dot4x2Go(x, xstride, w, wstride, n, out)
}
