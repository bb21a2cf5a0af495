// Package gpu is the matmul.Backend that runs trainproof's CUDA kernels
// (kernels/*.cu) on a Device: a real GPU through the CUDA driver (package
// cgo/cuda, build tag cuda) or the SIMT emulator (package cgo/emu), which
// runs the very same kernel sources on the CPU so that every test run
// checks them bit for bit against the CPU backend.
//
// Matrices stay in device memory between products; Project computes
// Freivalds projections on the device so that only field vectors cross the
// bus.
package gpu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/tensor"
)

// Device is what the backend needs of a GPU driver. Pointers are device
// addresses; every kernel argument is one 64-bit slot.
//
// A device has one stream, and its copies and launches are asynchronous:
// they are queued in order and may not have run when the call returns.
// Sync waits for all of them and reports the first failure among them (a
// kernel's fault surfaces there, not at its Launch). So a CopyHtoD's source
// must not change, and a CopyDtoH's destination holds nothing, until the next
// Sync; read-backs go to pinned memory from HostAlloc. Free may wait for the
// stream (cuMemFree does), so the backend never frees in the steady state.
type Device interface {
	Name() string
	Alloc(size int) (uintptr, error)
	Free(p uintptr) error
	// HostAlloc returns page-locked host memory (staging and read-back
	// buffers); HostFree releases it.
	HostAlloc(n int) ([]byte, error)
	HostFree(b []byte) error
	CopyHtoD(dst uintptr, src []byte) error
	CopyDtoH(dst []byte, src uintptr) error
	CopyDtoD(dst, src uintptr, n int) error
	Launch(kernel string, grid, block [3]int, smem int, args ...uint64) error
	Sync() error
	MemInfo() (free, total uint64)
}

// Poisoner is a Device that fills memory the backend hands out again with a
// poison pattern, in stream order (the emulator always; the CUDA device when
// asked to, for tests), so that a kernel that fails to write its output
// cannot pass on the previous owner's data.
type Poisoner interface {
	Poison(p uintptr, n int) error
}

// ErrNoGPU is returned where a GPU build is needed and absent.
var ErrNoGPU = errors.New("gpu: no CUDA device in this build (build with -tags cuda on a GPU machine, or use the emulator)")

// Backend runs products on a Device.
//
// The host path is asynchronous: a training step (Trainer.StepResident) only
// queues work, from memory the backend's pool already holds, and the results
// the host needs come back in one batched read-back per synchronisation
// (HashRowsBatch, ReadRowsBatch) through a pinned mailbox.
type Backend struct {
	dev  Device
	name string
	pool pool
	box  mailbox
	// syncs counts the backend's synchronisations (staging buffers are
	// reused only after one).
	syncs uint64
	// hopperCTAs > 0 runs MatMul on gemm_s8_sm90 with that many CTAs at most
	// (UseHopperGEMM); tmaps are its tensor maps.
	hopperCTAs int
	tmaps      tmaps
}

// New returns a backend on dev; name is what bundles and reports call it
// ("cuda", "emu").
func New(dev Device, name string) *Backend {
	return &Backend{dev: dev, name: name, pool: pool{dev: dev, free: map[int][]uintptr{}}}
}

// Sync waits for the device and reports the first failure of queued work.
func (g *Backend) Sync() error {
	g.syncs++
	return g.dev.Sync()
}

// pool is the device-memory arena: it caches allocations by size, so that
// the buffers of a training step are the previous step's (cuMemAlloc and
// cuMemFree synchronise the device). Buffers go back to the pool while
// queued work may still use them; that is safe because the device runs its
// one stream in order, so any later use of the memory comes after. Reused
// memory is poisoned, as fresh memory is, on a Poisoner device.
type pool struct {
	dev    Device
	free   map[int][]uintptr
	cached int
}

// maxCached bounds the bytes the pool keeps.
const maxCached = 1 << 30

