#include "textflag.h"

// ROWS sets SI, R8..R12 to six row pointers base + r*ld (ld in bytes),
// rows at or past m (in AX) repeating the last of the m rows.
#define ROWS(base, ld) \
	MOVQ base, SI; \
	LEAQ (SI)(ld*1), R8; \
	CMPQ AX, $1; \
	CMOVQLE SI, R8; \
	LEAQ (R8)(ld*1), R9; \
	CMPQ AX, $2; \
	CMOVQLE R8, R9; \
	LEAQ (R9)(ld*1), R10; \
	CMPQ AX, $3; \
	CMOVQLE R9, R10; \
	LEAQ (R10)(ld*1), R11; \
	CMPQ AX, $4; \
	CMOVQLE R10, R11; \
	LEAQ (R11)(ld*1), R12; \
	CMPQ AX, $5; \
	CMOVQLE R11, R12

// STEP is one k step: the 16 weights at b0, b1 times the six A values at
// off(row)(R13), accumulated into Y0..Y11.
#define STEP(b0, b1, off) \
	VMOVUPS b0, Y12; \
	VMOVUPS b1, Y13; \
	VBROADCASTSS off(SI)(R13*1), Y14; \
	VFMADD231PS Y12, Y14, Y0; \
	VFMADD231PS Y13, Y14, Y1; \
	VBROADCASTSS off(R8)(R13*1), Y15; \
	VFMADD231PS Y12, Y15, Y2; \
	VFMADD231PS Y13, Y15, Y3; \
	VBROADCASTSS off(R9)(R13*1), Y14; \
	VFMADD231PS Y12, Y14, Y4; \
	VFMADD231PS Y13, Y14, Y5; \
	VBROADCASTSS off(R10)(R13*1), Y15; \
	VFMADD231PS Y12, Y15, Y6; \
	VFMADD231PS Y13, Y15, Y7; \
	VBROADCASTSS off(R11)(R13*1), Y14; \
	VFMADD231PS Y12, Y14, Y8; \
	VFMADD231PS Y13, Y14, Y9; \
	VBROADCASTSS off(R12)(R13*1), Y15; \
	VFMADD231PS Y12, Y15, Y10; \
	VFMADD231PS Y13, Y15, Y11

// func gemm6x16AVX2(a *float32, lda int, b *float32, ldb int, c *float32, ldc int, k, m, flags int)
//
// C[r][j] (+)= sum over p < k of A[r][p] * B[p][j] for rows r < m (1..6)
// and columns j < 16, strides in floats: C += A·B with flag bit 0
// (tileAcc), C = A·B without; bit 1 (tileReLU) stores max(0, C). Rows past
// m are computed on the last row again and stored over it with the same
// values. Requires AVX2 and FMA.
TEXT ·gemm6x16AVX2(SB), NOSPLIT, $0-72
	MOVQ m+56(FP), AX
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), BX
	SHLQ $2, BX
	ROWS(DI, BX)
	MOVQ flags+64(FP), CX
	TESTQ $1, CX
	JZ   zero
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS (R8), Y2
	VMOVUPS 32(R8), Y3
	VMOVUPS (R9), Y4
	VMOVUPS 32(R9), Y5
	VMOVUPS (R10), Y6
	VMOVUPS 32(R10), Y7
	VMOVUPS (R11), Y8
	VMOVUPS 32(R11), Y9
	VMOVUPS (R12), Y10
	VMOVUPS 32(R12), Y11
	JMP  loaded

zero:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loaded:
	MOVQ a+0(FP), DI
	MOVQ lda+8(FP), BX
	SHLQ $2, BX
	ROWS(DI, BX)
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), DX
	SHLQ $2, DX
	MOVQ k+48(FP), CX
	XORQ R13, R13
	TESTQ $1, CX
	JZ   pairs
	STEP((DI), 32(DI), 0)
	ADDQ DX, DI
	ADDQ $4, R13

pairs:
	SHRQ $1, CX
	JZ   done

loop:
	STEP((DI), 32(DI), 0)
	STEP((DI)(DX*1), 32(DI)(DX*1), 4)
	LEAQ (DI)(DX*2), DI
	ADDQ $8, R13
	DECQ CX
	JNZ  loop

