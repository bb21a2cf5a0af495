package matmul

import (
	"sync"

	"github.com/seed46f70faa/trainproof/internal/par"
	"github.com/seed46f70faa/trainproof/tensor"
)

// The portable GEMM (PathGo) multiplies with SWAR, SIMD within a register:
// three 21-bit lanes per uint64, so that one 64-bit multiply does three
// multiply-adds.
//
// Operands are biased to unsigned, ua = a + 128 and ub = b + 128 in [0, 255].
// A packed word of B holds three columns, w = ub₀ | ub₁<<21 | ub₂<<42, and
// ua·w holds ua·ub₀, ua·ub₁ and ua·ub₂ in its lanes. A lane sums kSpan
// products at most, 32·255² = 2 080 800 < 2^21, so it never carries into its
// neighbour; every kSpan steps the lanes are added into uint32 sums. The
// signed result follows from the biased one,
//
//	Σ a·b = Σ ua·ub − 128·Σa − 128·Σb − 128²·k,
//
// computed modulo 2^32, which is exact because the true result fits int32
// (k ≤ MaxInner).
//
// Blocking: A is packed once into panels of mr rows (k-major, rows
// interleaved); each worker packs one panel of nr columns of B at a time,
// k·16 bytes that stay in L1 (k ≤ 2048) or L2 while every row panel of A
// streams past it, and sums each mr×nr tile of C over the whole of k before
// writing it once.

const (
	mr    = 3  // rows of op(A) per tile
	nr    = 6  // columns of op(B) per tile: two packed words
	kSpan = 32 // k steps per kernel call: 32·255² < 2^21
	lane  = 21 // lane width in bits
	lane0 = 1<<lane - 1
)

// hashBlock is the most row panels in a block of the VNNI path (64·6 rows:
// at n = 4096, 6 MiB of C, and B is streamed once per block), which a
// worker packs, multiplies across every column panel and, for a fused
// commitment, hashes while its rows are still in cache.
const hashBlock = 64

// kcQuads is the quads of k one VNNI kernel call sums before the tile goes
// back to C: a B micro-panel of kcQuads·256 bytes (64 KiB) stays in L2
// while every row panel of a block streams past it. Measured at n = 4096 on
// one Zen 4 core: 64 quads (16 KiB, in L1) 399 GOPS, 256 quads 427 (fewer
// trips of the tile through memory), all of k (256 KiB) about 240.
const kcQuads = 256

// bStrip is the rows of B one VNNI packing step takes, and a generated B
// generates at once (a multiple of 4: whole quads).
const bStrip = 256

// gemmScratch holds op(A) packed for the portable GEMM between calls.
type gemmScratch struct {
	a   [][mr]uint8 // panel p, step l: a[p·kp + l][r] = op(A)[mr·p + r][l] + 128, 0 when padding
	rsA []int32     // Σ_l op(A)[i][l]
}

var (
	scratchPool = sync.Pool{New: func() any { return new(gemmScratch) }}
	// panelPool holds the per-worker packed column panels of B.
	panelPool = sync.Pool{New: func() any { return new([][2]uint64) }}
)

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// biased returns x + 128 as an unsigned word.
func biased(x int8) uint64 { return uint64(uint8(x) ^ 0x80) }

// gemm computes c = op(a)·op(b) exactly; shapes were checked by Product.Dims.
func gemm(m, k, n int, a *tensor.Int8, ta bool, b *tensor.Int8, tb bool, c *tensor.Int32, workers int) {
	s := scratchPool.Get().(*gemmScratch)
	defer scratchPool.Put(s)
	kp := (k + kSpan - 1) / kSpan * kSpan
	mp, np := (m+mr-1)/mr, (n+nr-1)/nr
	s.a = grow(s.a, mp*kp)
	s.rsA = grow(s.rsA, mp*mr)
	par.Range(mp, workers, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			packA(s.a[p*kp:(p+1)*kp], s.rsA[p*mr:(p+1)*mr], a, ta, k, p*mr, min(mr, m-p*mr))
		}
	})
	bias := uint32(128 * 128 * k)
	split(mp, np, workers, func(rp0, rp1, cp0, cp1 int) {
		pp := panelPool.Get().(*[][2]uint64)
		*pp = grow(*pp, kp)
		bp := *pp
		var csB [nr]int32
		for cp := cp0; cp < cp1; cp++ {
			j0 := cp * nr
			cols := min(nr, n-j0)
			packB(bp, &csB, b, tb, k, j0, cols)
			var cb [nr]uint32
			for j := range cb {
				cb[j] = 128 * uint32(csB[j])
			}
			for rp := rp0; rp < rp1; rp++ {
				i0 := rp * mr
				acc := tile(s.a[rp*kp:(rp+1)*kp], bp)
				for r := 0; r < min(mr, m-i0); r++ {
					ra := 128*uint32(s.rsA[i0+r]) + bias
					out := c.Data[(i0+r)*n+j0 : (i0+r)*n+j0+cols]
					for j := range out {
						out[j] = int32(acc[r][j] - ra - cb[j])
					}
				}
			}
		}
		panelPool.Put(pp)
	})
}

