package verifier_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/verifier"
)

// TestFlippedChunkByte: a miner who changes one byte in any 1 KiB chunk of
// a committed row after committing (and signs the result) is caught by the
// row's BLAKE3 leaf: in an opened row of a sampled bundle (the opening no
// longer leads to the root) and in a full bundle's data (the recomputed
// root differs). C's rows are 640 int32, 2560 bytes: two whole chunks and a
// partial one.
func TestFlippedChunkByte(t *testing.T) {
	key := newKey(t)
	task := matmulTask(8, 16, 640, 2, protocol.ModeFiatShamir)
	plan, err := protocol.NewPlan(task)
	require.NoError(t, err)
	st := matmulStep(t, task)
	rowBytes := plan.Matrices[plan.MatC].RowBytes()
	require.Equal(t, 2560, rowBytes)
	for _, variant := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		b, _ := prove(t, st, variant, key, [32]byte{})
		_, err := verifier.Verify(b, verifier.Options{AnyTask: true})
		require.NoError(t, err, "%v honest", variant)
		for _, at := range []int{0, 1023, 1024, 2047, 2048, 2559} {
			for _, row := range []int{0, 1} {
				bad, _ := prove(t, st, variant, key, [32]byte{})
				var reason verifier.Reason
				if variant == bundle.Sampled {
					bad.Open[plan.MatC][row].Data[at] ^= 0x10
					reason = verifier.ReasonOpening
				} else {
					bad.Data[plan.MatC][row*rowBytes+at] ^= 0x10
					reason = verifier.ReasonRoot
				}
				enc, err := bundle.Encode(bad, key)
				require.NoError(t, err)
				dec, err := bundle.Decode(enc, 0)
				require.NoError(t, err)
				_, err = verifier.Verify(dec, verifier.Options{AnyTask: true})
				requireCheck(t, err, "C", reason)
			}
		}
	}
}
