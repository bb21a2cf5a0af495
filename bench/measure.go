package bench

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/freivalds"
	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/internal/testutil"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/snark"
	"github.com/seed46f70faa/trainproof/snark/evm"
	"github.com/seed46f70faa/trainproof/tensor"
	"github.com/seed46f70faa/trainproof/verifier"
)

func pick[T any](quick bool, q, full T) T {
	if quick {
		return q
	}
	return full
}

func randVec(rng *rand.Rand, n int) []field.Elem {
	v := make([]field.Elem, n)
	for i := range v {
		v[i] = field.New(rng.Uint64())
	}
	return v
}

// verifyVsRecompute: the full-mode check of C = A·B against recomputing it
// (our CPU backend) and against gonum's float64 DGEMM, over n.
func verifyVsRecompute(ctx context.Context, r *Report, cfg Config) error {
	sizes := pick(cfg.Quick, []int{256, 512, 1024, 2048, 4096}, []int{256, 512, 1024, 2048, 4096, 8192})
	reps := pick(cfg.Quick, 5, 7)
	cpu := matmul.NewCPU()
	t := Table{Title: "Full-mode verify vs recompute (C = A·B, int8 → int32)",
		Header:  []string{"n", "Freivalds check", "recompute (CPU backend, " + string(cpu.Path()) + ")", "ratio", "check GB/s", "gonum DGEMM (float64)"},
		Command: "bench --out DIR (section 1)"}
	for _, n := range sizes {
		var ver, rec, dg []float64
		for rep := 0; rep < reps+1; rep++ { // rep 0 warms up
			rng := rand.New(rand.NewPCG(uint64(n), uint64(rep)))
			a, b := testutil.RandInt8(rng, n, n), testutil.RandInt8(rng, n, n)
			c := tensor.NewInt32(n, n)
			tr := seconds(func() {
				cpu.MatMul(ctx, []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c)}})
			})
			vec := randVec(rng, n)
			tv := seconds(func() {
				if ok, _, _ := freivalds.Check(a, b, c, vec); !ok {
					panic("bench: honest product rejected")
				}
			})
			td := math.NaN()
			if n <= pick(cfg.Quick, 1024, 2048) && rep <= 3 {
				af, bf, cf := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
				for i := range af {
					af[i], bf[i] = float64(a.Data[i]), float64(b.Data[i])
				}
				td = seconds(func() {
					blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, blas64.General{Rows: n, Cols: n, Stride: n, Data: af},
						blas64.General{Rows: n, Cols: n, Stride: n, Data: bf}, 0, blas64.General{Rows: n, Cols: n, Stride: n, Data: cf})
				})
			}
			if rep > 0 {
				ver, rec = append(ver, tv), append(rec, tr)
				if !math.IsNaN(td) {
					dg = append(dg, td)
				}
			}
		}
		r.add("verify", "s", "n", float64(n), ver)
		r.add("recompute", "s", "n", float64(n), rec)
		dgs := "—"
		if len(dg) > 0 {
			r.add("dgemm", "s", "n", float64(n), dg)
			dgs = spread(dg)
		}
		mv, _, _ := stats(ver)
		mr, _, _ := stats(rec)
		t.Rows = append(t.Rows, []string{fmt.Sprint(n), spread(ver), spread(rec), fmt.Sprintf("%.0f×", mr/mv),
			fmt.Sprintf("%.1f", float64(6*n*n)/mv/1e9), dgs})
	}
	r.Tables = append(r.Tables, t)
	return nil
}

func matmulTask(n, s int, seed uint64, mode protocol.Mode) protocol.Task {
	return protocol.Task{Work: protocol.WorkMatMul, Mode: mode, Samples: uint32(s),
		MatMul: protocol.MatMulSpec{M: uint32(n), K: uint32(n), N: uint32(n), Seed: seed}}
}

// sampledBundles: bundle size and sampled-mode verify time over n and s.
func sampledBundles(ctx context.Context, r *Report, cfg Config) error {
	sizes := pick(cfg.Quick, []int{256, 512, 1024, 2048}, []int{256, 512, 1024, 2048, 4096})
	ss := []int{8, 32, 128}
	reps := pick(cfg.Quick, 5, 7)
	t := Table{Title: "Sampled mode: bundle size and verify time (matmul units)",
		Header: []string{"n", "s", "bundle", "sampled verify", "full-data bundle"}, Command: "bench --out DIR (section 2)"}
	cpu := matmul.NewCPU()
	for _, n := range sizes {
		full := 0
		for _, s := range ss {
			var times []float64
			size := 0
			for rep := 0; rep < reps+1; rep++ {
				task := matmulTask(n, s, uint64(rep+1), protocol.ModeFiatShamir)
				st, err := prover.MatMulStep(ctx, cpu, task)
				if err != nil {
					return err
				}
				pd, err := prover.Commit(ctx, st, benchPub)
				if err != nil {
					return err
				}
				_, enc, err := pd.Finish(bundle.Sampled, [32]byte{}, benchKey)
				if err != nil {
					return err
				}
				if full == 0 {
					_, fenc, err := pd.Finish(bundle.Full, [32]byte{}, benchKey)
					if err != nil {
						return err
					}
					full = len(fenc)
				}
				size = len(enc)
				tv := seconds(func() {
					b, err := bundle.Decode(enc, 0)
					if err == nil {
						_, err = verifier.Verify(b, verifier.Options{AnyTask: true})
					}
					if err != nil {
						panic(err)
					}
				})
				if rep > 0 {
					times = append(times, tv)
				}
			}
			r.add(fmt.Sprintf("bundle bytes s=%d", s), "bytes", "n", float64(n), []float64{float64(size)})
			r.add(fmt.Sprintf("sampled verify s=%d", s), "s", "n", float64(n), times)
			t.Rows = append(t.Rows, []string{fmt.Sprint(n), fmt.Sprint(s), fmt.Sprintf("%.1f KiB", float64(size)/1024), spread(times), fmt.Sprintf("%.1f MiB", float64(full)/(1<<20))})
		}
	}
	r.Tables = append(r.Tables, t)
	return nil
}

