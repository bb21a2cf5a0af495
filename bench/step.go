package bench

import (
	"context"
	"fmt"

	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
	"github.com/seed46f70faa/trainproof/snark/evm"
	"github.com/seed46f70faa/trainproof/train"
)

// succinctSteps: Groth16 proofs of training steps. Only the full profile
// proves them: the smallest model (784-8-6-10, batch 4) and the default one
// (784-256-128-10, batch 128), one sample per group, whose development setup
// alone takes minutes (tens of them for the default model). The quick
// profile reports the last recorded measurement instead, marked as such.
// Synthetic data of Fashion-MNIST's shape.
func succinctSteps(ctx context.Context, r *Report, cfg Config) error {
	type run struct {
		layers  []int
		batch   int
		samples int
	}
	var runs []run
	if !cfg.Quick {
		runs = append(runs, run{[]int{8, 6}, 4, 1}, run{[]int{256, 128}, 128, 1})
	}
	t := Table{Title: "Succinct training steps (Groth16, BN254)",
		Header: []string{"model", "batch", "samples", "constraints", "setup", "prove", "proof / bundle", "native verify", "EVM verifyProof", "EVM StepChain.submitStep"},
		Note: "Synthetic data of Fashion-MNIST's shape; Poseidon2 data tree built once. Native verify includes recomputing the Context input (batch indices). " +
			"EVM: the exported verifier and the StepChain wrapper, compiled with solc (npm), on go-ethereum's simulated chain.",
		Command: "bench --out DIR (full profile); TRAINPROOF_STEP_PROVE=1 go test -run TestStepProveDefault -v -timeout 180m ./snark/"}
	if cfg.Quick {
		// Not measured by this run: the quick profile has no time for a
		// development setup of minutes. Recorded in docs/BENCHMARKS.md.
		t.Title += ": NOT MEASURED IN THIS RUN (quick profile), figures recorded earlier"
		t.Note = "These rows are copied from docs/BENCHMARKS.md (\"Succinct proofs (training steps)\", protocol v2 circuit, 2-core AMD EPYC under load, " +
			"2026-11-27), not measured by this run; `bench --out DIR` without --quick proves them again (the default model's setup takes about 22 min)."
		t.Rows = [][]string{
			{"[784 8 6 10] (recorded)", "4", "1", "144702", "53 s", "4.2–4.4 s", "196 B / 732 B", "—", "391054 gas (v2 circuit)", "—"},
			{"[784 256 128 10] (recorded, default model)", "128", "1", "6394931", "22 min 04 s", "1 min 50 s – 2 min 20 s", "196 B / 732 B", "—", "—", "—"},
		}
		r.Tables = append(r.Tables, t)
		return nil
	}
	data := synth.Dataset(11)
	tree, err := snark.NewDataTree(data)
	if err != nil {
		return err
	}
	for _, rn := range runs {
		mc := model.DefaultConfig()
		mc.Layers, mc.Batch = rn.layers, rn.batch
		task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: uint32(rn.samples), Train: mc}
		shape := snark.StepShapeOf(task)
		var k *snark.StepKeys
		ts := seconds(func() { k, err = snark.DevSetupStep(shape) })
		if err != nil {
			return err
		}
		tr, err := train.New(mc, data, matmul.NewCPU())
		if err != nil {
			return err
		}
		var enc [][]byte
		var sbs []*snark.Succinct
		prove := measure(0, 2, func(int) float64 {
			trace, err := tr.Step(ctx)
			if err != nil {
				panic(err)
			}
			w, err := snark.NewStepWitness(task, benchPub, trace, data, tree)
			if err != nil {
				panic(err)
			}
			var e []byte
			s := seconds(func() { e, err = snark.ProveStep(k, task, w, benchKey) })
			if err != nil {
				panic(err)
			}
			sb, err := snark.DecodeSuccinct(e)
			if err != nil {
				panic(err)
			}
			enc, sbs = append(enc, e), append(sbs, sb)
			return s
		})
		verify := measure(1, 5, func(i int) float64 {
			return seconds(func() {
				if _, err := snark.VerifyStep(sbs[i%2], shape, k.VK, tree.Root(), nil); err != nil {
					panic(err)
				}
			})
		})
		gas, chainGas := "— (no solc: make solc)", "—"
		if solc, err := evm.FindSolc("."); err == nil {
			st, err := snark.StepStatementOf(sbs[0], tree.Root(), nil)
			if err != nil {
				return err
			}
			pw, err := st.PublicWitness(shape)
			if err != nil {
				return err
			}
			proof, err := snark.ParseProof(sbs[0].Proof)
			if err != nil {
				return err
			}
			res, err := evm.Verify(solc, k.VK, proof, pw)
			if err != nil {
				return err
			}
			if !res.TamperedProofReverts || !res.TamperedInputReverts {
				return fmt.Errorf("the EVM verifier accepted a tampered proof or input")
			}
			gas = fmt.Sprintf("%d gas", res.Gas)
			init, err := snark.InitRoots(task.Train)
			if err != nil {
				return err
			}
			var subs []evm.Submission
			for _, sb := range sbs {
				st, err := snark.StepStatementOf(sb, tree.Root(), nil)
				if err != nil {
					return err
				}
				p, err := snark.ParseProof(sb.Proof)
				if err != nil {
					return err
				}
				subs = append(subs, evm.Submission{Proof: p, Statement: st, Miner: sb.PublicKey})
			}
			ch, err := evm.StepChain(solc, k.VK, init, append(subs, subs[1]))
			if err != nil {
				return err
			}
			if len(ch.Gas) != 2 || !ch.Reverted[2] {
				return fmt.Errorf("the StepChain contract: reverted %v (want the two steps accepted, the replay refused)", ch.Reverted)
			}
			chainGas = fmt.Sprintf("%d / %d gas", ch.Gas[0], ch.Gas[1])
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(mc.Dims()), fmt.Sprint(rn.batch), fmt.Sprint(rn.samples),
			fmt.Sprint(k.CS.GetNbConstraints()), fmtDur(ts), spread(prove),
			fmt.Sprintf("%d B / %d B", len(sbs[0].Proof), len(enc[0])), spread(verify), gas, chainGas})
	}
	r.Tables = append(r.Tables, t)
	return nil
}