func (p *pool) get(size int) (uintptr, error) {
	if l := p.free[size]; len(l) > 0 {
		ptr := l[len(l)-1]
		p.free[size] = l[:len(l)-1]
		p.cached -= size
		if ps, ok := p.dev.(Poisoner); ok {
			if err := ps.Poison(ptr, size); err != nil {
				p.dev.Free(ptr)
				return 0, err
			}
		}
		return ptr, nil
	}
	ptr, err := p.dev.Alloc(size)
	if err != nil && p.cached > 0 {
		p.release() // out of memory: give the cache back and try once more
		ptr, err = p.dev.Alloc(size)
	}
	return ptr, err
}

func (p *pool) put(ptr uintptr, size int) error {
	if p.cached+size > maxCached {
		return p.dev.Free(ptr)
	}
	p.free[size] = append(p.free[size], ptr)
	p.cached += size
	return nil
}

func (p *pool) release() error {
	var first error
	for size, l := range p.free {
		for _, ptr := range l {
			if err := p.dev.Free(ptr); err != nil && first == nil {
				first = err
			}
		}
		delete(p.free, size)
	}
	p.cached = 0
	return first
}

// mailbox is where batched read-backs gather: a device buffer that queued
// copies and kernels fill, and a pinned host buffer it comes back to in one
// copy; and the row indexes a gather reads, going up the other way. Each
// grows (doubling) until it fits a step's read-backs, then stays.
type mailbox struct {
	dev, idxDev   uintptr
	host, idxHost []byte
}

// grow makes *dev and *host (a device buffer and its pinned twin) hold at
// least n bytes.
func (g *Backend) grow(dev *uintptr, host *[]byte, n int) error {
	if n <= len(*host) {
		return nil
	}
	if *host != nil {
		err := g.dev.Free(*dev)
		if e := g.dev.HostFree(*host); err == nil {
			err = e
		}
		*dev, *host = 0, nil
		if err != nil {
			return err
		}
	}
	n = max(n, 2*len(*host), 4096)
	p, err := g.dev.Alloc(n)
	if err != nil {
		return err
	}
	h, err := g.dev.HostAlloc(n)
	if err != nil {
		g.dev.Free(p)
		return err
	}
	*dev, *host = p, h
	return nil
}

func (g *Backend) mailbox(n int) error { return g.grow(&g.box.dev, &g.box.host, n) }

func (g *Backend) freeMailbox() error {
	var err error
	for _, b := range []struct {
		dev  uintptr
		host []byte
	}{{g.box.dev, g.box.host}, {g.box.idxDev, g.box.idxHost}} {
		if b.host == nil {
			continue
		}
		if e := g.dev.Free(b.dev); err == nil {
			err = e
		}
		if e := g.dev.HostFree(b.host); err == nil {
			err = e
		}
	}
	g.box = mailbox{}
	return err
}

type buf struct {
	ptr        uintptr
	kind       tensor.Kind
	rows, cols int
	freed      bool
}

func (b *buf) Kind() tensor.Kind       { return b.kind }
func (b *buf) Shape() (rows, cols int) { return b.rows, b.cols }
func (b *buf) bytes() int              { return b.rows * b.cols * b.kind.Size() }

func (g *Backend) Name() string { return g.name }

func (g *Backend) get(b matmul.Buffer) (*buf, error) {
	x, ok := b.(*buf)
	if !ok || x == nil || x.freed {
		return nil, fmt.Errorf("%w: not a live %s buffer", matmul.ErrBuffer, g.name)
	}
	return x, nil
}

func (g *Backend) Alloc(kind tensor.Kind, rows, cols int) (matmul.Buffer, error) {
	if rows <= 0 || cols <= 0 || kind.Size() == 0 {
		return nil, fmt.Errorf("%w: alloc %v %d×%d", matmul.ErrShape, kind, rows, cols)
	}
	b := &buf{kind: kind, rows: rows, cols: cols}
	p, err := g.pool.get(b.bytes())
	if err != nil {
		return nil, err
	}
	b.ptr = p
	return b, nil
}

