//go:build !amd64

package uselite

// useAVX2 is false off amd64: the portable kernel runs.
const useAVX2 = false

// gemm6x16 computes one tile of C = A·B, or C += A·B when acc is set:
// m (1 to 6) rows of A (lda floats apart, k values each) times k rows of
// B (ldb floats apart, 16 values each) into m rows of 16 values of C (ldc
// floats apart).
func gemm6x16(a []float32, lda int, b []float32, ldb int, c []float32, ldc int, k, m int, acc bool) {
	checkTile(a, lda, b, ldb, c, ldc, k, m)
	gemm6x16Go(a, lda, b, ldb, c, ldc, k, m, acc)
}
