package verifier_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/verifier"
)

func TestReadPublicKey(t *testing.T) {
	dir := t.TempDir()
	pub, err := prover.GenerateKey(filepath.Join(dir, "miner.key"))
	require.NoError(t, err)
	got, err := verifier.ReadPublicKey(filepath.Join(dir, "miner.key.pub"))
	require.NoError(t, err)
	require.Equal(t, pub, got)
	for _, bad := range []string{"", "zz", hex.EncodeToString(pub[:31]), hex.EncodeToString(pub) + "00"} {
		_, err := verifier.ParsePublicKey([]byte(bad))
		require.ErrorIs(t, err, verifier.ErrKey, "%q", bad)
	}
	big := filepath.Join(dir, "big.pub")
	require.NoError(t, os.WriteFile(big, make([]byte, 4096), 0o600))
	_, err = verifier.ReadPublicKey(big)
	require.ErrorIs(t, err, verifier.ErrKey)
}

// TestResultKeepsNoInput: a node keeps Results, not bundles; a Result must
// not point into the bytes it was decoded from.
func TestResultKeepsNoInput(t *testing.T) {
	key := newKey(t)
	_, enc := prove(t, matmulStep(t, matmulTask(16, 16, 16, 4, protocol.ModeFiatShamir)), bundle.Sampled, key, [32]byte{})
	b, err := bundle.Decode(enc, 0)
	require.NoError(t, err)
	res, err := verifier.Verify(b, verifier.Options{AnyTask: true})
	require.NoError(t, err)
	lo, hi := uintptr(unsafe.Pointer(&enc[0])), uintptr(unsafe.Pointer(&enc[len(enc)-1]))
	p := uintptr(unsafe.Pointer(&res.Signer[0]))
	require.False(t, p >= lo && p <= hi, "Result.Signer aliases the encoded bundle")
	require.Equal(t, ed25519.PublicKey(b.PublicKey), res.Signer)
}
