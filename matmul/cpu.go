package matmul

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/internal/par"
	"github.com/seed46f70faa/trainproof/tensor"
)

// CPU is the CPU backend. Its buffers are host matrices.
type CPU struct {
	path    Path
	workers int
}

// NewCPU returns the CPU backend on the fastest path this machine runs, or
// on the path named by the environment variable TRAINPROOF_GEMM.
func NewCPU() *CPU { return &CPU{path: defaultPath(), workers: runtime.GOMAXPROCS(0)} }

type cpuBuf struct {
	i8  *tensor.Int8
	i32 *tensor.Int32
	gen *genInt8 // rows made on demand (GenInt8) while i8 is nil
}

// genInt8 is a generated int8 matrix: f writes row i.
type genInt8 struct {
	rows, cols int
	f          func(i int, row []int8)
}

// i8src is an int8 operand as the GEMM reads it: a matrix, or rows it
// generates as it packs them.
type i8src struct {
	m   *tensor.Int8
	gen *genInt8
}

func (b *cpuBuf) Kind() tensor.Kind {
	if b.i8 != nil || b.gen != nil {
		return tensor.KindInt8
	}
	return tensor.KindInt32
}

func (b *cpuBuf) Shape() (int, int) {
	switch {
	case b.i8 != nil:
		return b.i8.Rows, b.i8.Cols
	case b.i32 != nil:
		return b.i32.Rows, b.i32.Cols
	case b.gen != nil:
		return b.gen.rows, b.gen.cols
	}
	return 0, 0 // freed
}

// GenInt8 returns a rows×cols int8 buffer whose row i gen writes, every
// element of it (the slice may hold an earlier row), whenever it is read: an
// operand derived from a seed, which products on the VNNI path generate a
// strip or a panel at a time as they pack it, so it is never stored whole.
// Any other use stores it whole first, once. gen must be safe for
// concurrent use and give the same row every time.
func (c *CPU) GenInt8(rows, cols int, gen func(i int, row []int8)) Buffer {
	return &cpuBuf{gen: &genInt8{rows: rows, cols: cols, f: gen}}
}

// NewInt32 returns a zeroed host matrix for a product to write, its pages
// mapped up front where the OS can do that in bulk (Linux: see populate),
// which costs less than faulting them in one by one as the product's
// stores first touch them.
func NewInt32(rows, cols int) *tensor.Int32 {
	m := tensor.NewInt32(rows, cols)
	populate(int32Bytes(m.Data))
	return m
}

// WrapInt8 returns a buffer that aliases m (no copy): CPU-only callers use it
// to run products on matrices they already hold.
func (c *CPU) WrapInt8(m *tensor.Int8) Buffer { return &cpuBuf{i8: m} }

// WrapInt32 returns a buffer that aliases m (no copy).
func (c *CPU) WrapInt32(m *tensor.Int32) Buffer { return &cpuBuf{i32: m} }

func (c *CPU) Name() string { return "cpu" }

func (c *CPU) Alloc(kind tensor.Kind, rows, cols int) (Buffer, error) {
	if rows < 0 || cols < 0 {
		return nil, fmt.Errorf("%w: negative shape %d×%d", ErrShape, rows, cols)
	}
	switch kind {
	case tensor.KindInt8:
		return &cpuBuf{i8: tensor.NewInt8(rows, cols)}, nil
	case tensor.KindInt32:
		return &cpuBuf{i32: NewInt32(rows, cols)}, nil
	}
	return nil, fmt.Errorf("%w: kind %v", ErrBuffer, kind)
}

func (c *CPU) UploadInt8(m *tensor.Int8) (Buffer, error) {
	cp := &tensor.Int8{Rows: m.Rows, Cols: m.Cols, Data: append([]int8(nil), m.Data...)}
	return &cpuBuf{i8: cp}, nil
}

func (c *CPU) UploadInt32(m *tensor.Int32) (Buffer, error) {
	cp := &tensor.Int32{Rows: m.Rows, Cols: m.Cols, Data: append([]int32(nil), m.Data...)}
	return &cpuBuf{i32: cp}, nil
}

func (c *CPU) buf(b Buffer) (*cpuBuf, error) {
	cb, ok := b.(*cpuBuf)
	if !ok || cb == nil || (cb.i8 == nil && cb.i32 == nil && cb.gen == nil) {
		return nil, fmt.Errorf("%w: not a live cpu buffer", ErrBuffer)
	}
	if cb.i8 == nil && cb.gen != nil {
		g := cb.gen
		m := tensor.NewInt8(g.rows, g.cols)
		par.Range(g.rows, workersFor(g.rows*g.cols), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				g.f(i, m.Row(i))
			}
		})
		cb.i8 = m
	}
	return cb, nil
}

