//go:generate go run . -out ../blake3_amd64.s -stubs ../blake3_amd64_stub.go -pkg commit

// Command asm generates the many-lane BLAKE3 compression kernels of package
// commit with avo: go generate ./commit (or: cd commit/_asm && go run . -out
// ../blake3_amd64.s -stubs ../blake3_amd64_stub.go -pkg commit).
//
// Both kernels run BLAKE3's compression function (the BLAKE3 paper, §2.2)
// on independent lanes, one 32-bit word of every lane per vector element,
// through up to 16 blocks each: 16 lanes in zmm registers (AVX-512F) or 8 in
// ymm registers (AVX2). The contract, shared with the pure-Go twin
// (commit/lanes.go, compressLanesGeneric):
//
//   - lane l starts from cv = key with block counter ctr[l] (high word 0);
//   - block b < nfull of lane l is the 64 bytes at base + offs[l] + 64·b,
//     block b ≥ nfull (at most one) is last[l], zero-padded by the caller;
//   - block b has length blk[b][0] and flags blk[b][1];
//   - out[w][l] is word w of lane l's final chaining value (the first 32
//     bytes of the output when the last block's flags have ROOT).
//
// Message words are loaded with gathers (VPGATHERDD), one vector a word
// position, so that lanes may sit anywhere: chunks of one row, of several
// rows, or pairs of chaining values (parents).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("amd64,!purego")
	globals()
	avx512()
	avx2()
	Generate()
}

var (
	ivMem  Mem // BLAKE3's IV, words 0 … 3
	lane64 Mem // 64·l, l = 0 … 15: the offsets of last[l]
	rot16  Mem // VPSHUFB control: rotate each dword right by 16
	rot8   Mem // VPSHUFB control: rotate each dword right by 8
)

func globals() {
	ivMem = GLOBL("b3iv", RODATA|NOPTR)
	for i, w := range []uint32{0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A} {
		DATA(4*i, U32(w))
	}
	lane64 = GLOBL("b3lane64", RODATA|NOPTR)
	for l := 0; l < 16; l++ {
		DATA(4*l, U32(uint32(64*l)))
	}
	// Byte i of a dword rotated right by 8k is byte (i + k) mod 4 of the
	// original; VPSHUFB reads the low four bits of each control byte, so
	// the pattern repeats across the two 128-bit lanes.
	rot16 = GLOBL("b3rot16", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(0x01000302+0x04040404*uint32(i)))
	}
	rot8 = GLOBL("b3rot8", RODATA|NOPTR)
	for i := 0; i < 8; i++ {
		DATA(4*i, U32(0x00030201+0x04040404*uint32(i)))
	}
}

// perm is BLAKE3's message permutation (Table 2): word i of round r+1 is word
// perm[i] of round r.
var perm = [16]int{2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8}

// cols and diags are the state words each G of a round mixes: (a, b, c, d).
var (
	cols  = [4][4]int{{0, 4, 8, 12}, {1, 5, 9, 13}, {2, 6, 10, 14}, {3, 7, 11, 15}}
	diags = [4][4]int{{0, 5, 10, 15}, {1, 6, 11, 12}, {2, 7, 8, 13}, {3, 4, 9, 14}}
)

const signature = "func(out *[8][16]uint32, key *[8]uint32, base *byte, offs *[16]int32, last *[16][64]byte, ctr *[16]uint32, blk *[16][2]uint32, nfull int, nblocks int)"

type params struct {
	out, key, base, offs, last, ctr, blk, nfull, nblocks Register
}

func loadParams() params {
	return params{
		out:     Load(Param("out"), GP64()),
		key:     Load(Param("key"), GP64()),
		base:    Load(Param("base"), GP64()),
		offs:    Load(Param("offs"), GP64()),
		last:    Load(Param("last"), GP64()),
		ctr:     Load(Param("ctr"), GP64()),
		blk:     Load(Param("blk"), GP64()),
		nfull:   Load(Param("nfull"), GP64()),
		nblocks: Load(Param("nblocks"), GP64()),
	}
}

