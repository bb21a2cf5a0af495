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
//   - packBVNNI64 packs B for gemmVNNI6x64.
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
	packB()
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

// packB generates packBVNNI64: nq quads of k of one column panel of B
// (row-major, rows ldb bytes apart, 64 columns from src) into the VNNI
// layout, four k of a column a dword, and adds each column's sum to sums.
// Bytes of four rows interleave in 128-bit lanes (VPUNPCK*), and a 4×4
// transpose of lanes (VSHUFI32X4) puts columns in order; a VPDPBUSD of
// each output vector with ones sums its dwords' four signed bytes.
func packB() {
	TEXT("packBVNNI64", NOSPLIT, "func(dst, src *byte, ldb, nq int, sums *int32)")
	Pragma("noescape")
	Doc("packBVNNI64 packs nq quads of k of a 64-column panel of B (rows ldb bytes",
		"apart from src) into dst, dword c of quad q = rows 4q … 4q+3 of column c,",
		"and adds the columns' sums to sums[0:64].")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	ldb := Load(Param("ldb"), GP64())
	n := Load(Param("nq"), GP64())
	sums := Load(Param("sums"), GP64())
	ldb3 := GP64()
	LEAQ(Mem{Base: ldb, Index: ldb, Scale: 2}, ldb3)
	ones := ZMM()
	one := GP32()
	MOVL(U32(0x01010101), one)
	VPBROADCASTD(one, ones)
	acc := make([]VecVirtual, 4)
	for v := range acc {
		acc[v] = ZMM()
		VMOVDQU32(Mem{Base: sums, Disp: 64 * v}, acc[v])
	}
	Label("packloop")
	CMPQ(n, U8(0))
	JE(LabelRef("packdone"))
	r := make([]VecVirtual, 4)
	for i := range r {
		r[i] = ZMM()
	}
	VMOVDQU8(Mem{Base: src}, r[0])
	VMOVDQU8(Mem{Base: src, Index: ldb, Scale: 1}, r[1])
	VMOVDQU8(Mem{Base: src, Index: ldb, Scale: 2}, r[2])
	VMOVDQU8(Mem{Base: src, Index: ldb3, Scale: 1}, r[3])
	// Per 128-bit lane L (columns 16L … 16L+15): byte pairs, then dwords.
	lo01, hi01, lo23, hi23 := ZMM(), ZMM(), ZMM(), ZMM()
	VPUNPCKLBW(r[1], r[0], lo01)
	VPUNPCKHBW(r[1], r[0], hi01)
	VPUNPCKLBW(r[3], r[2], lo23)
	VPUNPCKHBW(r[3], r[2], hi23)
	x := make([]VecVirtual, 4) // x[i] lane L: columns 16L+4i … 16L+4i+3
	for i := range x {
		x[i] = ZMM()
	}
	VPUNPCKLWD(lo23, lo01, x[0])
	VPUNPCKHWD(lo23, lo01, x[1])
	VPUNPCKLWD(hi23, hi01, x[2])
	VPUNPCKHWD(hi23, hi01, x[3])
	// Transpose the 4×4 lanes: y[v] = (x0.v, x1.v, x2.v, x3.v).
	t := make([]VecVirtual, 4)
	for i := range t {
		t[i] = ZMM()
	}
	VSHUFI32X4(U8(0x44), x[1], x[0], t[0]) // x0.0 x0.1 x1.0 x1.1
	VSHUFI32X4(U8(0x44), x[3], x[2], t[1]) // x2.0 x2.1 x3.0 x3.1
	VSHUFI32X4(U8(0xEE), x[1], x[0], t[2]) // x0.2 x0.3 x1.2 x1.3
	VSHUFI32X4(U8(0xEE), x[3], x[2], t[3]) // x2.2 x2.3 x3.2 x3.3
	y := make([]VecVirtual, 4)
	for i := range y {
		y[i] = ZMM()
	}
	VSHUFI32X4(U8(0x88), t[1], t[0], y[0])
	VSHUFI32X4(U8(0xDD), t[1], t[0], y[1])
	VSHUFI32X4(U8(0x88), t[3], t[2], y[2])
	VSHUFI32X4(U8(0xDD), t[3], t[2], y[3])
	for v := range y {
		VMOVDQU32(y[v], Mem{Base: dst, Disp: 64 * v})
		VPDPBUSD(y[v], ones, acc[v])
	}
	ADDQ(U32(256), dst)
	LEAQ(Mem{Base: src, Index: ldb, Scale: 4}, src)
	DECQ(n)
	JMP(LabelRef("packloop"))
	Label("packdone")
	for v := range acc {
		VMOVDQU32(acc[v], Mem{Base: sums, Disp: 64 * v})
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
