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
}

func (b *cpuBuf) Kind() tensor.Kind {
	if b.i8 != nil {
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
	}
	return 0, 0 // freed
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
		return &cpuBuf{i32: tensor.NewInt32(rows, cols)}, nil
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
	if !ok || cb == nil || (cb.i8 == nil && cb.i32 == nil) {
		return nil, fmt.Errorf("%w: not a live cpu buffer", ErrBuffer)
	}
	return cb, nil
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
	cb, err := c.buf(b)
	if err != nil {
		return err
	}
	cb.i8, cb.i32 = nil, nil
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
		a, err := c.buf(p.A)
		if err != nil {
			return err
		}
		b, err := c.buf(p.B)
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
			gemmVNNI(m, k, n, a.i8, p.TransA, b.i8, p.TransB, cc.i32, s, workers, hash)
			simdPool.Put(s)
			hash = nil // hashed in the epilogue
		case c.path == PathAVX2:
			s := simdPool.Get().(*simdScratch)
			gemmAVX2(m, k, n, a.i8, p.TransA, b.i8, p.TransB, cc.i32, s, workers)
			simdPool.Put(s)
		default:
			gemm(m, k, n, a.i8, p.TransA, b.i8, p.TransB, cc.i32, workers)
		}
		if hash != nil { // paths without a fused epilogue hash afterwards
			par.Range(m, workersFor(m*n), func(lo, hi int) { hash.rows(cc.i32, lo, hi) })
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
