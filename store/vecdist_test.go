package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Both distance kernels agree with a float64 reference for every length
// of a SIMD tail.
func TestL2Squared(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, avx2 := range []bool{false, true} {
		if avx2 && !hasAVX2 {
			continue // the CPU cannot run the kernel
		}
		for dims := 1; dims <= 70; dims++ {
			t.Run(fmt.Sprintf("avx2=%v/%d", avx2, dims), func(t *testing.T) {
				const n = 5
				q := make([]float32, dims)
				x := make([]float32, n*dims)
				for i := range q {
					q[i] = float32(r.NormFloat64())
				}
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				out := make([]float32, n)
				l2Squared(q, x, out, avx2)
				for i := range out {
					var want float64
					for j := range dims {
						d := float64(x[i*dims+j]) - float64(q[j])
						want += d * d
					}
					if math.Abs(float64(out[i])-want) > 1e-4*want+1e-6 {
						t.Errorf("vector %d: got %v, want %v", i, out[i], want)
					}
				}
			})
		}
	}
}

// Both int8 kernels compute the exact integer dot product for every
// length of a SIMD tail, with the extreme codes -127 and 127 included.
func TestDotInt8(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	code := func() int8 {
		if r.IntN(4) == 0 {
			return []int8{-127, 127}[r.IntN(2)]
		}
		return int8(r.IntN(255) - 127)
	}
	for _, avx2 := range []bool{false, true} {
		if avx2 && !hasAVX2 {
			continue // the CPU cannot run the kernel
		}
		for _, dims := range []int{1, 7, 31, 32, 33, 63, 64, 65, 100, 384, 4096} {
			t.Run(fmt.Sprintf("avx2=%v/%d", avx2, dims), func(t *testing.T) {
				const n = 5
				q := make([]int8, dims)
				x := make([]int8, n*dims)
				for i := range q {
					q[i] = code()
				}
				for i := range x {
					x[i] = code()
				}
				out := make([]int32, n)
				dotInt8(q, x, out, avx2)
				for i := range out {
					var want int32
					for j := range dims {
						want += int32(q[j]) * int32(x[i*dims+j])
					}
					if out[i] != want {
						t.Errorf("vector %d: got %d, want %d", i, out[i], want)
					}
				}
			})
		}
	}
}
