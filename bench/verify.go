package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/freivalds"
	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/tensor"
	"github.com/seed46f70faa/trainproof/verifier"
)

// Default sample counts: the CLI's, which docs/SOUNDNESS.md §4 picks.
const (
	matmulSamples = 280
	trainSamples  = 128
)

// verifyBytes is what a node does with a bundle it receives: decode the
// bytes (which checks the signature), then verify (every root rebuilt from
// the data it carries, every check), pinned to the task and the signer.
func verifyBytes(enc []byte, opt verifier.Options) error {
	b, err := bundle.Decode(enc, 0)
	if err != nil {
		return err
	}
	_, err = verifier.Verify(b, opt)
	return err
}

// memCols formats allocation and peak-RSS samples (bytes).
func memCols(alloc, peak []float64) (string, string) {
	a, _, _ := stats(alloc)
	p, _, _ := stats(peak)
	return fmtBytes(a), fmtBytes(p)
}

// matmulVerify: a matmul unit verified whole, from its encoded bytes, in
// both variants, against recomputing C = A·B (our GEMM, and oneDNN's when
// built in), on the default 280 samples.
func matmulVerify(ctx context.Context, r *Report, cfg Config) error {
	sizes := pick(cfg.Quick, []int{1024, 2048, 4096}, []int{1024, 2048, 4096, 8192})
	reps := pick(cfg.Quick, 3, 5)
	cpu := matmul.NewCPU()
	dnn := "oneDNN bare GEMM"
	if oneDNNGEMM == nil {
		dnn += " (not built in)"
	}
	t := Table{Title: fmt.Sprintf("Matmul units: whole verify vs recompute (C = A·B, n×n int8 → int32, s = %d)", matmulSamples),
		Header: []string{"n", "verify full-data bundle", "verify sampled bundle", "Freivalds check alone",
			"recompute: our GEMM (" + string(cpu.Path()) + ")", dnn, "recompute / verify full", "recompute / verify sampled",
			"full verify: alloc / peak RSS Δ", "full bundle"},
		Note: "Verify = bundle.Decode (length checks, ed25519 signature) + verifier.Verify pinned to the task and key (operands derived from the seed, " +
			"every Merkle root rebuilt from the data the bundle carries, every Freivalds check), on the encoded bytes, as a node does. " +
			"Recompute is the bare GEMM on operands already in memory (deriving A and B is left out, which flatters recompute); the ratios use " +
			"the faster of our GEMM and oneDNN's. \"Freivalds check alone\" is the number earlier reports called full-mode verify.",
		Command: "bench --out DIR (matmul units)"}
	for _, n := range sizes {
		var vFull, vSamp, chk, ours, dnnT, alloc, peak []float64
		full := 0
		for rep := 0; rep <= reps; rep++ { // rep 0 warms up
			task := matmulTask(n, matmulSamples, uint64(rep+1), protocol.ModeFiatShamir)
			id := task.ID()
			opt := verifier.Options{TaskID: &id, Keys: []ed25519.PublicKey{benchPub}}
			a, b, err := prover.MatMulOperands(task)
			if err != nil {
				return err
			}
			c := tensor.NewInt32(n, n)
			tg := seconds(func() {
				if err = cpu.MatMul(ctx, []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c)}}); err != nil {
					panic(err)
				}
			})
			td := -1.0
			if oneDNNGEMM != nil {
				c2 := tensor.NewInt32(n, n)
				td = seconds(func() {
					if err := oneDNNGEMM(a, b, c2); err != nil {
						panic(err)
					}
				})
			}
			vec := randVec(rand.New(rand.NewPCG(uint64(n), uint64(rep))), n)
			tc := seconds(func() {
				if ok, _, _ := freivalds.Check(a, b, c, vec); !ok {
					panic("bench: honest product rejected")
				}
			})
			st, err := prover.MatMulOn(ctx, cpu, task, a, b)
			if err != nil {
				return err
			}
			a, b, c = nil, nil, nil
			pd, err := prover.Commit(ctx, st, benchPub)
			if err != nil {
				return err
			}
			_, senc, err := pd.Finish(bundle.Sampled, [32]byte{}, benchKey)
			if err != nil {
				return err
			}
			_, fenc, err := pd.Finish(bundle.Full, [32]byte{}, benchKey)
			if err != nil {
				return err
			}
			pd.Release()
			full = len(fenc)
			mp := startMem()
			tf := seconds(func() {
				if err := verifyBytes(fenc, opt); err != nil {
					panic(err)
				}
			})
			al, pk := mp.stop()
			ts := seconds(func() {
				if err := verifyBytes(senc, opt); err != nil {
					panic(err)
				}
			})
			if rep > 0 {
				vFull, vSamp, chk, ours = append(vFull, tf), append(vSamp, ts), append(chk, tc), append(ours, tg)
				alloc, peak = append(alloc, float64(al)), append(peak, float64(pk))
				if td >= 0 {
					dnnT = append(dnnT, td)
				}
			}
		}
		x := float64(n)
		r.add("verify full", "s", "n", x, vFull)
		r.add("verify sampled", "s", "n", x, vSamp)
		r.add("freivalds check", "s", "n", x, chk)
		r.add("recompute ours", "s", "n", x, ours)
		rec, _, _ := stats(ours)
		dnnCol := "—"
		if len(dnnT) > 0 {
			r.add("recompute onednn", "s", "n", x, dnnT)
			dnnCol = spread(dnnT)
			if m, _, _ := stats(dnnT); m < rec {
				rec = m
			}
		}
		mf, _, _ := stats(vFull)
		ms, _, _ := stats(vSamp)
		a, p := memCols(alloc, peak)
		t.Rows = append(t.Rows, []string{fmt.Sprint(n), spread(vFull), spread(vSamp), spread(chk), spread(ours), dnnCol,
			fmt.Sprintf("%.1f×", rec/mf), fmt.Sprintf("%.0f×", rec/ms), a + " / " + p, fmtBytes(float64(full))})
	}
	r.Tables = append(r.Tables, t)
	return nil
}

