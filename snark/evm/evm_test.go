package evm_test

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/snark"
	"github.com/seed46f70faa/trainproof/snark/evm"
)

// solc finds the npm solc compiler; without it the EVM tests skip, unless
// TRAINPROOF_REQUIRE_EVM is set (make test sets it).
func solc(t *testing.T) string {
	p, err := evm.FindSolc(".")
	if err != nil {
		if os.Getenv("TRAINPROOF_REQUIRE_EVM") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return p
}

// run proves assignment and runs the exported verifier on the simulated chain.
func run(t *testing.T, circuit, assignment frontend.Circuit) evm.Result {
	s := solc(t)
	cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
	require.NoError(t, err)
	pk, vk, err := groth16.Setup(cs)
	require.NoError(t, err)
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	require.NoError(t, err)
	proof, err := groth16.Prove(cs, pk, w)
	require.NoError(t, err)
	pub, err := w.Public()
	require.NoError(t, err)
	res, err := evm.Verify(s, vk, proof, pub)
	require.NoError(t, err)
	require.True(t, res.TamperedProofReverts, "tampered proof accepted on chain")
	require.True(t, res.TamperedInputReverts, "tampered public input accepted on chain")
	return res
}

// TestOpeningVerifiedInEVM: one row opening (16 rows of 8 int32) on chain.
func TestOpeningVerifiedInEVM(t *testing.T) {
	const rows, cols, idx = 16, 8, 11
	rng := rand.New(rand.NewPCG(rows, cols))
	m := make([][]int32, rows)
	leaves := make([]fr.Element, rows)
	for i := range m {
		m[i] = make([]int32, cols)
		for j := range m[i] {
			m[i][j] = int32(rng.Uint32())
		}
		leaves[i] = snark.RowLeaf(m[i])
	}
	tree, err := snark.NewTree(leaves)
	require.NoError(t, err)
	a := snark.NewOpeningCircuit(cols, tree.Depth())
	a.Root = tree.Root()
	var proj fr.Element
	for j := range cols {
		var rj, x fr.Element
		rj.SetUint64(rng.Uint64())
		x.SetInt64(int64(m[idx][j]))
		a.R[j], a.Row[j] = rj, m[idx][j]
		x.Mul(&x, &rj)
		proj.Add(&proj, &x)
	}
	a.Projection = proj
	for lvl, sib := range tree.Path(idx) {
		a.Path[lvl], a.IndexBits[lvl] = sib, (idx>>lvl)&1
	}
	res := run(t, snark.NewOpeningCircuit(cols, tree.Depth()), a)
	t.Logf("EVM verifyProof, row opening (10 public inputs): %d gas", res.Gas)
}

// TestMatMulVerifiedInEVM: the matmul-unit circuit's verifier on chain.
func TestMatMulVerifiedInEVM(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	shape := snark.MatMulShape{M: 8, K: 8, N: 8, S: 2}
	rng := rand.New(rand.NewPCG(4, 1))
	mat8 := func(r, c int) [][]int8 {
		m := make([][]int8, r)
		for i := range m {
			m[i] = make([]int8, c)
			for j := range m[i] {
				m[i][j] = int8(rng.IntN(256) - 128)
			}
		}
		return m
	}
	a, b := mat8(shape.M, shape.K), mat8(shape.K, shape.N)
	c := make([][]int32, shape.M)
	for i := range c {
		c[i] = make([]int32, shape.N)
		for j := range c[i] {
			for k := 0; k < shape.K; k++ {
				c[i][j] += int32(a[i][k]) * int32(b[k][j])
			}
		}
	}
	w, err := snark.NewMatMulWitness(shape, a, b, c)
	require.NoError(t, err)
	w.Miner.SetUint64(42)
	w.Task.SetUint64(43)
	w.Nonce.SetUint64(44)
	circuit, err := snark.NewMatMulCircuit(shape)
	require.NoError(t, err)
	res := run(t, circuit, w.Assignment())
	require.Less(t, res.Gas, uint64(400_000))
	t.Logf("EVM verifyProof, matmul unit %+v (6 public inputs: three roots, the miner, the task, the nonce): %d gas, proof calldata %d bytes, contract %d bytes", shape, res.Gas, res.ProofBytes, res.Contract)
}
