package store

/*
#include <stddef.h>

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

// ragd_near_i8_scalar estimates the squared distance from the query to
// each valid slot i < n of a chunk of int8 codes (bit i of validity set):
// for unit vectors |v - x|^2 = 2 - 2 v.x, with v.x about the codes' integer
// dot product times the query's scale qs and the slot's scales[i]. It
// writes the slots whose estimate is at most bound to idx and dist and
// returns how many, so the caller handles only the few that can enter its
// top k.
static size_t ragd_near_i8_scalar(const signed char *q, float qs, const signed char *x, const float *scales,
		const unsigned char *validity, size_t dims, size_t n, float bound, int *idx, float *dist) {
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(validity[i >> 3] & (1 << (i & 7)))) continue;
		const signed char *c = x + i * dims;
		int s = 0;
		for (size_t j = 0; j < dims; j++) s += q[j] * c[j];
		float d = 2 - 2 * qs * scales[i] * (float)s;
		if (d <= bound) {
			idx[m] = (int)i;
			dist[m++] = d;
		}
	}
	return m;
}

#if defined(__x86_64__)
// ragd_near_i8_avx2 is ragd_near_i8_scalar with AVX2, 32 codes at a time:
// maddubs multiplies unsigned by signed bytes, so q's magnitudes (absq)
// multiply x's codes carrying q's signs, into pairs of int16 (at most
// 2 x 127 x 127, no saturation), which madd sums into int32.
__attribute__((target("avx2")))
static size_t ragd_near_i8_avx2(const signed char *q, const signed char *absq, float qs, const signed char *x,
		const float *scales, const unsigned char *validity, size_t dims, size_t n, float bound, int *idx, float *dist) {
	const __m256i ones = _mm256_set1_epi16(1);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(validity[i >> 3] & (1 << (i & 7)))) continue;
		const signed char *c = x + i * dims;
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
		float d = 2 - 2 * qs * scales[i] * (float)s;
		if (d <= bound) {
			idx[m] = (int)i;
			dist[m++] = d;
		}
	}
	return m;
}
#endif

static size_t ragd_near_i8(int avx2, const signed char *q, const signed char *absq, float qs, const signed char *x,
		const float *scales, const unsigned char *validity, size_t dims, size_t n, float bound, int *idx, float *dist) {
#if defined(__x86_64__)
	if (avx2) return ragd_near_i8_avx2(q, absq, qs, x, scales, validity, dims, n, bound, idx, dist);
#endif
	return ragd_near_i8_scalar(q, qs, x, scales, validity, dims, n, bound, idx, dist);
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
	"golang.org/x/sys/cpu"
)

// hasAVX2 selects the AVX2+FMA distance kernel; CPUs without it use the
// portable one.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

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

// queryCodes is a query quantized for scans of int8 codes (nearInt8).
type queryCodes struct {
	codes, abs []int8 // the codes, and their magnitudes
	scale      float32
}

// newQueryCodes quantizes v as the cache quantizes vectors (quantize).
func newQueryCodes(v []float32) *queryCodes {
	q := &queryCodes{codes: make([]int8, len(v)), abs: make([]int8, len(v))}
	q.scale = quantize(v, q.codes)
	for i, c := range q.codes {
		q.abs[i] = max(c, -c)
	}
	return q
}

// nearInt8 estimates the squared distance from q to each valid slot (bit
// set in validity) of codes, which holds len(scales) vectors of
// len(q.codes) codes within -127..127 (the kernel's byte products must not
// saturate), and writes the slots whose estimate is at most bound into idx
// and dist, returning how many; idx and dist need len(scales) entries.
func nearInt8(q *queryCodes, codes []int8, scales []float32, validity []byte, bound float32, idx []int32, dist []float32, avx2 bool) int {
	n := len(scales)
	if n == 0 {
		return 0
	}
	if len(codes) < n*len(q.codes) || len(validity)*8 < n || len(idx) < n || len(dist) < n {
		panic("store: nearInt8: buffers shorter than the slots")
	}
	flag := C.int(0)
	if avx2 {
		flag = 1
	}
	return int(C.ragd_near_i8(flag, (*C.schar)(&q.codes[0]), (*C.schar)(&q.abs[0]), C.float(q.scale), (*C.schar)(&codes[0]),
		(*C.float)(&scales[0]), (*C.uchar)(&validity[0]), C.size_t(len(q.codes)), C.size_t(n), C.float(bound),
		(*C.int)(&idx[0]), (*C.float)(&dist[0])))
}
