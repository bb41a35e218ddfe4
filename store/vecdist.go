package store

/*
#include <stddef.h>
#include <stdint.h>

// ragd_l2_scalar writes the squared L2 distance from q to each of the n
// vectors of dims floats starting at x.
static void ragd_l2_scalar(const float *q, const float *x, size_t dims, size_t n, float *out) {
	for (size_t i = 0; i < n; i++, x += dims) {
		float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
		size_t j = 0;
		for (; j + 4 <= dims; j += 4) {
			float d0 = x[j] - q[j], d1 = x[j+1] - q[j+1], d2 = x[j+2] - q[j+2], d3 = x[j+3] - q[j+3];
			s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
		}
		for (; j < dims; j++) {
			float d = x[j] - q[j];
			s0 += d * d;
		}
		out[i] = (s0 + s1) + (s2 + s3);
	}
}

#if defined(__x86_64__)
#include <immintrin.h>

// ragd_l2_avx2 is ragd_l2_scalar with AVX2 and FMA; call it only when the
// CPU has both (checked at run time through golang.org/x/sys/cpu).
__attribute__((target("avx2,fma")))
static void ragd_l2_avx2(const float *q, const float *x, size_t dims, size_t n, float *out) {
	for (size_t i = 0; i < n; i++, x += dims) {
		__m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
		__m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
		size_t j = 0;
		for (; j + 32 <= dims; j += 32) {
			__m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(q + j));
			__m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), _mm256_loadu_ps(q + j + 8));
			__m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 16), _mm256_loadu_ps(q + j + 16));
			__m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 24), _mm256_loadu_ps(q + j + 24));
			a0 = _mm256_fmadd_ps(d0, d0, a0);
			a1 = _mm256_fmadd_ps(d1, d1, a1);
			a2 = _mm256_fmadd_ps(d2, d2, a2);
			a3 = _mm256_fmadd_ps(d3, d3, a3);
		}
		for (; j + 8 <= dims; j += 8) {
			__m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(q + j));
			a0 = _mm256_fmadd_ps(d0, d0, a0);
		}
		__m256 a = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
		__m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
		h = _mm_add_ps(h, _mm_movehl_ps(h, h));
		h = _mm_add_ss(h, _mm_movehdup_ps(h));
		float s = _mm_cvtss_f32(h);
		for (; j < dims; j++) {
			float d = x[j] - q[j];
			s += d * d;
		}
		out[i] = s;
	}
}
#endif

// The quantized scan (ragd_near_*) estimates the squared distance from
// the query to each valid slot i < n of a chunk (bit i of validity set):
// for unit vectors |v - x|^2 = 2 - 2 v.x, with v.x about the integer dot
// product of the int8 codes times the query's scale qs and the slot's
// scales[i]. It writes the slots whose estimate is at most bound to idx
// and dist and returns how many, so the caller handles only the few that
// can enter its top k.
//
// Before it, a binary first pass (ragd_signs_*) bounds each slot's
// distance from its sign bits, an eighth of its codes' bytes, so that the
// scan reads the codes of only the slots that can be near. Slots come in
// blocks of 8, the validity byte's: word w of the sign bits of the
// block's slot l is bits[(b * words + w) * 8 + l] for block b (bit j set when
// dimension 64w + j is positive), and the block's factors
// fac[24b + 8k + l] are, for k = 0, 1, 2: 1/|x|_1, the bound err of the
// estimate below, and the number of bits set. For a unit x with signs
// s = +-1, <s, v> / |x|_1 estimates v.x within err with high probability
// (RaBitQ, Gao and Long 2024). The query is held as 4 bit planes of words
// each, v_j ~ lo + delta * u_j with u_j in 0..15, so that the sum of v
// over the set bits is lo * popcount(b) + delta * sum_p 2^p
// popcount(plane_p & b), and qerr bounds <s, v - that rounding>. The
// layout puts 8 slots' same word side by side, so that one vector
// instruction counts them all and no sum crosses lanes.

static inline void ragd_bounds_scalar(const uint64_t *p, size_t words, float lo, float delta, float sumq, float qerr,
		const uint64_t *bits, const float *fac, float *lb, float *ub) {
	for (int l = 0; l < 8; l++) {
		uint32_t s = 0;
		for (int j = 3; j >= 0; j--) {
			uint32_t c = 0;
			for (size_t w = 0; w < words; w++) c += (uint32_t)__builtin_popcountll(p[(size_t)j * words + w] & bits[w * 8 + l]);
			s = 2 * s + c;
		}
		float sv = 2 * (lo * fac[16 + l] + delta * (float)s) - sumq;
		lb[l] = 2 - 2 * ((sv + qerr) * fac[l] + fac[8 + l]);
		ub[l] = 2 - 2 * ((sv - qerr) * fac[l] - fac[8 + l]);
	}
}

static inline int ragd_dot_i8_scalar(const signed char *q, const signed char *absq, const signed char *c, size_t dims) {
	(void)absq;
	int s = 0;
	for (size_t j = 0; j < dims; j++) s += q[j] * c[j];
	return s;
}

// RAGD_BOUNDS defines the binary first pass NAME for a target, with its
// bounds of a block: it writes the least and the greatest distance each
// slot of a chunk can have to lb and ub, +Inf for slots not valid.
#define RAGD_BOUNDS(NAME, TARGET, BOUNDS) \
TARGET static void NAME(const uint64_t *planes, size_t words, float lo, float delta, float sumq, float qerr, \
		const uint64_t *bits, const float *fac, const unsigned char *validity, size_t n, float *lb, float *ub) { \
	float l8[8], u8[8]; \
	for (size_t b = 0; 8 * b < n; b++) { \
		unsigned valid = validity[b]; \
		if (valid) BOUNDS(planes, words, lo, delta, sumq, qerr, bits + 8 * b * words, fac + 24 * b, l8, u8); \
		for (size_t l = 0; l < 8 && 8 * b + l < n; l++) { \
			int ok = (valid >> l) & 1; \
			lb[8 * b + l] = ok ? l8[l] : __builtin_inff(); \
			ub[8 * b + l] = ok ? u8[l] : __builtin_inff(); \
		} \
	} \
}

// RAGD_NEAR defines the quantized scan NAME for a target, with its int8
// dot product. With lb (not NULL), the least distances of the binary first
// pass, it reads the codes of only the slots whose least distance is
// within bound. Those are scattered through the chunk, out of reach of
// the hardware's prefetcher: each is prefetched when kept and its dot
// product taken RAGD_AHEAD slots later, so that their reads overlap.
#define RAGD_AHEAD 16
#define RAGD_NEAR(NAME, TARGET, DOT) \
TARGET static size_t NAME(const float *lb, const signed char *q, const signed char *absq, float qs, \
		const signed char *x, const float *scales, const unsigned char *validity, size_t dims, size_t n, \
		float bound, int *idx, float *dist) { \
	size_t m = 0, ring[RAGD_AHEAD], head = 0, tail = 0; \
	for (size_t b = 0; 8 * b < n || head != tail; b++) { \
		unsigned valid = 0; \
		if (8 * b < n) { \
			valid = validity[b]; \
			if (8 * b + 8 > n) valid &= (1u << (n - 8 * b)) - 1; \
			if (lb) \
				for (unsigned v = valid; v; v &= v - 1) \
					if (lb[8 * b + __builtin_ctz(v)] > bound) valid &= ~(1u << __builtin_ctz(v)); \
		} \
		for (;;) { \
			if (valid && tail - head < RAGD_AHEAD) { \
				size_t i = 8 * b + (size_t)__builtin_ctz(valid); \
				valid &= valid - 1; \
				if (lb) \
					for (size_t o = 0; o < dims; o += 64) __builtin_prefetch(x + i * dims + o); \
				ring[tail++ % RAGD_AHEAD] = i; \
				continue; \
			} \
			if (head == tail || (valid == 0 && tail - head < RAGD_AHEAD && 8 * (b + 1) < n)) break; \
			size_t i = ring[head++ % RAGD_AHEAD]; \
			float d = 2 - 2 * qs * scales[i] * (float)DOT(q, absq, x + i * dims, dims); \
			if (d <= bound) { \
				idx[m] = (int)i; \
				dist[m++] = d; \
			} \
		} \
	} \
	return m; \
}

RAGD_BOUNDS(ragd_signs_scalar, , ragd_bounds_scalar)
RAGD_NEAR(ragd_near_scalar, , ragd_dot_i8_scalar)

#if defined(__x86_64__)
// ragd_dot_i8_avx2 is ragd_dot_i8_scalar 32 codes at a time: maddubs
// multiplies unsigned by signed bytes, so q's magnitudes (absq) multiply
// c's codes carrying q's signs, into pairs of int16 (at most 2 x 127 x
// 127, no saturation), which madd sums into int32.
__attribute__((target("avx2")))
static inline int ragd_dot_i8_avx2(const signed char *q, const signed char *absq, const signed char *c, size_t dims) {
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i acc = _mm256_setzero_si256();
	size_t j = 0;
	for (; j + 32 <= dims; j += 32) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(q + j));
		__m256i b = _mm256_loadu_si256((const __m256i *)(c + j));
		__m256i p = _mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *)(absq + j)), _mm256_sign_epi8(b, a));
		acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
	}
	__m128i h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
	int s = _mm_cvtsi128_si32(h);
	for (; j < dims; j++) s += q[j] * c[j];
	return s;
}

// ragd_bounds_end is the end of every vector bounds function: from the
// 8 slots' weighted counts s, their least and greatest distances.
__attribute__((target("avx2")))
static inline void ragd_bounds_end(__m256 s, const float *fac, float lo, float delta, float sumq, float qerr, float *lb, float *ub) {
	__m256 two = _mm256_set1_ps(2);
	__m256 sv = _mm256_sub_ps(_mm256_mul_ps(two, _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(lo), _mm256_loadu_ps(fac + 16)),
		_mm256_mul_ps(_mm256_set1_ps(delta), s))), _mm256_set1_ps(sumq));
	__m256 f0 = _mm256_loadu_ps(fac), f1 = _mm256_loadu_ps(fac + 8), e = _mm256_set1_ps(qerr);
	__m256 hi = _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(sv, e), f0), f1);
	__m256 low = _mm256_sub_ps(_mm256_mul_ps(_mm256_sub_ps(sv, e), f0), f1);
	_mm256_storeu_ps(lb, _mm256_sub_ps(two, _mm256_mul_ps(two, hi)));
	_mm256_storeu_ps(ub, _mm256_sub_ps(two, _mm256_mul_ps(two, low)));
}

// ragd_popcnt8_avx2 counts the bits of each byte of x with a nibble
// lookup (pshufb).
__attribute__((target("avx2")))
static inline __m256i ragd_popcnt8_avx2(__m256i x) {
	const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
		0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
	const __m256i low = _mm256_set1_epi8(0x0f);
	return _mm256_add_epi8(_mm256_shuffle_epi8(lut, _mm256_and_si256(x, low)),
		_mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x, 4), low)));
}

// ragd_weighted_avx2 is sum_p 2^p popcount(plane_p word & x) for 4 slots'
// words x, in the bytes of each slot's 64-bit lane: at most
// 8 x (8 + 4 + 2 + 1) = 120 a byte, so they fit until sad sums them.
__attribute__((target("avx2")))
static inline __m256i ragd_weighted_avx2(__m256i x, const uint64_t *p, size_t words, size_t w) {
	__m256i t = _mm256_setzero_si256();
	for (int j = 3; j >= 0; j--) {
		__m256i c = ragd_popcnt8_avx2(_mm256_and_si256(x, _mm256_set1_epi64x((long long)p[(size_t)j * words + w])));
		t = _mm256_add_epi8(_mm256_add_epi8(t, t), c);
	}
	return _mm256_sad_epu8(t, _mm256_setzero_si256());
}

__attribute__((target("avx2")))
static inline void ragd_bounds_avx2(const uint64_t *p, size_t words, float lo, float delta, float sumq, float qerr,
		const uint64_t *bits, const float *fac, float *lb, float *ub) {
	__m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
	for (size_t w = 0; w < words; w++) {
		a0 = _mm256_add_epi64(a0, ragd_weighted_avx2(_mm256_loadu_si256((const __m256i *)(bits + 8 * w)), p, words, w));
		a1 = _mm256_add_epi64(a1, ragd_weighted_avx2(_mm256_loadu_si256((const __m256i *)(bits + 8 * w + 4)), p, words, w));
	}
	// The low 32 bits of the 8 lanes, in order.
	const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
	__m256i s = _mm256_permute2x128_si256(_mm256_permutevar8x32_epi32(a0, even), _mm256_permutevar8x32_epi32(a1, even), 0x20);
	ragd_bounds_end(_mm256_cvtepi32_ps(s), fac, lo, delta, sumq, qerr, lb, ub);
}

// ragd_bounds_avx512 counts 8 slots' words at once with vpopcntq.
__attribute__((target("avx2,avx512f,avx512vpopcntdq")))
static inline void ragd_bounds_avx512(const uint64_t *p, size_t words, float lo, float delta, float sumq, float qerr,
		const uint64_t *bits, const float *fac, float *lb, float *ub) {
	__m512i acc = _mm512_setzero_si512();
	for (size_t w = 0; w < words; w++) {
		__m512i x = _mm512_loadu_si512(bits + 8 * w);
		__m512i t = _mm512_setzero_si512();
		for (int j = 3; j >= 0; j--) {
			__m512i c = _mm512_popcnt_epi64(_mm512_and_si512(x, _mm512_set1_epi64((long long)p[(size_t)j * words + w])));
			t = _mm512_add_epi64(_mm512_add_epi64(t, t), c);
		}
		acc = _mm512_add_epi64(acc, t);
	}
	ragd_bounds_end(_mm256_cvtepi32_ps(_mm512_cvtepi64_epi32(acc)), fac, lo, delta, sumq, qerr, lb, ub);
}

RAGD_BOUNDS(ragd_signs_avx2, __attribute__((target("avx2"))), ragd_bounds_avx2)
RAGD_BOUNDS(ragd_signs_avx512, __attribute__((target("avx2,avx512f,avx512vpopcntdq"))), ragd_bounds_avx512)
RAGD_NEAR(ragd_near_avx2, __attribute__((target("avx2"))), ragd_dot_i8_avx2)
#endif

// ragd_signs runs the binary first pass at SIMD level: 0 portable, 1
// AVX2, 2 AVX-512 with vpopcntq.
static void ragd_signs(int level, const uint64_t *planes, size_t words, float lo, float delta, float sumq, float qerr,
		const uint64_t *bits, const float *fac, const unsigned char *validity, size_t n, float *lb, float *ub) {
#if defined(__x86_64__)
	if (level >= 2) {
		ragd_signs_avx512(planes, words, lo, delta, sumq, qerr, bits, fac, validity, n, lb, ub);
		return;
	}
	if (level == 1) {
		ragd_signs_avx2(planes, words, lo, delta, sumq, qerr, bits, fac, validity, n, lb, ub);
		return;
	}
#endif
	ragd_signs_scalar(planes, words, lo, delta, sumq, qerr, bits, fac, validity, n, lb, ub);
}

// ragd_near runs the quantized scan with AVX2 or portably.
static size_t ragd_near(int level, const float *lb, const signed char *q, const signed char *absq, float qs,
		const signed char *x, const float *scales, const unsigned char *validity, size_t dims, size_t n,
		float bound, int *idx, float *dist) {
#if defined(__x86_64__)
	if (level >= 1) return ragd_near_avx2(lb, q, absq, qs, x, scales, validity, dims, n, bound, idx, dist);
#endif
	return ragd_near_scalar(lb, q, absq, qs, x, scales, validity, dims, n, bound, idx, dist);
}

static void ragd_l2(int avx2, const float *q, const float *x, size_t dims, size_t n, float *out) {
#if defined(__x86_64__)
	if (avx2) {
		ragd_l2_avx2(q, x, dims, n, out);
		return;
	}
#endif
	ragd_l2_scalar(q, x, dims, n, out);
}
*/
import "C"