// operand returns an int8 operand of a product: generated rows stay
// generated where the VNNI path packs them (not transposed).
func (c *CPU) operand(b Buffer, trans bool) (i8src, error) {
	if cb, ok := b.(*cpuBuf); ok && cb != nil && cb.i8 == nil && cb.gen != nil && c.path == PathVNNI && !trans {
		return i8src{gen: cb.gen}, nil
	}
	cb, err := c.buf(b)
	if err != nil {
		return i8src{}, err
	}
	return i8src{m: cb.i8}, nil
}

func (c *CPU) DownloadInt8(b Buffer, dst *tensor.Int8) error {
	cb, err := c.buf(b)
	if err != nil {
		return err
	}
	if cb.i8 == nil || cb.i8.Rows != dst.Rows || cb.i8.Cols != dst.Cols {
		return fmt.Errorf("%w: download into %d×%d int8", ErrShape, dst.Rows, dst.Cols)
	}
	copy(dst.Data, cb.i8.Data)
	return nil
}

func (c *CPU) DownloadInt32(b Buffer, dst *tensor.Int32) error {
	cb, err := c.buf(b)
	if err != nil {
		return err
	}
	if cb.i32 == nil || cb.i32.Rows != dst.Rows || cb.i32.Cols != dst.Cols {
		return fmt.Errorf("%w: download into %d×%d int32", ErrShape, dst.Rows, dst.Cols)
	}
	copy(dst.Data, cb.i32.Data)
	return nil
}

func (c *CPU) ReadRows(b Buffer, rows []int, dst []byte) error {
	cb, err := c.buf(b)
	if err != nil {
		return err
	}
	r, cols := cb.Shape()
	w := cols * cb.Kind().Size()
	if len(dst) != len(rows)*w {
		return fmt.Errorf("%w: %d bytes for %d rows of %d", ErrShape, len(dst), len(rows), w)
	}
	out := dst[:0]
	for _, i := range rows {
		if i < 0 || i >= r {
			return fmt.Errorf("%w: row %d of %d", ErrShape, i, r)
		}
		if cb.i8 != nil {
			out = tensor.Int8Bytes(out, cb.i8.Row(i))
		} else {
			out = tensor.Int32Bytes(out, cb.i32.Row(i))
		}
	}
	return nil
}

func (c *CPU) Free(b Buffer) error {
	cb, ok := b.(*cpuBuf)
	if !ok || cb == nil || (cb.i8 == nil && cb.i32 == nil && cb.gen == nil) {
		return fmt.Errorf("%w: not a live cpu buffer", ErrBuffer)
	}
	cb.i8, cb.i32, cb.gen = nil, nil, nil // a generated buffer is not made to be freed
	return nil
}

func (c *CPU) Close() error { return nil }

func (c *CPU) MatMul(ctx context.Context, ps []Product) error {
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Buffers first: Dims asks them their shapes, which a freed or
		// foreign buffer cannot be trusted to answer.
		a, err := c.operand(p.A, p.TransA)
		if err != nil {
			return err
		}
		b, err := c.operand(p.B, p.TransB)
		if err != nil {
			return err
		}
		cc, err := c.buf(p.C)
		if err != nil {
			return err
		}
		m, k, n, err := p.Dims()
		if err != nil {
			return err
		}
		workers := c.workers
		if m*n*k < 1<<18 {
			workers = 1
		}
		var hash *rowHasher
		if p.RowHashes != nil {
			hash = &rowHasher{key: p.HashKey, out: p.RowHashes}
		}
		switch {
		case m == 0 || n == 0 || k == 0: // an empty sum; the kernels assume k > 0
			clear(cc.i32.Data)
		case c.path == PathVNNI:
			s := simdPool.Get().(*simdScratch)
			gemmVNNI(m, k, n, a, p.TransA, b, p.TransB, cc.i32, s, workers, hash, p.Timing)
			simdPool.Put(s)
			hash = nil // hashed in the epilogue
		case c.path == PathAVX2:
			s := simdPool.Get().(*simdScratch)
			gemmAVX2(m, k, n, a.m, p.TransA, b.m, p.TransB, cc.i32, s, workers)
			simdPool.Put(s)
		default:
			gemm(m, k, n, a.m, p.TransA, b.m, p.TransB, cc.i32, workers)
		}
		if hash != nil { // paths without a fused epilogue hash afterwards
			t := p.Timing.start()
			par.Range(m, workersFor(m*n), func(lo, hi int) { hash.rows(cc.i32, lo, hi) })
			p.Timing.addHash(t)
		}
	}
	return nil
}

func gemmNaive(m, k, n int, a *tensor.Int8, ta bool, b *tensor.Int8, tb bool, c *tensor.Int32) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int32
			for l := 0; l < k; l++ {
				var x, y int8
				if ta {
					x = a.Data[l*a.Cols+i]
				} else {
					x = a.Data[i*a.Cols+l]
				}
				if tb {
					y = b.Data[j*b.Cols+l]
				} else {
					y = b.Data[l*b.Cols+j]
				}
				s += int32(x) * int32(y)
			}
			c.Data[i*n+j] = s
		}
	}
}

