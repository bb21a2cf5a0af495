package snark

import (
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"
)

// fixture builds a random int32 matrix, its Poseidon2 tree and an opening
// assignment for row idx.
func fixture(t testing.TB, rows, cols, idx int) (*OpeningCircuit, *OpeningCircuit) {
	rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
	m := make([][]int32, rows)
	leaves := make([]fr.Element, rows)
	for i := range m {
		m[i] = make([]int32, cols)
		for j := range m[i] {
			m[i][j] = int32(rng.Uint32())
		}
		leaves[i] = RowLeaf(m[i])
	}
	tree, err := NewTree(leaves)
	require.NoError(t, err)
	a := NewOpeningCircuit(cols, tree.Depth())
	a.Root = tree.Root()
	var proj fr.Element
	for j := range cols {
		var rj, x fr.Element
		rj.SetUint64(rng.Uint64())
		x.SetInt64(int64(m[idx][j]))
		a.R[j] = rj
		a.Row[j] = m[idx][j]
		x.Mul(&x, &rj)
		proj.Add(&proj, &x)
	}
	a.Projection = proj
	for lvl, sib := range tree.Path(idx) {
		a.Path[lvl] = sib
		a.IndexBits[lvl] = (idx >> lvl) & 1
	}
	return NewOpeningCircuit(cols, tree.Depth()), a
}

// TestOpeningCircuit: an honest opening satisfies the circuit on every
// backend gnark's test engine runs; a changed element, a wrong index, a
// wrong projection or an out-of-range value does not.
func TestOpeningCircuit(t *testing.T) {
	assert := test.NewAssert(t)
	circuit, good := fixture(t, 8, 6, 5)
	assert.CheckCircuit(circuit, test.WithValidAssignment(good), test.WithCurves(ecc.BN254))

	bad := *good
	bad.Row = append([]frontend.Variable(nil), good.Row...)
	bad.Row[2] = 7
	assert.CheckCircuit(circuit, test.WithInvalidAssignment(&bad), test.WithCurves(ecc.BN254))

	bad = *good
	bad.IndexBits = append([]frontend.Variable(nil), good.IndexBits...)
	bad.IndexBits[0] = 0
	assert.CheckCircuit(circuit, test.WithInvalidAssignment(&bad), test.WithCurves(ecc.BN254))

	bad = *good
	bad.Projection = 12345
	assert.CheckCircuit(circuit, test.WithInvalidAssignment(&bad), test.WithCurves(ecc.BN254))
}

// TestGroth16Opening proves and verifies one opening with Groth16 on BN254.
func TestGroth16Opening(t *testing.T) {
	circuit, good := fixture(t, 16, 8, 11)
	cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	require.NoError(t, err)
	t.Logf("opening of a row of 8 int32 in a depth-4 tree: %d R1CS constraints", cs.GetNbConstraints())
	pk, vk, err := groth16.Setup(cs)
	require.NoError(t, err)
	w, err := frontend.NewWitness(good, ecc.BN254.ScalarField())
	require.NoError(t, err)
	proof, err := groth16.Prove(cs, pk, w)
	require.NoError(t, err)
	pub, err := w.Public()
	require.NoError(t, err)
	require.NoError(t, groth16.Verify(proof, vk, pub))

	// The same proof against another root fails.
	other := *good
	other.Root = 1
	w2, err := frontend.NewWitness(&other, ecc.BN254.ScalarField(), frontend.PublicOnly())
	require.NoError(t, err)
	require.Error(t, groth16.Verify(proof, vk, w2))
}