// proverOverhead: the prover's work beside the computation, for matmul
// units (bare GEMM vs GEMM + commit + open + bundle) and training steps.
func proverOverhead(ctx context.Context, r *Report, cfg Config) error {
	sizes := pick(cfg.Quick, []int{512, 1024, 2048, 4096}, []int{512, 1024, 2048, 4096, 8192})
	reps := pick(cfg.Quick, 5, 7)
	cpu := matmul.NewCPU()
	t := Table{Title: "Prover overhead on the CPU (commit + open + sign)",
		Header: []string{"work", "compute", "compute + proving", "overhead"}, Command: "bench --out DIR (section 3)"}
	for _, n := range sizes {
		var gemm, proved []float64
		for rep := 0; rep < reps+1; rep++ {
			task := matmulTask(n, 32, uint64(rep+1), protocol.ModeFiatShamir)
			a, b, err := prover.MatMulOperands(task)
			if err != nil {
				return err
			}
			c := tensor.NewInt32(n, n)
			tg := seconds(func() {
				cpu.MatMul(ctx, []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c)}})
			})
			tp := seconds(func() {
				st, err := prover.MatMulOn(ctx, cpu, task, a, b)
				if err == nil {
					var pd *prover.Pending
					if pd, err = prover.Commit(ctx, st, benchPub); err == nil {
						_, _, err = pd.Finish(bundle.Sampled, [32]byte{}, benchKey)
					}
				}
				if err != nil {
					panic(err)
				}
			})
			if rep > 0 {
				gemm, proved = append(gemm, tg), append(proved, tp)
			}
		}
		mg, _, _ := stats(gemm)
		mp, _, _ := stats(proved)
		r.add("overhead matmul", "%", "n", float64(n), []float64{100 * (mp - mg) / mg})
		t.Rows = append(t.Rows, []string{fmt.Sprintf("matmul n=%d", n), spread(gemm), spread(proved), fmt.Sprintf("%.0f %%", 100*(mp-mg)/mg)})
	}
	// Training steps of the default model on a synthetic stand-in of the data set.
	data := synth.Dataset(1)
	tr, err := prover.NewTrainer(model.DefaultConfig(), 16, protocol.ModeFiatShamir, data, cpu)
	if err != nil {
		return err
	}
	var train, prove []float64
	err = tr.Run(ctx, prover.TrainOptions{Steps: pick(cfg.Quick, 100, 300), Key: benchKey, Progress: func(s prover.StepReport) {
		train, prove = append(train, s.TrainSeconds), append(prove, s.ProveSeconds)
	}})
	if err != nil {
		return err
	}
	mt, _, _ := stats(train)
	mp, _, _ := stats(prove)
	t.Rows = append(t.Rows, []string{"training step (784-256-128-10, batch 128, s=16)", spread(train), fmtDur(mt + mp), fmt.Sprintf("%.0f %%", 100*mp/mt)})
	r.Tables = append(r.Tables, t)
	return nil
}

