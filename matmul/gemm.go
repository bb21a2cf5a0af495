package matmul

import (
	"sync"

	"github.com/seed46f70faa/trainproof/internal/par"
	"github.com/seed46f70faa/trainproof/tensor"
)

// The CPU GEMM packs both operands into unsigned form (x + 128 ∈ [0, 255])
// and multiplies with SWAR: two columns of B share one uint64 (32-bit lanes),
// so one 64-bit multiply does two multiply-adds. A lane sums at most
// kBlock products below 2^16, so it never carries into its neighbour. The
// signed result follows from the biased one:
//
//	Σ a·b = Σ (a+128)(b+128) − 128·Σa − 128·Σb − 128²·k
//
// computed modulo 2^32, which is exact because the true result fits int32.

const (
	kBlock = 1024 // inner-dimension block: 2 rows of A and 2 of P stay in L1
	jBlock = 32   // column pairs per block: 32·kBlock·8 bytes = 256 KiB of P in L2
)

// hashBlock is the row panels per fused-hash block of the VNNI path (64·6
// rows: at n = 4096, 6 MiB of C, and B is streamed once per block).
const hashBlock = 64

type gemmScratch struct {
	ua    []uint8  // op(A) + 128, m2×k row-major (m2 = m rounded up to even)
	p     []uint64 // op(B) + 128 as column pairs: p[jp*k + l] = ub[l][2jp] | ub[l][2jp+1]<<32
	rsA   []int32
	csB   []int32
	accum []uint32 // m2×n2 accumulators, mod 2^32
}

var scratchPool = sync.Pool{New: func() any { return new(gemmScratch) }}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// gemm computes c = op(a)·op(b) exactly; shapes were checked by Product.Dims.
func gemm(m, k, n int, a *tensor.Int8, ta bool, b *tensor.Int8, tb bool, c *tensor.Int32, workers int) {
	s := scratchPool.Get().(*gemmScratch)
	defer scratchPool.Put(s)
	m2, n2 := m+m&1, n+n&1
	np := n2 / 2
	s.ua = grow(s.ua, m2*k)
	s.p = grow(s.p, np*k)
	s.rsA = grow(s.rsA, m)
	s.csB = grow(s.csB, n)
	s.accum = grow(s.accum, m2*n2)
	clear(s.accum)

	// Pack A: row i of op(A).
	par.Range(m2, workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := s.ua[i*k : (i+1)*k]
			if i >= m {
				for l := range row {
					row[l] = 128
				}
				continue
			}
			var sum int32
			for l := range row {
				var x int8
				if ta {
					x = a.Data[l*a.Cols+i]
				} else {
					x = a.Data[i*a.Cols+l]
				}
				sum += int32(x)
				row[l] = uint8(int32(x) + 128)
			}
			s.rsA[i] = sum
		}
	})
	// Pack B: column pairs of op(B).
	at := func(l, j int) int8 {
		if j >= n {
			return 0
		}
		if tb {
			return b.Data[j*b.Cols+l]
		}
		return b.Data[l*b.Cols+j]
	}
	par.Range(np, workers, func(lo, hi int) {
		for jp := lo; jp < hi; jp++ {
			row := s.p[jp*k : (jp+1)*k]
			var s0, s1 int32
			for l := range row {
				x0, x1 := at(l, 2*jp), at(l, 2*jp+1)
				s0 += int32(x0)
				s1 += int32(x1)
				row[l] = uint64(uint8(int32(x0)+128)) | uint64(uint8(int32(x1)+128))<<32
			}
			s.csB[2*jp] = s0
			if 2*jp+1 < n {
				s.csB[2*jp+1] = s1
			}
		}
	})
	// Multiply: row pairs are split over the workers; every worker walks the
	// same k and column blocks, so the P block it reads stays in cache.
	par.Range(m2/2, workers, func(lo, hi int) {
		for kb := 0; kb < k; kb += kBlock {
			ke := min(kb+kBlock, k)
			for jb := 0; jb < np; jb += jBlock {
				je := min(jb+jBlock, np)
				for ip := lo; ip < hi; ip++ {
					i := 2 * ip
					a0 := s.ua[i*k+kb : i*k+ke]
					a1 := s.ua[(i+1)*k+kb : (i+1)*k+ke]
					c0 := s.accum[i*n2 : (i+1)*n2]
					c1 := s.accum[(i+1)*n2 : (i+2)*n2]
					jp := jb
					for ; jp+1 < je; jp += 2 {
						s00, s01, s10, s11 := kernel2x2(a0, a1, s.p[jp*k+kb:jp*k+ke], s.p[(jp+1)*k+kb:(jp+1)*k+ke])
						addLanes(c0[2*jp:], s00, s01)
						addLanes(c1[2*jp:], s10, s11)
					}
					if jp < je {
						s00, s10 := kernel2x1(a0, a1, s.p[jp*k+kb:jp*k+ke])
						c0[2*jp] += uint32(s00)
						c0[2*jp+1] += uint32(s00 >> 32)
						c1[2*jp] += uint32(s10)
						c1[2*jp+1] += uint32(s10 >> 32)
					}
				}
			}
		}
	})
	// Unbias.
	bias := uint32(128 * 128 * k)
	par.Range(m, workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out := c.Data[i*n : (i+1)*n]
			acc := s.accum[i*n2 : i*n2+n]
			ra := uint32(128 * s.rsA[i])
			for j := range out {
				out[j] = int32(acc[j] - ra - uint32(128*s.csB[j]) - bias)
			}
		}
	})
}

func addLanes(c []uint32, x, y uint64) {
	c = c[:4]
	c[0] += uint32(x)
	c[1] += uint32(x >> 32)
	c[2] += uint32(y)
	c[3] += uint32(y >> 32)
}

// kernel2x2 returns, for rows a0, a1 and column-pair panels p0, p1, the four
// packed lane sums Σ a·p.
func kernel2x2(a0, a1 []uint8, p0, p1 []uint64) (s00, s01, s10, s11 uint64) {
	n := len(a0)
	a1, p0, p1 = a1[:n], p0[:n], p1[:n]
	for l := 0; l < n; l++ {
		x0, x1 := uint64(a0[l]), uint64(a1[l])
		y0, y1 := p0[l], p1[l]
		s00 += x0 * y0
		s01 += x0 * y1
		s10 += x1 * y0
		s11 += x1 * y1
	}
	return
}

func kernel2x1(a0, a1 []uint8, p0 []uint64) (s00, s10 uint64) {
	n := len(a0)
	a1, p0 = a1[:n], p0[:n]
	for l := 0; l < n; l++ {
		y := p0[l]
		s00 += uint64(a0[l]) * y
		s10 += uint64(a1[l]) * y
	}
	return
}
