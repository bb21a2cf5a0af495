package main_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	trainer "github.com/seed46f70faa/trainproof/train"
)

// TestCheatingMinerCLI: the cheats of issue 12 that v1's `verifier verify`
// accepted through the default CLI path (Fiat–Shamir, default samples) —
// no update, forward only, poisoned weights — written as real bundles on
// Fashion-MNIST and signed with the miner's valid key; the CLI rejects each
// run (exit 1), and accepts the honest run of the same task.
func TestCheatingMinerCLI(t *testing.T) {
	train, _, err := dataset.Load(dataset.DefaultDir)
	if err != nil {
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
	_, verifier := build(t)
	cfg := model.DefaultConfig()
	cfg.Layers, cfg.Batch = []int{32, 16}, 16
	_, key, _ := ed25519.GenerateKey(nil)
	tree, err := prover.DatasetTree(train)
	require.NoError(t, err)
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: 128, Train: cfg, DatasetRoot: tree.Root()}
	cheats := map[string]func(tr *model.Trace){
		"honest": nil,
		"no update": func(tr *model.Trace) {
			for l := range tr.DW {
				clear(tr.DW[l].Data)
				copy(tr.MNext[l].Data, tr.M[l].Data)
			}
		},
		"forward only": func(tr *model.Trace) {
			for l := range tr.DW {
				clear(tr.DW[l].Data)
				copy(tr.MNext[l].Data, tr.M[l].Data)
			}
			for l := range tr.D {
				clear(tr.D[l].Data)
			}
		},
		"poisoned weights": func(tr *model.Trace) {
			for l := range tr.MNext {
				clear(tr.MNext[l].Data)
			}
		},
	}
	for name, cheat := range cheats {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			tr, err := trainer.New(cfg, train, matmul.NewCPU())
			require.NoError(t, err)
			var prev commit.Hash
			for s := 0; s < 3; s++ {
				trace, err := tr.Step(context.Background())
				require.NoError(t, err)
				if cheat != nil {
					cheat(trace)
				}
				st, err := prover.TrainStep(task, prev, trace, prover.Examples(train, tree, trace.Index))
				require.NoError(t, err)
				pd, err := prover.Commit(context.Background(), st, key.Public().(ed25519.PublicKey))
				require.NoError(t, err)
				_, enc, err := pd.Finish(bundle.Sampled, [32]byte{}, key)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("step-%06d.tpb", trace.Step)), enc, 0o644))
				prev = pd.StepRoot
			}
			id := task.ID()
			out, errOut, code := run(t, verifier, "verify", "--task", hex.EncodeToString(id[:]), dir)
			if cheat == nil {
				require.Equal(t, 0, code, errOut)
				require.Contains(t, out, "3 accepted, 0 rejected")
				return
			}
			require.Equal(t, 1, code, out)
			require.Contains(t, errOut, "failed")
			require.Contains(t, out, "0 accepted, 3 rejected")
		})
	}
}
