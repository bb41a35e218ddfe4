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
// Before it, a first pass (ragd_planes_*) bounds each slot's distance
// from a 2-bit code a dimension, a quarter of its int8 codes' bytes, so
// that the scan reads the codes of only the slots that can be near.
// Slot x's code is c_j = u_j - 1.5 with u_j in 0..3 (setPlanes); with
// a = <c, x> / |c|, <v, c> / <c, x> estimates v.x with a standard
// deviation of sqrt((1 - a^2) / (dims - 1)) / a (extended RaBitQ, Gao et
// al. 2024). Slots come in blocks of 8, the validity byte's: word w of
// bit plane r of the block's slot l is bits[((b * words + w) * 2 + r) * 8
// + l] for block b (bit j is bit r of u_{64w+j}), and the block's factors
// fac[24b + 8k + l] are, for k = 0, 1, 2: 1 / <c, x>, sum_j u_j and
// 1 / a^2. The query is held as 4 bit planes of words each, v_j ~ lo +
// delta * t_j with t_j in 0..15, so that sum_j v_j u_j is lo * sum u +
// delta * sum_{p, r} 2^(p+r) popcount(qplane_p & plane_r), and its
// rounding adds a variance of delta^2 / 12 / a^2 to the estimate's. The
// layout puts 8 slots' same word side by side, so that one vector
// instruction counts them all and no sum crosses lanes.

// ragd_query4 is the query of the first pass: its 4-bit values' offset
// lo and step delta, the sum of its rounded values, the terms of the
// square of the error bound, va / a^2 - vb (eps^2 times the estimate's
// variance and its rounding's), and slack, added to every bound to cover
// the int8 codes' own rounding, which the bounds are compared with.
typedef struct {
	float lo, delta, sumq, va, vb, slack;
} ragd_query4;

// ragd_bound_slot is the end of every bounds function, one slot: from
// s = sum_j t_j u_j and the slot's factors f (f[0], f[8], f[16]), its
// estimated distance and least distance.
static inline void ragd_bound_slot(const ragd_query4 *q, float s, const float *f, float *est, float *lb) {
	float dot = (q->lo * f[8] + q->delta * s - 1.5f * q->sumq) * f[0];
	float err = __builtin_sqrtf(__builtin_fmaxf(0, f[16] * q->va - q->vb)) + q->slack;
	*est = 2 - 2 * dot;
	*lb = 2 - 2 * (dot + err);
}

static inline void ragd_bounds_scalar(const uint64_t *p, size_t words, const ragd_query4 *q,
		const uint64_t *bits, const float *fac, float *est, float *lb) {
	for (int l = 0; l < 8; l++) {
		uint32_t s = 0;
		for (size_t w = 0; w < words; w++) {
			uint64_t x0 = bits[(2 * w) * 8 + l], x1 = bits[(2 * w + 1) * 8 + l];
			for (int j = 3; j >= 0; j--) {
				uint64_t pj = p[(size_t)j * words + w];
				s += (uint32_t)(__builtin_popcountll(pj & x0) + 2 * __builtin_popcountll(pj & x1)) << j;
			}
		}
		ragd_bound_slot(q, (float)s, fac + l, est + l, lb + l);
	}
}

// ragd_within_scalar is the mask of the 8 slots whose least distance lb is
// within bound; ragd_below_scalar that of the 8 whose estimate e is below
// limit.
static inline unsigned ragd_within_scalar(const float *lb, float bound) {
	unsigned m = 0;
	for (int l = 0; l < 8; l++) m |= (unsigned)(lb[l] <= bound) << l;
	return m;
}

static inline unsigned ragd_below_scalar(const float *e, float limit) {
	unsigned m = 0;
	for (int l = 0; l < 8; l++) m |= (unsigned)(e[l] < limit) << l;
	return m;
}

static inline int ragd_dot_i8_scalar(const signed char *q, const signed char *absq, const signed char *c, size_t dims) {
	(void)absq;
	int s = 0;
	for (size_t j = 0; j < dims; j++) s += q[j] * c[j];
	return s;
}

