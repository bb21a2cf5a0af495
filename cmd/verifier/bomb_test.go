package main_test

import (
	"crypto/ed25519"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/snark"
)

// TestBombCLI: the review's 367-byte succinct bundle, whose proof claims
// 2³²−1 commitments (gnark asked for 256 GiB and the process died), signed
// by its sender and put in a directory beside a valid bundle: the CLI
// rejects it with a clean error, exits 1, and still verifies the other one.
func TestBombCLI(t *testing.T) {
	prover, verifier := build(t)
	dir := t.TempDir()
	_, errOut, code := run(t, prover, "setup", "--n", "8", "--samples", "2", "--out", filepath.Join(dir, "keys"))
	require.Equal(t, 0, code, errOut)
	key := filepath.Join(dir, "miner.key")
	_, errOut, code = run(t, prover, "keygen", "--out", key)
	require.Equal(t, 0, code, errOut)
	good := filepath.Join(dir, "bundles", "good.tps")
	require.NoError(t, os.MkdirAll(filepath.Dir(good), 0o755))
	_, errOut, code = run(t, prover, "matmul", "--n", "8", "--samples", "2", "--succinct", "--pk", filepath.Join(dir, "keys", "matmul.pk"), "--key", key, "--out", good)
	require.Equal(t, 0, code, errOut)
	in, err := os.ReadFile(good)
	require.NoError(t, err)
	s, err := snark.DecodeSuccinct(in)
	require.NoError(t, err)

	_, _, g1, g2 := bn254.Generators()
	a, b := g1.Bytes(), g2.Bytes()
	proof := append(append(append([]byte(nil), a[:]...), b[:]...), a[:]...)
	s.Proof = binary.BigEndian.AppendUint32(proof, 0xffffffff)
	_, attacker, _ := ed25519.GenerateKey(nil)
	bomb := s.Encode(attacker)
	require.Less(t, len(bomb), 1024)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bundles", "bomb.tps"), bomb, 0o644))

	id := s.Task.ID()
	out, errOut, code := run(t, verifier, "verify", "--mode", "succinct", "--allow-dev-keys", "--vk", filepath.Join(dir, "keys", "matmul.vk"),
		"--task", hexID(id[:]), filepath.Join(dir, "bundles"))
	require.Equal(t, 1, code, "stdout %s stderr %s", out, errOut)
	require.Contains(t, errOut, "bomb.tps")
	require.Contains(t, errOut, "malformed")
	require.NotContains(t, errOut, "good.tps")
}

func hexID(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}