// avx512: 16 lanes; the state (v) and the message (m) fill the 32 zmm registers.
func avx512() {
	TEXT("compress16AVX512", NOSPLIT, signature)
	Pragma("noescape")
	Doc("compress16AVX512 compresses 16 lanes through nblocks blocks each (AVX-512F; see commit/_asm).")
	p := loadParams()
	var v, m [16]VecVirtual
	for i := range v {
		v[i], m[i] = ZMM(), ZMM()
	}
	for i := 0; i < 8; i++ {
		VPBROADCASTD(Mem{Base: p.key, Disp: 4 * i}, v[i])
	}
	cur := GP64() // base + 64·b
	MOVQ(p.base, cur)
	b := GP64()
	XORQ(b, b)

	Label("z_block")
	Comment("Block nfull (if any) is read from last, lane l at 64·l")
	CMPQ(b, p.nfull)
	JNE(LabelRef("z_load"))
	MOVQ(p.last, cur)
	LEAQ(lane64, p.offs)
	Label("z_load")
	Comment("Load the message: block b of every lane, transposed")
	m = load512(func(l int) Mem {
		o := GP64()
		MOVLQSX(Mem{Base: p.offs, Disp: 4 * l}, o)
		return Mem{Base: cur, Index: o, Scale: 1}
	}, m)
	ADDQ(U32(64), cur)

	Comment("State rows 2 and 3: IV, counter, block length, flags")
	for i := 0; i < 4; i++ {
		VPBROADCASTD(ivMem.Offset(4*i), v[8+i])
	}
	VMOVDQU32(Mem{Base: p.ctr}, v[12])
	VPXORD(v[13], v[13], v[13])
	VPBROADCASTD(Mem{Base: p.blk, Index: b, Scale: 8}, v[14])
	VPBROADCASTD(Mem{Base: p.blk, Index: b, Scale: 8, Disp: 4}, v[15])

	for r := 0; r < 7; r++ {
		Comment(fmt.Sprintf("Round %d", r+1))
		g512(v, cols, [4]VecVirtual{m[0], m[2], m[4], m[6]}, [4]VecVirtual{m[1], m[3], m[5], m[7]})
		g512(v, diags, [4]VecVirtual{m[8], m[10], m[12], m[14]}, [4]VecVirtual{m[9], m[11], m[13], m[15]})
		var next [16]VecVirtual
		for i := range next {
			next[i] = m[perm[i]]
		}
		m = next
	}
	Comment("Chaining values: rows 0 and 1 xor rows 2 and 3")
	for i := 0; i < 8; i++ {
		VPXORD(v[i+8], v[i], v[i])
	}
	INCQ(b)
	CMPQ(b, p.nblocks)
	JB(LabelRef("z_block"))

	for i := 0; i < 8; i++ {
		VMOVDQU32(v[i], Mem{Base: p.out, Disp: 64 * i})
	}
	VZEROUPPER()
	RET()
}

