package uselite

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernel on CPUs with AVX2 and FMA.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dot4x2AVX2 is dot4x2 in AVX2/FMA assembly; n must be a positive
// multiple of 8.
//
//go:noescape
func dot4x2AVX2(x *float32, xstride int, w *float32, wstride int, n int, out *[8]float32)

// dot4x2 computes out[2r+c] = x[r]·w[c] for four rows of x (xstride apart)
// and two rows of w (wstride apart), each of length n.
func dot4x2(x []float32, xstride int, w []float32, wstride, n int, out *[8]float32) {
	if useAVX2 && n%8 == 0 && n > 0 {
		_ = x[3*xstride+n-1]
		_ = w[wstride+n-1]
		dot4x2AVX2(&x[0], xstride, &w[0], wstride, n, out)
		return
	}
	dot4x2Go(x, xstride, w, wstride, n, out)
}
