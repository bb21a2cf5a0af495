package emu

// #include "kernels.h"
import "C"

import (
	"encoding/binary"
	"fmt"
)

// Stats counts what the emulated tensor-core primitives did, over every
// launch in the process: the denominators of bytes-per-MAC figures, and
// whether ldmatrix is free of shared-memory bank conflicts.
type Stats struct {
	TMABytes  uint64 // bytes requested by bulk tensor copies (whole boxes, zero fill included)
	TMACopies uint64 // bulk tensor copies issued
	MACs      uint64 // multiply-accumulates issued through wgmma
	WGMMAs    uint64 // wgmma.mma_async instructions (one per warpgroup)

	CpAsyncBytes   uint64 // bytes requested by cp.async (16 a copy, zero fill included)
	MMAMACs        uint64 // multiply-accumulates issued through mma.sync (4096 an m16n8k32)
	LdsmMatrices   uint64 // 8×8 b16 matrices loaded by ldmatrix (one 128-byte phase each)
	LdsmWavefronts uint64 // shared-memory wavefronts those phases take: LdsmMatrices when conflict-free
}

// Sub returns s − t, field by field.
func (s Stats) Sub(t Stats) Stats {
	return Stats{
		TMABytes: s.TMABytes - t.TMABytes, TMACopies: s.TMACopies - t.TMACopies,
		MACs: s.MACs - t.MACs, WGMMAs: s.WGMMAs - t.WGMMAs,
		CpAsyncBytes: s.CpAsyncBytes - t.CpAsyncBytes, MMAMACs: s.MMAMACs - t.MMAMACs,
		LdsmMatrices: s.LdsmMatrices - t.LdsmMatrices, LdsmWavefronts: s.LdsmWavefronts - t.LdsmWavefronts,
	}
}

// ReadStats returns the counters so far.
func ReadStats() Stats {
	var out [8]C.uint64_t
	C.emu_stats(&out[0])
	return Stats{
		TMABytes: uint64(out[0]), TMACopies: uint64(out[1]), MACs: uint64(out[2]), WGMMAs: uint64(out[3]),
		CpAsyncBytes: uint64(out[4]), MMAMACs: uint64(out[5]), LdsmMatrices: uint64(out[6]), LdsmWavefronts: uint64(out[7]),
	}
}

// tensorMapMagic marks the emulator's tensor maps (kernels/emu/emu.h TensorMap2D).
const tensorMapMagic = 0x31304d5450545054

// Swizzle modes of a tensor map (the values of CUtensorMapSwizzle).
const (
	SwizzleNone = 0
	Swizzle32B  = 1
	Swizzle64B  = 2
	Swizzle128B = 3
)

// EncodeTensorMap2D builds the emulator's version of what
// cuTensorMapEncodeTiled builds for a 2-D uint8 tensor at device address
// base: inner×outer elements, row stride bytes apart, boxes of
// boxInner×boxOuter, the given swizzle. It checks the driver's constraints
// (16-byte aligned base and stride, boxes of at most 256, the inner box
// equal to the swizzle span when swizzled).
func (d *Device) EncodeTensorMap2D(base uintptr, inner, outer, stride, boxInner, boxOuter, swizzle int) ([128]byte, error) {
	var m [128]byte
	switch {
	case base%16 != 0 || stride%16 != 0 || stride < inner:
		return m, fmt.Errorf("emu: tensor map: base %#x or row stride %d not 16-byte aligned, or stride below the row", base, stride)
	case inner <= 0 || outer <= 0 || boxInner <= 0 || boxOuter <= 0 || boxInner > 256 || boxOuter > 256 || boxInner%16 != 0:
		return m, fmt.Errorf("emu: tensor map: bad dims %d×%d or box %d×%d", inner, outer, boxInner, boxOuter)
	case swizzle < SwizzleNone || swizzle > Swizzle128B || (swizzle != SwizzleNone && boxInner != 16<<swizzle):
		return m, fmt.Errorf("emu: tensor map: swizzle %d with an inner box of %d bytes", swizzle, boxInner)
	}
	le := binary.LittleEndian
	le.PutUint64(m[0:], tensorMapMagic)
	le.PutUint64(m[8:], uint64(base))
	le.PutUint64(m[16:], uint64(inner))
	le.PutUint64(m[24:], uint64(outer))
	le.PutUint64(m[32:], uint64(stride))
	le.PutUint32(m[40:], uint32(boxInner))
	le.PutUint32(m[44:], uint32(boxOuter))
	le.PutUint32(m[48:], uint32(swizzle))
	return m, nil
}