// escapeRates: sampled-mode escape probability of t wrong rows out of 64
// with s = 8, theory against fresh beacon challenges.
func escapeRates(ctx context.Context, r *Report, cfg Config) error {
	const n, s = 64, 8
	trials := pick(cfg.Quick, 10000, 20000)
	t := Table{Title: fmt.Sprintf("Sampled-mode escape: t wrong rows of %d, s = %d, %d beacon trials each", n, s, trials),
		Header: []string{"t", "fraction f", "theory C(n−t,s)/C(n,s)", "measured", "5 σ"}, Command: "bench --out DIR (section 4)"}
	cpu := matmul.NewCPU()
	for _, bad := range []int{1, 4, 8, 16, 32} {
		task := matmulTask(n, s, 7, protocol.ModeBeacon)
		task.MatMul.K, task.MatMul.N = 16, 8
		p, err := protocol.NewPlan(task)
		if err != nil {
			return err
		}
		st, err := prover.MatMulStep(ctx, cpu, task)
		if err != nil {
			return err
		}
		for i := 0; i < bad; i++ {
			st.Matrices[p.MatC].I32.Row(i * (n / bad))[0]++
		}
		st.Leaves = nil
		pd, err := prover.Commit(ctx, st, benchPub)
		if err != nil {
			return err
		}
		escaped := 0
		for trial := 0; trial < trials; trial++ {
			var nonce [32]byte
			nonce[0], nonce[1], nonce[2] = byte(trial), byte(trial>>8), byte(bad)
			b, _, err := pd.Finish(bundle.Sampled, nonce, benchKey)
			if err != nil {
				return err
			}
			if _, err := verifier.Verify(b, verifier.Options{AnyTask: true, Nonce: func(commit.Hash, uint64, [32]byte) ([32]byte, bool) { return nonce, true }}); err == nil {
				escaped++
			}
		}
		want := hypergeom(n, bad, s)
		got := float64(escaped) / float64(trials)
		sigma := math.Sqrt(want * (1 - want) / float64(trials))
		r.add("escape theory", "probability", "fraction of rows wrong", float64(bad)/n, []float64{want})
		r.add("escape measured", "probability", "fraction of rows wrong", float64(bad)/n, []float64{got})
		t.Rows = append(t.Rows, []string{fmt.Sprint(bad), fmt.Sprintf("%.3f", float64(bad)/n), fmt.Sprintf("%.4f", want), fmt.Sprintf("%.4f", got), fmt.Sprintf("±%.4f", 5*sigma)})
	}
	r.Tables = append(r.Tables, t)
	return nil
}

func hypergeom(n, t, s int) float64 {
	num := new(big.Int).Binomial(int64(n-t), int64(s))
	den := new(big.Int).Binomial(int64(n), int64(s))
	f, _ := new(big.Rat).SetFrac(num, den).Float64()
	return f
}

// succinct: Groth16 prove time against samples for 8×8×8 units, proof size,
// native verify time.
func succinct(ctx context.Context, r *Report, cfg Config) error {
	samples := pick(cfg.Quick, []int{1, 2, 4}, []int{1, 2, 4, 8})
	reps := pick(cfg.Quick, 3, 5)
	t := Table{Title: "Succinct proofs (Groth16, BN254): matmul units 8×8×8",
		Header:  []string{"samples", "constraints", "setup", "prove", "proof", "native verify", "EVM verifyProof"},
		Note:    "EVM: the exported Solidity verifier compiled with solc (npm) and called on go-ethereum's simulated chain; a tampered proof and a tampered input must revert.",
		Command: "bench --out DIR (section 5)"}
	for _, s := range samples {
		shape := snark.MatMulShape{M: 8, K: 8, N: 8, S: s}
		var k *snark.Keys
		var err error
		ts := seconds(func() { k, err = snark.DevSetup(shape) })
		if err != nil {
			return err
		}
		task := matmulTask(8, s, 3, protocol.ModeFiatShamir)
		a, b, err := prover.MatMulOperands(task)
		if err != nil {
			return err
		}
		c := tensor.NewInt32(8, 8)
		cpu := matmul.NewCPU()
		cpu.MatMul(ctx, []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c)}})
		var enc []byte
		prove := measure(1, reps, func(int) float64 {
			return seconds(func() {
				if enc, err = snark.ProveMatMul(k, task, a, b, c, benchKey); err != nil {
					panic(err)
				}
			})
		})
		vkb, _ := k.MarshalVK()
		sh, vk, _ := snark.ParseVK(vkb)
		sb0, err := snark.DecodeSuccinct(enc)
		if err != nil {
			return err
		}
		verify := measure(1, reps, func(int) float64 {
			return seconds(func() {
				sb, err := snark.DecodeSuccinct(enc)
				if err == nil {
					err = snark.VerifyMatMul(sb, sh, vk)
				}
				if err != nil {
					panic(err)
				}
			})
		})
		r.add("succinct prove", "s", "samples", float64(s), prove)
		gas := "— (no solc: make solc)"
		if solc, err := evm.FindSolc("."); err == nil {
			proof, pub, err := sb0.Statement()
			if err != nil {
				return err
			}
			res, err := evm.Verify(solc, vk, proof, pub)
			if err != nil {
				return err
			}
			if !res.TamperedProofReverts || !res.TamperedInputReverts {
				return fmt.Errorf("the EVM verifier accepted a tampered proof or input")
			}
			gas = fmt.Sprintf("%d gas", res.Gas)
			r.add("succinct gas", "gas", "samples", float64(s), []float64{float64(res.Gas)})
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(s), fmt.Sprint(k.CS.GetNbConstraints()), fmtDur(ts), spread(prove),
			fmt.Sprintf("%d B (bundle %d B)", len(sb0.Proof), len(enc)), spread(verify), gas})
	}
	r.Tables = append(r.Tables, t)
	return nil
}
