package snark_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
	"github.com/seed46f70faa/trainproof/tensor"
)

// A node verifies a succinct matmul unit: the key's shape, the task's
// operands, the task id, the signer and the proof. Nothing is printed but
// what the node prints: the package silences gnark's logger (this example's
// output is compared with stdout).
func ExampleVerifyMatMul() {
	shape := snark.MatMulShape{M: 8, K: 8, N: 8, S: 2}
	task := protocol.Task{Work: protocol.WorkMatMul, Mode: protocol.ModeFiatShamir, Samples: 2,
		MatMul: protocol.MatMulSpec{M: 8, K: 8, N: 8, Seed: 3}}
	keys, _ := snark.DevSetup(shape) // development keys: tests and examples only
	miner := ed25519.NewKeyFromSeed(make([]byte, 32))
	enc, _ := snark.ProveMatMul(keys, task, operand(task, 'A', 8, 8), operand(task, 'B', 8, 8), product(task), miner)
	vkBytes, _ := keys.MarshalVK()

	// The node's side: the verifying key's file and the bundle's bytes.
	gotShape, vk, err := snark.ParseVK(vkBytes)
	if err != nil {
		fmt.Println("bad key:", err)
		return
	}
	unit, err := snark.DecodeSuccinct(enc)
	if err != nil {
		fmt.Println("malformed:", err)
		return
	}
	if err := snark.VerifyMatMul(unit, gotShape, vk); err != nil {
		fmt.Println("rejected:", err)
		return
	}
	// Pay once per claim: a re-randomised proof has other bytes but the
	// same StatementKey.
	claims := map[[32]byte]bool{unit.StatementKey(nil): true}
	fmt.Printf("accepted a %d-byte bundle; %d claim\n", len(enc), len(claims))
	// Output: accepted a 399-byte bundle; 1 claim
}

// A StepChain links verified succinct steps: from step 0 (the task's initial
// weights) with NewStepChain, or from a trusted checkpoint with
// NewStepChainFrom. Here the statements are made by hand; a node gets each
// from VerifyStep.
func ExampleNewStepChainFrom() {
	cfg := model.DefaultConfig()
	cfg.Layers, cfg.GradShifts, cfg.Batch = []int{8, 6}, []int{8, 8}, 4
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: 1, Train: cfg}
	init, _ := snark.InitRoots(cfg)
	step := func(n uint64, from []fr.Element) *snark.StepStatement {
		next := make([]fr.Element, len(from))
		for l := range next {
			next[l].SetUint64(100*n + uint64(l)) // the roots of M′ the step proves
		}
		return &snark.StepStatement{Task: snark.TaskDigest(task.ID()), Step: n, M: from, MNext: next}
	}
	s0 := step(0, init)
	s1 := step(1, s0.MNext)
	s2 := step(2, s1.MNext)

	chain := snark.NewStepChain()
	fmt.Println("step 0:", chain.Add(task, s0))
	fmt.Println("step 1:", chain.Add(task, s1))
	cp := chain.Checkpoint() // persisted by the node

	resumed, _ := snark.NewStepChainFrom(cp)
	fmt.Println("step 2 after the checkpoint:", resumed.Add(task, s2))
	fmt.Println("step 1 again:", resumed.Add(task, s1) != nil)
	// Output:
	// step 0: <nil>
	// step 1: <nil>
	// step 2 after the checkpoint: <nil>
	// step 1 again: true
}

func operand(t protocol.Task, which byte, rows, cols int) *tensor.Int8 {
	m := tensor.NewInt8(rows, cols)
	for i := 0; i < rows; i++ {
		protocol.GenRow(t.MatMul.Seed, which, i, m.Row(i))
	}
	return m
}

func product(t protocol.Task) *tensor.Int32 {
	a, b := operand(t, 'A', 8, 8), operand(t, 'B', 8, 8)
	c := tensor.NewInt32(8, 8)
	for i := 0; i < 8; i++ {
		for j := 0; j < 8; j++ {
			for k := 0; k < 8; k++ {
				c.Data[i*8+j] += int32(a.At(i, k)) * int32(b.At(k, j))
			}
		}
	}
	return c
}