// upload copies host memory to the device and waits, so that the caller may
// change it as soon as this returns (a training step uploads through pinned
// staging instead, without waiting).
func (g *Backend) upload(dst uintptr, src []byte) error {
	if err := g.dev.CopyHtoD(dst, src); err != nil {
		return err
	}
	return g.Sync()
}

func (g *Backend) UploadInt8(m *tensor.Int8) (matmul.Buffer, error) {
	b, err := g.Alloc(tensor.KindInt8, m.Rows, m.Cols)
	if err != nil {
		return nil, err
	}
	if err := g.upload(b.(*buf).ptr, int8Bytes(m.Data)); err != nil {
		g.Free(b)
		return nil, err
	}
	return b, nil
}

func (g *Backend) UploadInt32(m *tensor.Int32) (matmul.Buffer, error) {
	b, err := g.Alloc(tensor.KindInt32, m.Rows, m.Cols)
	if err != nil {
		return nil, err
	}
	if err := g.upload(b.(*buf).ptr, int32Bytes(m.Data)); err != nil {
		g.Free(b)
		return nil, err
	}
	return b, nil
}

func (g *Backend) DownloadInt8(b matmul.Buffer, dst *tensor.Int8) error {
	x, err := g.get(b)
	if err != nil {
		return err
	}
	if x.kind != tensor.KindInt8 || x.rows != dst.Rows || x.cols != dst.Cols {
		return fmt.Errorf("%w: download into %d×%d int8", matmul.ErrShape, dst.Rows, dst.Cols)
	}
	if err := g.dev.CopyDtoH(int8Bytes(dst.Data), x.ptr); err != nil {
		return err
	}
	return g.Sync()
}

func (g *Backend) DownloadInt32(b matmul.Buffer, dst *tensor.Int32) error {
	x, err := g.get(b)
	if err != nil {
		return err
	}
	if x.kind != tensor.KindInt32 || x.rows != dst.Rows || x.cols != dst.Cols {
		return fmt.Errorf("%w: download into %d×%d int32", matmul.ErrShape, dst.Rows, dst.Cols)
	}
	if err := g.dev.CopyDtoH(int32Bytes(dst.Data), x.ptr); err != nil {
		return err
	}
	return g.Sync()
}

func (g *Backend) ReadRows(b matmul.Buffer, rows []int, dst []byte) error {
	return g.ReadRowsBatch([]RowsRead{{Buf: b, Rows: rows, Dst: dst}})
}

// RowsRead asks for rows of a buffer, in order, into Dst (len(Rows) rows of
// the buffer's row bytes).
type RowsRead struct {
	Buf  matmul.Buffer
	Rows []int
	Dst  []byte
}

