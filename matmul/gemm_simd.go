//go:build amd64 && !purego

package matmul

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/seed46f70faa/trainproof/internal/par"
	"github.com/seed46f70faa/trainproof/tensor"
)

// hasVNNI and hasAVX2 say which SIMD paths this CPU runs.
var (
	hasVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI
	hasAVX2 = cpu.X86.HasAVX2
)

// tileStride is the row stride, in int32, of the AVX2 kernel's tile buffer.
const tileStride = 64

// simdScratch holds packed panels between calls.
type simdScratch struct {
	a8, b8   []byte
	a16, b16 []int16
	bias     []int32 // −128·Σ_k b of every column, the VNNI tiles' starting sums
}

const vnniMR, vnniNR = 6, 64 // the VNNI kernel's tile

// blockPool holds per-worker packed row blocks of A (VNNI path).
var blockPool = sync.Pool{New: func() any { return new([]byte) }}

// gemmVNNI computes c = op(a)·op(b) with the AVX-512 VNNI kernel.
//
// Packing: A in row panels of 6, biased to unsigned, ap[panel][q][r][0:4] =
// a[6·panel+r][4q:4q+4] + 128; B in column panels of 64, bp[panel][q][v][c][0:4]
// = b[4q:4q+4][64·panel+16v+c] (signed). Padding rows and columns are zero in
// B, so they add nothing; padding rows of A are dropped when unpacking.
//
// B is packed whole, in strips of rows shared by the workers; A one block
// of row panels at a time by the worker that runs it (blocks are handed out
// in turn, so a core slowed by other work takes fewer). A generated operand
// (CPU.GenInt8) is generated a strip or a panel at a time into a small
// buffer and packed from there, never stored whole. A block is finished
// across every column panel, then hashed while its rows are still in cache
// when the product asks for row hashes.
func gemmVNNI(m, k, n int, a i8src, ta bool, b i8src, tb bool, c *tensor.Int32, s *simdScratch, workers int, hash *rowHasher, tm *Timing) {
	kq := (k + 3) / 4
	mp, np := (m+vnniMR-1)/vnniMR, (n+vnniNR-1)/vnniNR
	s.b8 = grow(s.b8, np*kq*vnniNR*4)
	s.bias = grow(s.bias, np*vnniNR)
	if tb {
		par.Range(np, workers, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				packBVNNI(s.b8[p*kq*vnniNR*4:(p+1)*kq*vnniNR*4], s.bias[p*vnniNR:(p+1)*vnniNR], b.m, k, p*vnniNR)
			}
		})
	} else {
		packBStrips(s, b, k, kq, n, workers, tm)
	}
	bsize, blocks := rowBlocks(mp, workers)
	if hash == nil && blocks < workers {
		// Too few rows to share by blocks: A packed whole, columns shared.
		s.a8 = grow(s.a8, mp*kq*vnniMR*4)
		par.Range(mp, workers, func(lo, hi int) {
			packAVNNI(s.a8[lo*kq*vnniMR*4:hi*kq*vnniMR*4], a, ta, m, k, lo, hi, tm)
		})
		split(mp, np, workers, func(rp0, rp1, cp0, cp1 int) {
			vnniBlock(s, s.a8[rp0*kq*vnniMR*4:], m, kq, n, c, rp0, rp1, cp0, cp1)
		})
		return
	}
	eachBlock(blocks, workers, func(blk int) {
		rp0, rp1 := blk*bsize, min((blk+1)*bsize, mp)
		bp := blockPool.Get().(*[]byte)
		*bp = grow(*bp, (rp1-rp0)*kq*vnniMR*4)
		packAVNNI(*bp, a, ta, m, k, rp0, rp1, tm)
		vnniBlock(s, *bp, m, kq, n, c, rp0, rp1, 0, np)
		blockPool.Put(bp)
		if hash != nil {
			t := tm.start()
			hash.rows(c, rp0*vnniMR, min(rp1*vnniMR, m))
			tm.addHash(t)
		}
	})
}

// rowBlocks splits mp row panels into blocks of at most hashBlock panels,
// as many as a multiple of workers, all of one size but the last.
func rowBlocks(mp, workers int) (size, count int) {
	count = (mp + hashBlock - 1) / hashBlock
	count = (count + workers - 1) / workers * workers
	size = max(1, (mp+count-1)/count)
	return size, (mp + size - 1) / size
}

// eachBlock runs f on blocks 0 … count−1, on up to workers goroutines that
// take the next block as they finish one.
func eachBlock(count, workers int, f func(blk int)) {
	workers = min(workers, count)
	if workers <= 1 {
		for blk := range count {
			f(blk)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				blk := int(next.Add(1) - 1)
				if blk >= count {
					return
				}
				f(blk)
			}
		}()
	}
	wg.Wait()
}