// tile returns the biased sums Σ ua·ub mod 2^32 of one mr×nr tile over the
// packed row panel a and column panel b (len(a) = len(b), a multiple of kSpan).
func tile(a [][mr]uint8, b [][2]uint64) (acc [mr][nr]uint32) {
	b = b[:len(a)]
	for l := 0; l+kSpan <= len(a); l += kSpan {
		kernel3x6((*[kSpan][mr]uint8)(a[l:]), (*[kSpan][2]uint64)(b[l:]), &acc)
	}
	return acc
}

// addLanes adds the three lanes of x and of y to c[0:3] and c[3:6].
func addLanes(c []uint32, x, y uint64) {
	c = c[:nr]
	c[0] += uint32(x & lane0)
	c[1] += uint32(x >> lane & lane0)
	c[2] += uint32(x >> (2 * lane))
	c[3] += uint32(y & lane0)
	c[4] += uint32(y >> lane & lane0)
	c[5] += uint32(y >> (2 * lane))
}

// kernel3x6 adds the products of a 3-row × 6-column tile over kSpan steps
// to acc. Its accumulator sRW holds row R times the three columns of word W.
//
// The lane sums stay below 2^63 (the top lane below 2^21), so the sign
// checks never fire. They are there for the compiler: each ends a basic
// block, and the scheduler, which places the accumulating adds at the end of
// their block, then interleaves them with the multiplies instead of keeping
// all six products live (and spilled) to the end of the iteration. That is
// about 15% on amd64 with Go 1.26. The kernel stays out of line so that its
// loop keeps every accumulator in a register.
//
//go:noinline
func kernel3x6(a *[kSpan][mr]uint8, b *[kSpan][2]uint64, acc *[mr][nr]uint32) {
	var s00, s01, s10, s11, s20, s21 uint64
	for l := range a {
		al, bl := &a[l], &b[l]
		y0, y1 := bl[0], bl[1]
		x := uint64(al[0])
		s00 += x * y0
		s01 += x * y1
		if int64(s01) < 0 {
			panic("matmul: SWAR lane overflow")
		}
		x = uint64(al[1])
		s10 += x * y0
		s11 += x * y1
		if int64(s11) < 0 {
			panic("matmul: SWAR lane overflow")
		}
		x = uint64(al[2])
		s20 += x * y0
		s21 += x * y1
	}
	addLanes(acc[0][:], s00, s01)
	addLanes(acc[1][:], s10, s11)
	addLanes(acc[2][:], s20, s21)
}

