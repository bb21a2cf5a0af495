package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/tensor"
)

// proverBinary is bin/prover beside the bench binary, or "".
func proverBinary() string {
	self, err := os.Executable()
	if err != nil {
		return ""
	}
	p := filepath.Join(filepath.Dir(self), "prover")
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return p
	}
	return ""
}

// proverOverhead: everything `prover matmul` adds to the bare GEMM, stage
// by stage (the same library calls the CLI makes, s = 280, sampled
// bundle written to a file), beside our bare GEMM and oneDNN's on the same
// operands, and the whole `prover matmul` process when bin/prover is beside
// the bench binary.
func proverOverhead(ctx context.Context, r *Report, cfg Config) error {
	sizes := pick(cfg.Quick, []int{1024, 2048, 4096}, []int{1024, 2048, 4096, 8192})
	cpu := matmul.NewCPU()
	pbin := proverBinary()
	procErr := ""
	dir, err := os.MkdirTemp(cfg.Out, "prover-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t := Table{Title: fmt.Sprintf("Commitment: CPU prover overhead over the bare GEMM (matmul unit, s = %d, all cores)", matmulSamples),
		Header: []string{"n", "our bare GEMM", "oneDNN bare GEMM", "derive A, B", "GEMM + row leaves", "trees, challenges", "open, encode, sign", "write",
			"prover total", "overhead over our GEMM (wall)", "overhead over our GEMM (CPU time)", "prover / oneDNN (wall)", "`prover matmul` process, wall", "process / oneDNN"},
		Note: "\"prover total\" is the stages `prover matmul` runs (prover.MatMulOperands, MatMulOn, Commit, Finish, the file write), timed here in " +
			"process, medians per stage; overhead = (total − bare GEMM) / bare GEMM, the median of the repetitions' ratios, in wall time and in the process's CPU time (CLOCK_PROCESS_CPUTIME_ID), which other jobs on a shared machine disturb much less; oneDNN's OpenMP threads spin while they wait, so its CPU time is not comparable and only wall ratios are given for it. The process column runs bin/prover matmul --n N --out FILE " +
			"(process start, key, everything) when bin/prover is beside bin/bench. All on the same operands in one run.",
		Command: "bench --out DIR (commitment); prover matmul --n N --out FILE --json prints the same breakdown"}
	for _, n := range sizes {
		reps := pick(cfg.Quick, 3, 5)
		if n >= 8192 {
			reps = 3
		}
		var gemm, dnn, derive, gh, tree, open, write, total, proc, cpuOver []float64
		for rep := 0; rep <= reps; rep++ {
			task := matmulTask(n, matmulSamples, uint64(rep+1), protocol.ModeFiatShamir)
			var a, b *tensor.Int8
			cd := processCPU()
			td := seconds(func() { a, b, err = prover.MatMulOperands(task) })
			cd = processCPU() - cd
			if err != nil {
				return err
			}
			c := tensor.NewInt32(n, n)
			cg := processCPU()
			tg := seconds(func() {
				if err = cpu.MatMul(ctx, []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c)}}); err != nil {
					panic(err)
				}
			})
			cg = processCPU() - cg
			c = nil
			var st *prover.Step
			cp := processCPU()
			tgh := seconds(func() { st, err = prover.MatMulOn(ctx, cpu, task, a, b) })
			if err != nil {
				return err
			}
			var pd *prover.Pending
			tt := seconds(func() { pd, err = prover.Commit(ctx, st, benchPub) })
			if err != nil {
				return err
			}
			var enc []byte
			to := seconds(func() { _, enc, err = pd.Finish(bundle.Sampled, [32]byte{}, benchKey) })
			if err != nil {
				return err
			}
			tw := seconds(func() { err = os.WriteFile(filepath.Join(dir, "unit.tpb"), enc, 0o644) })
			if err != nil {
				return err
			}
			cp = processCPU() - cp + cd // the prover's stages, derivation included
			// oneDNN last: its OpenMP threads may spin a while after they
			// return, which must not land on our timings.
			c = tensor.NewInt32(n, n)
			tdnn := -1.0
			if oneDNNGEMM != nil {
				tdnn = seconds(func() {
					if err := oneDNNGEMM(a, b, c); err != nil {
						panic(err)
					}
				})
			}
			c = nil
			pd.Release()
			tp := -1.0
			if pbin != "" {
				// The key is made beside the first output and reused.
				out := filepath.Join(dir, fmt.Sprintf("cli-%d-%d.tpb", n, rep))
				cmd := exec.CommandContext(ctx, pbin, "matmul", "--n", fmt.Sprint(n), "--seed", fmt.Sprint(rep+1), "--out", out)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				tp = seconds(func() { err = cmd.Run() })
				os.Remove(out)
				if err != nil {
					// A CLI that disagrees with these flags: the column stays empty.
					tp, pbin, procErr = -1, "", fmt.Sprintf("%v: %s", err, bytes.TrimSpace(stderr.Bytes()))
				}
			}
			if rep > 0 {
				gemm, derive, gh, tree, open, write = append(gemm, tg), append(derive, td), append(gh, tgh), append(tree, tt), append(open, to), append(write, tw)
				total = append(total, td+tgh+tt+to+tw)
				if cg > 0 && cp > 0 {
					cpuOver = append(cpuOver, 100*(cp-cg)/cg)
				}
				if tdnn >= 0 {
					dnn = append(dnn, tdnn)
				}
				if tp >= 0 {
					proc = append(proc, tp)
				}
			}
		}
		x := float64(n)
		mt, _, _ := stats(total)
		r.add("prover total", "s", "n", x, total)
		r.add("bare gemm ours", "s", "n", x, gemm)
		over := make([]float64, len(total))
		for i := range total {
			over[i] = 100 * (total[i] - gemm[i]) / gemm[i]
		}
		r.add("overhead over our gemm", "%", "n", x, over)
		cpuCol := "—"
		if len(cpuOver) > 0 {
			r.add("overhead over our gemm cpu", "%", "n", x, cpuOver)
			m, _, _ := stats(cpuOver)
			cpuCol = fmt.Sprintf("%.0f %%", m)
		}
		mo, _, _ := stats(over)
		dnnCol, ratio, procCol, procRatio := "—", "—", "—", "—"
		if len(dnn) > 0 {
			md, _, _ := stats(dnn)
			dnnCol, ratio = spread(dnn), fmt.Sprintf("%.2f×", mt/md)
			od := make([]float64, len(total))
			for i := range total {
				od[i] = 100 * (total[i] - dnn[i]) / dnn[i]
			}
			r.add("overhead over onednn", "%", "n", x, od)
			if len(proc) > 0 {
				mp, _, _ := stats(proc)
				procRatio = fmt.Sprintf("%.2f×", mp/md)
			}
		}
		if len(proc) > 0 {
			procCol = spread(proc)
			r.add("prover process", "s", "n", x, proc)
		}
		med := func(v []float64) string { m, _, _ := stats(v); return fmtDur(m) }
		t.Rows = append(t.Rows, []string{fmt.Sprint(n), spread(gemm), dnnCol, med(derive), med(gh), med(tree), med(open), med(write),
			spread(total), fmt.Sprintf("%.0f %%", mo), cpuCol, ratio, procCol, procRatio})
	}
	if procErr != "" {
		t.Note += " bin/prover failed (" + procErr + "), so the process columns are empty."
	} else if pbin == "" {
		t.Note += " No bin/prover was found beside the bench binary, so the process columns are empty."
	}
	r.Tables = append(r.Tables, t)
	return nil
}