import (
	"math"
	"slices"

	"golang.org/x/sys/cpu"
)

// hasAVX2 selects the AVX2+FMA distance kernel; CPUs without it use the
// portable one.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// simd is a level of the quantized scan's kernels (nearCodes).
type simd int

const (
	simdPortable simd = iota
	simdAVX2          // AVX2
	simdAVX512        // AVX-512 with VPOPCNTQ, for the binary first pass
)

// simdBest is the best level the CPU runs.
var simdBest = func() simd {
	switch {
	case hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VPOPCNTDQ:
		return simdAVX512
	case hasAVX2:
		return simdAVX2
	}
	return simdPortable
}()

// l2Squared writes to out[i] the squared L2 distance from q to the i-th
// vector of x, which holds len(out) vectors of len(q) floats.
func l2Squared(q, x, out []float32, avx2 bool) {
	n := len(out)
	if n == 0 {
		return
	}
	if len(x) < n*len(q) {
		panic("store: l2Squared: vectors shorter than out")
	}
	flag := C.int(0)
	if avx2 {
		flag = 1
	}
	C.ragd_l2(flag, (*C.float)(&q[0]), (*C.float)(&x[0]), C.size_t(len(q)), C.size_t(n), (*C.float)(&out[0]))
}

// queryCodes is a query quantized for scans of codes (nearCodes): as the
// cache quantizes vectors to int8 (quantize), and to 4 bits a dimension
// for the binary first pass, v_j ~ lo + delta * u_j with u_j in 0..15,
// held as 4 bit planes of words each (bit j of planes[p*words+j/64] is
// bit p of u_j). sum is the sum of the 4-bit values and qerr bounds the
// rounding's effect on a sign vector's dot product with the query.
type queryCodes struct {
	codes, abs []int8 // the int8 codes, and their magnitudes
	scale      float32
	planes     []uint64
	words      int
	lo, delta  float32
	sum, qerr  float32
}

