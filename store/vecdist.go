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

// ragd_code is the int8 code of p, a component times 127 over the
// vector's largest magnitude: p rounded half away from zero, as Go's
// math.Round does, within -127..127. |p| is at most 127 and a little, so
// the conversion truncates exactly; a value that is not (NaN, from a
// vector no API accepts) codes as 127, never as an undefined conversion.
static inline signed char ragd_code(float p) {
	float a = __builtin_fabsf(p);
	if (!(a < 127.5f)) return 127;
	float t = (float)(int)a;
	if (a - t >= 0.5f) t += 1;
	if (t > 127) t = 127;
	return (signed char)(p < 0 ? -(int)t : (int)t);
}

// ragd_quantize_scalar writes the int8 codes of x (dims floats) into
// codes and returns their scale: each component times 127 over x's
// largest magnitude, rounded (ragd_code). The products are float32 and
// the largest magnitude is order-free, so every level gives the same
// codes (TestQuantizeLevels).
static float ragd_quantize_scalar(const float *x, size_t dims, signed char *codes) {
	float top = 0;
	for (size_t j = 0; j < dims; j++) {
		float a = __builtin_fabsf(x[j]);
		if (a > top) top = a;
	}
	if (top == 0) {
		for (size_t j = 0; j < dims; j++) codes[j] = 0;
		return 0;
	}
	float inv = 127.0f / top;
	for (size_t j = 0; j < dims; j++) codes[j] = ragd_code(x[j] * inv);
	return top / 127.0f;
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
// within bound.
static inline unsigned ragd_within_scalar(const float *lb, float bound) {
	unsigned m = 0;
	for (int l = 0; l < 8; l++) m |= (unsigned)(lb[l] <= bound) << l;
	return m;
}

static inline int ragd_dot_i8_scalar(const signed char *q, const signed char *absq, const signed char *c, size_t dims) {
	(void)absq;
	int s = 0;
	for (size_t j = 0; j < dims; j++) s += q[j] * c[j];
	return s;
}

// RAGD_BOUNDS defines the first pass NAME for a target, with its bounds
// of a block: it writes the valid slots of a chunk whose least distance
// is within limit to idx, with their estimated and least distances to
// est and lb, and returns how many. Those few are all the second pass
// (RAGD_NEAR_KEPT) reads, and the caller's nearest by estimate are among
// them: an estimate below limit has its least distance below it too.
// The blocks RAGD_BLOCKS_AHEAD on are prefetched: the chunk's blocks are
// read in order, but not fast enough for the hardware's prefetcher alone
// (6.5 against 7.9 ms at 1M x 384, BenchmarkScanCodes, measured when each
// chunk's planes were allocations of their own).
#define RAGD_BLOCKS_AHEAD 4
#define RAGD_BOUNDS(NAME, TARGET, BOUNDS, WITHIN) \
TARGET static size_t NAME(const uint64_t *planes, size_t words, const ragd_query4 *q, \
		const uint64_t *bits, const float *fac, const unsigned char *validity, size_t n, float limit, \
		int *idx, float *est, float *lb) { \
	float e8[8], l8[8]; \
	size_t m = 0; \
	for (size_t b = 0; 8 * b < n; b++) { \
		unsigned valid = validity[b]; \
		if (8 * b + 8 > n) valid &= (1u << (n - 8 * b)) - 1; \
		if (8 * (b + RAGD_BLOCKS_AHEAD) < n) { \
			const char *next = (const char *)(bits + 16 * (b + RAGD_BLOCKS_AHEAD) * words); \
			for (size_t o = 0; o < 128 * words; o += 64) __builtin_prefetch(next + o); \
			__builtin_prefetch(fac + 24 * (b + RAGD_BLOCKS_AHEAD)); \
			__builtin_prefetch(fac + 24 * (b + RAGD_BLOCKS_AHEAD) + 16); \
		} \
		if (!valid) continue; \
		BOUNDS(planes, words, q, bits + 16 * b * words, fac + 24 * b, e8, l8); \
		for (unsigned keep = valid & WITHIN(l8, limit); keep; keep &= keep - 1) { \
			int l = __builtin_ctz(keep); \
			idx[m] = (int)(8 * b + (size_t)l); \
			est[m] = e8[l]; \
			lb[m++] = l8[l]; \
		} \
	} \
	return m; \
}

// RAGD_NEAR defines the quantized scan NAME for a target, with its int8
// dot product: every valid slot of a chunk, read in order.
#define RAGD_NEAR(NAME, TARGET, DOT) \
TARGET static size_t NAME(const signed char *q, const signed char *absq, float qs, \
		const signed char *x, const float *scales, const unsigned char *validity, size_t dims, size_t n, \
		float bound, int *idx, float *dist) { \
	size_t m = 0; \
	for (size_t i = 0; i < n; i++) { \
		if (!((validity[i >> 3] >> (i & 7)) & 1)) continue; \
		float d = 2 - 2 * qs * scales[i] * (float)DOT(q, absq, x + i * dims, dims); \
		if (d <= bound) { \
			idx[m] = (int)i; \
			dist[m++] = d; \
		} \
	} \
	return m; \
}

// RAGD_NEAR_KEPT defines the second pass NAME for a target: of the count
// slots the first pass kept of a chunk (slots, in order, with their least
// distances lb), it reads the codes of those whose least distance is
// within bound. They are scattered through the chunk, out of reach of the
// hardware's prefetcher: each one's codes and scale are prefetched when
// taken and its dot product computed RAGD_AHEAD slots later, so that their
// reads overlap.
#define RAGD_AHEAD 16
#define RAGD_NEAR_KEPT(NAME, TARGET, DOT) \
TARGET static size_t NAME(const int *slots, const float *lb, size_t count, const signed char *q, \
		const signed char *absq, float qs, const signed char *x, const float *scales, size_t dims, \
		float bound, int *idx, float *dist) { \
	size_t m = 0, ring[RAGD_AHEAD], head = 0, tail = 0, k = 0; \
	for (;;) { \
		if (k < count && tail - head < RAGD_AHEAD) { \
			if (lb[k] <= bound) { \
				size_t i = (size_t)slots[k]; \
				for (size_t o = 0; o < dims; o += 64) __builtin_prefetch(x + i * dims + o); \
				__builtin_prefetch(scales + i); \
				ring[tail++ % RAGD_AHEAD] = i; \
			} \
			k++; \
			continue; \
		} \
		if (head == tail) break; \
		size_t i = ring[head++ % RAGD_AHEAD]; \
		float d = 2 - 2 * qs * scales[i] * (float)DOT(q, absq, x + i * dims, dims); \
		if (d <= bound) { \
			idx[m] = (int)i; \
			dist[m++] = d; \
		} \
	} \
	return m; \
}

RAGD_BOUNDS(ragd_planes_scalar, , ragd_bounds_scalar, ragd_within_scalar)
RAGD_NEAR(ragd_near_scalar, , ragd_dot_i8_scalar)
RAGD_NEAR_KEPT(ragd_near_kept_scalar, , ragd_dot_i8_scalar)

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

// ragd_within_avx2 is ragd_within_scalar in one comparison.
__attribute__((target("avx2")))
static inline unsigned ragd_within_avx2(const float *lb, float bound) {
	return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(lb), _mm256_set1_ps(bound), _CMP_LE_OQ));
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

