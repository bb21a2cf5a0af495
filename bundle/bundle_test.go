package bundle_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
)

// testKey is fixed so that golden bundles are reproducible.
var testKey = ed25519.NewKeyFromSeed(make([]byte, 32))

func sample(t testing.TB, variant bundle.Variant, mode protocol.Mode) []byte {
	task := protocol.Task{Work: protocol.WorkMatMul, Mode: mode, Samples: 3,
		MatMul: protocol.MatMulSpec{M: 6, K: 5, N: 4, Seed: 7}}
	st, err := prover.MatMulStep(context.Background(), matmul.NewCPU(), task)
	require.NoError(t, err)
	pd, err := prover.Commit(context.Background(), st, testKey.Public().(ed25519.PublicKey))
	require.NoError(t, err)
	_, enc, err := pd.Finish(variant, [32]byte{5}, testKey)
	require.NoError(t, err)
	return enc
}

func TestRoundTrip(t *testing.T) {
	for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		for _, m := range []protocol.Mode{protocol.ModeFiatShamir, protocol.ModeBeacon} {
			enc := sample(t, v, m)
			b, err := bundle.Decode(enc, 0)
			require.NoError(t, err)
			again, err := bundle.Encode(b, testKey)
			require.NoError(t, err)
			require.Equal(t, enc, again, "re-encoding must give the same bytes")
			s := b.Summary()
			require.Equal(t, v.String(), s.Variant)
			require.Equal(t, "matmul", s.Work)
		}
	}
}

// TestGolden decodes the committed golden bundles; a format change that
// breaks them must be a deliberate version bump.
func TestGolden(t *testing.T) {
	for _, name := range []string{"matmul-sampled.tpb", "matmul-full.tpb"} {
		path := filepath.Join("testdata", name)
		want, err := os.ReadFile(path)
		if os.IsNotExist(err) || os.Getenv("UPDATE_GOLDEN") != "" {
			v := bundle.Sampled
			if name == "matmul-full.tpb" {
				v = bundle.Full
			}
			require.NoError(t, os.MkdirAll("testdata", 0o755))
			require.NoError(t, os.WriteFile(path, sample(t, v, protocol.ModeFiatShamir), 0o644))
			continue
		}
		require.NoError(t, err)
		b, err := bundle.Decode(want, 0)
		require.NoError(t, err, name)
		again, err := bundle.Encode(b, testKey)
		require.NoError(t, err)
		require.Equal(t, want, again, name)
		v := bundle.Sampled
		if name == "matmul-full.tpb" {
			v = bundle.Full
		}
		require.Equal(t, want, sample(t, v, protocol.ModeFiatShamir), "the prover no longer makes the golden bytes")
	}
}

// TestVersionOne: bundles of protocol version 1 (unsound sampled checks,
// docs/SOUNDNESS.md) are refused with ErrVersion, not misread.
func TestVersionOne(t *testing.T) {
	for _, name := range []string{"matmul-sampled-v1.tpb", "matmul-full-v1.tpb"} {
		in, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		_, err = bundle.Decode(in, 0)
		require.ErrorIs(t, err, bundle.ErrVersion, name)
		require.ErrorIs(t, err, bundle.ErrFormat, name)
		require.Contains(t, err.Error(), "version 1")
	}
}

// FuzzDecode: Decode never panics, and whatever decodes re-encodes to the
// same bytes (one encoding per bundle; age's FuzzMalleability).
func FuzzDecode(f *testing.F) {
	for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		for _, m := range []protocol.Mode{protocol.ModeFiatShamir, protocol.ModeBeacon} {
			f.Add(sample(f, v, m))
		}
	}
	f.Add([]byte("TPB\x01"))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := bundle.Decode(in, 1<<20)
		if err != nil {
			return
		}
		// A decoded bundle has a valid signature by its own key; re-encoding
		// needs the private key, so compare the unsigned prefix instead.
		require.NotNil(t, b.PublicKey)
		out, err := bundle.Encode(b, testKey)
		require.NoError(t, err)
		if b.PublicKey.Equal(testKey.Public()) {
			require.Equal(t, in, out)
		} else {
			require.Equal(t, in[:len(in)-96], out[:len(out)-96])
		}
	})
}
