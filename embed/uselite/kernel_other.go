//go:build !amd64

package uselite

// No assembly kernels off amd64: the portable kernel runs.
const (
	useAVX512 = false
	useAVX2   = false
)

// gemm6x16 computes one tile of C = A·B (C += A·B with flag tileAcc,
// then max(0, C) with flag tileReLU): m (1 to 6) rows of A (lda floats
// apart, k values each) times k rows of B (ldb floats apart, 16 values
// each) into m rows of 16 values of C (ldc floats apart).
func gemm6x16(a []float32, lda int, b []float32, ldb int, c []float32, ldc int, k, m, flags int) {
	checkTile(a, lda, b, ldb, 0, c, ldc, k, m, panelCols)
	gemm6x16Go(a, lda, b, ldb, c, ldc, k, m, flags)
}

// gemmTile is gemm6x16 on 32 columns of C, B's columns 16 to 31 being
// bnext floats after its columns 0 to 15 (the next weight panel, or
// simply 16 in a row-major B).
func gemmTile(a []float32, lda int, b []float32, ldb, bnext int, c []float32, ldc int, k, m, flags int) {
	gemm6x16(a, lda, b, ldb, c, ldc, k, m, flags)
	gemm6x16(a, lda, b[bnext:], ldb, c[panelCols:], ldc, k, m, flags)
}

// softmax replaces row[:n] by its softmax.
func softmax(row []float32, n int) { softmaxGo(row[:n]) }
