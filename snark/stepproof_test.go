package snark_test

import (
	"crypto/ed25519"
	"os"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/kzg"
	"github.com/consensys/gnark/constraint"

	"github.com/consensys/gnark/test/unsafekzg"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
	"github.com/seed46f70faa/trainproof/snark/evm"
	"github.com/seed46f70faa/trainproof/train"
)

// TestStepProofEndToEnd proves two consecutive steps of the tiny model with
// Groth16, verifies them natively and as a chain, checks what a verifier
// must reject, and runs the exported Solidity verifier in the EVM.
func TestStepProofEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("Groth16 setup")
	}
	cfg := tinyConfig()
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: 1, Train: cfg}
	shape := snark.StepShapeOf(task)
	keys, err := snark.DevSetupStep(shape)
	require.NoError(t, err)
	t.Logf("tiny step circuit, 1 sample: %d constraints", keys.CS.GetNbConstraints())
	vkb, err := keys.MarshalVK()
	require.NoError(t, err)
	vshape, vk, err := snark.ParseStepVK(vkb)
	require.NoError(t, err)
	require.Equal(t, shape.Samples, vshape.Samples)

	data, tree := synthData()
	tr, err := train.New(cfg, data, matmul.NewCPU())
	require.NoError(t, err)
	pub, key, _ := ed25519.GenerateKey(nil)
	var bundles []*snark.Succinct
	for s := 0; s < 2; s++ {
		trace, err := tr.Step(t.Context())
		require.NoError(t, err)
		w, err := snark.NewStepWitness(task, pub, trace, data, tree)
		require.NoError(t, err)
		enc, err := snark.ProveStep(keys, task, w, key)
		require.NoError(t, err)
		t.Logf("succinct step bundle: %d bytes", len(enc))
		if s == 0 {
			sb, err := snark.DecodeSuccinct(enc)
			require.NoError(t, err)
			t.Logf("Groth16 proof: %d bytes compressed", len(sb.Proof))
			require.LessOrEqual(t, len(sb.Proof), 300)
		}
		sb, err := snark.DecodeSuccinct(enc)
		require.NoError(t, err)
		bundles = append(bundles, sb)
	}
	chain := snark.NewStepChain()
	for _, sb := range bundles {
		st, err := snark.VerifyStep(sb, shape, vk, tree.Root(), nil)
		require.NoError(t, err)
		require.NoError(t, chain.Add(task, st))
	}

	// A replayed step does not link.
	st, err := snark.VerifyStep(bundles[1], shape, vk, tree.Root(), nil)
	require.NoError(t, err)
	require.ErrorIs(t, chain.Add(task, st), snark.ErrProof)
	// Steps out of order do not link either.
	chain2 := snark.NewStepChain()
	st0, err := snark.VerifyStep(bundles[0], shape, vk, tree.Root(), nil)
	require.NoError(t, err)
	require.ErrorIs(t, chain2.Add(task, st), snark.ErrNotAnchored, "a lone step 1")
	require.NoError(t, chain2.Add(task, st0))
	cp := chain2.Checkpoint()
	require.NoError(t, chain2.Add(task, st))
	require.ErrorIs(t, chain2.Add(task, st0), snark.ErrProof)
	// A chain from the checkpoint after step 0 takes step 1.
	chain3, err := snark.NewStepChainFrom(cp)
	require.NoError(t, err)
	require.NoError(t, chain3.Add(task, st))

	reject := func(name string, mutate func(sb *snark.Succinct) (fr.Element, bool)) {
		t.Run(name, func(t *testing.T) {
			sb := *bundles[1]
			sb.Roots = append([]fr.Element(nil), sb.Roots...)
			data, ok := mutate(&sb)
			if !ok {
				data = tree.Root()
			}
			_, err := snark.VerifyStep(&sb, shape, vk, data, nil)
			require.ErrorIs(t, err, snark.ErrProof)
		})
	}
	reject("other step", func(sb *snark.Succinct) (fr.Element, bool) { sb.Step = 5; return fr.Element{}, false })
	reject("other root", func(sb *snark.Succinct) (fr.Element, bool) { sb.Roots[2].SetUint64(7); return fr.Element{}, false })
	reject("other data set", func(sb *snark.Succinct) (fr.Element, bool) {
		var e fr.Element
		e.SetUint64(1)
		return e, true
	})
	reject("re-signed by a thief", func(sb *snark.Succinct) (fr.Element, bool) {
		thief, _, _ := ed25519.GenerateKey(nil)
		sb.PublicKey = thief
		return fr.Element{}, false
	})
	reject("other task", func(sb *snark.Succinct) (fr.Element, bool) {
		sb.Task.Train.Seed++
		return fr.Element{}, false
	})
	reject("other proof", func(sb *snark.Succinct) (fr.Element, bool) {
		sb.Proof = bundles[0].Proof
		return fr.Element{}, false
	})
	t.Run("beacon task", func(t *testing.T) {
		// The same keys prove a beacon task's step: the miner publishes its
		// roots (Acts and Views included), then gets the nonce the rows are
		// drawn with.
		btask := task
		btask.Mode = protocol.ModeBeacon
		bt, err := train.New(cfg, data, matmul.NewCPU())
		require.NoError(t, err)
		trace, err := bt.Step(t.Context())
		require.NoError(t, err)
		w, err := snark.NewStepWitness(btask, pub, trace, data, tree)
		require.NoError(t, err)
		published := w.Statement.Roots()
		nonce := [32]byte{7, 7, 7}
		w.SetNonce(nonce)
		enc, err := snark.ProveStep(keys, btask, w, key)
		require.NoError(t, err)
		sb, err := snark.DecodeSuccinct(enc)
		require.NoError(t, err)
		require.Equal(t, published, sb.Roots, "the bundle carries what was published before the nonce")
		_, err = snark.VerifyStep(sb, shape, vk, tree.Root(), &nonce)
		require.NoError(t, err)
		other := [32]byte{8}
		_, err = snark.VerifyStep(sb, shape, vk, tree.Root(), &other)
		require.ErrorIs(t, err, snark.ErrProof, "another nonce")
		_, err = snark.VerifyStep(sb, shape, vk, tree.Root(), nil)
		require.ErrorIs(t, err, snark.ErrProof, "no nonce")
		_, err = snark.VerifyStep(bundles[1], shape, vk, tree.Root(), &nonce)
		require.ErrorIs(t, err, snark.ErrProof, "a Fiat–Shamir step takes no nonce")
		fw, err := snark.NewStepWitness(task, pub, trace, data, tree)
		require.NoError(t, err)
		fw.SetNonce(nonce)
		_, err = snark.ProveStep(keys, task, fw, key)
		require.Error(t, err, "a Fiat–Shamir witness with a nonce")
	})
	t.Run("other shape", func(t *testing.T) {
		other := shape
		other.Samples = 2
		_, err := snark.VerifyStep(bundles[1], other, vk, tree.Root(), nil)
		require.ErrorIs(t, err, snark.ErrProof)
	})

	// The exported Solidity verifier, on go-ethereum's simulated chain.
	solc, err := evm.FindSolc(".")
	if err != nil {
		if os.Getenv("TRAINPROOF_REQUIRE_EVM") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	st1, err := snark.StepStatementOf(bundles[1], tree.Root(), nil)
	require.NoError(t, err)
	pw, err := st1.PublicWitness(shape)
	require.NoError(t, err)
	proof, err := snark.ParseProof(bundles[1].Proof)
	require.NoError(t, err)
	res, err := evm.Verify(solc, vk, proof, pw)
	require.NoError(t, err)
	require.True(t, res.TamperedProofReverts, "tampered proof accepted on chain")
	require.True(t, res.TamperedInputReverts, "tampered public input accepted on chain")
	require.Less(t, res.Gas, uint64(400_000))
	t.Logf("EVM verifyProof, training step (%d public inputs): %d gas, proof calldata %d bytes", len(st1.Elements()), res.Gas, res.ProofBytes)

	// The StepChain wrapper: steps in order from the initial weights; a
	// proof submitted under another miner's key, and a replay, revert, the
	// replay on its Context.
	init, err := snark.InitRoots(cfg)
	require.NoError(t, err)
	var subs []evm.Submission
	for _, sb := range bundles {
		st, err := snark.StepStatementOf(sb, tree.Root(), nil)
		require.NoError(t, err)
		p, err := snark.ParseProof(sb.Proof)
		require.NoError(t, err)
		subs = append(subs, evm.Submission{Proof: p, Statement: st, Miner: sb.PublicKey})
	}
	thief, _, _ := ed25519.GenerateKey(nil)
	stolen := subs[1]
	stolen.Miner = thief
	ch, err := evm.StepChain(solc, vk, init, []evm.Submission{subs[1], subs[0], stolen, subs[1], subs[1]})
	require.NoError(t, err)
	require.Equal(t, []bool{true, false, true, false, true}, ch.Reverted)
	require.Equal(t, "StepChain: context already accepted", ch.Reasons[4])
	ctx1 := subs[1].Statement.Context()
	require.True(t, ch.LastContext.Equal(&ctx1))
	t.Logf("EVM StepChain.submitStep (verify, miner digest, Context recorded, weights update): %v gas", ch.Gas)
}