func (c *CPU) Project(ctx context.Context, b Buffer, r []field.Elem, out []field.Elem) error {
	cb, err := c.buf(b)
	if err != nil {
		return err
	}
	rows, cols := cb.Shape()
	if len(r) != cols || len(out) != rows {
		return fmt.Errorf("%w: project %d×%d with |r| = %d, |out| = %d", ErrShape, rows, cols, len(r), len(out))
	}
	par.Range(rows, workersFor(rows*cols), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if cb.i8 != nil {
				out[i] = field.DotInt8(cb.i8.Row(i), r)
			} else {
				out[i] = field.DotInt32(cb.i32.Row(i), r)
			}
		}
	})
	return nil
}

func (c *CPU) ProjectCols(ctx context.Context, b Buffer, r []field.Elem, out []field.Elem) error {
	cb, err := c.buf(b)
	if err != nil {
		return err
	}
	rows, cols := cb.Shape()
	if cb.i8 == nil || len(r) != rows || len(out) != cols {
		return fmt.Errorf("%w: project columns of %v %d×%d with |r| = %d, |out| = %d", ErrShape, cb.Kind(), rows, cols, len(r), len(out))
	}
	m := cb.i8
	par.Range(cols, min(workersFor(rows*cols), max(1, cols/64)), func(lo, hi int) {
		// Lazy reduction, as in field.DotInt8: r[i] = l + h·2^31 with
		// l < 2^31, h < 2^30, so |x·l|, |x·h| < 2^38 and colRun rows of
		// them sum exactly in an int64.
		sp := limbPool.Get().(*[]int64)
		*sp = grow(*sp, 2*(hi-lo))
		sl, sh := (*sp)[:hi-lo], (*sp)[hi-lo:]
		out := out[lo:hi]
		clear(out)
		for i0 := 0; i0 < rows; i0 += colRun {
			clear(sl)
			clear(sh)
			for i := i0; i < min(i0+colRun, rows); i++ {
				e := uint64(r[i])
				l, h := int64(e&(1<<31-1)), int64(e>>31)
				row := m.Data[i*cols+lo : i*cols+hi]
				sl, sh := sl[:len(row)], sh[:len(row)]
				for j, x := range row {
					sl[j] += int64(x) * l
					sh[j] += int64(x) * h
				}
			}
			for j := range out {
				out[j] = field.Add(out[j], field.Add(field.FromInt64(sl[j]), field.Mul(field.FromInt64(sh[j]), 1<<31)))
			}
		}
		limbPool.Put(sp)
	})
	return nil
}

// colRun is the rows ProjectCols sums before reducing: 2^24·2^38 < 2^63.
const colRun = 1 << 24

var limbPool = sync.Pool{New: func() any { return new([]int64) }}

func (c *CPU) HashRows(ctx context.Context, b Buffer, key [32]byte, out [][32]byte) error {
	cb, err := c.buf(b)
	if err != nil {
		return err
	}
	rows, cols := cb.Shape()
	if len(out) != rows {
		return fmt.Errorf("%w: %d hashes for %d rows", ErrShape, len(out), rows)
	}
	par.Range(rows, workersFor(rows*cols), func(lo, hi int) {
		hr := rowHasher{key: key, out: out}
		if cb.i8 != nil {
			hr.rows8(cb.i8, lo, hi)
		} else {
			hr.rows(cb.i32, lo, hi)
		}
	})
	return nil
}

// rowHasher computes out[i] = commit.RowLeaf(key, row_i bytes).
type rowHasher struct {
	key [32]byte
	out [][32]byte
}

func (hr *rowHasher) rows(m *tensor.Int32, lo, hi int) {
	if lo >= hi {
		return
	}
	if littleEndian {
		// The canonical encoding is little-endian: the rows' own bytes.
		commit.HashRows(&hr.key, int32Bytes(m.Data[lo*m.Cols:hi*m.Cols]), 4*m.Cols, hr.out[lo:hi])
		return
	}
	h := commit.NewRowHasher(&hr.key)
	scratch := make([]byte, 0, 4*m.Cols)
	for i := lo; i < hi; i++ {
		scratch = tensor.Int32Bytes(scratch[:0], m.Row(i))
		hr.out[i] = h.Sum(scratch)
	}
}

// littleEndian reports whether this machine stores an int32 in its canonical
// (little-endian) byte order.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func (hr *rowHasher) rows8(m *tensor.Int8, lo, hi int) {
	if lo >= hi {
		return
	}
	commit.HashRows(&hr.key, int8Bytes(m.Data[lo*m.Cols:hi*m.Cols]), m.Cols, hr.out[lo:hi])
}

func int32Bytes(s []int32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

func int8Bytes(s []int8) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s))
}

// workersFor uses every core for work of more than about 64 KiB.
func workersFor(elems int) int {
	if elems < 1<<16 {
		return 1
	}
	return runtime.GOMAXPROCS(0)
}
