package snark

import (
	"os"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/stretchr/testify/require"
)

// solc finds the npm solc compiler; without it the EVM tests skip, unless
// TRAINPROOF_REQUIRE_EVM is set (make test sets it).
func solc(t *testing.T) string {
	p, err := FindSolc(".")
	if err != nil {
		if os.Getenv("TRAINPROOF_REQUIRE_EVM") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return p
}

// evm proves assignment and runs the exported verifier on the simulated chain.
func evm(t *testing.T, circuit, assignment frontend.Circuit) EVMResult {
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
	res, err := EVMVerify(s, vk, proof, pub)
	require.NoError(t, err)
	require.True(t, res.TamperedProofReverts, "tampered proof accepted on chain")
	require.True(t, res.TamperedInputReverts, "tampered public input accepted on chain")
	return res
}

func TestOpeningVerifiedInEVM(t *testing.T) {
	circuit, good := fixture(t, 16, 8, 11)
	res := evm(t, circuit, good)
	t.Logf("EVM verifyProof, row opening (10 public inputs): %d gas", res.Gas)
}

// TestMatMulVerifiedInEVM: the matmul-unit circuit's verifier on chain.
func TestMatMulVerifiedInEVM(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	a, b, c := randUnit(4, testShape)
	w, err := NewMatMulWitness(testShape, a, b, c)
	require.NoError(t, err)
	circuit, err := NewMatMulCircuit(testShape)
	require.NoError(t, err)
	res := evm(t, circuit, w.Assignment())
	require.Less(t, res.Gas, uint64(400_000))
	t.Logf("EVM verifyProof, matmul unit %+v (3 public inputs): %d gas, proof calldata %d bytes, contract %d bytes", testShape, res.Gas, res.ProofBytes, res.Contract)
}