done:
	MOVQ flags+64(FP), CX
	TESTQ $2, CX
	JZ   store
	VXORPS Y12, Y12, Y12
	VMAXPS Y12, Y0, Y0
	VMAXPS Y12, Y1, Y1
	VMAXPS Y12, Y2, Y2
	VMAXPS Y12, Y3, Y3
	VMAXPS Y12, Y4, Y4
	VMAXPS Y12, Y5, Y5
	VMAXPS Y12, Y6, Y6
	VMAXPS Y12, Y7, Y7
	VMAXPS Y12, Y8, Y8
	VMAXPS Y12, Y9, Y9
	VMAXPS Y12, Y10, Y10
	VMAXPS Y12, Y11, Y11

store:
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), BX
	SHLQ $2, BX
	ROWS(DI, BX)
	VMOVUPS Y0, (SI)
	VMOVUPS Y1, 32(SI)
	VMOVUPS Y2, (R8)
	VMOVUPS Y3, 32(R8)
	VMOVUPS Y4, (R9)
	VMOVUPS Y5, 32(R9)
	VMOVUPS Y6, (R10)
	VMOVUPS Y7, 32(R10)
	VMOVUPS Y8, (R11)
	VMOVUPS Y9, 32(R11)
	VMOVUPS Y10, (R12)
	VMOVUPS Y11, 32(R12)
	VZEROUPPER
	RET

// STEP512 is one k step of gemm6x32AVX512: the 32 weights at (DI) and
// (DI)(AX) times the six A values at off(row)(R13), into Z0..Z11.
#define STEP512(off) \
	VMOVUPS (DI), Z12; \
	VMOVUPS (DI)(AX*1), Z13; \
	VBROADCASTSS off(SI)(R13*1), Z14; \
	VFMADD231PS Z12, Z14, Z0; \
	VFMADD231PS Z13, Z14, Z1; \
	VBROADCASTSS off(R8)(R13*1), Z15; \
	VFMADD231PS Z12, Z15, Z2; \
	VFMADD231PS Z13, Z15, Z3; \
	VBROADCASTSS off(R9)(R13*1), Z14; \
	VFMADD231PS Z12, Z14, Z4; \
	VFMADD231PS Z13, Z14, Z5; \
	VBROADCASTSS off(R10)(R13*1), Z15; \
	VFMADD231PS Z12, Z15, Z6; \
	VFMADD231PS Z13, Z15, Z7; \
	VBROADCASTSS off(R11)(R13*1), Z14; \
	VFMADD231PS Z12, Z14, Z8; \
	VFMADD231PS Z13, Z14, Z9; \
	VBROADCASTSS off(R12)(R13*1), Z15; \
	VFMADD231PS Z12, Z15, Z10; \
	VFMADD231PS Z13, Z15, Z11; \
	ADDQ DX, DI

// func gemm6x32AVX512(a *float32, lda int, b *float32, ldb, bnext int, c *float32, ldc int, k, m, flags int)
//
// gemm6x16AVX2 on 32 columns: B's columns 16..31 are bnext floats after
// its columns 0..15 (the next packed panel, or simply 16). Requires
// AVX-512F.
TEXT ·gemm6x32AVX512(SB), NOSPLIT, $0-80
	MOVQ m+64(FP), AX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), BX
	SHLQ $2, BX
	ROWS(DI, BX)
	MOVQ flags+72(FP), CX
	TESTQ $1, CX
	JZ   zero512
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS (R8), Z2
	VMOVUPS 64(R8), Z3
	VMOVUPS (R9), Z4
	VMOVUPS 64(R9), Z5
	VMOVUPS (R10), Z6
	VMOVUPS 64(R10), Z7
	VMOVUPS (R11), Z8
	VMOVUPS 64(R11), Z9
	VMOVUPS (R12), Z10
	VMOVUPS 64(R12), Z11
	JMP  loaded512

zero512:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

loaded512:
	MOVQ a+0(FP), DI
	MOVQ lda+8(FP), BX
	SHLQ $2, BX
	ROWS(DI, BX)
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), DX
	SHLQ $2, DX
	MOVQ bnext+32(FP), AX
	SHLQ $2, AX
	MOVQ k+56(FP), CX
	XORQ R13, R13
	TESTQ $1, CX
	JZ   pairs512
	STEP512(0)
	ADDQ $4, R13

pairs512:
	SHRQ $1, CX
	JZ   done512

loop512:
	STEP512(0)
	STEP512(4)
	ADDQ $8, R13
	DECQ CX
	JNZ  loop512