// ragd_quantize_avx2 is ragd_quantize_scalar 8 components at a time: the
// same products and the same rounding (truncate, then add one where the
// remainder is at least a half), so the same codes.
__attribute__((target("avx2")))
static float ragd_quantize_avx2(const float *x, size_t dims, signed char *codes) {
	const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	__m256 m = _mm256_setzero_ps();
	size_t j = 0;
	for (; j + 8 <= dims; j += 8) m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(x + j), magnitude));
	float lanes[8], top = 0;
	_mm256_storeu_ps(lanes, m);
	for (int l = 0; l < 8; l++)
		if (lanes[l] > top) top = lanes[l];
	for (size_t t = j; t < dims; t++) {
		float a = __builtin_fabsf(x[t]);
		if (a > top) top = a;
	}
	if (top == 0) {
		for (j = 0; j < dims; j++) codes[j] = 0;
		return 0;
	}
	float inv = 127.0f / top;
	const __m256 vinv = _mm256_set1_ps(inv), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1), most = _mm256_set1_ps(127);
	for (j = 0; j + 8 <= dims; j += 8) {
		__m256 p = _mm256_mul_ps(_mm256_loadu_ps(x + j), vinv);
		__m256 a = _mm256_and_ps(p, magnitude);
		__m256 t = _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
		t = _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(a, t), half, _CMP_GE_OQ), one));
		t = _mm256_or_ps(_mm256_min_ps(t, most), _mm256_andnot_ps(magnitude, p)); // p's sign back
		__m256i c = _mm256_cvttps_epi32(t);
		__m128i w = _mm_packs_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
		_mm_storel_epi64((__m128i *)(codes + j), _mm_packs_epi16(w, w));
	}
	for (; j < dims; j++) codes[j] = ragd_code(x[j] * inv);
	return top / 127.0f;
}