// vnniBlock computes the tiles of row panels rp0 … rp1−1 and column panels
// cp0 … cp1−1 of C; ap holds the row panels from rp0 on. Whole tiles sum
// kcQuads quads of k at a time straight into C; tiles cut by the edge of C
// sum all of k into a tile buffer that is then copied out.
func vnniBlock(s *simdScratch, ap []byte, m, kq, n int, c *tensor.Int32, rp0, rp1, cp0, cp1 int) {
	const aPanel, bQuad = vnniMR * 4, vnniNR * 4
	whole := min(rp1, m/vnniMR) // row panels before it have all their rows
	var tile [vnniMR * vnniNR]int32
	for cp := cp0; cp < cp1; cp++ {
		bias := &s.bias[cp*vnniNR]
		bpan := s.b8[cp*kq*bQuad : (cp+1)*kq*bQuad]
		rpEdge := rp0
		if (cp+1)*vnniNR <= n {
			rpEdge = max(rp0, whole)
			for kb := 0; kb < kq; kb += kcQuads {
				nq := min(kcQuads, kq-kb)
				init := bias
				if kb > 0 {
					init = nil
				}
				for rp := rp0; rp < rpEdge; rp++ {
					gemmVNNI6x64(&ap[((rp-rp0)*kq+kb)*aPanel], &bpan[kb*bQuad], &c.Data[rp*vnniMR*n+cp*vnniNR], n, nq, init)
				}
			}
		}
		for rp := rpEdge; rp < rp1; rp++ {
			gemmVNNI6x64(&ap[(rp-rp0)*kq*aPanel], &bpan[0], &tile[0], vnniNR, kq, bias)
			cols := min(vnniNR, n-cp*vnniNR)
			for r := 0; r < vnniMR && rp*vnniMR+r < m; r++ {
				i := rp*vnniMR + r
				copy(c.Data[i*n+cp*vnniNR:i*n+cp*vnniNR+cols], tile[r*vnniNR:r*vnniNR+cols])
			}
		}
	}
}

// packAVNNI packs row panels rp0 … rp1−1 of op(A) into dst (VNNI layout,
// biased to unsigned); a generated A is generated a panel at a time.
func packAVNNI(dst []byte, a i8src, ta bool, m, k, rp0, rp1 int, tm *Timing) {
	const mr = vnniMR
	kq := (k + 3) / 4
	var gen []int8
	if a.gen != nil {
		gp := rowPool.Get().(*[]int8)
		defer rowPool.Put(gp)
		*gp = grow(*gp, mr*k)
		gen = *gp
	}
	for p := rp0; p < rp1; p++ {
		panel := dst[(p-rp0)*kq*mr*4 : (p-rp0+1)*kq*mr*4]
		if gen != nil {
			t := tm.start()
			for r := 0; r < mr && p*mr+r < m; r++ {
				a.gen.f(p*mr+r, gen[r*k:(r+1)*k])
			}
			tm.addOperands(t)
		}
		q0 := 0
		if !ta && (p+1)*mr <= m && k >= 8 {
			// Two quads of all six rows at a time, without bounds checks.
			var rows [mr]unsafe.Pointer
			for r := range rows {
				if gen != nil {
					rows[r] = unsafe.Pointer(&gen[r*k])
				} else {
					rows[r] = unsafe.Pointer(&a.m.Data[(p*mr+r)*k])
				}
			}
			q0 = k / 8 * 2
			packA6(unsafe.Pointer(&panel[0]), &rows, q0)
		}
		for r := 0; r < mr; r++ {
			i := p*mr + r
			if i >= m { // padding rows: any value, B's product is dropped
				continue
			}
			l0 := 0
			if !ta {
				// Four k of a row at once: one word, biased bytewise.
				var row []byte
				if gen != nil {
					row = int8Bytes(gen[r*k : (r+1)*k])
				} else {
					row = int8Bytes(a.m.Data[i*k : (i+1)*k])
				}
				for q := q0; q < k/4; q++ {
					binary.LittleEndian.PutUint32(panel[q*mr*4+r*4:], binary.LittleEndian.Uint32(row[4*q:])^0x80808080)
				}
				for l := k / 4 * 4; l < k; l++ {
					panel[(l/4)*mr*4+r*4+l%4] = row[l] ^ 0x80
				}
				l0 = k
			}
			for l := l0; l < 4*kq; l++ {
				var x int8
				if l < k {
					x = opA(a.m, ta, i, l)
				}
				panel[(l/4)*mr*4+r*4+l%4] = byte(int32(x) + 128)
			}
		}
	}
}

