package snark

import (
	"testing"
	"time"

	"github.com/consensys/gnark/frontend"
	"github.com/stretchr/testify/require"
)

// TestPlonkMatMul proves and verifies a unit with PLONK; another root of C fails.
func TestPlonkMatMul(t *testing.T) {
	if testing.Short() {
		t.Skip("PLONK setup")
	}
	t0 := time.Now()
	k, err := PlonkDevSetup(testShape)
	require.NoError(t, err)
	setup := time.Since(t0)
	a, b, c := randUnit(6, testShape)
	w, err := NewMatMulWitness(testShape, a, b, c)
	require.NoError(t, err)
	w.Miner.SetUint64(42)
	t0 = time.Now()
	proof, err := k.PlonkProve(w)
	require.NoError(t, err)
	prove := time.Since(t0)
	roots := [3]frontend.Variable{w.TA.Root(), w.TB.Root(), w.TC.Root()}
	t0 = time.Now()
	require.NoError(t, k.PlonkVerify(proof, roots, w.Miner))
	t.Logf("PLONK %+v: %d constraints, setup %v, prove %v, verify %v, proof %d bytes",
		testShape, k.CS.GetNbConstraints(), setup.Round(time.Millisecond), prove.Round(time.Millisecond), time.Since(t0).Round(time.Microsecond), len(proof))
	require.ErrorIs(t, k.PlonkVerify(proof, roots, 43), ErrProof, "another miner")
	roots[2] = 1
	require.ErrorIs(t, k.PlonkVerify(proof, roots, w.Miner), ErrProof)
}