// ReadRowsBatch reads rows of many buffers (a bundle's opened rows and whole
// matrices) in one read-back: runs of consecutive rows are copied to the
// mailbox on the device, scattered rows gathered there by gather_rows (their
// indexes go up in one copy), one copy brings the mailbox back, one Sync
// waits for it.
func (g *Backend) ReadRowsBatch(reads []RowsRead) error {
	total, nidx := 0, 0
	for _, r := range reads {
		x, err := g.get(r.Buf)
		if err != nil {
			return err
		}
		w := x.cols * x.kind.Size()
		if len(r.Dst) != len(r.Rows)*w {
			return fmt.Errorf("%w: %d bytes for %d rows of %d", matmul.ErrShape, len(r.Dst), len(r.Rows), w)
		}
		for _, i := range r.Rows {
			if i < 0 || i >= x.rows {
				return fmt.Errorf("%w: row %d of %d", matmul.ErrShape, i, x.rows)
			}
		}
		if !consecutive(r.Rows) {
			nidx += len(r.Rows)
		}
		total += len(r.Dst)
	}
	if total == 0 {
		return nil
	}
	if err := g.mailbox(total); err != nil {
		return err
	}
	if nidx > 0 {
		if err := g.grow(&g.box.idxDev, &g.box.idxHost, 8*nidx); err != nil {
			return err
		}
		k := 0
		for _, r := range reads {
			if !consecutive(r.Rows) {
				for _, i := range r.Rows {
					binary.LittleEndian.PutUint64(g.box.idxHost[8*k:], uint64(i))
					k++
				}
			}
		}
		if err := g.dev.CopyHtoD(g.box.idxDev, g.box.idxHost[:8*nidx]); err != nil {
			return err
		}
	}
	off, k := 0, 0
	for _, r := range reads {
		if len(r.Rows) == 0 {
			continue
		}
		x, _ := g.get(r.Buf)
		w := x.cols * x.kind.Size()
		n := len(r.Rows) * w
		if consecutive(r.Rows) {
			if err := g.dev.CopyDtoD(g.box.dev+uintptr(off), x.ptr+uintptr(r.Rows[0]*w), n); err != nil {
				return err
			}
		} else {
			if err := g.dev.Launch("gather_rows", [3]int{min(cdiv(n, 256), 1024), 1, 1}, [3]int{256, 1, 1}, 0,
				uint64(x.ptr), uint64(w), uint64(g.box.idxDev+uintptr(8*k)), uint64(len(r.Rows)), uint64(g.box.dev+uintptr(off))); err != nil {
				return err
			}
			k += len(r.Rows)
		}
		off += n
	}
	if err := g.dev.CopyDtoH(g.box.host[:total], g.box.dev); err != nil {
		return err
	}
	if err := g.Sync(); err != nil {
		return err
	}
	off = 0
	for _, r := range reads {
		off += copy(r.Dst, g.box.host[off:])
	}
	return nil
}

// consecutive reports whether rows are i, i+1, …: one copy reads them.
func consecutive(rows []int) bool {
	for k := 1; k < len(rows); k++ {
		if rows[k] != rows[0]+k {
			return false
		}
	}
	return true
}

func (g *Backend) Free(b matmul.Buffer) error {
	x, err := g.get(b)
	if err != nil {
		return err
	}
	x.freed = true
	return g.pool.put(x.ptr, x.bytes())
}

// Close returns every cached allocation and the mailbox to the device.
func (g *Backend) Close() error {
	err := g.pool.release()
	if e := g.freeMailbox(); err == nil {
		err = e
	}
	if e := g.freeTensorMaps(); err == nil {
		err = e
	}
	return err
}

// Kernel launch shapes (kernels/gemm_s8.cu).
const (
	gemmTile    = 128                            // BM = BN
	gemmThreads = 256                            // GEMM_THREADS
	gemmSmem    = 3 * (gemmTile + gemmTile) * 64 // GEMM_STAGES · (BM + BN) · BK
	kStep       = 32
)

func cdiv(a, b int) int { return (a + b - 1) / b }

// pack lays op(x) out as a zero-padded rows×kp matrix with K contiguous.
func (g *Backend) pack(src *buf, rows, cols int, trans bool, kp int) (uintptr, error) {
	dst, err := g.pool.get(rows * kp)
	if err != nil {
		return 0, err
	}
	n := rows * kp
	t := uint64(0)
	if trans {
		t = 1
	}
	err = g.dev.Launch("pack_s8", [3]int{min(cdiv(n, 256), 4096), 1, 1}, [3]int{256, 1, 1}, 0,
		uint64(src.ptr), uint64(rows), uint64(cols), t, uint64(dst), uint64(rows), uint64(kp))
	if err != nil {
		g.pool.put(dst, rows*kp)
		return 0, err
	}
	return dst, nil
}

