#include "textflag.h"

// func dot4x2AVX2(x *float32, xstride int, w *float32, wstride int, n int, out *[8]float32)
//
// out[2r+c] = sum over k < n of x[r*xstride+k] * w[c*wstride+k], for rows
// r < 4 and weight rows c < 2. n is a positive multiple of 8. Requires AVX2
// and FMA.
TEXT ·dot4x2AVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ xstride+8(FP), BX
	MOVQ w+16(FP), DI
	MOVQ wstride+24(FP), DX
	MOVQ n+32(FP), CX
	MOVQ out+40(FP), AX
	SHLQ $2, BX
	SHLQ $2, DX
	SHLQ $2, CX
	LEAQ (SI)(BX*1), R8
	LEAQ (R8)(BX*1), R9
	LEAQ (R9)(BX*1), R10
	LEAQ (DI)(DX*1), R11
	XORQ R12, R12
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

loop:
	VMOVUPS (DI)(R12*1), Y8
	VMOVUPS (R11)(R12*1), Y9
	VMOVUPS (SI)(R12*1), Y10
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	VMOVUPS (R8)(R12*1), Y11
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y9, Y11, Y3
	VMOVUPS (R9)(R12*1), Y12
	VFMADD231PS Y8, Y12, Y4
	VFMADD231PS Y9, Y12, Y5
	VMOVUPS (R10)(R12*1), Y13
	VFMADD231PS Y8, Y13, Y6
	VFMADD231PS Y9, Y13, Y7
	ADDQ $32, R12
	CMPQ R12, CX
	JLT  loop

	// Horizontal sums: Y0..Y3 -> out[0:4], Y4..Y7 -> out[4:8].
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (AX)
	VHADDPS Y5, Y4, Y4
	VHADDPS Y7, Y6, Y6
	VHADDPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS X5, X4, X4
	VMOVUPS X4, 16(AX)
	VZEROUPPER
	RET