// ragd_set_planes_avx2 is setPlanes (Go) 8 components at a time, for slot
// l of a block whose bit planes start at bits and factors at f: the same
// levels, and sums in another order (within float rounding of Go's;
// TestSetPlanesLevels). Not FMA: x * inv + 2 is rounded twice, as in Go.
__attribute__((target("avx2")))
static void ragd_set_planes_avx2(const float *x, size_t dims, uint64_t *bits, size_t words, int l, float *f) {
	__m256d n0 = _mm256_setzero_pd(), n1 = _mm256_setzero_pd();
	size_t j = 0;
	for (; j + 8 <= dims; j += 8) {
		__m256 v = _mm256_loadu_ps(x + j);
		__m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
		n0 = _mm256_add_pd(n0, _mm256_mul_pd(lo, lo));
		n1 = _mm256_add_pd(n1, _mm256_mul_pd(hi, hi));
	}
	double n4[4], norm2 = 0;
	_mm256_storeu_pd(n4, _mm256_add_pd(n0, n1));
	norm2 = (n4[0] + n4[1]) + (n4[2] + n4[3]);
	for (; j < dims; j++) norm2 += (double)x[j] * (double)x[j];
	if (norm2 == 0) {
		for (size_t w = 0; w < 2 * words; w++) bits[w * 8 + l] = 0;
		f[0] = 0, f[8] = 0, f[16] = 1e12f;
		return;
	}
	float inv = (float)_mm_cvtsd_f64(_mm_sqrt_sd(_mm_setzero_pd(), _mm_set_sd((double)dims / norm2)));
	const __m256 vinv = _mm256_set1_ps(inv), two = _mm256_set1_ps(2);
	const __m256i three = _mm256_set1_epi32(3), zero = _mm256_setzero_si256();
	__m256 cx8 = _mm256_setzero_ps();
	float cx1 = 0;
	long cc = 0, usum = 0;
	for (size_t w = 0; w < words; w++) {
		uint64_t p0 = 0, p1 = 0;
		size_t start = 64 * w, end = dims < start + 64 ? dims : start + 64;
		for (j = start; j + 8 <= end; j += 8) {
			__m256 v = _mm256_loadu_ps(x + j);
			__m256i u = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(v, vinv), two));
			u = _mm256_max_epi32(zero, _mm256_min_epi32(u, three));
			__m256 c = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_add_epi32(u, u), three));
			cx8 = _mm256_add_ps(cx8, _mm256_mul_ps(c, v));
			p0 |= (uint64_t)(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(u, 31))) << (j - start);
			p1 |= (uint64_t)(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(u, 30))) << (j - start);
		}
		for (; j < end; j++) {
			float level = x[j] * inv + 2;
			int u = level >= 3 ? 3 : level > 0 ? (int)level : 0; // NaN: 0, as the vector lanes give
			cx1 += (float)(2 * u - 3) * x[j];
			p0 |= (uint64_t)(u & 1) << (j - start);
			p1 |= (uint64_t)(u >> 1) << (j - start);
		}
		bits[(2 * w) * 8 + l] = p0;
		bits[(2 * w + 1) * 8 + l] = p1;
		size_t len = end - start;
		uint64_t mask = len == 64 ? ~(uint64_t)0 : ((uint64_t)1 << len) - 1;
		long outer = __builtin_popcountll(~(p0 ^ p1) & mask);
		cc += 9 * outer + ((long)len - outer);
		usum += __builtin_popcountll(p0) + 2 * __builtin_popcountll(p1);
	}
	float c8[8];
	_mm256_storeu_ps(c8, cx8);
	float cx = (((c8[0] + c8[1]) + (c8[2] + c8[3])) + ((c8[4] + c8[5]) + (c8[6] + c8[7]))) + cx1;
	double a = (double)cx / _mm_cvtsd_f64(_mm_sqrt_sd(_mm_setzero_pd(), _mm_set_sd((double)cc * norm2)));
	f[0] = 2 / cx, f[8] = (float)usum, f[16] = (float)(1 / (a * a));
}