func (g *Backend) MatMul(ctx context.Context, ps []matmul.Product) error {
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if p.RowHashes != nil && g.hopperCTAs > 0 {
			if err := g.matMulHashedSM90(p); err != nil {
				return err
			}
			continue
		}
		err := g.gemm(p, func(ap, bp uintptr, c *buf, m, n, kp int) error {
			if g.hopperCTAs > 0 {
				return g.gemmSM90(sm90Plain, ap, bp, c, m, n, kp)
			}
			return g.dev.Launch("gemm_s8_tc", [3]int{cdiv(n, gemmTile), cdiv(m, gemmTile), 1}, [3]int{gemmThreads, 1, 1}, gemmSmem,
				uint64(ap), uint64(bp), uint64(c.ptr), uint64(m), uint64(n), uint64(kp), uint64(n))
		})
		if err != nil {
			return err
		}
		if p.RowHashes != nil {
			if err := g.HashRows(ctx, p.C, p.HashKey, p.RowHashes); err != nil {
				return err
			}
		}
	}
	return nil
}

// gemm packs a product's operands (op(A) as m×kp, op(B)ᵀ as n×kp, kp the
// inner dimension rounded up to the MMA's 32) and runs launch on them.
func (g *Backend) gemm(p matmul.Product, launch func(ap, bp uintptr, c *buf, m, n, kp int) error) error {
	m, k, n, err := p.Dims()
	if err != nil {
		return err
	}
	a, err := g.get(p.A)
	if err != nil {
		return err
	}
	b, err := g.get(p.B)
	if err != nil {
		return err
	}
	c, err := g.get(p.C)
	if err != nil {
		return err
	}
	kp := cdiv(k, kStep) * kStep
	// A' = op(A) as m×kp. With TransA, A is stored k×m: L[r][c] = A[c][r].
	ap, err := g.pack(a, m, k, p.TransA, kp)
	if err != nil {
		return err
	}
	defer g.pool.put(ap, m*kp)
	// B' = op(B)ᵀ as n×kp. Without TransB, B is stored k×n: L[r][c] = B[c][r].
	bp, err := g.pack(b, n, k, !p.TransB, kp)
	if err != nil {
		return err
	}
	defer g.pool.put(bp, n*kp)
	return launch(ap, bp, c, m, n, kp)
}

// MatMulUpdate computes a weight gradient DW = op(A)·op(B) into p.C and, in
// the same kernel's epilogue (gemm_s8_tc_update), the SGD update
// mNext = model.UpdateRow(m, DW) with the given shifts and limit, so the
// update needs no pass of its own over DW and the weights. m and mNext are
// int32 buffers of C's shape.
func (g *Backend) MatMulUpdate(ctx context.Context, p matmul.Product, m, mNext matmul.Buffer, lrShift, decayShift int, lim int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.RowHashes != nil {
		return fmt.Errorf("%w: MatMulUpdate hashes no rows", matmul.ErrShape)
	}
	mb, err := g.get(m)
	if err != nil {
		return err
	}
	nb, err := g.get(mNext)
	if err != nil {
		return err
	}
	return g.gemm(p, func(ap, bp uintptr, c *buf, rows, cols, kp int) error {
		for _, x := range []*buf{mb, nb} {
			if x.kind != tensor.KindInt32 || x.rows != rows || x.cols != cols {
				return fmt.Errorf("%w: weights of %d×%d %v for a gradient of %d×%d", matmul.ErrShape, x.rows, x.cols, x.kind, rows, cols)
			}
		}
		return g.dev.Launch("gemm_s8_tc_update", [3]int{cdiv(cols, gemmTile), cdiv(rows, gemmTile), 1}, [3]int{gemmThreads, 1, 1}, gemmSmem,
			uint64(ap), uint64(bp), uint64(c.ptr), uint64(rows), uint64(cols), uint64(kp),
			uint64(mb.ptr), uint64(lrShift), uint64(decayShift), uint64(lim), uint64(nb.ptr))
	})
}