// load512 loads block rows of the 16 lanes (lane l's 64 bytes at at(l)) and
// transposes them into dst, dst[w] holding word w of every lane: 16 loads
// and four stages of 16 shuffles, whose data movement is simulated here
// so that the words land where the rounds read them.
func load512(at func(l int) Mem, dst [16]VecVirtual) [16]VecVirtual {
	type reg struct {
		v   VecVirtual
		ids [16]int // element e holds word ids[e]%16 of lane ids[e]/16
	}
	var rs [16]reg
	for l := range rs {
		rs[l].v = dst[l]
		VMOVDQU32(at(l), rs[l].v)
		for e := range rs[l].ids {
			rs[l].ids[e] = 16*l + e
		}
	}
	// unpack interleaves within 128-bit lanes (width 1: dwords, 2: qwords).
	unpack := func(a, b reg, width int, hi bool) (out reg) {
		for q := 0; q < 4; q++ {
			src := 4 * q
			if hi {
				src += 2
			}
			for k := 0; k < 4; k++ {
				half, off := k/width%2, k%width+k/(2*width)*width
				from := a
				if half == 1 {
					from = b
				}
				out.ids[4*q+k] = from.ids[src+off]
			}
		}
		out.v = ZMM()
		switch {
		case width == 1 && !hi:
			VPUNPCKLDQ(b.v, a.v, out.v)
		case width == 1:
			VPUNPCKHDQ(b.v, a.v, out.v)
		case !hi:
			VPUNPCKLQDQ(b.v, a.v, out.v)
		default:
			VPUNPCKHQDQ(b.v, a.v, out.v)
		}
		return out
	}
	// shuf takes 128-bit lanes i0, i1 of a and i2, i3 of b (VSHUFI32X4).
	shuf := func(a, b reg, imm uint8) (out reg) {
		for q := 0; q < 4; q++ {
			from := a
			if q >= 2 {
				from = b
			}
			sel := int(imm>>(2*q)) & 3
			copy(out.ids[4*q:4*q+4], from.ids[4*sel:4*sel+4])
		}
		out.v = ZMM()
		VSHUFI32X4(Imm(uint64(imm)), b.v, a.v, out.v)
		return out
	}
	var t [16]reg
	for i := 0; i < 16; i += 2 { // dwords of lane pairs
		t[i], t[i+1] = unpack(rs[i], rs[i+1], 1, false), unpack(rs[i], rs[i+1], 1, true)
	}
	for g := 0; g < 16; g += 4 { // qwords of lane quads
		for k := 0; k < 2; k++ {
			rs[g+k], rs[g+k+2] = unpack(t[g+k], t[g+k+2], 2, false), unpack(t[g+k], t[g+k+2], 2, true)
		}
	}
	for g := 0; g < 16; g += 8 { // 128-bit lanes of lane octets
		for k := 0; k < 4; k++ {
			t[g+k], t[g+k+4] = shuf(rs[g+k], rs[g+k+4], 0x88), shuf(rs[g+k], rs[g+k+4], 0xDD)
		}
	}
	for k := 0; k < 8; k++ { // all 16 lanes
		rs[k], rs[k+8] = shuf(t[k], t[k+8], 0x88), shuf(t[k], t[k+8], 0xDD)
	}
	var out [16]VecVirtual
	for _, r := range rs {
		w := r.ids[0] % 16
		for e, id := range r.ids {
			if id != 16*e+w {
				panic(fmt.Sprintf("transpose: element %d of word %d's register holds lane %d word %d", e, w, id/16, id%16))
			}
		}
		if out[w] != nil {
			panic(fmt.Sprintf("transpose: word %d twice", w))
		}
		out[w] = r.v
	}
	return out
}

// g512 runs the four G functions of a column or diagonal step, interleaved.
func g512(v [16]VecVirtual, q [4][4]int, mx, my [4]VecVirtual) {
	a := func(k int) VecVirtual { return v[q[k][0]] }
	b := func(k int) VecVirtual { return v[q[k][1]] }
	c := func(k int) VecVirtual { return v[q[k][2]] }
	d := func(k int) VecVirtual { return v[q[k][3]] }
	half := func(mw [4]VecVirtual, rd, rb uint64) {
		for k := 0; k < 4; k++ {
			VPADDD(mw[k], a(k), a(k))
		}
		for k := 0; k < 4; k++ {
			VPADDD(b(k), a(k), a(k))
		}
		for k := 0; k < 4; k++ {
			VPXORD(a(k), d(k), d(k))
		}
		for k := 0; k < 4; k++ {
			VPRORD(Imm(rd), d(k), d(k))
		}
		for k := 0; k < 4; k++ {
			VPADDD(d(k), c(k), c(k))
		}
		for k := 0; k < 4; k++ {
			VPXORD(c(k), b(k), b(k))
		}
		for k := 0; k < 4; k++ {
			VPRORD(Imm(rb), b(k), b(k))
		}
	}
	half(mx, 16, 12)
	half(my, 8, 7)
}

