package snark

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/kzg"
	"github.com/consensys/gnark/constraint"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/plonk"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test/unsafekzg"
	"github.com/stretchr/testify/require"
)

// devSRS makes an insecure KZG SRS locally: tests only (whoever ran it
// knows τ).
func devSRS(ccs constraint.ConstraintSystem) (kzg.SRS, kzg.SRS, error) {
	return unsafekzg.NewSRS(ccs)
}

// TestPlonkMatMul proves and verifies a unit with PLONK; another root of C fails.
func TestPlonkMatMul(t *testing.T) {
	if testing.Short() {
		t.Skip("PLONK setup")
	}
	t0 := time.Now()
	k, err := PlonkSetup(testShape, devSRS)
	require.NoError(t, err)
	setup := time.Since(t0)
	a, b, c := randUnit(6, testShape)
	w, err := NewMatMulWitness(testShape, a, b, c)
	require.NoError(t, err)
	w.Miner.SetUint64(42)
	w.Task.SetUint64(7)
	t0 = time.Now()
	proof, err := k.PlonkProve(w)
	require.NoError(t, err)
	prove := time.Since(t0)
	roots := [3]frontend.Variable{w.TA.Root(), w.TB.Root(), w.TC.Root()}
	t0 = time.Now()
	require.NoError(t, k.PlonkVerify(proof, roots, w.Miner, w.Task, 0))
	t.Logf("PLONK %+v: %d constraints, setup %v, prove %v, verify %v, proof %d bytes",
		testShape, k.CS.GetNbConstraints(), setup.Round(time.Millisecond), prove.Round(time.Millisecond), time.Since(t0).Round(time.Microsecond), len(proof))
	require.ErrorIs(t, k.PlonkVerify(proof, roots, 43, w.Task, 0), ErrProof, "another miner")
	require.ErrorIs(t, k.PlonkVerify(proof, roots, w.Miner, 8, 0), ErrProof, "another task")
	require.ErrorIs(t, k.PlonkVerify(proof, roots, w.Miner, w.Task, 1), ErrProof, "a nonce the proof was not made with")

	// The counts gnark's decoder trusts: 2³²−1 claimed values or
	// commitments must be refused before it allocates.
	require.NoError(t, checkPlonkProof(proof))
	claims := 8 * g1Size
	n := int(binary.BigEndian.Uint32(proof[claims:]))
	commits := claims + 4 + 32*n + g1Size + 32
	for _, at := range []int{claims, commits} {
		bomb := bytes.Clone(proof)
		binary.BigEndian.PutUint32(bomb[at:], 0xffffffff)
		require.ErrorIs(t, k.PlonkVerify(bomb, roots, w.Miner, w.Task, 0), ErrFormat, "count at byte %d", at)
	}
	require.ErrorIs(t, k.PlonkVerify(proof[:len(proof)-1], roots, w.Miner, w.Task, 0), ErrFormat)
	require.ErrorIs(t, k.PlonkVerify(append(bytes.Clone(proof), 0), roots, w.Miner, w.Task, 0), ErrFormat)
	roots[2] = 1
	require.ErrorIs(t, k.PlonkVerify(proof, roots, w.Miner, w.Task, 0), ErrProof)
}

// FuzzPlonkProof: whatever the bytes, the layout check and gnark's decoder
// behind it neither panic nor allocate beyond the input's size.
func FuzzPlonkProof(f *testing.F) {
	f.Add(make([]byte, 8*g1Size+4+g1Size+32+4))
	f.Add(bytes.Repeat([]byte{0xff}, 400))
	f.Fuzz(func(t *testing.T, b []byte) {
		bounded(t, func() {
			if checkPlonkProof(b) != nil {
				return
			}
			proof := plonk.NewProof(ecc.BN254)
			_, _ = proof.ReadFrom(bytes.NewReader(b))
		})
	})
}