// Project computes rows·r on the device (kernels project_i8, project_i32):
// only the field vectors cross the bus.
func (g *Backend) Project(ctx context.Context, b matmul.Buffer, r []field.Elem, out []field.Elem) error {
	x, err := g.get(b)
	if err != nil {
		return err
	}
	if len(r) != x.cols || len(out) != x.rows {
		return fmt.Errorf("%w: project %d×%d with |r| = %d, |out| = %d", matmul.ErrShape, x.rows, x.cols, len(r), len(out))
	}
	kernel := "project_i32"
	if x.kind == tensor.KindInt8 {
		kernel = "project_i8"
	}
	rp, err := g.pool.get(8 * len(r))
	if err != nil {
		return err
	}
	defer g.pool.put(rp, 8*len(r))
	op, err := g.pool.get(8 * len(out))
	if err != nil {
		return err
	}
	defer g.pool.put(op, 8*len(out))
	if err := g.dev.CopyHtoD(rp, elemBytes(r)); err != nil {
		return err
	}
	const warps = 4
	if err := g.dev.Launch(kernel, [3]int{cdiv(x.rows, warps), 1, 1}, [3]int{32 * warps, 1, 1}, 0,
		uint64(x.ptr), uint64(x.rows), uint64(x.cols), uint64(rp), uint64(op)); err != nil {
		return err
	}
	if err := g.dev.CopyDtoH(elemBytes(out), op); err != nil {
		return err
	}
	return g.Sync()
}

// ProjectCols computes columns·r of an int8 buffer on the device.
func (g *Backend) ProjectCols(ctx context.Context, b matmul.Buffer, r []field.Elem, out []field.Elem) error {
	x, err := g.get(b)
	if err != nil {
		return err
	}
	if x.kind != tensor.KindInt8 || len(r) != x.rows || len(out) != x.cols {
		return fmt.Errorf("%w: project columns of %v %d×%d with |r| = %d, |out| = %d", matmul.ErrShape, x.kind, x.rows, x.cols, len(r), len(out))
	}
	rp, err := g.pool.get(8 * len(r))
	if err != nil {
		return err
	}
	defer g.pool.put(rp, 8*len(r))
	op, err := g.pool.get(8 * len(out))
	if err != nil {
		return err
	}
	defer g.pool.put(op, 8*len(out))
	if err := g.dev.CopyHtoD(rp, elemBytes(r)); err != nil {
		return err
	}
	const threads = 128
	if err := g.dev.Launch("project_cols_i8", [3]int{cdiv(x.cols, threads), 1, 1}, [3]int{threads, 1, 1}, 0,
		uint64(x.ptr), uint64(x.rows), uint64(x.cols), uint64(rp), uint64(op)); err != nil {
		return err
	}
	if err := g.dev.CopyDtoH(elemBytes(out), op); err != nil {
		return err
	}
	return g.Sync()
}

// HashRows computes the rows' Merkle leaves on the device (kernels/hash_rows.cu):
// one thread a 1 KiB chunk, then one a parent, level by level, to merge the
// chunks' chaining values; only 32 bytes per row cross the bus.
func (g *Backend) HashRows(ctx context.Context, b matmul.Buffer, key [32]byte, out [][32]byte) error {
	return g.HashRowsBatch(ctx, []HashJob{{Buf: b, Key: key, Out: out}})
}

// HashJob asks for the row leaves of Buf under Key (len(Out) = its rows).
type HashJob struct {
	Buf matmul.Buffer
	Key [32]byte
	Out [][32]byte
}