// RAGD_BOUNDS defines the first pass NAME for a target, with its bounds
// of a block: it writes the least distance each slot of a chunk can have
// to lb (+Inf for slots not valid), and the valid slots whose estimated
// distance is below limit to idx and est, returning how many, so that
// the caller sees only the few that can be among the nearest by estimate.
// The blocks RAGD_BLOCKS_AHEAD on are prefetched: the chunk's blocks are
// read in order, but not fast enough for the hardware's prefetcher alone
// (6.5 against 7.9 ms at 1M x 384, BenchmarkScanCodes).
#define RAGD_BLOCKS_AHEAD 4
#define RAGD_BOUNDS(NAME, TARGET, BOUNDS, BELOW) \
TARGET static size_t NAME(const uint64_t *planes, size_t words, const ragd_query4 *q, \
		const uint64_t *bits, const float *fac, const unsigned char *validity, size_t n, float limit, \
		float *lb, int *idx, float *est) { \
	float e8[8], l8[8]; \
	size_t m = 0; \
	for (size_t b = 0; 8 * b < n; b++) { \
		unsigned valid = validity[b]; \
		int full = 8 * b + 8 <= n; \
		if (!full) valid &= (1u << (n - 8 * b)) - 1; \
		if (8 * (b + RAGD_BLOCKS_AHEAD) < n) { \
			const char *next = (const char *)(bits + 16 * (b + RAGD_BLOCKS_AHEAD) * words); \
			for (size_t o = 0; o < 128 * words; o += 64) __builtin_prefetch(next + o); \
			__builtin_prefetch(fac + 24 * (b + RAGD_BLOCKS_AHEAD)); \
			__builtin_prefetch(fac + 24 * (b + RAGD_BLOCKS_AHEAD) + 16); \
		} \
		float *out = full ? lb + 8 * b : l8; \
		unsigned keep = 0; \
		if (valid) { \
			BOUNDS(planes, words, q, bits + 16 * b * words, fac + 24 * b, e8, out); \
			keep = valid & BELOW(e8, limit); \
		} \
		if (valid != 0xff) \
			for (size_t l = 0; l < 8; l++) \
				if (!((valid >> l) & 1)) out[l] = __builtin_inff(); \
		if (!full) \
			for (size_t l = 0; 8 * b + l < n; l++) lb[8 * b + l] = l8[l]; \
		for (; keep; keep &= keep - 1) { \
			int l = __builtin_ctz(keep); \
			idx[m] = (int)(8 * b + (size_t)l); \
			est[m++] = e8[l]; \
		} \
	} \
	return m; \
}

// RAGD_NEAR defines the quantized scan NAME for a target, with its int8
// dot product and its test of 8 least distances against the bound. With
// lb (not NULL), the least distances of the first pass, it reads the
// codes of only the slots whose least distance is within bound. Those are
// scattered through the chunk, out of reach of the hardware's prefetcher:
// each one's codes and scale are prefetched when kept and its dot product
// taken RAGD_AHEAD slots later, so that their reads overlap.
#define RAGD_AHEAD 16
#define RAGD_NEAR(NAME, TARGET, DOT, WITHIN) \
TARGET static size_t NAME(const float *lb, const signed char *q, const signed char *absq, float qs, \
		const signed char *x, const float *scales, const unsigned char *validity, size_t dims, size_t n, \
		float bound, int *idx, float *dist) { \
	size_t m = 0, ring[RAGD_AHEAD], head = 0, tail = 0; \
	for (size_t b = 0; 8 * b < n || head != tail; b++) { \
		unsigned valid = 0; \
		if (8 * b < n) { \
			valid = validity[b]; \
			if (8 * b + 8 > n) valid &= (1u << (n - 8 * b)) - 1; \
			if (lb && 8 * b + 8 <= n) \
				valid &= WITHIN(lb + 8 * b, bound); \
			else if (lb) \
				for (unsigned v = valid; v; v &= v - 1) \
					if (!(lb[8 * b + __builtin_ctz(v)] <= bound)) valid &= ~(1u << __builtin_ctz(v)); \
		} \
		for (;;) { \
			if (valid && tail - head < RAGD_AHEAD) { \
				size_t i = 8 * b + (size_t)__builtin_ctz(valid); \
				valid &= valid - 1; \
				if (lb) { \
					for (size_t o = 0; o < dims; o += 64) __builtin_prefetch(x + i * dims + o); \
					__builtin_prefetch(scales + i); \
				} \
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

RAGD_BOUNDS(ragd_planes_scalar, , ragd_bounds_scalar, ragd_below_scalar)
RAGD_NEAR(ragd_near_scalar, , ragd_dot_i8_scalar, ragd_within_scalar)

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
// 8 slots' weighted counts s, their estimated and least distances
// (ragd_bound_slot).
__attribute__((target("avx2")))
static inline void ragd_bounds_end(__m256 s, const float *fac, const ragd_query4 *q, float *est, float *lb) {
	__m256 two = _mm256_set1_ps(2);
	__m256 sv = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(q->lo), _mm256_loadu_ps(fac + 8)),
		_mm256_mul_ps(_mm256_set1_ps(q->delta), s)), _mm256_set1_ps(1.5f * q->sumq));
	__m256 dot = _mm256_mul_ps(sv, _mm256_loadu_ps(fac));
	__m256 v = _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(fac + 16), _mm256_set1_ps(q->va)), _mm256_set1_ps(q->vb));
	__m256 err = _mm256_add_ps(_mm256_sqrt_ps(_mm256_max_ps(v, _mm256_setzero_ps())), _mm256_set1_ps(q->slack));
	_mm256_storeu_ps(est, _mm256_sub_ps(two, _mm256_mul_ps(two, dot)));
	_mm256_storeu_ps(lb, _mm256_sub_ps(two, _mm256_mul_ps(two, _mm256_add_ps(dot, err))));
}

