package evm_test

import (
	"crypto/ed25519"
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

// noUpdateCircuit has the step circuit's public inputs (Context, Miner,
// M_1..M_L, M′_1..M′_L) and proves only that the step left the weights as
// they were: the M′ = M step the step circuit cannot exclude, at a cost of
// milliseconds instead of a step circuit's setup.
type noUpdateCircuit struct {
	Context, Miner frontend.Variable   `gnark:",public"`
	M, MNext       []frontend.Variable `gnark:",public"`
}

func (c *noUpdateCircuit) Define(api frontend.API) error {
	for l := range c.M {
		api.AssertIsEqual(c.MNext[l], c.M[l])
	}
	return nil
}

func newNoUpdate(layers int) *noUpdateCircuit {
	return &noUpdateCircuit{M: make([]frontend.Variable, layers), MNext: make([]frontend.Variable, layers)}
}

// TestStepChainRefusesReplayedContext: two no-update steps link on the
// weights alone, so a proof of one could be submitted again; the contract
// refuses a Context it has already accepted.
func TestStepChainRefusesReplayedContext(t *testing.T) {
	const layers = 2
	s := solc(t)
	cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, newNoUpdate(layers))
	require.NoError(t, err)
	pk, vk, err := groth16.Setup(cs)
	require.NoError(t, err)
	weights := make([]fr.Element, layers)
	for l := range weights {
		weights[l].SetUint64(uint64(1000 + l))
	}
	miner, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	sub := func(step uint64) evm.Submission {
		st := &snark.StepStatement{Task: snark.TaskDigest([32]byte{1}), Miner: snark.MinerDigest(miner), Step: step,
			M: weights, MNext: weights}
		a := newNoUpdate(layers)
		a.Context, a.Miner = st.Context(), st.Miner
		for l := range weights {
			a.M[l], a.MNext[l] = weights[l], weights[l]
		}
		w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
		require.NoError(t, err)
		p, err := groth16.Prove(cs, pk, w)
		require.NoError(t, err)
		return evm.Submission{Proof: p, Statement: st, Miner: miner}
	}
	s0, s1 := sub(0), sub(1)
	ch, err := evm.StepChain(s, vk, weights, []evm.Submission{s0, s0, s1, s0, s1})
	require.NoError(t, err)
	require.Equal(t, []bool{false, true, false, true, true}, ch.Reverted, "a no-update step's proof submitted twice")
	for _, i := range []int{1, 3, 4} {
		require.Equal(t, "StepChain: context already accepted", ch.Reasons[i], "submission %d", i)
	}
	ctx1 := s1.Statement.Context()
	require.True(t, ch.LastContext.Equal(&ctx1), "lastContext is step 1's")
}
