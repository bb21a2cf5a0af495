//go:generate go run . -out ../dot_amd64.s -stubs ../dot_amd64_stub.go -pkg field

// Command asm generates the AVX-512 Freivalds projection kernels of package
// field with avo: go run . -out ../dot_amd64.s -stubs ../dot_amd64_stub.go -pkg field.
//
// Both split each field element v < 2^61 into limbs small enough that
// VPMULDQ (signed 32×32 → 64-bit) products and their lane sums stay exact in
// int64, and return one sum per limb; the caller folds them into F_p:
//
//   - dotInt8AVX512: v = lo + hi·2^31 (lo < 2^31, hi < 2^30); |x·limb| < 2^38.
//   - dotInt32AVX512: v = l0 + l1·2^21 + l2·2^42 (21-bit limbs); |x·limb| < 2^52;
//     the caller passes at most 1024 elements, so 8 lanes of 128 products sum below 2^62.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	dot8()
	dot32()
	Generate()
}

// hsum reduces the 8 int64 lanes of z into a general register.
func hsum(z VecVirtual) GPVirtual {
	y := YMM()
	VEXTRACTI64X4(U8(1), z, y)
	lo := YMM()
	VMOVDQU64(z.AsY(), lo) // the low half
	VPADDQ(y, lo, lo)
	x := XMM()
	VEXTRACTI128(U8(1), lo, x)
	VPADDQ(x, lo.AsX(), x)
	r := GP64()
	t := GP64()
	VMOVQ(x, r)
	VPEXTRQ(U8(1), x, t)
	ADDQ(t, r)
	return r
}

func dot8() {
	TEXT("dotInt8AVX512", NOSPLIT, "func(x *int8, v *uint64, n int) (lo, hi int64)")
	Pragma("noescape")
	Doc("dotInt8AVX512 returns Σ x[i]·(v[i] mod 2^31) and Σ x[i]·(v[i] >> 31) over n elements, n a multiple of 16.")
	x := Load(Param("x"), GP64())
	v := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	mask := ZMM()
	m := GP64()
	MOVQ(U64(1<<31-1), m)
	VPBROADCASTQ(m, mask)
	const u = 2
	accLo, accHi := make([]VecVirtual, u), make([]VecVirtual, u)
	for i := 0; i < u; i++ {
		accLo[i], accHi[i] = ZMM(), ZMM()
		VPXORQ(accLo[i], accLo[i], accLo[i])
		VPXORQ(accHi[i], accHi[i], accHi[i])
	}
	Label("loop")
	CMPQ(n, U8(0))
	JE(LabelRef("done"))
	for i := 0; i < u; i++ {
		xv, vv, lo, hi := ZMM(), ZMM(), ZMM(), ZMM()
		VPMOVSXBQ(Mem{Base: x, Disp: 8 * i}, xv)
		VMOVDQU64(Mem{Base: v, Disp: 64 * i}, vv)
		VPANDQ(mask, vv, lo)
		VPSRLQ(U8(31), vv, hi)
		VPMULDQ(lo, xv, lo)
		VPMULDQ(hi, xv, hi)
		VPADDQ(lo, accLo[i], accLo[i])
		VPADDQ(hi, accHi[i], accHi[i])
	}
	ADDQ(U32(8*u), x)
	ADDQ(U32(64*u), v)
	SUBQ(U32(8*u), n)
	JMP(LabelRef("loop"))
	Label("done")
	for i := 1; i < u; i++ {
		VPADDQ(accLo[i], accLo[0], accLo[0])
		VPADDQ(accHi[i], accHi[0], accHi[0])
	}
	Store(hsum(accLo[0]), ReturnIndex(0))
	Store(hsum(accHi[0]), ReturnIndex(1))
	VZEROUPPER()
	RET()
}

func dot32() {
	TEXT("dotInt32AVX512", NOSPLIT, "func(x *int32, v *uint64, n int) (l0, l1, l2 int64)")
	Pragma("noescape")
	Doc("dotInt32AVX512 returns Σ x[i]·limb_j(v[i]) for the three 21-bit limbs, over n ≤ 1024 elements, n a multiple of 8.")
	x := Load(Param("x"), GP64())
	v := Load(Param("v"), GP64())
	n := Load(Param("n"), GP64())
	mask := ZMM()
	m := GP64()
	MOVQ(U64(1<<21-1), m)
	VPBROADCASTQ(m, mask)
	acc := []VecVirtual{ZMM(), ZMM(), ZMM()}
	for _, a := range acc {
		VPXORQ(a, a, a)
	}
	Label("loop")
	CMPQ(n, U8(0))
	JE(LabelRef("done"))
	xv, vv := ZMM(), ZMM()
	VPMOVSXDQ(Mem{Base: x}, xv)
	VMOVDQU64(Mem{Base: v}, vv)
	for j := 0; j < 3; j++ {
		l := ZMM()
		if j == 0 {
			VPANDQ(mask, vv, l)
		} else {
			VPSRLQ(U8(21*j), vv, l)
			if j < 2 {
				VPANDQ(mask, l, l)
			}
		}
		VPMULDQ(l, xv, l)
		VPADDQ(l, acc[j], acc[j])
	}
	ADDQ(U32(32), x)
	ADDQ(U32(64), v)
	SUBQ(U32(8), n)
	JMP(LabelRef("loop"))
	Label("done")
	for j := 0; j < 3; j++ {
		Store(hsum(acc[j]), ReturnIndex(j))
	}
	VZEROUPPER()
	RET()
}