// ragd_within_avx2 and ragd_below_avx2 are ragd_within_scalar and
// ragd_below_scalar in one comparison.
__attribute__((target("avx2")))
static inline unsigned ragd_within_avx2(const float *lb, float bound) {
	return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(lb), _mm256_set1_ps(bound), _CMP_LE_OQ));
}

__attribute__((target("avx2")))
static inline unsigned ragd_below_avx2(const float *e, float limit) {
	return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(e), _mm256_set1_ps(limit), _CMP_LT_OQ));
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

// ragd_planes2_avx2 is the weighted count of 4 slots' word w, both bit
// planes: plane 0's plus twice plane 1's.
__attribute__((target("avx2")))
static inline __m256i ragd_planes2_avx2(const uint64_t *x, const uint64_t *p, size_t words, size_t w) {
	__m256i hi = ragd_weighted_avx2(_mm256_loadu_si256((const __m256i *)(x + 8)), p, words, w);
	return _mm256_add_epi64(ragd_weighted_avx2(_mm256_loadu_si256((const __m256i *)x), p, words, w), _mm256_add_epi64(hi, hi));
}

__attribute__((target("avx2")))
static inline void ragd_bounds_avx2(const uint64_t *p, size_t words, const ragd_query4 *q,
		const uint64_t *bits, const float *fac, float *est, float *lb) {
	__m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
	for (size_t w = 0; w < words; w++) {
		a0 = _mm256_add_epi64(a0, ragd_planes2_avx2(bits + 16 * w, p, words, w));
		a1 = _mm256_add_epi64(a1, ragd_planes2_avx2(bits + 16 * w + 4, p, words, w));
	}
	// The low 32 bits of the 8 lanes, in order.
	const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
	__m256i s = _mm256_permute2x128_si256(_mm256_permutevar8x32_epi32(a0, even), _mm256_permutevar8x32_epi32(a1, even), 0x20);
	ragd_bounds_end(_mm256_cvtepi32_ps(s), fac, q, est, lb);
}

// ragd_bounds_avx512 counts 8 slots' words at once with vpopcntq.
__attribute__((target("avx2,avx512f,avx512vpopcntdq")))
static inline void ragd_bounds_avx512(const uint64_t *p, size_t words, const ragd_query4 *q,
		const uint64_t *bits, const float *fac, float *est, float *lb) {
	__m512i acc = _mm512_setzero_si512();
	for (size_t w = 0; w < words; w++) {
		__m512i x0 = _mm512_loadu_si512(bits + 16 * w), x1 = _mm512_loadu_si512(bits + 16 * w + 8);
		__m512i t = _mm512_setzero_si512();
		for (int j = 3; j >= 0; j--) {
			__m512i pj = _mm512_set1_epi64((long long)p[(size_t)j * words + w]);
			__m512i c1 = _mm512_popcnt_epi64(_mm512_and_si512(x1, pj));
			__m512i c = _mm512_add_epi64(_mm512_popcnt_epi64(_mm512_and_si512(x0, pj)), _mm512_add_epi64(c1, c1));
			t = _mm512_add_epi64(_mm512_add_epi64(t, t), c);
		}
		acc = _mm512_add_epi64(acc, t);
	}
	ragd_bounds_end(_mm256_cvtepi32_ps(_mm512_cvtepi64_epi32(acc)), fac, q, est, lb);
}

