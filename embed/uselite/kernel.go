package uselite

import "fmt"

// Tile shape of the matrix kernel gemm6x16: up to tileRows rows of A by
// tileCols columns of B, twelve AVX2 accumulators.
const (
	tileRows = 6
	tileCols = 16
)

// checkTile panics, as an out-of-range slice index would, when a tile of
// gemm6x16 reaches past one of its slices; the assembly does not check.
func checkTile(a []float32, lda int, b []float32, ldb int, c []float32, ldc int, k, m int) {
	if m < 1 || m > tileRows || k < 1 ||
		len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+tileCols || len(c) < (m-1)*ldc+tileCols {
		panic(fmt.Sprintf("uselite: gemm6x16 tile out of range (m %d k %d, len %d/%d/%d, ld %d/%d/%d)",
			m, k, len(a), len(b), len(c), lda, ldb, ldc))
	}
}

// gemm6x16Go is the portable gemm6x16.
func gemm6x16Go(a []float32, lda int, b []float32, ldb int, c []float32, ldc int, k, m int, acc bool) {
	for r := 0; r < m; r++ {
		var sum [tileCols]float32
		cr := c[r*ldc : r*ldc+tileCols]
		if acc {
			copy(sum[:], cr)
		}
		ar := a[r*lda : r*lda+k]
		for p, av := range ar {
			br := b[p*ldb : p*ldb+tileCols]
			for j := range sum {
				sum[j] += av * br[j]
			}
		}
		copy(cr, sum[:])
	}
}