// TestStepPlonk: the universal-setup alternative proves and verifies a
// step of the tiny model, and rejects the proof under another statement.
// Its setup and proof take minutes on 2 cores (docs/BENCHMARKS.md), so it
// runs with TRAINPROOF_SLOW=1; TestPlonkMatMul runs PLONK on the matmul circuit in
// every go test.
func TestStepPlonk(t *testing.T) {
	if os.Getenv("TRAINPROOF_SLOW") == "" {
		t.Skip("set TRAINPROOF_SLOW=1 (minutes on 2 cores)")
	}
	cfg := tinyConfig()
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: 1, Train: cfg}
	t0 := time.Now()
	k, err := snark.PlonkSetupStep(snark.StepShapeOf(task), func(ccs constraint.ConstraintSystem) (kzg.SRS, kzg.SRS, error) { return unsafekzg.NewSRS(ccs) })
	require.NoError(t, err)
	t.Logf("PLONK: %d constraints, development setup %v", k.CS.GetNbConstraints(), time.Since(t0))
	data, tree := synthData()
	pub, _, _ := ed25519.GenerateKey(nil)
	w, err := snark.NewStepWitness(task, pub, trace(t, cfg, 2), data, tree)
	require.NoError(t, err)
	t0 = time.Now()
	proof, err := k.Prove(w)
	require.NoError(t, err)
	t.Logf("PLONK prove %v, proof %d bytes", time.Since(t0), len(proof))
	st := w.Statement
	require.NoError(t, k.Verify(proof, &st))
	st.Step++
	require.ErrorIs(t, k.Verify(proof, &st), snark.ErrProof)
}