RAGD_BOUNDS(ragd_planes_avx2, __attribute__((target("avx2"))), ragd_bounds_avx2, ragd_within_avx2)
RAGD_BOUNDS(ragd_planes_avx512, __attribute__((target("avx2,avx512f,avx512vpopcntdq"))), ragd_bounds_avx512, ragd_within_avx2)
RAGD_NEAR(ragd_near_avx2, __attribute__((target("avx2"))), ragd_dot_i8_avx2)
RAGD_NEAR_KEPT(ragd_near_kept_avx2, __attribute__((target("avx2"))), ragd_dot_i8_avx2)
#endif

// ragd_planes runs the first pass at SIMD level: 0 portable, 1 AVX2, 2
// AVX-512 with vpopcntq.
static size_t ragd_planes(int level, const uint64_t *planes, size_t words, const ragd_query4 *q,
		const uint64_t *bits, const float *fac, const unsigned char *validity, size_t n, float limit,
		int *idx, float *est, float *lb) {
#if defined(__x86_64__)
	if (level >= 2) return ragd_planes_avx512(planes, words, q, bits, fac, validity, n, limit, idx, est, lb);
	if (level == 1) return ragd_planes_avx2(planes, words, q, bits, fac, validity, n, limit, idx, est, lb);
#endif
	return ragd_planes_scalar(planes, words, q, bits, fac, validity, n, limit, idx, est, lb);
}

// ragd_near runs the quantized scan with AVX2 or portably.
static size_t ragd_near(int level, const signed char *q, const signed char *absq, float qs,
		const signed char *x, const float *scales, const unsigned char *validity, size_t dims, size_t n,
		float bound, int *idx, float *dist) {
#if defined(__x86_64__)
	if (level >= 1) return ragd_near_avx2(q, absq, qs, x, scales, validity, dims, n, bound, idx, dist);
#endif
	return ragd_near_scalar(q, absq, qs, x, scales, validity, dims, n, bound, idx, dist);
}

// ragd_near_kept runs the second pass with AVX2 or portably.
static size_t ragd_near_kept(int level, const int *slots, const float *lb, size_t count, const signed char *q,
		const signed char *absq, float qs, const signed char *x, const float *scales, size_t dims,
		float bound, int *idx, float *dist) {
#if defined(__x86_64__)
	if (level >= 1) return ragd_near_kept_avx2(slots, lb, count, q, absq, qs, x, scales, dims, bound, idx, dist);
#endif
	return ragd_near_kept_scalar(slots, lb, count, q, absq, qs, x, scales, dims, bound, idx, dist);
}

// ragd_quantize writes the int8 codes of the n vectors of dims floats at
// x into codes (n * dims) and their scales into scales, with AVX2 or
// portably: one call a chunk, so that cgo's cost is paid once for 1,024
// vectors.
static void ragd_quantize(int avx2, const float *x, size_t n, size_t dims, signed char *codes, float *scales) {
	for (size_t i = 0; i < n; i++, x += dims, codes += dims) {
#if defined(__x86_64__)
		if (avx2) {
			scales[i] = ragd_quantize_avx2(x, dims, codes);
			continue;
		}
#endif
		scales[i] = ragd_quantize_scalar(x, dims, codes);
	}
}

