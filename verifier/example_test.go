package verifier_test

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/verifier"
)

// A miner proves a matmul work unit; a node decodes and verifies the bundle.
func ExampleVerify() {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	task := protocol.Task{Work: protocol.WorkMatMul, Mode: protocol.ModeFiatShamir, Samples: 16,
		MatMul: protocol.MatMulSpec{M: 128, K: 128, N: 128, Seed: 7}}

	// Miner.
	step, _ := prover.MatMulStep(context.Background(), matmul.NewCPU(), task)
	pending, _ := prover.Commit(context.Background(), step, key.Public().(ed25519.PublicKey))
	_, enc, _ := pending.Finish(bundle.Sampled, [32]byte{}, key)

	// Node: it accepts this task only.
	id := task.ID()
	b, err := bundle.Decode(enc, 1<<20)
	if err != nil {
		fmt.Println("malformed:", err)
		return
	}
	res, err := verifier.Verify(b, verifier.Options{TaskID: &id, Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}})
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Println("accepted", res.Work, "mode", res.Mode, "rows checked", res.Rows)
	// Output: accepted matmul mode sampled rows checked 16
}