done512:
	MOVQ flags+72(FP), CX
	TESTQ $2, CX
	JZ   store512
	VPXORD Z12, Z12, Z12
	VMAXPS Z12, Z0, Z0
	VMAXPS Z12, Z1, Z1
	VMAXPS Z12, Z2, Z2
	VMAXPS Z12, Z3, Z3
	VMAXPS Z12, Z4, Z4
	VMAXPS Z12, Z5, Z5
	VMAXPS Z12, Z6, Z6
	VMAXPS Z12, Z7, Z7
	VMAXPS Z12, Z8, Z8
	VMAXPS Z12, Z9, Z9
	VMAXPS Z12, Z10, Z10
	VMAXPS Z12, Z11, Z11

store512:
	MOVQ m+64(FP), AX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), BX
	SHLQ $2, BX
	ROWS(DI, BX)
	VMOVUPS Z0, (SI)
	VMOVUPS Z1, 64(SI)
	VMOVUPS Z2, (R8)
	VMOVUPS Z3, 64(R8)
	VMOVUPS Z4, (R9)
	VMOVUPS Z5, 64(R9)
	VMOVUPS Z6, (R10)
	VMOVUPS Z7, 64(R10)
	VMOVUPS Z8, (R11)
	VMOVUPS Z9, 64(R11)
	VMOVUPS Z10, (R12)
	VMOVUPS Z11, 64(R12)
	VZEROUPPER
	RET

// Offsets of the constants of softmaxAVX2, each repeated 8 times (see
// expConsts).
#define C_LOG2E 0
#define C_LN2HI 32
#define C_LN2LO 64
#define C_P5 96
#define C_P4 128
#define C_P3 160
#define C_P2 192
#define C_P1 224
#define C_P0 256
#define C_HALF 288
#define C_ONE 320
#define C_MIN 352
#define C_BIAS 384

// func softmaxAVX2(row *float32, n int, consts *[13][8]uint32)
//
// Replaces row[:n] by its softmax; n is a positive multiple of 8. The
// exponentials are expNeg's, eight at a time, arguments clamped at
// expNeg's lower limit. Requires AVX2 and FMA.
TEXT ·softmaxAVX2(SB), NOSPLIT, $0-24
	MOVQ row+0(FP), DI
	MOVQ n+8(FP), DX
	MOVQ consts+16(FP), AX

	// Maximum.
	MOVQ DI, SI
	MOVQ DX, CX
	VMOVUPS (SI), Y15
maxloop:
	VMAXPS (SI), Y15, Y15
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  maxloop
	VEXTRACTF128 $1, Y15, X0
	VMAXPS X0, X15, X15
	VPERMILPS $0x4E, X15, X0
	VMAXPS X0, X15, X15
	VPERMILPS $0xB1, X15, X0
	VMAXPS X0, X15, X15
	VBROADCASTSS X15, Y15

	// Exponentials and their sum.
	MOVQ DI, SI
	MOVQ DX, CX
	VXORPS Y14, Y14, Y14
exploop:
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0
	VMAXPS C_MIN(AX), Y0, Y0
	VMULPS C_LOG2E(AX), Y0, Y1
	VSUBPS C_HALF(AX), Y1, Y1
	VCVTTPS2DQ Y1, Y1
	VCVTDQ2PS Y1, Y2
	VFNMADD231PS C_LN2HI(AX), Y2, Y0
	VFNMADD231PS C_LN2LO(AX), Y2, Y0
	VMOVUPS C_P5(AX), Y3
	VFMADD213PS C_P4(AX), Y0, Y3
	VFMADD213PS C_P3(AX), Y0, Y3
	VFMADD213PS C_P2(AX), Y0, Y3
	VFMADD213PS C_P1(AX), Y0, Y3
	VFMADD213PS C_P0(AX), Y0, Y3
	VMULPS Y0, Y0, Y4
	VFMADD213PS Y0, Y4, Y3
	VADDPS C_ONE(AX), Y3, Y3
	VPADDD C_BIAS(AX), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y3, Y3
	VMOVUPS Y3, (SI)
	VADDPS Y3, Y14, Y14
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  exploop
	VEXTRACTF128 $1, Y14, X0
	VADDPS X0, X14, X14
	VPERMILPS $0x4E, X14, X0
	VADDPS X0, X14, X14
	VPERMILPS $0xB1, X14, X0
	VADDPS X0, X14, X14
	VMOVSS C_ONE(AX), X1
	VDIVSS X14, X1, X1
	VBROADCASTSS X1, Y1

	// Normalisation.
	MOVQ DI, SI
	MOVQ DX, CX
scaleloop:
	VMULPS (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  scaleloop
	VZEROUPPER
	RET