// avx2: 8 lanes. The 16 ymm registers hold state rows 0 to 2 during the
// rounds; row 3, the message and, while the message is loaded, the chaining
// values live on the stack.
func avx2() {
	TEXT("compress8AVX2", 0, signature) // 896 bytes of frame: more than NOSPLIT allows
	Pragma("noescape")
	Doc("compress8AVX2 compresses lanes 0 … 7 through nblocks blocks each (AVX2; see commit/_asm).")
	p := loadParams()
	var v [12]VecVirtual
	for i := range v {
		v[i] = YMM()
	}
	msg := AllocLocal(16 * 32)
	row3 := AllocLocal(4 * 32)
	cvs := AllocLocal(8 * 32)
	t := YMM()
	for i := 0; i < 8; i++ {
		VPBROADCASTD(Mem{Base: p.key, Disp: 4 * i}, t)
		VMOVDQU(t, cvs.Offset(32*i))
	}
	cur := GP64() // base + 64·b
	MOVQ(p.base, cur)
	b := GP64()
	XORQ(b, b)

	Label("y_block")
	Comment("Block nfull (if any) is read from last, lane l at 64·l")
	CMPQ(b, p.nfull)
	JNE(LabelRef("y_load"))
	MOVQ(p.last, cur)
	LEAQ(lane64, p.offs)
	Label("y_load")
	Comment("Load the message: block b of every lane, transposed, to the stack")
	for half := 0; half < 2; half++ {
		load256(func(l int) Mem {
			o := GP64()
			MOVLQSX(Mem{Base: p.offs, Disp: 4 * l}, o)
			return Mem{Base: cur, Index: o, Scale: 1, Disp: 32 * half}
		}, msg.Offset(32*8*half))
	}
	ADDQ(U32(64), cur)

	Comment("State: chaining values, IV, counter, block length, flags")
	for i := 0; i < 8; i++ {
		VMOVDQU(cvs.Offset(32*i), v[i])
	}
	for i := 0; i < 4; i++ {
		VPBROADCASTD(ivMem.Offset(4*i), v[8+i])
	}
	VMOVDQU(Mem{Base: p.ctr}, t)
	VMOVDQU(t, row3.Offset(0))
	VPXOR(t, t, t)
	VMOVDQU(t, row3.Offset(32))
	VPBROADCASTD(Mem{Base: p.blk, Index: b, Scale: 8}, t)
	VMOVDQU(t, row3.Offset(64))
	VPBROADCASTD(Mem{Base: p.blk, Index: b, Scale: 8, Disp: 4}, t)
	VMOVDQU(t, row3.Offset(96))

	order := [16]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	for r := 0; r < 7; r++ {
		Comment(fmt.Sprintf("Round %d", r+1))
		mw := func(i int) Mem { return msg.Offset(32 * order[i]) }
		for k, q := range cols {
			g256(v[q[0]], v[q[1]], v[q[2]], row3.Offset(32*(q[3]-12)), mw(2*k), mw(2*k+1))
		}
		for k, q := range diags {
			g256(v[q[0]], v[q[1]], v[q[2]], row3.Offset(32*(q[3]-12)), mw(8+2*k), mw(8+2*k+1))
		}
		var next [16]int
		for i := range next {
			next[i] = order[perm[i]]
		}
		order = next
	}
	Comment("Chaining values: rows 0 and 1 xor rows 2 and 3")
	for i := 0; i < 4; i++ {
		VPXOR(v[8+i], v[i], v[i])
		VPXOR(row3.Offset(32*i), v[4+i], v[4+i])
	}
	for i := 0; i < 8; i++ {
		VMOVDQU(v[i], cvs.Offset(32*i))
	}
	INCQ(b)
	CMPQ(b, p.nblocks)
	JB(LabelRef("y_block"))

	for i := 0; i < 8; i++ {
		VMOVDQU(v[i], Mem{Base: p.out, Disp: 64 * i})
	}
	VZEROUPPER()
	RET()
}