// packA packs rows i0 … i0+rows−1 of op(A) into one panel (len(dst) = kp,
// rows ≤ mr) and their sums into sums.
func packA(dst [][mr]uint8, sums []int32, a *tensor.Int8, ta bool, k, i0, rows int) {
	clear(dst[k:])
	sums = sums[:mr]
	clear(sums)
	switch {
	case !ta && rows == mr:
		r0 := a.Data[i0*k : i0*k+k]
		r1 := a.Data[(i0+1)*k : (i0+1)*k+k]
		r2 := a.Data[(i0+2)*k : (i0+2)*k+k]
		var s0, s1, s2 int32
		r1, r2 = r1[:len(r0)], r2[:len(r0)]
		for l, x0 := range r0 {
			x1, x2 := r1[l], r2[l]
			s0 += int32(x0)
			s1 += int32(x1)
			s2 += int32(x2)
			dst[l] = [mr]uint8{uint8(x0) ^ 0x80, uint8(x1) ^ 0x80, uint8(x2) ^ 0x80}
		}
		sums[0], sums[1], sums[2] = s0, s1, s2
	case ta && rows == mr:
		// op(A) column l is row l of a: three neighbours per step.
		var s0, s1, s2 int32
		for l := range dst[:k] {
			x := (*[mr]int8)(a.Data[l*a.Cols+i0:])
			s0 += int32(x[0])
			s1 += int32(x[1])
			s2 += int32(x[2])
			dst[l] = [mr]uint8{uint8(x[0]) ^ 0x80, uint8(x[1]) ^ 0x80, uint8(x[2]) ^ 0x80}
		}
		sums[0], sums[1], sums[2] = s0, s1, s2
	default: // the last, partial panel: padding rows are zero
		clear(dst[:k])
		for r := 0; r < rows; r++ {
			for l := range dst[:k] {
				x := opA(a, ta, i0+r, l)
				sums[r] += int32(x)
				dst[l][r] = uint8(x) ^ 0x80
			}
		}
	}
}

// packB packs columns j0 … j0+cols−1 of op(B) into one panel (len(dst) = kp,
// cols ≤ nr) and their sums into sums. Padding columns and steps are zero.
func packB(dst [][2]uint64, sums *[nr]int32, b *tensor.Int8, tb bool, k, j0, cols int) {
	clear(dst[k:])
	*sums = [nr]int32{}
	switch {
	case !tb && cols == nr:
		// op(B) row l is row l of b: six neighbours per step.
		var s [nr]int32
		for l := range dst[:k] {
			x := (*[nr]int8)(b.Data[l*b.Cols+j0:])
			for j, v := range x {
				s[j] += int32(v)
			}
			dst[l] = [2]uint64{
				biased(x[0]) | biased(x[1])<<lane | biased(x[2])<<(2*lane),
				biased(x[3]) | biased(x[4])<<lane | biased(x[5])<<(2*lane),
			}
		}
		*sums = s
	case tb && cols == nr:
		// op(B) column j is row j of b: six streams.
		var r [nr][]int8
		for j := range r {
			r[j] = b.Data[(j0+j)*b.Cols : (j0+j)*b.Cols+k]
		}
		r0, r1, r2, r3, r4, r5 := r[0], r[1][:k], r[2][:k], r[3][:k], r[4][:k], r[5][:k]
		var s [nr]int32
		for l, x0 := range r0 {
			x1, x2, x3, x4, x5 := r1[l], r2[l], r3[l], r4[l], r5[l]
			s[0] += int32(x0)
			s[1] += int32(x1)
			s[2] += int32(x2)
			s[3] += int32(x3)
			s[4] += int32(x4)
			s[5] += int32(x5)
			dst[l] = [2]uint64{
				biased(x0) | biased(x1)<<lane | biased(x2)<<(2*lane),
				biased(x3) | biased(x4)<<lane | biased(x5)<<(2*lane),
			}
		}
		*sums = s
	default: // the last, partial panel
		clear(dst[:k])
		for j := 0; j < cols; j++ {
			shift := uint(j%3) * lane
			for l := range dst[:k] {
				var x int8
				if tb {
					x = b.Data[(j0+j)*b.Cols+l]
				} else {
					x = b.Data[l*b.Cols+j0+j]
				}
				sums[j] += int32(x)
				dst[l][j/3] |= biased(x) << shift
			}
		}
	}
}

// opA reads op(A)[i][l].
func opA(a *tensor.Int8, ta bool, i, l int) int8 {
	if ta {
		return a.Data[l*a.Cols+i]
	}
	return a.Data[i*a.Cols+l]
}

// split shares a grid of row panels × column panels among workers: by
// column panels when there are enough (each worker keeps its B panels in its
// own cache), else by row panels.
func split(mp, np, workers int, run func(rp0, rp1, cp0, cp1 int)) {
	if np >= workers {
		par.Range(np, workers, func(lo, hi int) { run(0, mp, lo, hi) })
		return
	}
	par.Range(mp, workers, func(lo, hi int) { run(lo, hi, 0, np) })
}
