package store

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
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

// simdLevels are the quantized scan's levels this CPU runs.
func simdLevels() []simd {
	var out []simd
	for l := simdPortable; l <= simdBest; l++ {
		out = append(out, l)
	}
	return out
}

// Every level of the int8 scan estimates the distance of every valid slot
// from the exact integer dot product of the codes, for every length of a
// SIMD tail with the extreme codes -127 and 127 included, and returns
// exactly the valid slots within the bound.
func TestNearInt8(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	code := func() int8 {
		if r.IntN(4) == 0 {
			return []int8{-127, 127}[r.IntN(2)]
		}
		return int8(r.IntN(255) - 127)
	}
	for _, level := range simdLevels() {
		for _, dims := range []int{1, 7, 31, 32, 33, 63, 64, 65, 100, 384, 4096} {
			t.Run(fmt.Sprintf("simd=%d/%d", level, dims), func(t *testing.T) {
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
				ch := &vecChunk{codes: make([]int8, n*dims), scales: make([]float32, n), validity: []byte{0b10110111, 0b11111110}}
				for i := range ch.codes {
					ch.codes[i] = code()
				}
				want := make([]float32, n)
				for i := range ch.scales {
					ch.scales[i] = float32(r.Float64()) / 1e4
					var dot int64
					for j := range dims {
						dot += int64(q.codes[j]) * int64(ch.codes[i*dims+j])
					}
					want[i] = 2 - 2*q.scale*ch.scales[i]*float32(dot)
				}
				// A bound between two estimates, so that rounding (the C
				// compiler may fuse multiply-adds) cannot move a slot across it.
				sorted := slices.Sorted(slices.Values(want))
				bound := (sorted[n/2] + sorted[n/2+1]) / 2
				for _, b := range []float32{float32(math.Inf(1)), bound} {
					idx, dist := make([]int32, n), make([]float32, n)
					m := nearCodes(q, ch, b, idx, dist, level)
					var wantIdx []int32
					for i := range n {
						if ch.valid(i) && want[i] <= b {
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

// planeBoundsOracle is the oracle of the first pass: the estimated, the
// least and the greatest squared distance from v to the unit vector of
// slot i with the bit planes and factors given, computed from the query's
// 4-bit values one dimension at a time in float64 instead of through bit
// planes.
func planeBoundsOracle(v []float32, q *queryCodes, i int, bits []uint64, fac []float32) (est, lb, ub float64) {
	words := planeWords(len(v))
	var dot float64
	for j, f := range v {
		t := 0.0
		if q.delta > 0 {
			t = max(0, min(15, math.Round(float64((f-q.lo)/q.delta))))
		}
		u := 0
		for r := range 2 {
			if bits[((i/8*words+j/64)*2+r)*8+i%8]&(1<<(j%64)) != 0 {
				u |= 1 << r
			}
		}
		dot += (float64(q.lo) + float64(q.delta)*t) * (float64(u) - 1.5)
	}
	f := fac[24*(i/8)+i%8:]
	dot *= float64(f[0])
	err := math.Sqrt(max(0, float64(f[16])*float64(q.va)-float64(q.vb))) + codeSlack
	return 2 - 2*dot, 2 - 2*(dot+err), 2 - 2*(dot-err)
}

// Every level of the first pass keeps the valid slots whose least
// distance is within its limit, with the oracle's bounds, and the second
// pass given them skips exactly the slots beyond its bound or not kept, whatever
// their codes say: the chunk's int8 codes and its 2-bit codes come from
// different vectors, so a slot the int8 codes place within the bound is
// returned only when its 2-bit code does too. Each case has slots skipped
// by the 2-bit codes alone, a block whole, a block empty, a last block of
// 6 slots with one not valid, and a slot whose vector is zero.
func TestNearCodesFirstPass(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, level := range simdLevels() {
		for _, dims := range []int{7, 64, 65, 100, 256, 384, 513, 4096} {
			t.Run(fmt.Sprintf("simd=%d/%d", level, dims), func(t *testing.T) {
				const n, zero = 62, 9
				v := randomUnit32(r, dims)
				q := newQueryCodes(v)
				ch := &vecChunk{codes: make([]int8, n*dims), scales: make([]float32, n),
					bits: make([]uint64, planesLen(n, dims)), fac: make([]float32, factorsLen(n)), validity: bytes.Repeat([]byte{0b11011111}, (n+7)/8)}
				ch.validity[1], ch.validity[2] = 0xff, 0
				codesDist := make([]float64, n)
				planeDist, estimate := make([]float64, n), make([]float64, n)
				for i := range n {
					// Slots near the query and anywhere, by their int8
					// codes and by their 2-bit codes, in all four
					// combinations.
					near := func(close bool) []float32 {
						x := randomUnit32(r, dims)
						if close {
							for j := range x {
								x[j] = v[j] + 0.3*x[j]
							}
						}
						return normalized(x)
					}
					x, y := near(i%2 == 0), near(i/2%2 == 0)
					if i == zero {
						y = make([]float32, dims)
					}
					ch.scales[i] = quantize(x, ch.codes[i*dims:(i+1)*dims])
					setPlanes(y, i, ch.bits, ch.fac)
					var dot int64
					for j := range dims {
						dot += int64(q.codes[j]) * int64(ch.codes[i*dims+j])
					}
					codesDist[i] = 2 - 2*float64(q.scale*ch.scales[i])*float64(dot)
					estimate[i], planeDist[i], _ = planeBoundsOracle(v, q, i, ch.bits, ch.fac)
				}
				const tol = 1e-4 // rounding of float32 against float64
				differ := func(got float32, want float64) bool {
					return math.Abs(float64(got)-want) > tol*max(1, math.Abs(want))
				}
				// The slots whose least distance is within a limit between
				// two of them come back, each with the oracle's estimate
				// and least distance; with no limit, every valid slot.
				// Slots not valid never do, whatever their codes.
				sorted := slices.Sorted(slices.Values(planeDist))
				limits := []float32{float32(sorted[n/3]+sorted[n/3+1]) / 2, float32(math.Inf(1))}
				var lists []keptSlots
				for _, limit := range limits {
					slots, est, lb := make([]int32, n), make([]float32, n), make([]float32, n)
					m := planeBounds(q, ch, limit, slots, est, lb, level)
					var want []int32
					for i := range n {
						if ch.valid(i) && planeDist[i] <= float64(limit) {
							want = append(want, int32(i))
						}
					}
					if !slices.Equal(slots[:m], want) {
						t.Fatalf("limit %v: slots %v, want %v", limit, slots[:m], want)
					}
					for k, i := range slots[:m] {
						if differ(est[k], estimate[i]) {
							t.Errorf("slot %d: estimate %v, want %v", i, est[k], estimate[i])
						}
						if differ(lb[k], planeDist[i]) {
							t.Errorf("slot %d: least distance %v; want %v", i, lb[k], planeDist[i])
						}
					}
					lists = append(lists, keptSlots{slots[:m], lb[:m]})
				}
				bound := float32(slices.Sorted(slices.Values(codesDist))[n/2])
				near := func(kept keptSlots) map[int32]bool {
					idx, dist := make([]int32, n), make([]float32, n)
					m := nearKept(q, ch, kept, bound, idx, dist, level)
					got := map[int32]bool{}
					for _, i := range idx[:m] {
						if i >= n {
							t.Fatalf("slot %d returned, past the chunk's %d", i, n)
						}
						got[i] = true
					}
					return got
				}
				// Given every valid slot, the second pass returns those
				// within the bound by both codes; given those within the
				// lower limit, the same but those beyond it.
				got, part := near(lists[1]), near(lists[0])
				cut := 0
				for i := range int32(n) {
					switch s := planeDist[i]; {
					case part[i] && (!got[i] || s > float64(limits[0])+tol):
						t.Errorf("slot %d returned from the slots within %.4f: least distance %.4f, returned from all %v", i, limits[0], s, got[i])
					case got[i] && s < float64(limits[0])-tol && !part[i]:
						t.Errorf("slot %d not returned from the slots within %.4f: least distance %.4f", i, limits[0], s)
					case got[i] && !part[i]:
						cut++
					}
				}
				if cut == 0 {
					t.Fatalf("the lower limit kept every slot the second pass returns; the case tests nothing")
				}
				skipped := 0
				for i := range int32(n) {
					c, s := codesDist[i], planeDist[i]
					switch {
					case !ch.valid(int(i)) || c > float64(bound)+tol || s > float64(bound)+tol:
						if got[i] {
							t.Errorf("slot %d returned: valid %v, codes' distance %.4f, 2-bit codes' bound %.4f, bound %.4f", i, ch.valid(int(i)), c, s, bound)
						}
						if ch.valid(int(i)) && c <= float64(bound)-tol && s > float64(bound)+tol {
							skipped++
						}
					case c < float64(bound)-tol && s < float64(bound)-tol && !got[i]:
						t.Errorf("slot %d not returned: codes' distance %.4f, 2-bit codes' bound %.4f, bound %.4f", i, c, s, bound)
					}
				}
				if skipped == 0 {
					t.Fatalf("no slot within the bound by its codes was skipped by its 2-bit code; the case tests nothing")
				}
			})
		}
	}
}

// The first pass's bounds hold: on random and clustered unit vectors of
// 384 dimensions, the true distance lies between the least and the
// greatest distance it allows for all but one in a hundred pairs, so a
// true neighbour is almost never skipped; and they are tight, which is
// their point: on average less than 0.12 on either side of the estimate
// (sign bits' bounds were 0.21).
func TestPlaneBoundHolds(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const dims = 384
	centres := make([][]float32, 20)
	for i := range centres {
		centres[i] = randomUnit32(r, dims)
	}
	for _, clustered := range []bool{false, true} {
		vec := func() []float32 {
			x := randomUnit32(r, dims)
			if clustered {
				c := centres[r.IntN(len(centres))]
				for j := range x {
					x[j] = c[j] + 0.8*x[j]
				}
			}
			return normalized(x)
		}
		var pairs, broken int
		var width float64
		for range 50 {
			v := vec()
			q := newQueryCodes(v)
			bits, fac := make([]uint64, planesLen(1, dims)), make([]float32, factorsLen(1))
			for range 400 {
				x := vec()
				setPlanes(x, 0, bits, fac)
				var dot float64
				for j := range x {
					dot += float64(x[j]) * float64(v[j])
				}
				pairs++
				_, lb, ub := planeBoundsOracle(v, q, 0, bits, fac)
				if lb > 2-2*dot || ub < 2-2*dot {
					broken++
				}
				width += (ub - lb) / 2
			}
		}
		rate, width := float64(broken)/float64(pairs), width/float64(pairs)
		t.Logf("clustered %v: the bound failed for %d of %d pairs (%.4f); %.4f on either side on average", clustered, broken, pairs, rate, width)
		if rate > 0.01 {
			t.Errorf("clustered %v: the bound failed for %d of %d pairs (%.4f)", clustered, broken, pairs, rate)
		}
		if width > 0.12 {
			t.Errorf("clustered %v: the bounds are %.4f on either side of the estimate on average, want at most 0.12", clustered, width)
		}
	}
}

// codedChunks builds n slots of dims dimensions, slot i's vector from
// vec(i) in order, in chunks of size slots (a multiple of 8) as the vector
// cache holds them, rowids from 1: with int8 and 2-bit codes, packed
// (first), the same chunks without the 2-bit codes (plain), and with
// floats, the same chunks holding the float vectors instead (exact).
func codedChunks(n, size, dims int, vec func(i int) []float32, floats bool) (first, plain, exact []*vecChunk) {
	var reused []float32
	for c := 0; c*size < n; c++ {
		used := min(size, n-c*size)
		ch := &vecChunk{used: used, validity: bytes.Repeat([]byte{0xff}, size/8), rowids: make([]int64, used)}
		blob := reused[:0]
		if floats {
			blob = make([]float32, 0, used*dims)
		}
		for i := range used {
			blob = append(blob, vec(c*size+i)...)
			ch.rowids[i] = int64(c*size + i + 1)
		}
		if floats {
			e := *ch
			e.vectors = blob
			exact = append(exact, &e)
		} else {
			reused = blob
		}
		ch.setCodes(unsafe.Slice((*byte)(unsafe.Pointer(&blob[0])), 4*len(blob)), dims, true)
		p := *ch
		p.bits, p.fac = nil, nil
		first, plain = append(first, ch), append(plain, &p)
	}
	packPlanes(first, dims) // as the vector cache lays them out
	return first, plain, exact
}

func randomUnit32(r *rand.Rand, dims int) []float32 {
	x := make([]float32, dims)
	for j := range x {
		x[j] = float32(r.NormFloat64())
	}
	return normalized(x)
}

func normalized(x []float32) []float32 {
	var n float64
	for _, f := range x {
		n += float64(f) * float64(f)
	}
	n = math.Sqrt(n)
	for j := range x {
		x[j] = float32(float64(x[j]) / n)
	}
	return x
}

// A scan whose first pass's bounds are wrong still returns the k nearest
// by the codes: with every estimate made 2 with no error but the slack,
// so that no slot seems within the ceiling, with and without a filter
// (the scan notices it found fewer than k and lets the codes decide
// alone), and with estimates far below the codes' distances, so that
// slots within the ceiling were not kept.
func TestScanFallsBackWhenBoundsFail(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const dims, n, k = 64, 256, 40
	first, plain, _ := codedChunks(4*n, n, dims, func(int) []float32 { return randomUnit32(r, dims) }, false)
	var allowed []int64
	for id := int64(1); id <= 4*n; id += 3 {
		allowed = append(allowed, id)
	}
	check := func(what string) {
		for _, filter := range [][]int64{nil, allowed} {
			v := randomUnit32(r, dims)
			got, want := scanChunks(first, v, k, filter), scanChunks(plain, v, k, filter)
			if len(got) != k || !slices.Equal(got, want) {
				t.Errorf("%s, filter %v: %d results; want the codes' %d, the same", what, filter != nil, len(got), len(want))
			}
		}
	}
	check("bounds that hold")
	for _, ch := range first {
		for b := 0; b < n/8; b++ {
			for l := range 8 {
				for _, f := range []int{0, 16} {
					ch.fac[24*b+f+l] = 0
				}
			}
		}
	}
	check("bounds that fail")

	// Estimates far below the codes' distances, with no error but the
	// slack: 0.2 for even slots, 1.0 for odd ones. The first pass's limit
	// falls to 0.2 once its sample is full, in the second chunk, so the
	// later chunks' odd slots are not kept, and the ceiling, from the
	// codes, lies beyond it: the scan
	// must notice that slots within the ceiling were dropped and read
	// every code, or the odd ones among the k nearest go missing.
	v := randomUnit32(r, dims)
	q := newQueryCodes(v)
	for _, ch := range first {
		clear(ch.bits) // every count 0: a slot's estimate is 2 - 2 f[0]
		for b := 0; b < n/8; b++ {
			for l := range 8 {
				f := ch.fac[24*b+l:]
				f[0], f[8], f[16] = 0.9, (1+1.5*q.sum)/q.lo, 0
				if l%2 == 1 {
					f[0] = 0.5
				}
			}
		}
	}
	if got, want := scanChunks(first, v, k, nil), scanChunks(plain, v, k, nil); len(got) != k || !slices.Equal(got, want) {
		t.Errorf("estimates far below the codes' distances: %d results, %v; want the codes' %v", len(got), got, want)
	}
}

// quantizeReference is quantize as first written in Go, the oracle of
// the C kernels: the largest magnitude, then each component times 127
// over it in float32, rounded half away from zero by math.Round.
func quantizeReference(x []float32, codes []int8) float32 {
	var top float32
	for _, f := range x {
		top = max(top, f, -f)
	}
	if top == 0 {
		clear(codes)
		return 0
	}
	inv := 127 / top
	for j, f := range x {
		codes[j] = int8(max(-127, min(127, math.Round(float64(f*inv)))))
	}
	return top / 127
}

// TestQuantizeLevels checks that every level of quantizeVectors gives the
// codes and scales of quantizeReference exactly: random vectors of sizes
// around the kernel's 8 lanes, components that land exactly on halves
// (where rounding half to even would differ), a negative largest
// component, and a zero vector.
func TestQuantizeLevels(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var cases [][]float32
	for _, dims := range []int{1, 5, 8, 13, 16, 383, 384, 1000} {
		for range 20 {
			cases = append(cases, randomUnit32(r, dims))
		}
	}
	halves := []float32{127}
	for k := -126; k <= 126; k++ {
		halves = append(halves, float32(k)+0.5, float32(k), float32(k)+0.49999997, float32(k)-0.49999997)
	}
	cases = append(cases, halves, []float32{-3, 1.5, -1.5, 0.5, -0.5, 2.9999998, 0, 0, 0}, make([]float32, 9))
	levels := []bool{false}
	if hasAVX2 {
		levels = append(levels, true)
	}
	for _, avx2 := range levels {
		for i, x := range cases {
			want := make([]int8, len(x))
			wantScale := quantizeReference(x, want)
			// The vector twice in one call, as a chunk holds them.
			got, scales := make([]int8, 2*len(x)), make([]float32, 2)
			quantizeVectors(append(slices.Clone(x), x...), len(x), got, scales, avx2)
			for k := range 2 {
				if !slices.Equal(got[k*len(x):(k+1)*len(x)], want) || math.Float32bits(scales[k]) != math.Float32bits(wantScale) {
					t.Fatalf("avx2 %v, case %d (%d dims), copy %d: codes %v scale %v, want %v scale %v",
						avx2, i, len(x), k, got[k*len(x):(k+1)*len(x)], scales[k], want, wantScale)
				}
			}
		}
	}
	// Components that are not finite, which the API refuses, still give
	// codes within -127..127 (the int8 kernel's products assume them).
	nan := float32(math.NaN())
	for _, avx2 := range levels {
		for _, x := range [][]float32{{0.5, nan, -0.25, 0.1, 0, 0, 0, 0, 0.3}, {float32(math.Inf(1)), 0.5, nan, -1, 0, 0, 0, 0, 2}} {
			codes, scales := make([]int8, len(x)), make([]float32, 1)
			quantizeVectors(x, len(x), codes, scales, avx2)
			if slices.Contains(codes, -128) {
				t.Errorf("avx2 %v: codes of %v are %v, want them within -127..127", avx2, x, codes)
			}
		}
	}
	if !hasAVX2 {
		t.Log("this CPU has no AVX2+FMA: the portable kernel alone was checked")
	}
}

// TestSetPlanesLevels checks that the AVX2 kernel of setPlanesVectors
// sets the 2-bit codes of setPlanes (Go) bit for bit, and factors within
// float rounding of theirs (its sums run in another order), for sizes
// around its 8 lanes and 64-bit words, a chunk whose last block is
// partial, and zero vectors.
func TestSetPlanesLevels(t *testing.T) {
	if !hasAVX2 {
		t.Log("this CPU has no AVX2+FMA: setPlanes is the only level")
		return
	}
	r := rand.New(rand.NewPCG(13, 14))
	for _, dims := range []int{1, 7, 8, 63, 64, 65, 100, 384, 1000} {
		const n = 21 // two blocks of 8 and a partial one
		var x []float32
		for i := range n {
			if i == 5 || i == 20 {
				x = append(x, make([]float32, dims)...)
				continue
			}
			x = append(x, randomUnit32(r, dims)...)
		}
		wantBits, wantFac := make([]uint64, planesLen(n, dims)), make([]float32, factorsLen(n))
		gotBits, gotFac := make([]uint64, planesLen(n, dims)), make([]float32, factorsLen(n))
		setPlanesVectors(x, dims, wantBits, wantFac, false)
		setPlanesVectors(x, dims, gotBits, gotFac, true)
		if !slices.Equal(gotBits, wantBits) {
			t.Fatalf("%d dims: the AVX2 kernel's bit planes differ from setPlanes's", dims)
		}
		for i := range wantFac {
			if d := math.Abs(float64(gotFac[i]) - float64(wantFac[i])); d > 1e-5*max(1, math.Abs(float64(wantFac[i]))) {
				t.Fatalf("%d dims: factor %d is %v, setPlanes gives %v", dims, i, gotFac[i], wantFac[i])
			}
		}
	}
}

// splitChunks gives each worker a run of consecutive chunks, none empty,
// all of them once in order, with slots within a chunk of each other.
func TestSplitChunks(t *testing.T) {
	chunks := func(used ...int) []*vecChunk {
		var out []*vecChunk
		for i, u := range used {
			out = append(out, &vecChunk{id: int64(i), used: u})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		chunks []*vecChunk
		parts  int
	}{
		{"one", chunks(1024), 1},
		{"even", chunks(1024, 1024, 1024, 1024), 2},
		{"odd", chunks(1024, 1024, 1024), 2},
		{"last partly filled", chunks(1024, 1024, 1024, 1024, 1024, 10), 2},
		{"first nearly empty", chunks(3, 1024, 1024, 1024, 1024), 2},
		{"as many parts as chunks", chunks(5, 1024, 7), 3},
		{"empty chunks", chunks(0, 0, 0, 0), 2},
		{"skewed", chunks(1024, 1, 1, 1, 1, 1, 1), 3},
		{"one slot past even", chunks(1024, 1024, 1024, 1024, 1), 2},
		{"small and empty", chunks(10, 10, 1, 0, 0), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			total := 0
			for _, ch := range tc.chunks {
				total += ch.used
			}
			parts := splitChunks(tc.chunks, tc.parts, total)
			if len(parts) != tc.parts {
				t.Fatalf("%d parts, want %d", len(parts), tc.parts)
			}
			var all []*vecChunk
			biggest := 0
			for _, ch := range tc.chunks {
				biggest = max(biggest, ch.used)
			}
			least, most := total, 0
			for _, p := range parts {
				if len(p) == 0 {
					t.Fatalf("an empty part: %v", parts)
				}
				all = append(all, p...)
				n := 0
				for _, ch := range p {
					n += ch.used
				}
				least, most = min(least, n), max(most, n)
			}
			if !slices.Equal(all, tc.chunks) {
				t.Fatalf("the parts do not hold the chunks once each in order")
			}
			if most-least > biggest {
				t.Errorf("parts of %d to %d slots; want them within a chunk's %d", least, most, biggest)
			}
		})
	}
}