// newQueryCodes quantizes v for both passes.
func newQueryCodes(v []float32) *queryCodes {
	q := &queryCodes{codes: make([]int8, len(v)), abs: make([]int8, len(v)), words: signWords(len(v))}
	q.scale = quantize(v, q.codes)
	for i, c := range q.codes {
		q.abs[i] = max(c, -c)
	}
	lo, hi := slices.Min(v), slices.Max(v)
	q.lo, q.delta = lo, (hi-lo)/15
	q.planes = make([]uint64, 4*q.words)
	for j, f := range v {
		var u int
		if q.delta > 0 {
			u = max(0, min(15, int(math.Round(float64((f-lo)/q.delta)))))
		}
		q.sum += lo + q.delta*float32(u)
		for p := range 4 {
			if u&(1<<p) != 0 {
				q.planes[p*q.words+j/64] |= 1 << (j % 64)
			}
		}
	}
	// Each rounding is within delta/2, uniform: their sum with random
	// signs has a standard deviation of delta*sqrt(dims/12); 3 of them.
	q.qerr = 3 * q.delta * float32(math.Sqrt(float64(len(v))/12))
	return q
}

// signWords is how many 64-bit words hold the signs of a vector of dims
// dimensions.
func signWords(dims int) int { return (dims + 63) / 64 }