// ragd_set_planes sets the 2-bit codes and factors (setPlanes) of the n
// vectors of dims floats at x, slots 0..n-1 of a chunk laid out by blocks
// of 8, with AVX2. One call a chunk, as ragd_quantize.
static void ragd_set_planes(const float *x, size_t n, size_t dims, uint64_t *bits, float *fac) {
#if defined(__x86_64__)
	size_t words = (dims + 63) / 64;
	for (size_t i = 0; i < n; i++)
		ragd_set_planes_avx2(x + i * dims, dims, bits + 16 * (i / 8) * words, words, (int)(i % 8), fac + 24 * (i / 8) + i % 8);
#endif
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
	mathbits "math/bits"
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

// quantize writes x's int8 codes into codes and returns their scale: each
// component times 127 over x's largest magnitude, rounded half away from
// zero, so that a code times the scale is within half a scale of the
// float. Codes stay within -127..127.
func quantize(x []float32, codes []int8) float32 {
	var scale [1]float32
	quantizeVectors(x, len(x), codes, scale[:], hasAVX2)
	return scale[0]
}

// quantizeVectors quantizes (as quantize does) each of the len(scales)
// vectors of dims floats in x into codes, with AVX2 when avx2. Loading a
// collection's codes quantizes every vector: in Go this took 2.9 us a
// vector of 384 dimensions, 64% of the load's CPU (BenchmarkSetCodes).
func quantizeVectors(x []float32, dims int, codes []int8, scales []float32, avx2 bool) {
	n := len(scales)
	if n == 0 || dims == 0 {
		clear(scales)
		return
	}
	if len(x) < n*dims || len(codes) < n*dims {
		panic("store: quantizeVectors: buffers shorter than the vectors")
	}
	flag := C.int(0)
	if avx2 {
		flag = 1
	}
	C.ragd_quantize(flag, (*C.float)(&x[0]), C.size_t(n), C.size_t(dims), (*C.schar)(&codes[0]), (*C.float)(&scales[0]))
}

// setPlanesVectors sets the 2-bit codes and factors (setPlanes) of the
// len(x)/dims vectors of x, slots 0.. of a chunk, with AVX2 when avx2
// (about a fifth of setPlanes's time, BenchmarkSetCodes) and in Go
// otherwise.
func setPlanesVectors(x []float32, dims int, bits []uint64, fac []float32, avx2 bool) {
	n := len(x) / max(dims, 1)
	if n == 0 {
		return
	}
	if len(bits) < planesLen(n, dims) || len(fac) < factorsLen(n) {
		panic("store: setPlanesVectors: buffers shorter than the vectors")
	}
	if !avx2 {
		for i := range n {
			setPlanes(x[i*dims:(i+1)*dims], i, bits, fac)
		}
		return
	}
	C.ragd_set_planes((*C.float)(&x[0]), C.size_t(n), C.size_t(dims), (*C.uint64_t)(&bits[0]), (*C.float)(&fac[0]))
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
	// margin is the standard deviation of a typical slot's estimated
	// distance (firstPass).
	margin float32
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
	// A slot's bound is eps standard deviations of its dot product, each
	// twice that in distance; a typical slot's a^2 is 0.88 (a 2-bit code
	// of a Gaussian's 4 levels has a cosine of 0.94 with its vector).
	q.margin = 2 * float32(math.Sqrt(float64(max(0, q.va/0.88-q.vb)))) / planeEpsilon
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
	// Four sums each, not one: a single running sum waits on the
	// previous addition at every component, which made this function
	// twice as slow (BenchmarkSetCodes).
	var n4 [4]float64
	j := 0
	for ; j+4 <= len(x); j += 4 {
		n4[0] += float64(x[j]) * float64(x[j])
		n4[1] += float64(x[j+1]) * float64(x[j+1])
		n4[2] += float64(x[j+2]) * float64(x[j+2])
		n4[3] += float64(x[j+3]) * float64(x[j+3])
	}
	for ; j < len(x); j++ {
		n4[0] += float64(x[j]) * float64(x[j])
	}
	norm2 := (n4[0] + n4[1]) + (n4[2] + n4[3])
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
	var cx4 [4]float32
	var cc, usum int
	for w := range words {
		var p0, p1 uint64
		part := x[64*w : min(len(x), 64*w+64)]
		for j, v := range part {
			// The conversion truncates toward zero: levels below 0 are
			// clamped to 0 either way. (A component a rounding away
			// from 0 may land on the level of the other sign: harmless,
			// the estimate uses the code as it is.)
			u := max(0, min(3, int(v*inv+2)))
			cx4[j&3] += float32(2*u-3) * v
			p0 |= uint64(u&1) << j
			p1 |= uint64(u>>1) << j
		}
		bits[((b*words+w)*2)*8+l] = p0
		bits[((b*words+w)*2+1)*8+l] = p1
		// c^2 is 9 at the outer levels (u = 0 or 3: both bits equal), 1
		// at the inner ones.
		outer := mathbits.OnesCount64(^(p0 ^ p1) & (1<<len(part) - 1))
		cc += 9*outer + (len(part) - outer)
		usum += mathbits.OnesCount64(p0) + 2*mathbits.OnesCount64(p1)
	}
	cx := (cx4[0] + cx4[1]) + (cx4[2] + cx4[3])
	// The code's cosine with x; a code's every level has x's sign, so it
	// is positive.
	a := float64(cx) / math.Sqrt(float64(cc)*norm2)
	f[0], f[8], f[16] = 2/cx, float32(usum), float32(1/(a*a))
}

// planeBounds runs the first pass over the valid slots of ch, whose bit
// planes are set: it writes to idx the slots whose least squared distance
// from q, given the error of their estimates, is within limit, and their
// estimated and least distances to est and lb, returning how many (idx,
// est and lb need len(ch.scales) entries).
func planeBounds(q *queryCodes, ch *vecChunk, limit float32, idx []int32, est, lb []float32, level simd) int {
	n := len(ch.scales)
	if n == 0 {
		return 0
	}
	if len(ch.bits) < planesLen(n, len(q.codes)) || len(ch.fac) < factorsLen(n) || len(ch.validity)*8 < n || len(lb) < n || len(idx) < n || len(est) < n {
		panic("store: planeBounds: buffers shorter than the slots")
	}
	qp := C.ragd_query4{lo: C.float(q.lo), delta: C.float(q.delta), sumq: C.float(q.sum), va: C.float(q.va), vb: C.float(q.vb), slack: codeSlack}
	return int(C.ragd_planes(C.int(level), (*C.uint64_t)(&q.planes[0]), C.size_t(q.words), &qp, (*C.uint64_t)(&ch.bits[0]),
		(*C.float)(&ch.fac[0]), (*C.uchar)(&ch.validity[0]), C.size_t(n), C.float(limit), (*C.int)(&idx[0]), (*C.float)(&est[0]), (*C.float)(&lb[0])))
}

// nearCodes estimates the squared distance from q to each valid slot of
// ch, a chunk of int8 codes within -127..127 (the kernel's byte products
// must not saturate), and writes the slots whose estimate is at most
// bound into idx and dist, returning how many; idx and dist need
// len(ch.scales) entries.
func nearCodes(q *queryCodes, ch *vecChunk, bound float32, idx []int32, dist []float32, level simd) int {
	n := len(ch.scales)
	if n == 0 {
		return 0
	}
	dims := len(q.codes)
	if len(ch.codes) < n*dims || len(ch.validity)*8 < n || len(idx) < n || len(dist) < n {
		panic("store: nearCodes: buffers shorter than the slots")
	}
	return int(C.ragd_near(C.int(level), (*C.schar)(&q.codes[0]), (*C.schar)(&q.abs[0]), C.float(q.scale),
		(*C.schar)(&ch.codes[0]), (*C.float)(&ch.scales[0]), (*C.uchar)(&ch.validity[0]), C.size_t(dims), C.size_t(n),
		C.float(bound), (*C.int)(&idx[0]), (*C.float)(&dist[0])))
}

// nearKept is nearCodes over only the slots of ch that the first pass
// kept (planeBounds), in order, with their least distances: it reads the
// codes of those whose least distance is within bound. idx and dist need
// len(kept.slots) entries.
func nearKept(q *queryCodes, ch *vecChunk, kept keptSlots, bound float32, idx []int32, dist []float32, level simd) int {
	if len(kept.slots) == 0 {
		return 0
	}
	dims := len(q.codes)
	if len(kept.lb) < len(kept.slots) || len(idx) < len(kept.slots) || len(dist) < len(kept.slots) {
		panic("store: nearKept: buffers shorter than the slots")
	}
	for _, i := range kept.slots {
		if i < 0 || int(i) >= len(ch.scales) || len(ch.codes) < (int(i)+1)*dims {
			panic("store: nearKept: a slot past the chunk")
		}
	}
	return int(C.ragd_near_kept(C.int(level), (*C.int)(&kept.slots[0]), (*C.float)(&kept.lb[0]), C.size_t(len(kept.slots)),
		(*C.schar)(&q.codes[0]), (*C.schar)(&q.abs[0]), C.float(q.scale), (*C.schar)(&ch.codes[0]), (*C.float)(&ch.scales[0]),
		C.size_t(dims), C.float(bound), (*C.int)(&idx[0]), (*C.float)(&dist[0])))
}
