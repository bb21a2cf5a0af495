// Package matmul defines the Backend that trainproof runs its exact integer
// matrix products on, and provides the pure-Go CPU backend.
//
// Arithmetic is exact: operands are int8, products accumulate in int32, and
// the result is the same bits on every backend whatever its summation order,
// because integer addition is associative and no partial sum can overflow:
// every backend rejects products whose inner dimension exceeds MaxInner
// (MaxInner·128² = 2^31).
//
// Buffers are backend-resident: a CUDA backend keeps them in device memory, so
// that a training step, its commitments (HashRows) and its Freivalds answers
// (Project) run where the data lives and only hashes and projections cross
// the bus. The CPU backend's buffers wrap host slices without copying.
package matmul

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/tensor"
)

// MaxInner is the largest inner dimension k accepted for int8×int8→int32
// products: k·(−128)·(−128) ≤ 2^31 − 1 requires k < 2^17.
// (|a·b| ≤ 2^14, and 131071·2^14 < 2^31.)
const MaxInner = 1<<17 - 1

// ErrShape reports operands whose shapes do not fit the requested product.
var ErrShape = errors.New("matmul: shape mismatch")

// ErrOverflow reports an inner dimension that could overflow int32.
var ErrOverflow = errors.New("matmul: inner dimension could overflow int32")

// ErrBuffer reports a buffer that is of the wrong kind or from another backend.
var ErrBuffer = errors.New("matmul: invalid buffer")

// Buffer is a matrix resident in a backend's memory. Only the backend that
// made it may use it.
type Buffer interface {
	Kind() tensor.Kind
	Shape() (rows, cols int)
}

// Product asks for C = op(A)·op(B) where op transposes when the flag is set.
// A and B are int8 buffers; C is an int32 buffer of shape m×n, overwritten.
type Product struct {
	A, B           Buffer
	TransA, TransB bool
	C              Buffer

	// RowHashes, when not nil, asks the backend to hash every row of C as
	// HashRows would (with HashKey) while computing the product, so that
	// the commitment rides in the product's epilogue instead of another pass
	// over C. len(RowHashes) must be C's rows.
	RowHashes [][32]byte
	HashKey   [32]byte

	// Timing, when not nil, collects where the product's time went beside
	// the multiply-adds (what a backend can tell apart).
	Timing *Timing
}

// Timing is the time a product spent on work beside its multiply-adds,
// summed over the workers that did it (so up to cores × the product's wall
// time). The CPU backend fills it; others may leave it zero.
type Timing struct {
	operands, hash atomic.Int64 // nanoseconds
}

// Operands is the time spent generating the rows of generated operands
// (CPU.GenInt8).
func (t *Timing) Operands() time.Duration { return time.Duration(t.operands.Load()) }

// Hash is the time spent hashing C's rows (Product.RowHashes).
func (t *Timing) Hash() time.Duration { return time.Duration(t.hash.Load()) }

func (t *Timing) start() time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Now()
}

func (t *Timing) addOperands(since time.Time) {
	if t != nil {
		t.operands.Add(int64(time.Since(since)))
	}
}

func (t *Timing) addHash(since time.Time) {
	if t != nil {
		t.hash.Add(int64(time.Since(since)))
	}
}

// Dims returns m, k, n of the product, checking the shapes.
func (p Product) Dims() (m, k, n int, err error) {
	ar, ac := p.A.Shape()
	br, bc := p.B.Shape()
	cr, cc := p.C.Shape()
	m, k = ar, ac
	if p.TransA {
		m, k = ac, ar
	}
	k2, n := br, bc
	if p.TransB {
		k2, n = bc, br
	}
	if p.A.Kind() != tensor.KindInt8 || p.B.Kind() != tensor.KindInt8 || p.C.Kind() != tensor.KindInt32 {
		return 0, 0, 0, fmt.Errorf("%w: want int8·int8→int32, got %v·%v→%v", ErrBuffer, p.A.Kind(), p.B.Kind(), p.C.Kind())
	}
	if k != k2 || cr != m || cc != n {
		return 0, 0, 0, fmt.Errorf("%w: %d×%d · %d×%d → %d×%d", ErrShape, m, k, k2, n, cr, cc)
	}
	if k > MaxInner {
		return 0, 0, 0, fmt.Errorf("%w: k = %d > %d", ErrOverflow, k, MaxInner)
	}
	if p.RowHashes != nil && len(p.RowHashes) != m {
		return 0, 0, 0, fmt.Errorf("%w: %d row hashes for %d rows", ErrShape, len(p.RowHashes), m)
	}
	return m, k, n, nil
}

// Backend runs exact integer matrix work. Implementations are safe for use by
// one goroutine at a time; they may parallelise internally.
type Backend interface {
	// Name identifies the backend ("cpu", "cuda", …) in bundles and reports.
	Name() string

	// Alloc returns a rows×cols buffer of the given kind. Its contents are
	// unspecified: the CPU backend zeroes it, GPU backends poison it so that
	// an output a kernel forgets to write cannot pass a test.
	Alloc(kind tensor.Kind, rows, cols int) (Buffer, error)
	// UploadInt8 and UploadInt32 copy a host matrix into a new buffer.
	UploadInt8(m *tensor.Int8) (Buffer, error)
	UploadInt32(m *tensor.Int32) (Buffer, error)
	// DownloadInt8 and DownloadInt32 copy a buffer into a host matrix of the same shape.
	DownloadInt8(b Buffer, dst *tensor.Int8) error
	DownloadInt32(b Buffer, dst *tensor.Int32) error
	// ReadRows copies the canonical bytes (tensor.Int8Bytes / Int32Bytes) of
	// the listed rows, one after another, into dst: how a prover fetches the
	// rows it opens without moving the whole matrix.
	ReadRows(b Buffer, rows []int, dst []byte) error
	// Free releases a buffer; using it afterwards is an error.
	Free(b Buffer) error

	// MatMul runs a batch of independent products. A backend may run them
	// concurrently; a product's C must not alias another's operands.
	MatMul(ctx context.Context, ps []Product) error

	// Project computes out[i] = Σ_j b[i][j]·r[j] mod p for every row i: the
	// Freivalds projection of b, without moving b off the backend.
	// len(r) must equal b's columns and len(out) its rows.
	Project(ctx context.Context, b Buffer, r []field.Elem, out []field.Elem) error

	// ProjectCols computes out[j] = Σ_i r[i]·b[i][j] mod p for every column
	// j of an int8 buffer: the projection of its transpose, which the
	// checks of products with a transposed operand need.
	ProjectCols(ctx context.Context, b Buffer, r []field.Elem, out []field.Elem) error

	// HashRows computes out[i] = BLAKE3 keyed_hash(key, row_i) for every
	// row i, where row_i is the row's canonical little-endian encoding
	// (tensor.Int8Bytes / tensor.Int32Bytes): the row leaves of
	// commit.RowLeaf, which matrix commitments build on. Each row splits into
	// 1 KiB chunks that hash independently (docs/PROTOCOL.md §3).
	HashRows(ctx context.Context, b Buffer, key [32]byte, out [][32]byte) error

	// Close releases every resource the backend holds.
	Close() error
}