// binaryEpsilon is RaBitQ's epsilon_0, the number of standard deviations
// of a sign code's estimate its error bound allows: 1.9 in the paper.
// Here the true distance falls outside the bounds for 0.6-0.7% of pairs
// (TestBinaryBoundHolds) and recall@10 at 1M stays 1.000; 1.0 took random
// vectors' searches from 0.93x to 0.70x the time of the codes alone, at
// recall 0.994 (docs/benchmarks.md).
const binaryEpsilon = 1.9

// signBlocks is how many blocks of 8 slots hold n slots: the sign bits
// and factors of the binary first pass are laid out by blocks (ragd_near).
func signBlocks(n int) int { return (n + 7) / 8 }

// setSigns writes the sign bits of x, the vector of slot i, into bits and
// its factors for the binary first pass into fac, both laid out by blocks
// of 8 slots (see ragd_near): 1/|x|_1, the error bound of the estimate,
// and the number of bits set. The bound also covers the int8 codes'
// rounding, which the first pass is compared against (a few thousandths
// of a distance).
func setSigns(x []float32, i int, bits []uint64, fac []float32) {
	words := signWords(len(x))
	b, l := i/8, i%8
	for w := range words {
		bits[(b*words+w)*8+l] = 0
	}
	var l1 float64
	var set int
	for j, f := range x {
		l1 += math.Abs(float64(f))
		if f > 0 {
			bits[(b*words+j/64)*8+l] |= 1 << (j % 64)
			set++
		}
	}
	f := fac[24*b+l:]
	if l1 == 0 {
		// A zero vector: every estimate is 0 and its bound covers any dot.
		f[0], f[8], f[16] = 0, 2, float32(set)
		return
	}
	d := float64(len(x))
	a := min(1, l1/math.Sqrt(d)) // <sign code, x> for a unit x
	err := 0.01
	if len(x) > 1 {
		err += math.Sqrt(1-a*a) / a * binaryEpsilon / math.Sqrt(d-1)
	}
	f[0], f[8], f[16] = float32(1/l1), float32(err), float32(set)
}

