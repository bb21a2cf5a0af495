package bench

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/matmul"
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

func matmulTask(n, s int, seed uint64, mode protocol.Mode) protocol.Task {
	return protocol.Task{Work: protocol.WorkMatMul, Mode: mode, Samples: uint32(s),
		MatMul: protocol.MatMulSpec{M: uint32(n), K: uint32(n), N: uint32(n), Seed: seed}}
}

// sampledBundles: bundle size and whole verify time (decode + Verify) of
// sampled matmul bundles over n and s, beside the full-data bundle's size.
func sampledBundles(ctx context.Context, r *Report, cfg Config) error {
	sizes := pick(cfg.Quick, []int{256, 512, 1024, 2048}, []int{256, 512, 1024, 2048, 4096})
	ss := []int{8, 32, 128, matmulSamples}
	reps := pick(cfg.Quick, 3, 7)
	t := Table{Title: "Sampled matmul bundles: size and whole verify time over n and s",
		Header: []string{"n", "s", "bundle", "verify (decode + Verify)", "full-data bundle"}, Command: "bench --out DIR (sampled bundles)",
		Note: fmt.Sprintf("s = %d is the CLI's default for matmul units; s ≥ n opens every row.", matmulSamples)}
	cpu := matmul.NewCPU()
	for _, n := range sizes {
		full := 0
		for _, s := range ss {
			var times []float64
			size := 0
			for rep := 0; rep < reps+1; rep++ {
				task := matmulTask(n, s, uint64(rep+1), protocol.ModeFiatShamir)
				id := task.ID()
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
					if err := verifyBytes(enc, verifier.Options{TaskID: &id}); err != nil {
						panic(err)
					}
				})
				if rep > 0 {
					times = append(times, tv)
				}
			}
			r.add(fmt.Sprintf("bundle bytes s=%d", s), "bytes", "n", float64(n), []float64{float64(size)})
			r.add(fmt.Sprintf("sampled verify s=%d", s), "s", "n", float64(n), times)
			t.Rows = append(t.Rows, []string{fmt.Sprint(n), fmt.Sprint(s), fmtBytes(float64(size)), spread(times), fmtBytes(float64(full))})
		}
		r.add("bundle bytes full", "bytes", "n", float64(n), []float64{float64(full)})
	}
	r.Tables = append(r.Tables, t)
	return nil
}

// succinct: Groth16 prove time against samples for 8×8×8 units, proof size,
// native verify time.
func succinct(ctx context.Context, r *Report, cfg Config) error {
	// The quick profile proves one sample count (a table row); the full one
	// five, enough for the plot of prove time against samples.
	samples := pick(cfg.Quick, []int{1}, []int{1, 2, 4, 8, 16})
	reps := pick(cfg.Quick, 2, 5)
	t := Table{Title: "Succinct proofs (Groth16, BN254): matmul units 8×8×8",
		Header:  []string{"samples", "constraints", "setup", "prove", "proof", "native verify", "EVM verifyProof"},
		Note:    "EVM: the exported Solidity verifier compiled with solc (npm) and called on go-ethereum's simulated chain; a tampered proof and a tampered input must revert.",
		Command: "bench --out DIR (succinct matmul units)"}
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
		r.add("succinct constraints", "constraints", "samples", float64(s), []float64{float64(k.CS.GetNbConstraints())})
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
