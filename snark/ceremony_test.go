package snark

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCeremony: two contributors per phase, sealed with beacons; the keys
// prove and verify a unit; a tampered contribution is refused.
func TestCeremony(t *testing.T) {
	if testing.Short() {
		t.Skip("ceremony")
	}
	shape := MatMulShape{M: 4, K: 4, N: 4, S: 1} // a small circuit keeps the powers of tau small
	dir := t.TempDir()
	c, err := InitCeremony(dir, shape)
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		_, err := c.Contribute()
		require.NoError(t, err)
	}
	require.Equal(t, 1, c.Phase())
	n1, err := c.Verify()
	require.NoError(t, err)
	require.Equal(t, 2, n1)
	require.NoError(t, c.SealPhase1([]byte("beacon 1")))
	c2, err := OpenCeremony(dir)
	require.NoError(t, err)
	require.Equal(t, 2, c2.Phase())
	for i := 0; i < 2; i++ {
		_, err := c2.Contribute()
		require.NoError(t, err)
	}
	n, err := c2.Verify()
	require.NoError(t, err)
	require.Equal(t, 2, n)
	k, err := c2.Finalize([]byte("beacon 2"))
	require.NoError(t, err)

	task := unitTask(5)
	task.Samples = 1
	task.MatMul.M, task.MatMul.K, task.MatMul.N = 4, 4, 4
	a, b, cm := operands(task)
	enc, err := ProveMatMul(k, task, a, b, cm, ed25519.NewKeyFromSeed(make([]byte, 32)))
	require.NoError(t, err)
	s, err := DecodeSuccinct(enc)
	require.NoError(t, err)
	require.NoError(t, VerifyMatMul(s, k.Shape, k.VK))

	// A contribution tampered with after the fact breaks the chain.
	f := filepath.Join(dir, "phase2", "0002.bin")
	raw, err := os.ReadFile(f)
	require.NoError(t, err)
	raw[len(raw)/2] ^= 1
	require.NoError(t, os.WriteFile(f, raw, 0o644))
	_, err = c2.Finalize([]byte("beacon 2"))
	require.Error(t, err)
	_, err = c2.Verify()
	require.Error(t, err)
}