// packA6 packs quads 0 … nq−1 (nq even) of six rows into a VNNI A panel,
// biased to unsigned: a word of two quads of each row at a time.
func packA6(dst unsafe.Pointer, rows *[vnniMR]unsafe.Pointer, nq int) {
	const bias = 0x8080808080808080
	for q := 0; q < nq; q += 2 {
		out := unsafe.Add(dst, q*vnniMR*4)
		for r, row := range rows {
			x := *(*uint64)(unsafe.Add(row, 4*q)) ^ bias // little-endian: quad q low
			*(*uint32)(unsafe.Add(out, 4*r)) = uint32(x)
			*(*uint32)(unsafe.Add(out, 4*(vnniMR+r))) = uint32(x >> 32)
		}
	}
}

// rowPool holds buffers that generated rows are written into.
var rowPool = sync.Pool{New: func() any { return new([]int8) }}

// packBStrips packs B (not transposed) into s.b8 and its column sums into
// s.bias, strips of bStrip rows shared by the workers: whole quads of
// whole panels with packBVNNI64, the last k%4 rows and a last, partial
// panel in Go. A generated B is generated a strip at a time.
func packBStrips(s *simdScratch, b i8src, k, kq, n, workers int, tm *Timing) {
	const bQuad = vnniNR * 4
	np, whole := (n+vnniNR-1)/vnniNR, n/vnniNR
	if whole < np { // padding columns are zero
		clear(s.b8[whole*kq*bQuad:])
	}
	if k%4 != 0 { // so are padding rows
		for p := range whole {
			clear(s.b8[(p*kq+kq-1)*bQuad : (p*kq+kq)*bQuad])
		}
	}
	strips := (k + bStrip - 1) / bStrip
	var mu sync.Mutex
	total := make([][vnniNR]int32, np)
	par.Range(strips, workers, func(lo, hi int) {
		sums := make([][vnniNR]int32, np)
		var gen []int8
		if b.gen != nil {
			gp := rowPool.Get().(*[]int8)
			defer rowPool.Put(gp)
			*gp = grow(*gp, bStrip*n)
			gen = *gp
		}
		for st := lo; st < hi; st++ {
			l0, l1 := st*bStrip, min((st+1)*bStrip, k)
			var rows []int8
			if gen != nil {
				t := tm.start()
				for l := l0; l < l1; l++ {
					b.gen.f(l, gen[(l-l0)*n:(l-l0+1)*n])
				}
				tm.addOperands(t)
				rows = gen[:(l1-l0)*n]
			} else {
				rows = b.m.Data[l0*n : l1*n]
			}
			q0, q1 := l0/4, l1/4
			for p := range whole {
				if q1 > q0 {
					packBVNNI64(&s.b8[(p*kq+q0)*bQuad], int8Ptr(rows[p*vnniNR:]), n, q1-q0, &sums[p][0])
				}
				for l := 4 * q1; l < l1; l++ { // the last k%4 rows
					d := s.b8[(p*kq+l/4)*bQuad:]
					for cc, x := range rows[(l-l0)*n+p*vnniNR : (l-l0)*n+(p+1)*vnniNR] {
						sums[p][cc] += int32(x)
						d[cc*4+l%4] = byte(x)
					}
				}
			}
			if whole < np {
				for l := l0; l < l1; l++ {
					d := s.b8[(whole*kq+l/4)*bQuad:]
					for cc, x := range rows[(l-l0)*n+whole*vnniNR : (l-l0+1)*n] {
						sums[whole][cc] += int32(x)
						d[cc*4+l%4] = byte(x)
					}
				}
			}
		}
		mu.Lock()
		for p := range sums {
			for j, x := range sums[p] {
				total[p][j] += x
			}
		}
		mu.Unlock()
	})
	for p := range total {
		for j, x := range total[p] {
			s.bias[p*vnniNR+j] = -128 * x
		}
	}
}

func int8Ptr(s []int8) *byte { return (*byte)(unsafe.Pointer(&s[0])) }

// packBVNNI packs the column panel of op(B) = bᵀ from column j0 into dst
// (VNNI layout, signed) and −128 times its column sums into bias.
func packBVNNI(dst []byte, bias []int32, b *tensor.Int8, k, j0 int) {
	const nr = vnniNR
	clear(dst)
	cols := min(nr, b.Rows-j0)
	var sums [nr]int32
	// op(B) column j is row j of b: read it contiguously.
	for cc := 0; cc < cols; cc++ {
		row := b.Data[(j0+cc)*b.Cols : (j0+cc)*b.Cols+k]
		var sum int32
		for l, x := range row {
			sum += int32(x)
			dst[(l/4)*nr*4+cc*4+l%4] = byte(x)
		}
		sums[cc] = sum
	}
	for j := range bias {
		bias[j] = -128 * sums[j]
	}
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