// signBounds runs the binary first pass over the valid slots of ch, whose
// sign bits are set: it writes to lb and ub (len(ch.scales) entries) the
// least and the greatest squared distance each slot can have from q given
// the error of its estimate, +Inf for slots not valid.
func signBounds(q *queryCodes, ch *vecChunk, lb, ub []float32, level simd) {
	n := len(ch.scales)
	if n == 0 {
		return
	}
	if len(ch.bits) < 8*signBlocks(n)*q.words || len(ch.fac) < 24*signBlocks(n) || len(ch.validity)*8 < n || len(lb) < n || len(ub) < n {
		panic("store: signBounds: buffers shorter than the slots")
	}
	C.ragd_signs(C.int(level), (*C.uint64_t)(&q.planes[0]), C.size_t(q.words), C.float(q.lo), C.float(q.delta),
		C.float(q.sum), C.float(q.qerr), (*C.uint64_t)(&ch.bits[0]), (*C.float)(&ch.fac[0]), (*C.uchar)(&ch.validity[0]),
		C.size_t(n), (*C.float)(&lb[0]), (*C.float)(&ub[0]))
}

// nearCodes estimates the squared distance from q to each valid slot of
// ch, a chunk of int8 codes within -127..127 (the kernel's byte products
// must not saturate), and writes the slots whose estimate is at most
// bound into idx and dist, returning how many; idx and dist need
// len(ch.scales) entries. With lb (signBounds), it reads the codes of
// only the slots whose least distance is within bound.
func nearCodes(q *queryCodes, ch *vecChunk, lb []float32, bound float32, idx []int32, dist []float32, level simd) int {
	n := len(ch.scales)
	if n == 0 {
		return 0
	}
	dims := len(q.codes)
	if len(ch.codes) < n*dims || len(ch.validity)*8 < n || len(idx) < n || len(dist) < n || lb != nil && len(lb) < n {
		panic("store: nearCodes: buffers shorter than the slots")
	}
	var lbp *C.float
	if lb != nil {
		lbp = (*C.float)(&lb[0])
	}
	return int(C.ragd_near(C.int(level), lbp, (*C.schar)(&q.codes[0]), (*C.schar)(&q.abs[0]), C.float(q.scale),
		(*C.schar)(&ch.codes[0]), (*C.float)(&ch.scales[0]), (*C.uchar)(&ch.validity[0]), C.size_t(dims), C.size_t(n),
		C.float(bound), (*C.int)(&idx[0]), (*C.float)(&dist[0])))
}
