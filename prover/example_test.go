package prover_test

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
)

// A beacon-mode matmul unit: commit, publish the commitment, receive
// the nonce, then open and sign.
func ExampleCommit() {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	task := protocol.Task{Work: protocol.WorkMatMul, Mode: protocol.ModeBeacon, Samples: 8,
		MatMul: protocol.MatMulSpec{M: 64, K: 64, N: 64, Seed: 3}}
	step, _ := prover.MatMulStep(context.Background(), matmul.NewCPU(), task)
	pending, _ := prover.Commit(context.Background(), step, key.Public().(ed25519.PublicKey))
	// Publish pending.Commitment; the issuer replies with a fresh nonce.
	nonce := [32]byte{42}
	b, enc, err := pending.Finish(bundle.Sampled, nonce, key)
	fmt.Println(b.Step, len(enc) > 0, err)
	// Output: 0 true <nil>
}
