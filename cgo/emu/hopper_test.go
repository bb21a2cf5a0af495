package emu

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Flags of kernels/emu/selftest_sm90.cu hopper_probe.
const (
	probeNoWait       = 1
	probeWrongParity  = 2
	probeNoInitFence  = 4
	probeGenericA     = 8
	probeFenceA       = 16
	probeNoWgmmaWait  = 32
	probeNoWgmmaFence = 64
	probeOverwrite    = 128
	probeExpectMore   = 256
	probeShiftA       = 512
	probeNoBaseOffset = 1024
)

const probeSmem = 53 * 1024

// probe holds hopper_probe's operands on a device: A is 50×100 (a tensor
// smaller than the 64×128 box, so the copy zero-fills the rest), B 256×128.
type probe struct {
	d              *Device
	a, b           [][]int8 // logical A (64×128, zero outside 50×100) and B (256×128)
	mapA, mapB, ag uintptr
	out            uintptr
}

func newProbe(t *testing.T) *probe {
	d := New(16 << 20)
	t.Cleanup(func() { d.Close() })
	rng := rand.New(rand.NewPCG(5, 7))
	p := &probe{d: d, a: make([][]int8, 64), b: make([][]int8, 256)}
	const ar, ac, astride = 50, 100, 112
	araw := make([]byte, ar*astride)
	agen := make([]byte, 64*128)
	for r := range p.a {
		p.a[r] = make([]int8, 128)
		for c := 0; c < 128; c++ {
			if r < ar && c < ac {
				p.a[r][c] = int8(rng.IntN(256) - 128)
				araw[r*astride+c] = byte(p.a[r][c])
			}
			agen[r*128+c] = byte(p.a[r][c])
		}
	}
	braw := make([]byte, 256*128)
	for r := range p.b {
		p.b[r] = make([]int8, 128)
		for c := range p.b[r] {
			p.b[r][c] = int8(rng.IntN(256) - 128)
			braw[r*128+c] = byte(p.b[r][c])
		}
	}
	pa, pb := upload(t, d, araw), upload(t, d, braw)
	p.ag = upload(t, d, agen)
	ma, err := d.EncodeTensorMap2D(pa, ac, ar, astride, 128, 64, Swizzle128B)
	require.NoError(t, err)
	mb, err := d.EncodeTensorMap2D(pb, 128, 256, 128, 128, 256, Swizzle128B)
	require.NoError(t, err)
	p.mapA, p.mapB = upload(t, d, ma[:]), upload(t, d, mb[:])
	p.out, err = d.Alloc(64 * 256 * 4)
	require.NoError(t, err)
	return p
}

func (p *probe) want() []int32 {
	out := make([]int32, 64*256)
	for r := 0; r < 64; r++ {
		for c := 0; c < 256; c++ {
			var s int32
			for k := 0; k < 128; k++ {
				s += int32(p.a[r][k]) * int32(p.b[c][k])
			}
			out[r*256+c] = s
		}
	}
	return out
}

// run launches hopper_probe with flags and the descriptors' swizzle mode.
func (p *probe) run(t *testing.T, flags, swz int) ([]int32, error) {
	if err := run(p.d, "hopper_probe", [3]int{1, 1, 1}, [3]int{128, 1, 1}, probeSmem, uint64(p.mapA), uint64(p.mapB),
		uint64(p.ag), uint64(p.out), uint64(flags), uint64(swz)); err != nil {
		return nil, err
	}
	return download32(t, p.d, p.out, 64*256), nil
}

