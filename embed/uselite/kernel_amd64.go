package uselite

import (
	"math"

	"golang.org/x/sys/cpu"
)

// The assembly kernels in use: AVX-512 tiles where the CPU (and OS) have
// AVX-512F, AVX2/FMA tiles where they have those, portable Go otherwise.
var (
	useAVX512 = cpu.X86.HasAVX512F
	useAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// gemm6x16AVX2 is gemm6x16 in AVX2/FMA assembly, without bounds checks.
//
//go:noescape
func gemm6x16AVX2(a *float32, lda int, b *float32, ldb int, c *float32, ldc int, k, m, flags int)

// gemm6x32AVX512 is gemmTile in AVX-512 assembly, without bounds checks.
//
//go:noescape
func gemm6x32AVX512(a *float32, lda int, b *float32, ldb, bnext int, c *float32, ldc int, k, m, flags int)

// gemm6x16 computes one tile of C = A·B (C += A·B with flag tileAcc,
// then max(0, C) with flag tileReLU): m (1 to 6) rows of A (lda floats
// apart, k values each) times k rows of B (ldb floats apart, 16 values
// each) into m rows of 16 values of C (ldc floats apart).
func gemm6x16(a []float32, lda int, b []float32, ldb int, c []float32, ldc int, k, m, flags int) {
	checkTile(a, lda, b, ldb, 0, c, ldc, k, m, panelCols)
	if !useAVX2 {
		gemm6x16Go(a, lda, b, ldb, c, ldc, k, m, flags)
		return
	}
	gemm6x16AVX2(&a[0], lda, &b[0], ldb, &c[0], ldc, k, m, flags)
}

// gemmTile is gemm6x16 on 32 columns of C, B's columns 16 to 31 being
// bnext floats after its columns 0 to 15 (the next weight panel, or
// simply 16 in a row-major B).
func gemmTile(a []float32, lda int, b []float32, ldb, bnext int, c []float32, ldc int, k, m, flags int) {
	if !useAVX512 {
		gemm6x16(a, lda, b, ldb, c, ldc, k, m, flags)
		gemm6x16(a, lda, b[bnext:], ldb, c[panelCols:], ldc, k, m, flags)
		return
	}
	checkTile(a, lda, b, ldb, bnext, c, ldc, k, m, tileCols)
	gemm6x32AVX512(&a[0], lda, &b[0], ldb, bnext, &c[0], ldc, k, m, flags)
}

// softmaxAVX2 is softmax in AVX2/FMA assembly for a row of n floats, n a
// positive multiple of 8.
//
//go:noescape
func softmaxAVX2(row *float32, n int, consts *[13][8]uint32)

// expConsts are softmaxAVX2's constants, each repeated for the eight
// lanes, in the order of the C_ offsets in kernel_amd64.s.
var expConsts = func() (c [13][8]uint32) {
	vals := []float32{expLog2e, expLn2Hi, expLn2Lo, expP5, expP4, expP3, expP2, expP1, expP0, 0.5, 1, expMin}
	for i, v := range vals {
		for j := range c[i] {
			c[i][j] = math.Float32bits(v)
		}
	}
	for j := range c[len(vals)] {
		c[len(vals)][j] = 127 // exponent bias
	}
	return c
}()

// softmax replaces row[:n] by its softmax, in AVX2 assembly where the CPU
// has it; row[n:] up to the next multiple of 8 is scratch space.
func softmax(row []float32, n int) {
	if !useAVX2 {
		softmaxGo(row[:n])
		return
	}
	n8 := (n + 7) &^ 7
	pad := row[n:n8]
	for j := range pad {
		pad[j] = float32(math.Inf(-1))
	}
	softmaxAVX2(&row[0], n8, &expConsts)
}