RAGD_BOUNDS(ragd_planes_avx2, __attribute__((target("avx2"))), ragd_bounds_avx2, ragd_below_avx2)
RAGD_BOUNDS(ragd_planes_avx512, __attribute__((target("avx2,avx512f,avx512vpopcntdq"))), ragd_bounds_avx512, ragd_below_avx2)
RAGD_NEAR(ragd_near_avx2, __attribute__((target("avx2"))), ragd_dot_i8_avx2, ragd_within_avx2)
#endif

// ragd_planes runs the first pass at SIMD level: 0 portable, 1 AVX2, 2
// AVX-512 with vpopcntq.
static size_t ragd_planes(int level, const uint64_t *planes, size_t words, const ragd_query4 *q,
		const uint64_t *bits, const float *fac, const unsigned char *validity, size_t n, float limit,
		float *lb, int *idx, float *est) {
#if defined(__x86_64__)
	if (level >= 2) return ragd_planes_avx512(planes, words, q, bits, fac, validity, n, limit, lb, idx, est);
	if (level == 1) return ragd_planes_avx2(planes, words, q, bits, fac, validity, n, limit, lb, idx, est);
#endif
	return ragd_planes_scalar(planes, words, q, bits, fac, validity, n, limit, lb, idx, est);
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
	simdAVX512        // AVX-512 with VPOPCNTQ, for the 2-bit first pass
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
// for the first pass, v_j ~ lo + delta * t_j with t_j in 0..15, held as 4
// bit planes of words each (bit j of planes[p*words+j/64] is bit p of
// t_j). sum is the sum of the 4-bit values; va and vb are the terms of
// the square of the first pass's error bound (ragd_query4).
type queryCodes struct {
	codes, abs []int8 // the int8 codes, and their magnitudes
	scale      float32
	planes     []uint64
	words      int
	lo, delta  float32
	sum        float32
	va, vb     float32
}

// newQueryCodes quantizes v for both passes.
func newQueryCodes(v []float32) *queryCodes {
	q := &queryCodes{codes: make([]int8, len(v)), abs: make([]int8, len(v)), words: planeWords(len(v))}
	q.scale = quantize(v, q.codes)
	for i, c := range q.codes {
		q.abs[i] = max(c, -c)
	}
	lo, hi := slices.Min(v), slices.Max(v)
	q.lo, q.delta = lo, (hi-lo)/15
	q.planes = make([]uint64, 4*q.words)
	for j, f := range v {
		var t int
		if q.delta > 0 {
			t = max(0, min(15, int(math.Round(float64((f-lo)/q.delta)))))
		}
		q.sum += lo + q.delta*float32(t)
		for p := range 4 {
			if t&(1<<p) != 0 {
				q.planes[p*q.words+j/64] |= 1 << (j % 64)
			}
		}
	}
	// The estimate's variance is (1/a^2 - 1) / (dims - 1) (ragd_near);
	// each rounding of the query is within delta/2, uniform, which adds
	// delta^2/12 a dimension over a code's squares, or delta^2/12/a^2.
	eps2 := float32(planeEpsilon * planeEpsilon)
	if len(v) > 1 {
		q.vb = eps2 / float32(len(v)-1)
	}
	q.va = q.vb + eps2*q.delta*q.delta/12
	return q
}

// planeWords is how many 64-bit words hold one bit a dimension of a vector
// of dims dimensions.
func planeWords(dims int) int { return (dims + 63) / 64 }

// planeEpsilon is the number of standard deviations of the first pass's
// estimate its error bound allows (RaBitQ's epsilon_0, 1.9 in the paper
// for sign bits): at 2.5 the true distance falls outside the bounds for
// 0.5-0.6% of pairs of random or clustered vectors, as it did for the
// sign bits' 1.9 (TestPlaneBoundHolds), with bounds half as wide: 0.108
// on either side of the estimate against 0.210.
const planeEpsilon = 2.5

// codeSlack widens every bound of the first pass, whose slots are kept or
// skipped by comparing them with distances estimated from int8 codes:
// those are within a few ten-thousandths of the true ones.
const codeSlack = 0.005

// slotBlocks is how many blocks of 8 slots hold n slots: the bit planes
// and factors of the first pass are laid out by blocks (ragd_near).
func slotBlocks(n int) int { return (n + 7) / 8 }

// planesLen and factorsLen are the lengths of the first pass's bit planes
// and factors for n slots of dims dimensions.
func planesLen(n, dims int) int { return 16 * slotBlocks(n) * planeWords(dims) }
func factorsLen(n int) int      { return 24 * slotBlocks(n) }

// setPlanes writes the 2-bit code of x, the unit vector of slot i, into
// bits and its factors for the first pass into fac, both laid out by
// blocks of 8 slots (see ragd_near). The code's 4 levels are 1.5, 0.5,
// -0.5 and -1.5 steps of x's root mean square, nearly the least squared
// error for a Gaussian's 4 levels, so that on random or rotated vectors
// the code's angle to x is about 20 degrees (a = 0.94), against 37 for
// sign bits: the estimate's error is half theirs, and the slots left
// within reach of the nearest a tenth or less (docs/benchmarks.md).
func setPlanes(x []float32, i int, bits []uint64, fac []float32) {
	words := planeWords(len(x))
	b, l := i/8, i%8
	var norm2 float64
	for _, f := range x {
		norm2 += float64(f) * float64(f)
	}
	f := fac[24*b+l:]
	if norm2 == 0 {
		// A zero vector: every estimate is 0 and its error bound, from
		// 1/a^2, covers any distance (with one dimension, where the
		// bound is the slack alone, the int8 codes' distance is 2, the
		// estimate, too).
		for w := range 2 * words {
			bits[(2*b*words+w)*8+l] = 0
		}
		f[0], f[8], f[16] = 0, 0, 1e12
		return
	}
	inv := float32(math.Sqrt(float64(len(x)) / norm2)) // 1 / the step
	// Sums of 2c = 2u - 3, an integer: <c, x> = cx / 2, |c|^2 = cc / 4.
	var cx float32
	var cc, usum int
	for w := range words {
		var p0, p1 uint64
		for j, v := range x[64*w : min(len(x), 64*w+64)] {
			// The conversion truncates toward zero: levels below 0 are
			// clamped to 0 either way. (A component a rounding away
			// from 0 may land on the level of the other sign: harmless,
			// the estimate uses the code as it is.)
			u := max(0, min(3, int(v*inv+2)))
			c := 2*u - 3
			cx += float32(c) * v
			cc += c * c
			usum += u
			p0 |= uint64(u&1) << j
			p1 |= uint64(u>>1) << j
		}
		bits[((b*words+w)*2)*8+l] = p0
		bits[((b*words+w)*2+1)*8+l] = p1
	}
	// The code's cosine with x; a code's every level has x's sign, so it
	// is positive.
	a := float64(cx) / math.Sqrt(float64(cc)*norm2)
	f[0], f[8], f[16] = 2/cx, float32(usum), float32(1/(a*a))
}

// planeBounds runs the first pass over the valid slots of ch, whose bit
// planes are set: it writes to lb (len(ch.scales) entries) the least
// squared distance each slot can have from q given the error of its
// estimate, +Inf for slots not valid, and to idx and est the slots whose
// estimated distance is below limit, returning how many (idx and est need
// len(ch.scales) entries).
func planeBounds(q *queryCodes, ch *vecChunk, limit float32, lb []float32, idx []int32, est []float32, level simd) int {
	n := len(ch.scales)
	if n == 0 {
		return 0
	}
	if len(ch.bits) < planesLen(n, len(q.codes)) || len(ch.fac) < factorsLen(n) || len(ch.validity)*8 < n || len(lb) < n || len(idx) < n || len(est) < n {
		panic("store: planeBounds: buffers shorter than the slots")
	}
	qp := C.ragd_query4{lo: C.float(q.lo), delta: C.float(q.delta), sumq: C.float(q.sum), va: C.float(q.va), vb: C.float(q.vb), slack: codeSlack}
	return int(C.ragd_planes(C.int(level), (*C.uint64_t)(&q.planes[0]), C.size_t(q.words), &qp, (*C.uint64_t)(&ch.bits[0]),
		(*C.float)(&ch.fac[0]), (*C.uchar)(&ch.validity[0]), C.size_t(n), C.float(limit), (*C.float)(&lb[0]), (*C.int)(&idx[0]), (*C.float)(&est[0])))
}

// nearCodes estimates the squared distance from q to each valid slot of
// ch, a chunk of int8 codes within -127..127 (the kernel's byte products
// must not saturate), and writes the slots whose estimate is at most
// bound into idx and dist, returning how many; idx and dist need
// len(ch.scales) entries. With lb (planeBounds), it reads the codes of
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
