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
