//go:generate go run . -out ../gemm_amd64.s -stubs ../gemm_amd64_stub.go -pkg matmul

// Command asm generates the int8 GEMM micro-kernels of package matmul with
// avo: go generate ./matmul (or: cd matmul/_asm && go run . -out ../gemm_amd64.s -stubs ../gemm_amd64_stub.go -pkg matmul).
//
// Both kernels compute one register tile of C from packed panels (see
// matmul/gemm_simd.go for the layouts):
//
//   - gemmVNNI6x64: AVX-512 VNNI. A is packed biased to unsigned (a+128), four
//     k at a time per row; B is packed signed, four k of one column per
//     dword, 16 columns per zmm. One VPDPBUSD does 64 multiply-adds. The
//     caller passes −128·Σ_k b of each column as the starting sums of the
//     first block of k, and later blocks start from the tile itself, so the
//     kernel stores C straight into the matrix (rows ldc apart). Sums wrap
//     modulo 2^32, which is exact because the true result fits int32.
//   - gemmAVX2x4x16: AVX2 without VNNI, stored, overwriting, to a tile buffer
//     with a row stride of 64 int32. A and B are packed as int16, two k at
//     a time; VPMADDWD multiplies pairs exactly (|a·b| ≤ 2^14) into int32.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	vnni()
	avx2()
	Generate()
}

const (
	vnniMR = 6
	vnniNV = 4 // zmm vectors of B: 64 columns
)

func vnni() {
	TEXT("gemmVNNI6x64", NOSPLIT, "func(a, b *byte, c *int32, ldc, kq int, init *int32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("gemmVNNI6x64 adds a %d×64 tile over kq quads of k (AVX-512 VNNI) to its", vnniMR),
		"starting sums and stores it at c, rows ldc int32 apart. The starting",
		"sums are init[0:64] in every row when init is not nil, else the tile",
		"at c itself (a later block of k accumulating onto an earlier one).")
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	ldc := Load(Param("ldc"), GP64())
	n := Load(Param("kq"), GP64())
	init := Load(Param("init"), GP64())
	SHLQ(U8(2), ldc) // bytes

	acc := make([][]VecVirtual, vnniMR)
	for r := range acc {
		acc[r] = make([]VecVirtual, vnniNV)
		for v := range acc[r] {
			acc[r][v] = ZMM()
		}
	}
	row := GP64()
	TESTQ(init, init)
	JZ(LabelRef("fromc"))
	for v := 0; v < vnniNV; v++ {
		VMOVDQU32(Mem{Base: init, Disp: 64 * v}, acc[0][v])
	}
	for r := 1; r < vnniMR; r++ {
		for v := range acc[r] {
			VMOVDQA32(acc[0][v], acc[r][v])
		}
	}
	JMP(LabelRef("loop"))
	Label("fromc")
	MOVQ(c, row)
	for r := range acc {
		for v := range acc[r] {
			VMOVDQU32(Mem{Base: row, Disp: 64 * v}, acc[r][v])
		}
		if r+1 < vnniMR {
			ADDQ(ldc, row)
		}
	}
	bv := make([]VecVirtual, vnniNV)
	for v := range bv {
		bv[v] = ZMM()
	}
	Label("loop")
	CMPQ(n, U8(0))
	JE(LabelRef("done"))
	for v := range bv {
		VMOVDQU32(Mem{Base: b, Disp: 64 * v}, bv[v])
	}
	for r := 0; r < vnniMR; r++ {
		ar := ZMM()
		VPBROADCASTD(Mem{Base: a, Disp: 4 * r}, ar)
		for v := range bv {
			VPDPBUSD(bv[v], ar, acc[r][v])
		}
	}
	ADDQ(U32(64*vnniNV), b)
	ADDQ(U32(4*vnniMR), a)
	DECQ(n)
	JMP(LabelRef("loop"))
	Label("done")
	for r := range acc {
		for v := range acc[r] {
			VMOVDQU32(acc[r][v], Mem{Base: c, Disp: 64 * v})
		}
		if r+1 < vnniMR {
			ADDQ(ldc, c)
		}
	}
	VZEROUPPER()
	RET()
}

const (
	avx2MR = 4
	avx2NV = 2 // ymm vectors of B: 16 columns
)

func avx2() {
	TEXT("gemmAVX2x4x16", NOSPLIT, "func(a, b *int16, c *int32, kp int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("gemmAVX2x4x16 computes a %d×16 tile over kp pairs of k (AVX2, int16 pairs).", avx2MR))
	a := Load(Param("a"), GP64())
	b := Load(Param("b"), GP64())
	c := Load(Param("c"), GP64())
	n := Load(Param("kp"), GP64())

	acc := make([][]VecVirtual, avx2MR)
	for r := range acc {
		acc[r] = make([]VecVirtual, avx2NV)
		for v := range acc[r] {
			acc[r][v] = YMM()
			VPXOR(acc[r][v], acc[r][v], acc[r][v])
		}
	}
	bv := make([]VecVirtual, avx2NV)
	for v := range bv {
		bv[v] = YMM()
	}
	Label("loop")
	CMPQ(n, U8(0))
	JE(LabelRef("done"))
	for v := range bv {
		VMOVDQU(Mem{Base: b, Disp: 32 * v}, bv[v])
	}
	for r := 0; r < avx2MR; r++ {
		ar := YMM()
		VPBROADCASTD(Mem{Base: a, Disp: 4 * r}, ar)
		for v := range bv {
			t := YMM()
			VPMADDWD(bv[v], ar, t)
			VPADDD(t, acc[r][v], acc[r][v])
		}
	}
	ADDQ(U32(32*avx2NV), b)
	ADDQ(U32(4*avx2MR), a)
	DECQ(n)
	JMP(LabelRef("loop"))
	Label("done")
	for r := range acc {
		for v := range acc[r] {
			VMOVDQU(acc[r][v], Mem{Base: c, Disp: 4 * (64*r + 8*v)})
		}
	}
	VZEROUPPER()
	RET()
}
