package gpu

import (
	"errors"
	"fmt"

	"github.com/seed46f70faa/trainproof/matmul"
)

// TensorMapper is a Device that encodes the Tensor Memory Accelerator's
// tensor maps, as the CUDA driver's cuTensorMapEncodeTiled does (the
// emulator encodes its own format, cgo/emu): what the Hopper GEMM needs. A
// map describes a 2-D uint8 tensor at base, inner×outer elements, rows
// stride bytes apart, copied in boxes of boxInner×boxOuter with the given
// swizzle (the values of CUtensorMapSwizzle).
type TensorMapper interface {
	EncodeTensorMap2D(base uintptr, inner, outer, stride, boxInner, boxOuter, swizzle int) ([128]byte, error)
}

// ErrNoHopper is returned by UseHopperGEMM on a device that encodes no
// tensor maps.
var ErrNoHopper = errors.New("gpu: the device cannot run the Hopper GEMM (no tensor-map encoder)")

// Tile and pipeline of the Hopper kernels (kernels/gemm_sm90.cu).
const (
	sm90BM, sm90BN = 128, 256
	sm90Stages     = 4
	swizzle64B     = 2 // CU_TENSOR_MAP_SWIZZLE_64B
	swizzle128B    = 3 // CU_TENSOR_MAP_SWIZZLE_128B
	// tmapSlots tensor maps are cached on the device (two per operand pair).
	tmapSlots = 64
	tmapBytes = 128
)

// sm90Kernel is a Hopper kernel's launch shape: K bytes a stage (the boxes'
// inner size, equal to the swizzle span), threads, dynamic shared memory.
type sm90Kernel struct {
	name                 string
	bk, swizzle, threads int
	smem                 int
}

// The plain GEMM, and the one that hashes C (96 hashers beside the
// producer, a staged 128 KiB tile, 64-byte stages to make room).
var (
	sm90Plain = sm90Kernel{"gemm_s8_sm90", 128, swizzle128B, 384, 1024 + sm90Stages*(sm90BM+sm90BN)*128 + 2*sm90Stages*8}
	sm90CV    = sm90Kernel{"gemm_s8_sm90_cv", 64, swizzle64B, 384,
		1024 + sm90Stages*(sm90BM+sm90BN)*64 + sm90BM*sm90BN*4 + (2*sm90Stages+2)*8}
)

// tmapKey identifies a tensor map: the operand's address, its shape and box.
type tmapKey struct {
	base                        uintptr
	inner, outer, boxIn, boxOut int
}

// tmaps caches encoded tensor maps on the device, so that a GEMM on buffers
// the pool has seen before (every training step after the first) uploads
// nothing. A slot's pinned bytes never change once written while work may
// read them: when the cache is full, it is emptied after a Sync.
type tmaps struct {
	dev   uintptr
	host  []byte
	slots map[tmapKey]int
}

// UseHopperGEMM makes MatMul run gemm_s8_sm90 (wgmma, bulk tensor copies, an
// mbarrier pipeline; sm_90a) on a persistent grid of at most ctas CTAs: the
// SM count on a GPU, fewer in tests so that each CTA loops over tiles.
// ctas 0 goes back to gemm_s8_tc.
func (g *Backend) UseHopperGEMM(ctas int) error {
	if ctas < 0 {
		return fmt.Errorf("gpu: UseHopperGEMM(%d)", ctas)
	}
	if _, ok := g.dev.(TensorMapper); !ok && ctas > 0 {
		return ErrNoHopper
	}
	g.hopperCTAs = ctas
	return nil
}