// load256 loads 32 bytes of each of the 8 lanes (lane l's at at(l): words
// 8h … 8h+7 of its block) and stores them transposed to dst, 32 bytes a
// word: 8 loads and three stages of 8 shuffles, simulated as in load512.
func load256(at func(l int) Mem, dst Mem) {
	type reg struct {
		v   VecVirtual
		ids [8]int // element e holds word ids[e]%8 of lane ids[e]/8
	}
	var rs [8]reg
	for l := range rs {
		rs[l].v = YMM()
		VMOVDQU(at(l), rs[l].v)
		for e := range rs[l].ids {
			rs[l].ids[e] = 8*l + e
		}
	}
	unpack := func(a, b reg, width int, hi bool) (out reg) {
		for q := 0; q < 2; q++ {
			src := 4 * q
			if hi {
				src += 2
			}
			for k := 0; k < 4; k++ {
				half, off := k/width%2, k%width+k/(2*width)*width
				from := a
				if half == 1 {
					from = b
				}
				out.ids[4*q+k] = from.ids[src+off]
			}
		}
		out.v = YMM()
		switch {
		case width == 1 && !hi:
			VPUNPCKLDQ(b.v, a.v, out.v)
		case width == 1:
			VPUNPCKHDQ(b.v, a.v, out.v)
		case !hi:
			VPUNPCKLQDQ(b.v, a.v, out.v)
		default:
			VPUNPCKHQDQ(b.v, a.v, out.v)
		}
		return out
	}
	// perm takes 128-bit lane imm&3 and imm>>4&3 of (a.lo, a.hi, b.lo, b.hi) (VPERM2I128).
	perm2 := func(a, b reg, imm uint8) (out reg) {
		for q := 0; q < 2; q++ {
			sel := int(imm>>(4*q)) & 3
			from := a
			if sel >= 2 {
				from = b
			}
			copy(out.ids[4*q:4*q+4], from.ids[4*(sel%2):4*(sel%2)+4])
		}
		out.v = YMM()
		VPERM2I128(Imm(uint64(imm)), b.v, a.v, out.v)
		return out
	}
	var t [8]reg
	for i := 0; i < 8; i += 2 {
		t[i], t[i+1] = unpack(rs[i], rs[i+1], 1, false), unpack(rs[i], rs[i+1], 1, true)
	}
	for g := 0; g < 8; g += 4 {
		for k := 0; k < 2; k++ {
			rs[g+k], rs[g+k+2] = unpack(t[g+k], t[g+k+2], 2, false), unpack(t[g+k], t[g+k+2], 2, true)
		}
	}
	for k := 0; k < 4; k++ {
		t[k], t[k+4] = perm2(rs[k], rs[k+4], 0x20), perm2(rs[k], rs[k+4], 0x31)
	}
	seen := map[int]bool{}
	for _, r := range t {
		w := r.ids[0] % 8
		for e, id := range r.ids {
			if id != 8*e+w {
				panic(fmt.Sprintf("transpose: element %d of word %d's register holds lane %d word %d", e, w, id/8, id%8))
			}
		}
		if seen[w] {
			panic(fmt.Sprintf("transpose: word %d twice", w))
		}
		seen[w] = true
		VMOVDQU(r.v, dst.Offset(32*w))
	}
}

// g256 is one G function with d on the stack: d is loaded once and stored
// once; the 12- and 7-bit rotations are two shifts and an or.
func g256(a, b, c VecVirtual, dm, mx, my Mem) {
	d, t := YMM(), YMM()
	VPADDD(mx, a, a)
	VPADDD(b, a, a)
	VMOVDQU(dm, d)
	VPXOR(a, d, d)
	VPSHUFB(rot16, d, d)
	VPADDD(d, c, c)
	VPXOR(c, b, b)
	VPSRLD(Imm(12), b, t)
	VPSLLD(Imm(20), b, b)
	VPOR(t, b, b)
	VPADDD(my, a, a)
	VPADDD(b, a, a)
	VPXOR(a, d, d)
	VPSHUFB(rot8, d, d)
	VPADDD(d, c, c)
	VMOVDQU(d, dm)
	VPXOR(c, b, b)
	VPSRLD(Imm(7), b, t)
	VPSLLD(Imm(25), b, b)
	VPOR(t, b, b)
}