// trainModel is a model the training-step rows measure.
type trainModel struct {
	layers  []int
	variant bundle.Variant
	steps   int // measured steps (after one warm-up step)
}

// trainVerify: one training step's bundle verified from its bytes against
// the time to train (recompute) that step, default and 4096-wide models,
// batch 128, the default 128 samples, on a synthetic stand-in of
// Fashion-MNIST (same shape, so the same costs).
func trainVerify(ctx context.Context, r *Report, cfg Config) error {
	models := []trainModel{{[]int{256, 128}, bundle.Sampled, pick(cfg.Quick, 8, 30)}, {[]int{256, 128}, bundle.Full, pick(cfg.Quick, 4, 10)},
		{[]int{4096, 4096}, bundle.Sampled, pick(cfg.Quick, 2, 5)}}
	if !cfg.Quick {
		models = append(models, trainModel{[]int{4096, 4096}, bundle.Full, 2})
	}
	t := Table{Title: fmt.Sprintf("Training steps: verify one step's bundle vs train (recompute) the step (batch 128, s = %d)", trainSamples),
		Header: []string{"model", "bundle", "size", "train the step (= recompute)", "prove (commit, open, encode, sign)", "verify the bundle", "verify / train", "verify: alloc / peak RSS Δ"},
		Note: "Verify = bundle.Decode + verifier.Verify pinned to the task, key and data-set root, on the encoded bytes (every root rebuilt, " +
			"every Freivalds and element-wise check). Train = the step's forward, backward and update on the CPU backend, which is what a " +
			"verifier that recomputes would spend (holding the previous weights). Synthetic data of Fashion-MNIST's shape; the first step is a warm-up.",
		Command: "bench --out DIR (training steps); scripts/compare-v1.sh for v1 against v2"}
	data := synth.Dataset(1)
	cpu := matmul.NewCPU()
	for _, m := range models {
		mc := model.DefaultConfig()
		mc.Layers = m.layers
		tr, err := prover.NewTrainer(mc, trainSamples, protocol.ModeFiatShamir, data, cpu)
		if err != nil {
			return err
		}
		id, root := tr.Task.ID(), tr.Task.DatasetRoot
		opt := verifier.Options{TaskID: &id, Keys: []ed25519.PublicKey{benchPub}, DatasetRoot: &root}
		var train, prove, verify, alloc, peak []float64
		size := 0
		chain := verifier.NewChain()
		err = tr.Run(ctx, prover.TrainOptions{Steps: m.steps + 1, Variant: m.variant, Key: benchKey, Progress: func(s prover.StepReport) {
			// Verified at once, then dropped: a 4096-wide full bundle is
			// hundreds of MiB.
			mp := startMem()
			var res *verifier.Result
			tv := seconds(func() {
				b, err := bundle.Decode(s.Bundle, 0)
				if err == nil {
					res, err = verifier.Verify(b, opt)
				}
				if err != nil {
					panic(fmt.Sprintf("bench: step %d rejected: %v", s.Step, err))
				}
			})
			al, pk := mp.stop()
			if err := chain.Add(res); err != nil {
				panic(fmt.Sprintf("bench: step %d does not chain: %v", s.Step, err))
			}
			if s.Step > 0 {
				train, prove, verify = append(train, s.TrainSeconds), append(prove, s.ProveSeconds), append(verify, tv)
				alloc, peak = append(alloc, float64(al)), append(peak, float64(pk))
			}
			size = s.BundleBytes
		}})
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%v", mc.Dims())
		mt, _, _ := stats(train)
		mv, _, _ := stats(verify)
		key := fmt.Sprintf("%d-wide %s", m.layers[0], m.variant)
		r.add("train step "+key, "s", "step", 0, train)
		r.add("verify step "+key, "s", "step", 0, verify)
		a, p := memCols(alloc, peak)
		t.Rows = append(t.Rows, []string{name, m.variant.String(), fmtBytes(float64(size)), spread(train), spread(prove), spread(verify),
			fmt.Sprintf("%.0f %%", 100*mv/mt), a + " / " + p})
	}
	r.Tables = append(r.Tables, t)
	return nil
}