// tensorMap returns the device address of the tensor map of a rows×kp int8
// operand at base, boxes of boxRows rows of bk bytes with a bk-byte swizzle.
func (g *Backend) tensorMap(base uintptr, rows, kp, bk, swizzle, boxRows int) (uintptr, error) {
	key := tmapKey{base, kp, rows, bk, boxRows}
	t := &g.tmaps
	if i, ok := t.slots[key]; ok {
		return t.dev + uintptr(i*tmapBytes), nil
	}
	if t.host == nil {
		if err := g.grow(&t.dev, &t.host, tmapSlots*tmapBytes); err != nil {
			return 0, err
		}
		t.slots = map[tmapKey]int{}
	}
	if len(t.slots) == tmapSlots {
		if err := g.Sync(); err != nil { // no queued work reads a slot any more
			return 0, err
		}
		t.slots = map[tmapKey]int{}
	}
	m, err := g.dev.(TensorMapper).EncodeTensorMap2D(base, kp, rows, kp, bk, boxRows, swizzle)
	if err != nil {
		return 0, err
	}
	i := len(t.slots)
	copy(t.host[i*tmapBytes:], m[:])
	p := t.dev + uintptr(i*tmapBytes)
	if err := g.dev.CopyHtoD(p, t.host[i*tmapBytes:(i+1)*tmapBytes]); err != nil {
		return 0, err
	}
	t.slots[key] = i
	return p, nil
}

func (g *Backend) freeTensorMaps() error {
	if g.tmaps.host == nil {
		return nil
	}
	err := g.dev.Free(g.tmaps.dev)
	if e := g.dev.HostFree(g.tmaps.host); err == nil {
		err = e
	}
	g.tmaps = tmaps{}
	return err
}

// gemmSM90 launches k on packed operands (A' m×kp, B' n×kp); more are the
// arguments after ldc.
func (g *Backend) gemmSM90(k sm90Kernel, ap, bp uintptr, c *buf, m, n, kp int, more ...uint64) error {
	ma, err := g.tensorMap(ap, m, kp, k.bk, k.swizzle, sm90BM)
	if err != nil {
		return err
	}
	mb, err := g.tensorMap(bp, n, kp, k.bk, k.swizzle, sm90BN)
	if err != nil {
		return err
	}
	tiles := cdiv(m, sm90BM) * cdiv(n, sm90BN)
	args := append([]uint64{uint64(ma), uint64(mb), uint64(c.ptr), uint64(m), uint64(n), uint64(kp), uint64(n)}, more...)
	return g.dev.Launch(k.name, [3]int{min(tiles, g.hopperCTAs), 1, 1}, [3]int{k.threads, 1, 1}, k.smem, args...)
}

// matMulHashedSM90 computes a product whose C rows are hashed
// (Product.RowHashes) with gemm_s8_sm90_cv: its hasher warpgroup writes each
// row's chunk chaining values (one a 256-column tile) beside the GEMM,
// blake3_parents merges them into the leaves, which come back in one copy
// after one Sync.
func (g *Backend) matMulHashedSM90(p matmul.Product) error {
	m, _, n, err := p.Dims()
	if err != nil {
		return err
	}
	cpr := cdiv(n, sm90BN) // = ⌈4n / commit.ChunkSize⌉: a tile row is one chunk
	if err := g.mailbox(32 * m); err != nil {
		return err
	}
	k := keyWords(p.HashKey)
	cvs := g.box.dev // a row of one chunk: its chaining value is the leaf
	if cpr > 1 {
		if cvs, err = g.pool.get(32 * m * cpr); err != nil {
			return err
		}
		defer g.pool.put(cvs, 32*m*cpr)
	}
	err = g.gemm(p, func(ap, bp uintptr, c *buf, m, n, kp int) error {
		return g.gemmSM90(sm90CV, ap, bp, c, m, n, kp, k[0], k[1], k[2], k[3], uint64(cvs))
	})
	if err != nil {
		return err
	}
	if cpr > 1 {
		if err := g.mergeChunks(cvs, m, cpr, k, g.box.dev); err != nil {
			return err
		}
	}
	if err := g.dev.CopyDtoH(g.box.host[:32*m], g.box.dev); err != nil {
		return err
	}
	if err := g.Sync(); err != nil {
		return err
	}
	for i := range p.RowHashes {
		copy(p.RowHashes[i][:], g.box.host[32*i:])
	}
	return nil
}
