package uselite

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernel on CPUs with AVX2 and FMA.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// gemm6x16AVX2 is gemm6x16 in AVX2/FMA assembly, without bounds checks.
//
//go:noescape
func gemm6x16AVX2(a *float32, lda int, b *float32, ldb int, c *float32, ldc int, k, m, acc int)

// gemm6x16 computes one tile of C = A·B, or C += A·B when acc is set:
// m (1 to 6) rows of A (lda floats apart, k values each) times k rows of
// B (ldb floats apart, 16 values each) into m rows of 16 values of C (ldc
// floats apart). It runs the AVX2/FMA assembly where the CPU has it and
// portable Go otherwise.
func gemm6x16(a []float32, lda int, b []float32, ldb int, c []float32, ldc int, k, m int, acc bool) {
	checkTile(a, lda, b, ldb, c, ldc, k, m)
	if !useAVX2 {
		gemm6x16Go(a, lda, b, ldb, c, ldc, k, m, acc)
		return
	}
	flag := 0
	if acc {
		flag = 1
	}
	gemm6x16AVX2(&a[0], lda, &b[0], ldb, &c[0], ldc, k, m, flag)
}
