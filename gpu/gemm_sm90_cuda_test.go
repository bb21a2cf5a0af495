//go:build cuda

package gpu_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/cgo/cuda"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/tensor"
)

// TestHopperGEMMOnDevice runs the sm_90a GEMM and its fused row hashing on
// a real H100 or H200, bit for bit against the CPU backend, up to 4096³
// (the emulator checks the same kernels in every run at small shapes; this
// is the check that the emulator's reading of wgmma, TMA and mbarrier is
// the hardware's). Skipped on other cards.
func TestHopperGEMMOnDevice(t *testing.T) {
	d, err := cuda.Open(0)
	require.NoError(t, err)
	c := d.(*cuda.Device)
	defer c.Close()
	major, minor, sms := c.Arch()
	if major != 9 {
		t.Skipf("sm_%d%d: the Hopper GEMM needs sm_90", major, minor)
	}
	c.SetPoison(true)
	g := gpu.New(d, "cuda")
	defer g.Close()
	require.NoError(t, g.UseHopperGEMM(sms))
	cpu := matmul.NewCPU()
	rng := rand.New(rand.NewPCG(90, 1))
	key := commit.RowKey([]byte("hopper on device"))
	for _, s := range [][3]int{{129, 700, 257}, {1000, 1000, 1000}, {1024, 4096, 2048}, {4096, 4096, 4096}} {
		m, k, n := s[0], s[1], s[2]
		a, b := randInt8(rng, m, k), randInt8(rng, k, n)
		want := tensor.NewInt32(m, n)
		wantH := make([][32]byte, m)
		require.NoError(t, cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(want), RowHashes: wantH, HashKey: key}}))
		da, err := g.UploadInt8(a)
		require.NoError(t, err)
		db, err := g.UploadInt8(b)
		require.NoError(t, err)
		for _, fused := range []bool{false, true} {
			dc, err := g.Alloc(tensor.KindInt32, m, n)
			require.NoError(t, err)
			p := matmul.Product{A: da, B: db, C: dc}
			var gotH [][32]byte
			if fused {
				gotH = make([][32]byte, m)
				p.RowHashes, p.HashKey = gotH, key
			}
			require.NoError(t, g.MatMul(context.Background(), []matmul.Product{p}))
			got := tensor.NewInt32(m, n)
			require.NoError(t, g.DownloadInt32(dc, got))
			require.Equal(t, want.Data, got.Data, "shape %v fused=%v", s, fused)
			if fused {
				require.Equal(t, wantH, gotH, "row hashes, shape %v", s)
			}
			require.NoError(t, g.Free(dc))
		}
		require.NoError(t, g.Free(da))
		require.NoError(t, g.Free(db))
	}
}
