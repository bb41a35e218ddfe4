package uselite

import "fmt"

// Tile shapes. Weights are packed in panels of panelCols outputs; the
// matrix products run in tiles of up to tileRows rows by tileCols columns
// (two panels): twelve AVX-512 accumulators, or two 6×16 AVX2 tiles of
// twelve accumulators each.
const (
	tileRows  = 6
	panelCols = 16
	tileCols  = 2 * panelCols
)

// Flags of a tile product.
const (
	tileAcc  = 1 << iota // add the product to C instead of overwriting it
	tileReLU             // store max(0, C)
)

// checkTile panics, as an out-of-range slice index would, when a tile of
// m rows, k inputs and cols columns (panelCols or tileCols, the second
// panel bnext floats after the first) reaches past one of its slices;
// the assembly does not check.
func checkTile(a []float32, lda int, b []float32, ldb, bnext int, c []float32, ldc int, k, m, cols int) {
	if m < 1 || m > tileRows || k < 1 ||
		len(a) < (m-1)*lda+k || len(b) < (k-1)*ldb+bnext+panelCols || len(c) < (m-1)*ldc+cols {
		panic(fmt.Sprintf("uselite: %d×%d tile out of range (k %d, len %d/%d/%d, ld %d/%d/%d, bnext %d)",
			m, cols, k, len(a), len(b), len(c), lda, ldb, ldc, bnext))
	}
}

// gemm6x16Go is the portable gemm6x16.
func gemm6x16Go(a []float32, lda int, b []float32, ldb int, c []float32, ldc int, k, m, flags int) {
	for r := 0; r < m; r++ {
		var sum [panelCols]float32
		cr := c[r*ldc : r*ldc+panelCols]
		if flags&tileAcc != 0 {
			copy(sum[:], cr)
		}
		ar := a[r*lda : r*lda+k]
		for p, av := range ar {
			br := b[p*ldb : p*ldb+panelCols]
			for j := range sum {
				sum[j] += av * br[j]
			}
		}
		if flags&tileReLU != 0 {
			for j, v := range sum {
				sum[j] = max(v, 0)
			}
		}
		copy(cr, sum[:])
	}
}
