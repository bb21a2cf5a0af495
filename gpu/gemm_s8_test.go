package gpu_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/cgo/emu"
	"github.com/seed46f70faa/trainproof/gpu"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/tensor"
)

// TestGEMMBytesPerMACAndBanks reads the sm_80 kernel's (gemm_s8_tc)
// counters in the emulator on a shape of whole 128×128×64 tiles: its
// global→shared traffic per multiply-accumulate, and that every ldmatrix
// phase from its swizzled stages takes one shared-memory wavefront (no bank
// conflicts). An unswizzled layout computes the same C, so only this test
// sees it.
func TestGEMMBytesPerMACAndBanks(t *testing.T) {
	g := gpu.New(newEmu(t, 1<<30), "emu")
	defer g.Close()
	m, k, n := 256, 256, 128
	rng := rand.New(rand.NewPCG(3, 4))
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
	require.Equal(t, uint64(m*n*k), st.MMAMACs)
	perMAC := float64(st.CpAsyncBytes) / float64(st.MMAMACs)
	// (BM + BN)·BK bytes per BM·BN·BK MACs: 1/BN + 1/BM = 1/64.
	require.InDelta(t, 1.0/64, perMAC, 1e-12)
	// Per warp and k-step of 32: four ldmatrix.x4 of A and two of B.
	require.Equal(t, uint64(m*n*k/(64*32*32)*6*4), st.LdsmMatrices)
	require.Equal(t, st.LdsmMatrices, st.LdsmWavefronts, "ldmatrix bank conflicts")
	t.Logf("gemm_s8_tc %d×%d×%d: %d bytes by cp.async, %d MACs, %.5f bytes/MAC, %d ldmatrix matrices in %d wavefronts",
		m, k, n, st.CpAsyncBytes, st.MMAMACs, perMAC, st.LdsmMatrices, st.LdsmWavefronts)
}