// TestWgmmaKnownAnswer: bulk tensor copies (128-byte swizzle, zero fill
// outside the tensor) under an mbarrier, then four chained wgmma
// m64n256k32 with 128-byte-swizzle descriptors: each thread's accumulators
// land where the PTX ISA's m64nNk32 D layout says, and D = A·Bᵀ exactly.
func TestWgmmaKnownAnswer(t *testing.T) {
	p := newProbe(t)
	before := ReadStats()
	got, err := p.run(t, 0, 1)
	require.NoError(t, err)
	require.Equal(t, p.want(), got)
	s := ReadStats().Sub(before)
	require.Equal(t, Stats{TMABytes: 64*128 + 256*128, TMACopies: 2, MACs: 64 * 256 * 128, WGMMAs: 4}, s)
	// The same A staged by generic stores is seen by wgmma once fenced.
	got, err = p.run(t, probeGenericA|probeFenceA, 1)
	require.NoError(t, err)
	require.Equal(t, p.want(), got)
	// And three rows into a swizzle pattern, with the descriptor's base offset.
	got, err = p.run(t, probeGenericA|probeFenceA|probeShiftA, 1)
	require.NoError(t, err)
	require.Equal(t, p.want(), got)
}

// TestHopperDetectors: each bug of the Hopper pipeline turns into a wrong
// result (poison) or a launch error naming it.
func TestHopperDetectors(t *testing.T) {
	p := newProbe(t)
	want := p.want()
	poisoned := func(got []int32) bool {
		for _, v := range got {
			if uint32(v) != 0xA5A5A5A5 {
				return false
			}
		}
		return true
	}
	for _, c := range []struct {
		name      string
		flags     int
		swz       int
		errSubstr string
		allPoison bool
	}{
		{name: "missing mbarrier wait", flags: probeNoWait},
		{name: "wrong phase parity", flags: probeWrongParity},
		{name: "descriptor without swizzle", swz: 0},
		{name: "descriptor with 64B swizzle", swz: 2},
		{name: "descriptor with 32B swizzle", swz: 3},
		{name: "operand off its swizzle pattern, base offset 0", flags: probeGenericA | probeFenceA | probeShiftA | probeNoBaseOffset, swz: 1},
		{name: "generic stores without fence.proxy.async", flags: probeGenericA, swz: 1, allPoison: true},
		{name: "accumulators read before wgmma.wait_group", flags: probeNoWgmmaWait, swz: 1, allPoison: true},
		{name: "mbarrier.init not fenced", flags: probeNoInitFence, swz: 1, errSubstr: "not fenced to the async proxy"},
		{name: "wgmma without wgmma.fence", flags: probeNoWgmmaFence, swz: 1, errSubstr: "without a wgmma.fence"},
		{name: "operand overwritten in flight", flags: probeOverwrite, swz: 1, errSubstr: "changed before wgmma.wait_group"},
		{name: "expect_tx never met", flags: probeExpectMore, swz: 1, errSubstr: "never completes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			swz := c.swz
			if c.flags&(probeNoWait|probeWrongParity) != 0 {
				swz = 1
			}
			got, err := p.run(t, c.flags, swz)
			if c.errSubstr != "" {
				require.ErrorContains(t, err, c.errSubstr)
				return
			}
			require.NoError(t, err)
			require.NotEqual(t, want, got)
			if c.allPoison {
				require.True(t, poisoned(got), "every accumulator must read as poison")
			}
		})
	}
}

func TestEncodeTensorMap(t *testing.T) {
	d := New(1 << 20)
	defer d.Close()
	m, err := d.EncodeTensorMap2D(0x1000, 100, 50, 112, 128, 64, Swizzle128B)
	require.NoError(t, err)
	require.Equal(t, uint64(tensorMapMagic), binary.LittleEndian.Uint64(m[:]))
	for _, bad := range [][7]int{
		{0x1008, 100, 50, 112, 128, 64, Swizzle128B},  // base not 16-aligned
		{0x1000, 100, 50, 100, 128, 64, Swizzle128B},  // stride not 16-aligned
		{0x1000, 100, 50, 112, 64, 64, Swizzle128B},   // inner box ≠ swizzle span
		{0x1000, 100, 50, 112, 128, 512, SwizzleNone}, // box over 256
	} {
		_, err := d.EncodeTensorMap2D(uintptr(bad[0]), bad[1], bad[2], bad[3], bad[4], bad[5], bad[6])
		require.Error(t, err, "%v", bad)
	}
}