// HashRowsBatch hashes the rows of many buffers (every matrix a step commits
// to) and brings all the leaves back in one copy from the mailbox, after one
// Sync. Launches: per job, one blake3_chunks and ⌈log₂ c⌉ blake3_parents,
// c = ⌈row bytes / 1024⌉ chunks a row.
func (g *Backend) HashRowsBatch(ctx context.Context, jobs []HashJob) error {
	total := 0
	for _, j := range jobs {
		x, err := g.get(j.Buf)
		if err != nil {
			return err
		}
		if len(j.Out) != x.rows {
			return fmt.Errorf("%w: %d hashes for %d rows", matmul.ErrShape, len(j.Out), x.rows)
		}
		total += 32 * x.rows
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if total == 0 {
		return nil
	}
	if err := g.mailbox(total); err != nil {
		return err
	}
	off := 0
	for _, j := range jobs {
		x, _ := g.get(j.Buf)
		if err := g.hashRows(x, j.Key, g.box.dev+uintptr(off)); err != nil {
			return err
		}
		off += 32 * x.rows
	}
	if err := g.dev.CopyDtoH(g.box.host[:total], g.box.dev); err != nil {
		return err
	}
	if err := g.Sync(); err != nil {
		return err
	}
	// The kernels write little-endian words; so is every host this runs on
	// (the device's byte order is the host's for cgo/cuda and cgo/emu).
	off = 0
	for _, j := range jobs {
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&j.Out[0])), 32*len(j.Out))
		off += copy(raw, g.box.host[off:])
	}
	return nil
}

// hashRows queues the kernels that write x's row leaves to leaves.
func (g *Backend) hashRows(x *buf, key [32]byte, leaves uintptr) error {
	rowBytes := x.cols * x.kind.Size()
	cpr := max(1, cdiv(rowBytes, commit.ChunkSize))
	k := keyWords(key)
	const threads = 128
	if cpr == 1 { // a row of one chunk is its own root
		return g.dev.Launch("blake3_chunks", [3]int{cdiv(x.rows, threads), 1, 1}, [3]int{threads, 1, 1}, 0,
			uint64(x.ptr), uint64(x.rows), uint64(rowBytes), k[0], k[1], k[2], k[3], uint64(leaves))
	}
	cvs, err := g.pool.get(32 * x.rows * cpr)
	if err != nil {
		return err
	}
	defer g.pool.put(cvs, 32*x.rows*cpr)
	if err := g.dev.Launch("blake3_chunks", [3]int{cdiv(x.rows*cpr, threads), 1, 1}, [3]int{threads, 1, 1}, 0,
		uint64(x.ptr), uint64(x.rows), uint64(rowBytes), k[0], k[1], k[2], k[3], uint64(cvs)); err != nil {
		return err
	}
	return g.mergeChunks(cvs, x.rows, cpr, k, leaves)
}

// keyWords splits a BLAKE3 key into the four little-endian words the
// hashing kernels take.
func keyWords(key [32]byte) (k [4]uint64) {
	for i := range k {
		k[i] = binary.LittleEndian.Uint64(key[8*i:])
	}
	return k
}

// mergeChunks queues BLAKE3's tree over cpr ≥ 2 chunk chaining values a
// row at cvs, one level a launch, ping-ponging between cvs and a buffer of
// half its size; the top level writes the rows' leaves.
func (g *Backend) mergeChunks(cvs uintptr, rows, cpr int, k [4]uint64, leaves uintptr) error {
	const threads = 128
	half := (cpr + 1) / 2
	tmp, err := g.pool.get(32 * rows * half)
	if err != nil {
		return err
	}
	defer g.pool.put(tmp, 32*rows*half)
	src, dst := cvs, tmp
	for count := cpr; count > 1; count = (count + 1) / 2 {
		next := (count + 1) / 2
		to := dst
		if next == 1 {
			to = leaves
		}
		if err := g.dev.Launch("blake3_parents", [3]int{cdiv(rows*next, threads), 1, 1}, [3]int{threads, 1, 1}, 0,
			uint64(src), uint64(rows), uint64(count), k[0], k[1], k[2], k[3], uint64(to)); err != nil {
			return err
		}
		src, dst = dst, src
	}
	return nil
}

func int8Bytes(s []int8) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s))
}

func int32Bytes(s []int32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 4*len(s))
}

func elemBytes(s []field.Elem) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 8*len(s))
}
