package gpu_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/cgo/emu"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/tensor"
)

// TestHopperGEMMEqualsCPU runs the Hopper kernel (kernels/gemm_sm90.cu:
// wgmma, bulk tensor copies, an mbarrier ring, warp specialisation, a
// persistent grid) in the SIMT emulator on shapes that are not multiples of
// its 128×256×128 tile, with K long enough to wrap the 4-stage ring inside a
// tile and a grid of 2 CTAs so that CTAs loop over tiles, and compares it
// with the CPU backend bit for bit.
func TestHopperGEMMEqualsCPU(t *testing.T) {
	g := gpu.New(newEmu(t, 1<<30), "emu")
	defer g.Close()
	require.NoError(t, g.UseHopperGEMM(2))
	cpu := matmul.NewCPU()
	const seed = 16
	rng := rand.New(rand.NewPCG(seed, 90))
	shapes := [][3]int{{1, 1, 1}, {7, 31, 5}, {130, 200, 300}, {129, 700, 257}, {40, 96, 600}}
	for i := 0; i < 2; i++ {
		shapes = append(shapes, [3]int{1 + rng.IntN(200), 1 + rng.IntN(300), 1 + rng.IntN(300)})
	}
	for i, s := range shapes {
		ta, tb := i%2 == 1, i%3 == 1
		m, k, n := s[0], s[1], s[2]
		ar, ac := shape(m, k, ta)
		br, bc := shape(k, n, tb)
		a, b := randInt8(rng, ar, ac), randInt8(rng, br, bc)
		want := tensor.NewInt32(m, n)
		require.NoError(t, cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), TransA: ta, TransB: tb, C: cpu.WrapInt32(want)}}))
		da, err := g.UploadInt8(a)
		require.NoError(t, err)
		db, err := g.UploadInt8(b)
		require.NoError(t, err)
		dc, err := g.Alloc(tensor.KindInt32, m, n) // poisoned by the device
		require.NoError(t, err)
		before := emu.ReadStats()
		require.NoError(t, g.MatMul(context.Background(), []matmul.Product{{A: da, B: db, TransA: ta, TransB: tb, C: dc}}))
		got := tensor.NewInt32(m, n)
		require.NoError(t, g.DownloadInt32(dc, got))
		require.Equal(t, want.Data, got.Data, "seed %d shape %v ta=%v tb=%v", seed, s, ta, tb)
		// Every tile moves its A and B boxes once per 128 bytes of K, and
		// issues 2 consumers × 4 wgmma m64n256k32 on them.
		st := emu.ReadStats().Sub(before)
		tiles, kb := uint64(cdiv(m, 128)*cdiv(n, 256)), uint64(cdiv(cdiv(k, 32)*32, 128))
		require.Equal(t, tiles*kb*(128+256)*128, st.TMABytes, "shape %v", s)
		require.Equal(t, tiles*kb*128*256*128, st.MACs, "shape %v", s)
		for _, x := range []matmul.Buffer{da, db, dc} {
			require.NoError(t, g.Free(x))
		}
	}
}

// TestHopperGEMMBytesPerMAC reports the kernel's global→shared traffic per
// multiply-accumulate from the emulator's counters, for a shape of whole
// tiles (the figure docs and the notes quote).
func TestHopperGEMMBytesPerMAC(t *testing.T) {
	g := gpu.New(newEmu(t, 1<<30), "emu")
	defer g.Close()
	require.NoError(t, g.UseHopperGEMM(1))
	m, k, n := 128, 256, 256
	rng := rand.New(rand.NewPCG(1, 2))
	da, err := g.UploadInt8(randInt8(rng, m, k))
	require.NoError(t, err)
	db, err := g.UploadInt8(randInt8(rng, k, n))
	require.NoError(t, err)
	dc, err := g.Alloc(tensor.KindInt32, m, n)
	require.NoError(t, err)
	before := emu.ReadStats()
	require.NoError(t, g.MatMul(context.Background(), []matmul.Product{{A: da, B: db, C: dc}}))
	require.NoError(t, g.Sync())
	st := emu.ReadStats().Sub(before)
	perMAC := float64(st.TMABytes) / float64(st.MACs)
	// (BM + BN)·BK bytes per BM·BN·BK MACs: 1/BN + 1/BM = 3/256.
	require.InDelta(t, 3.0/256, perMAC, 1e-12)
	t.Logf("gemm_s8_sm90 %d×%d×%d: %d bytes by bulk copy, %d MACs, %.5f bytes/MAC, %d wgmma, %d copies",
		m, k, n, st.TMABytes, st.MACs, perMAC, st.WGMMAs, st.TMACopies)
}

// plainDevice hides every optional interface of a device.
type plainDevice struct{ gpu.Device }

func TestUseHopperGEMMNeedsTensorMaps(t *testing.T) {
	g := gpu.New(plainDevice{newEmu(t, 1<<20)}, "plain")
	defer g.Close()
	require.ErrorIs(t, g.UseHopperGEMM(4), gpu.ErrNoHopper)
	require.NoError(t, g.UseHopperGEMM(0))
	require.Error(t, g.UseHopperGEMM(-1))
}

func cdiv(a, b int) int { return (a + b - 1) / b }

// TestHopperFusedRowHashes: gemm_s8_sm90_cv hashes C's rows beside the
// GEMM (one BLAKE3 chunk a 256-column tile row, hashed by the producer
// warpgroup's idle warps from a staged tile; blake3_parents above) and the
// leaves equal the CPU backend's, on rows of one chunk (the chunk is the
// root), of a short second chunk, and of three chunks, with M not a
// multiple of the tile and over 96 (hashers take two rows), 2 CTAs looping
// over tiles (the staging buffer's phases), K wrapping the ring; C is
// written too.
func TestHopperFusedRowHashes(t *testing.T) {
	g := gpu.New(newEmu(t, 1<<30), "emu")
	defer g.Close()
	require.NoError(t, g.UseHopperGEMM(2))
	cpu := matmul.NewCPU()
	rng := rand.New(rand.NewPCG(17, 17))
	key := commit.RowKey([]byte("fused sm90"))
	for _, s := range [][3]int{{5, 40, 200}, {130, 70, 300}, {9, 33, 600}, {40, 700, 257}} {
		m, k, n := s[0], s[1], s[2]
		a, b := randInt8(rng, m, k), randInt8(rng, k, n)
		c := tensor.NewInt32(m, n)
		want := make([][32]byte, m)
		require.NoError(t, cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c), RowHashes: want, HashKey: key}}))
		da, err := g.UploadInt8(a)
		require.NoError(t, err)
		db, err := g.UploadInt8(b)
		require.NoError(t, err)
		dc, err := g.Alloc(tensor.KindInt32, m, n)
		require.NoError(t, err)
		got := make([][32]byte, m)
		require.NoError(t, g.MatMul(context.Background(), []matmul.Product{{A: da, B: db, C: dc, RowHashes: got, HashKey: key}}))
		require.Equal(t, want, got, "shape %v", s)
		gotC := tensor.NewInt32(m, n)
		require.NoError(t, g.DownloadInt32(dc, gotC))
		require.Equal(t, c.Data, gotC.Data, "shape %v", s)
		for _, x := range []matmul.Buffer{da, db, dc} {
			require.NoError(t, g.Free(x))
		}
	}
}
