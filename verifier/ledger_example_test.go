package verifier_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/train"
	"github.com/seed46f70faa/trainproof/verifier"
)

// A node reads the miner's public key from its .pub file (64 hex digits).
func ExampleReadPublicKey() {
	dir, _ := os.MkdirTemp("", "pub")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "miner.key.pub")
	os.WriteFile(path, []byte("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29\n"), 0o644)

	key, err := verifier.ReadPublicKey(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%x…\n", key[:4])
	// Output: 3b6a27bc…
}

// A node verifies a directory of training-step bundles as a chain, one
// bundle in memory at a time, and keeps a checkpoint to resume from. This is
// the whole program a network builder writes (the miner's side, minerRun,
// only makes the bundles).
func ExampleVerifyFiles() {
	dir, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(dir)
	task, minerKey := minerRun(dir, 3)

	id, signer := task.ID(), minerKey.Public().(ed25519.PublicKey)
	root := task.DatasetRoot // Fashion-MNIST's is verifier.FashionMNISTRoot
	ledger := verifier.NewLedger(verifier.Options{TaskID: &id, Keys: []ed25519.PublicKey{signer}, DatasetRoot: &root})
	paths, _ := filepath.Glob(filepath.Join(dir, "*.tpb"))
	err := verifier.VerifyFiles(ledger, paths, 64<<20, func(f verifier.FileResult) {
		if f.Err != nil {
			fmt.Println("rejected", filepath.Base(f.Path), f.Err)
			return
		}
		fmt.Println("accepted step", f.Result.Step)
	})
	if err != nil {
		fmt.Println("I/O error:", err)
		return
	}
	for _, c := range ledger.Chains() {
		fmt.Printf("steps %d..%d linked; resume at step %d\n", c.First, c.Next-1, c.Checkpoint.Step)
	}
	// Output:
	// accepted step 0
	// accepted step 1
	// accepted step 2
	// steps 0..2 linked; resume at step 3
}

// A node that verified the first steps of a run before (or trusts an
// operator's snapshot) starts from the checkpoint: the earlier bundles are
// not needed, and a step that does not extend the checkpoint is refused.
func ExampleNewLedger_checkpoint() {
	dir, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(dir)
	task, _ := minerRun(dir, 3)
	id, root := task.ID(), task.DatasetRoot
	opt := verifier.Options{TaskID: &id, DatasetRoot: &root}

	// Yesterday: steps 0 and 1, and the checkpoint after them.
	earlier := verifier.NewLedger(opt)
	for _, name := range []string{"step-000000.tpb", "step-000001.tpb"} {
		b, _, _ := bundle.ReadFile(filepath.Join(dir, name), 0)
		earlier.Add(b)
	}
	cp := earlier.Chains()[0].Checkpoint

	// Today: resume at step 2 without steps 0 and 1.
	ledger := verifier.NewLedger(opt, cp)
	b, _, _ := bundle.ReadFile(filepath.Join(dir, "step-000002.tpb"), 0)
	res, err := ledger.Add(b)
	fmt.Println("step", res.Step, "accepted:", err == nil)
	_, err = ledger.Add(b)
	fmt.Println("again:", err)
	// Output:
	// step 2 accepted: true
	// again: verifier: replayed bundle: step 2 was already accepted
}

// minerRun plays the miner: a small model trained on synthetic data for
// steps steps, each proven and written as DIR/step-NNNNNN.tpb.
func minerRun(dir string, steps int) (protocol.Task, ed25519.PrivateKey) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	tree, _ := prover.DatasetTree(synthData)
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: 4, Train: smallConfig(), DatasetRoot: tree.Root()}
	tr, _ := train.New(task.Train, synthData, matmul.NewCPU())
	var prev commit.Hash
	for s := 0; s < steps; s++ {
		trc, _ := tr.Step(context.Background())
		st, _ := prover.TrainStep(task, prev, trc, prover.Examples(synthData, tree, trc.Index))
		pd, _ := prover.Commit(context.Background(), st, key.Public().(ed25519.PublicKey))
		_, enc, _ := pd.Finish(bundle.Sampled, [32]byte{}, key)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("step-%06d.tpb", s)), enc, 0o644)
		prev = pd.StepRoot
	}
	return task, key
}
