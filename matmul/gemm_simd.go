//go:build amd64 && !purego

package matmul

import (
	"golang.org/x/sys/cpu"

	"github.com/seed46f70faa/trainproof/internal/par"
	"github.com/seed46f70faa/trainproof/tensor"
)

// hasVNNI and hasAVX2 say which SIMD paths this CPU runs.
var (
	hasVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI
	hasAVX2 = cpu.X86.HasAVX2
)

// tileStride is the row stride, in int32, of the tile buffer both kernels write.
const tileStride = 64

// simdScratch holds packed panels between calls.
type simdScratch struct {
	a8, b8   []byte
	a16, b16 []int16
	colsum   []int32
}

// gemmVNNI computes c = op(a)·op(b) with the AVX-512 VNNI kernel.
//
// Packing: A in row panels of 6, biased to unsigned, ap[panel][q][r][0:4] =
// a[6·panel+r][4q:4q+4] + 128; B in column panels of 64, bp[panel][q][v][c][0:4]
// = b[4q:4q+4][64·panel+16v+c] (signed). Padding rows and columns are zero in
// B, so they add nothing; padding rows of A are dropped when unpacking.
func gemmVNNI(m, k, n int, a *tensor.Int8, ta bool, b *tensor.Int8, tb bool, c *tensor.Int32, s *simdScratch, workers int, hash *rowHasher) {
	const mr, nr = 6, 64
	kq := (k + 3) / 4
	mp, np := (m+mr-1)/mr, (n+nr-1)/nr
	s.a8 = grow(s.a8, mp*kq*mr*4)
	s.b8 = grow(s.b8, np*kq*nr*4)
	s.colsum = grow(s.colsum, np*nr)
	par.Range(mp, workers, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			panel := s.a8[p*kq*mr*4 : (p+1)*kq*mr*4]
			for r := 0; r < mr; r++ {
				i := p*mr + r
				for l := 0; l < 4*kq; l++ {
					var x int8
					if i < m && l < k {
						x = opA(a, ta, i, l)
					}
					panel[(l/4)*mr*4+r*4+l%4] = byte(int32(x) + 128)
				}
			}
		}
	})
	par.Range(np, workers, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			panel := s.b8[p*kq*nr*4 : (p+1)*kq*nr*4]
			clear(panel)
			cols := min(nr, n-p*nr)
			sums := s.colsum[p*nr : (p+1)*nr]
			clear(sums)
			if tb {
				// op(B) column j is row j of b: read it contiguously.
				for cc := 0; cc < cols; cc++ {
					row := b.Data[(p*nr+cc)*b.Cols : (p*nr+cc)*b.Cols+k]
					var sum int32
					for l, x := range row {
						sum += int32(x)
						panel[(l/4)*nr*4+cc*4+l%4] = byte(x)
					}
					sums[cc] = sum
				}
				continue
			}
			// op(B) row l is row l of b: read it contiguously.
			for l := 0; l < k; l++ {
				row := b.Data[l*b.Cols+p*nr : l*b.Cols+p*nr+cols]
				dst := panel[(l/4)*nr*4+l%4:]
				for cc, x := range row {
					sums[cc] += int32(x)
					dst[cc*4] = byte(x)
				}
			}
		}
	})
	run := func(rp0, rp1, cp0, cp1 int) {
		var tile [mr * tileStride]int32
		for cp := cp0; cp < cp1; cp++ {
			bp := &s.b8[cp*kq*nr*4]
			for rp := rp0; rp < rp1; rp++ {
				gemmVNNI6x64(&s.a8[rp*kq*mr*4], bp, &tile[0], kq)
				for r := 0; r < mr && rp*mr+r < m; r++ {
					i := rp*mr + r
					out := c.Data[i*n : (i+1)*n]
					for cc := 0; cc < nr && cp*nr+cc < n; cc++ {
						j := cp*nr + cc
						out[j] = tile[r*tileStride+cc] - 128*s.colsum[j]
					}
				}
			}
		}
	}
	if hash != nil {
		// Fused commitment: blocks of row panels, each finished across every
		// column panel and then hashed while its rows are still in cache.
		blocks := (mp + hashBlock - 1) / hashBlock
		par.Range(blocks, workers, func(lo, hi int) {
			for blk := lo; blk < hi; blk++ {
				rp0, rp1 := blk*hashBlock, min((blk+1)*hashBlock, mp)
				run(rp0, rp1, 0, np)
				hash.rows(c, rp0*mr, min(rp1*mr, m))
			}
		})
		return
	}
	split(mp, np, workers, run)
}

// gemmAVX2 computes c = op(a)·op(b) with the AVX2 kernel (int16 pairs, VPMADDWD).
// Packing: ap[panel][q][r][0:2] = a[4·panel+r][2q:2q+2]; bp[panel][q][v][c][0:2] = b[2q:2q+2][16·panel+8v+c].
func gemmAVX2(m, k, n int, a *tensor.Int8, ta bool, b *tensor.Int8, tb bool, c *tensor.Int32, s *simdScratch, workers int) {
	const mr, nr = 4, 16
	kp := (k + 1) / 2
	mp, np := (m+mr-1)/mr, (n+nr-1)/nr
	s.a16 = grow(s.a16, mp*kp*mr*2)
	s.b16 = grow(s.b16, np*kp*nr*2)
	par.Range(mp, workers, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			panel := s.a16[p*kp*mr*2 : (p+1)*kp*mr*2]
			for r := 0; r < mr; r++ {
				i := p*mr + r
				for l := 0; l < 2*kp; l++ {
					var x int8
					if i < m && l < k {
						x = opA(a, ta, i, l)
					}
					panel[(l/2)*mr*2+r*2+l%2] = int16(x)
				}
			}
		}
	})
	par.Range(np, workers, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			panel := s.b16[p*kp*nr*2 : (p+1)*kp*nr*2]
			clear(panel)
			cols := min(nr, n-p*nr)
			if tb {
				for cc := 0; cc < cols; cc++ {
					row := b.Data[(p*nr+cc)*b.Cols : (p*nr+cc)*b.Cols+k]
					for l, x := range row {
						panel[(l/2)*nr*2+cc*2+l%2] = int16(x)
					}
				}
				continue
			}
			for l := 0; l < k; l++ {
				row := b.Data[l*b.Cols+p*nr : l*b.Cols+p*nr+cols]
				dst := panel[(l/2)*nr*2+l%2:]
				for cc, x := range row {
					dst[cc*2] = int16(x)
				}
			}
		}
	})
	run := func(rp0, rp1, cp0, cp1 int) {
		var tile [mr * tileStride]int32
		for cp := cp0; cp < cp1; cp++ {
			bp := &s.b16[cp*kp*nr*2]
			for rp := rp0; rp < rp1; rp++ {
				gemmAVX2x4x16(&s.a16[rp*kp*mr*2], bp, &tile[0], kp)
				for r := 0; r < mr && rp*mr+r < m; r++ {
					i := rp*mr + r
					for cc := 0; cc < nr && cp*nr+cc < n; cc++ {
						c.Data[i*n+cp*nr+cc] = tile[r*tileStride+cc]
					}
				}
			}
		}
	}
	split(mp, np, workers, run)
}
