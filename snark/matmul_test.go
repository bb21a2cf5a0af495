package snark

import (
	"math/rand/v2"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"
)

func randUnit(seed uint64, s MatMulShape) (a, b [][]int8, c [][]int32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	a = make([][]int8, s.M)
	for i := range a {
		a[i] = make([]int8, s.K)
		for j := range a[i] {
			a[i][j] = int8(rng.IntN(256) - 128)
		}
	}
	b = make([][]int8, s.K)
	for i := range b {
		b[i] = make([]int8, s.N)
		for j := range b[i] {
			b[i][j] = int8(rng.IntN(256) - 128)
		}
	}
	c = make([][]int32, s.M)
	for i := range c {
		c[i] = make([]int32, s.N)
		for j := range c[i] {
			for t := 0; t < s.K; t++ {
				c[i][j] += int32(a[i][t]) * int32(b[t][j])
			}
		}
	}
	return a, b, c
}

var testShape = MatMulShape{M: 8, K: 8, N: 8, S: 2}

func solved(t *testing.T, w *MatMulWitness, mutate func(*MatMulCircuit)) error {
	circuit, err := NewMatMulCircuit(w.Shape)
	require.NoError(t, err)
	a := w.Assignment()
	if mutate != nil {
		mutate(a)
	}
	return test.IsSolved(circuit, a, ecc.BN254.ScalarField())
}

// TestMatMulCircuit: an honest unit satisfies the circuit; a cheating miner
// (wrong product, answers for other operands, a forged opening) does not.
func TestMatMulCircuit(t *testing.T) {
	a, b, c := randUnit(1, testShape)
	w, err := NewMatMulWitness(testShape, a, b, c)
	require.NoError(t, err)
	require.NoError(t, solved(t, w, nil))

	// Wrong product in every row (committed as such): caught at any sample.
	wrong := make([][]int32, len(c))
	for i := range c {
		wrong[i] = append([]int32(nil), c[i]...)
		wrong[i][i%testShape.N]++
	}
	w2, err := NewMatMulWitness(testShape, a, b, wrong)
	require.NoError(t, err)
	require.Error(t, solved(t, w2, nil))

	// A correct product of other operands, answered against the task's roots.
	a3, b3, c3 := randUnit(2, testShape)
	w3, err := NewMatMulWitness(testShape, a3, b3, c3)
	require.NoError(t, err)
	require.Error(t, solved(t, w3, func(m *MatMulCircuit) { m.RootA, m.RootB = w.TA.Root(), w.TB.Root() }))

	// A q that is not B·r, and a forged sibling.
	require.Error(t, solved(t, w, func(m *MatMulCircuit) { m.Q[3] = 5 }))
	require.Error(t, solved(t, w, func(m *MatMulCircuit) { m.CPaths[0][1] = 7 }))
	// An element out of int8 range in an opened row of A.
	require.Error(t, solved(t, w, func(m *MatMulCircuit) { m.ARows[1][0] = 300 }))
}

// TestMatMulGroth16 proves a unit with Groth16 and verifies it; the proof
// fails against another root of C.
func TestMatMulGroth16(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	a, b, c := randUnit(3, testShape)
	w, err := NewMatMulWitness(testShape, a, b, c)
	require.NoError(t, err)
	circuit, err := NewMatMulCircuit(testShape)
	require.NoError(t, err)
	cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	require.NoError(t, err)
	t.Logf("matmul unit %+v: %d R1CS constraints", testShape, cs.GetNbConstraints())
	pk, vk, err := groth16.Setup(cs)
	require.NoError(t, err)
	full, err := frontend.NewWitness(w.Assignment(), ecc.BN254.ScalarField())
	require.NoError(t, err)
	proof, err := groth16.Prove(cs, pk, full)
	require.NoError(t, err)
	pub, err := full.Public()
	require.NoError(t, err)
	require.NoError(t, groth16.Verify(proof, vk, pub))
	other := w.Assignment()
	other.RootC = 1
	pub2, err := frontend.NewWitness(other, ecc.BN254.ScalarField(), frontend.PublicOnly())
	require.NoError(t, err)
	require.Error(t, groth16.Verify(proof, vk, pub2))
}
