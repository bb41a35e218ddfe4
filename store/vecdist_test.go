package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// Both int8 kernels estimate the distance of every valid slot from the
// exact integer dot product of the codes, for every length of a SIMD tail
// with the extreme codes -127 and 127 included, and return exactly the
// valid slots within the bound.
func TestNearInt8(t *testing.T) {
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
				const n = 16
				v := make([]float32, dims)
				for i := range v {
					v[i] = float32(r.NormFloat64())
				}
				q := newQueryCodes(v)
				for i := range q.codes {
					q.codes[i] = code()
					q.abs[i] = max(q.codes[i], -q.codes[i])
				}
				x := make([]int8, n*dims)
				for i := range x {
					x[i] = code()
				}
				scales := make([]float32, n)
				want := make([]float32, n)
				for i := range scales {
					scales[i] = float32(r.Float64()) / 1e4
					var dot int64
					for j := range dims {
						dot += int64(q.codes[j]) * int64(x[i*dims+j])
					}
					want[i] = 2 - 2*q.scale*scales[i]*float32(dot)
				}
				validity := []byte{0b10110111, 0b11111110}
				// A bound between two estimates, so that rounding (the C
				// compiler may fuse multiply-adds) cannot move a slot across it.
				sorted := slices.Sorted(slices.Values(want))
				bound := (sorted[n/2] + sorted[n/2+1]) / 2
				for _, b := range []float32{float32(math.Inf(1)), bound} {
					idx, dist := make([]int32, n), make([]float32, n)
					m := nearInt8(q, x, scales, validity, b, idx, dist, avx2)
					var wantIdx []int32
					for i := range n {
						if validity[i/8]&(1<<(i%8)) != 0 && want[i] <= b {
							wantIdx = append(wantIdx, int32(i))
						}
					}
					if !slices.Equal(idx[:m], wantIdx) {
						t.Fatalf("bound %v: slots %v, want %v", b, idx[:m], wantIdx)
					}
					for k, i := range idx[:m] {
						if math.Abs(float64(dist[k]-want[i])) > 1e-5*math.Abs(float64(want[i]))+1e-6 {
							t.Errorf("slot %d: distance %v, want %v", i, dist[k], want[i])
						}
					}
				}
			})
		}
	}
}
