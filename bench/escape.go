package bench

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/verifier"
)

// logMiss is log2 of miss(n, k, s) = C(n−k, s)/C(n, s), the chance that s
// rows drawn without replacement from n miss k given rows
// (docs/SOUNDNESS.md, Theorem 1; −Inf when they cannot).
func logMiss(n, k, s int) float64 {
	if s >= n {
		if k > 0 {
			return math.Inf(-1)
		}
		return 0
	}
	if n-k < s {
		return math.Inf(-1)
	}
	lc := func(a, b int) float64 {
		x, _ := math.Lgamma(float64(a + 1))
		y, _ := math.Lgamma(float64(b + 1))
		z, _ := math.Lgamma(float64(a - b + 1))
		return x - y - z
	}
	return (lc(n-k, s) - lc(n, s)) / math.Ln2
}

// cheapestCheat is scripts/soundness-bounds.py's: the bad rows of DW,
// placed where detection per saved multiply-accumulate is lowest, that
// save frac of a training step's MACs; it returns them (layer → rows) and
// log2 of the per-try escape.
func cheapestCheat(dims []int, batch, s int, frac float64) ([][2]int, float64) {
	L := len(dims) - 1
	fwd, back := 0, 0
	for l := 1; l <= L; l++ {
		fwd += batch * dims[l-1] * dims[l]
		if l >= 2 {
			back += batch * dims[l] * dims[l-1]
		}
	}
	need := frac * float64(2*fwd+back)
	type cand struct {
		cost float64
		l    int
	}
	var cs []cand
	for l := 1; l <= L; l++ {
		if s < dims[l-1] {
			cs = append(cs, cand{-math.Log(1-float64(s)/float64(dims[l-1])) / float64(batch*dims[l]), l})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].cost < cs[j].cost })
	var rows [][2]int
	lp := 0.0
	for _, c := range cs {
		n, per := dims[c.l-1], batch*dims[c.l]
		k := min(n, int(math.Ceil(math.Floor(need)/float64(per))))
		rows = append(rows, [2]int{c.l, k})
		lp += logMiss(n, k, s)
		need -= float64(k * per)
		if need <= 0 {
			return rows, lp
		}
	}
	return rows, math.Inf(-1)
}

// escapeTheory: the per-try escape bounds at the real sample counts
// (docs/SOUNDNESS.md §4).
func escapeTheory(ctx context.Context, r *Report, cfg Config) error {
	t := Table{Title: "Escape a try at the default sample counts (theory, docs/SOUNDNESS.md §3–4)",
		Header: []string{"work", "s", "cheat", "escape a try", "tries needed (expected)"},
		Note: "miss(n, k, s) = C(n−k, s)/C(n, s): s rows drawn from n miss k bad ones. The 10 % cheats are the cheapest that save a tenth of the " +
			"step's multiply-accumulates (rows of DW where sampling is least likely to look). One bad row is the smallest cheat: it saves " +
			"almost nothing and escapes often, the bounded influence a sampled verifier concedes. Global cheats (no update, poisoned weights, " +
			"forward only) escape with ≤ 2⁻⁵¹ at any s.",
		Command: "bench --out DIR (escape); python3 scripts/soundness-bounds.py"}
	pow := func(lp float64) string {
		if math.IsInf(lp, -1) {
			return "0"
		}
		if lp > -10 {
			return fmt.Sprintf("%.4f", math.Exp2(lp))
		}
		return fmt.Sprintf("2^%.1f", lp)
	}
	tries := func(lp float64) string {
		if math.IsInf(lp, -1) {
			return "∞"
		}
		return fmt.Sprintf("2^%.1f", -lp)
	}
	for _, m := range []struct {
		name string
		dims []int
	}{{"train 784-256-128-10, batch 128 (default)", []int{784, 256, 128, 10}}, {"train 784-4096-4096-10, batch 128", []int{784, 4096, 4096, 10}}} {
		rows, lp := cheapestCheat(m.dims, 128, trainSamples, 0.10)
		var what []string
		for _, rw := range rows {
			what = append(what, fmt.Sprintf("%d rows of DW_%d", rw[1], rw[0]))
		}
		t.Rows = append(t.Rows, []string{m.name, fmt.Sprint(trainSamples), "save 10 %: " + strings.Join(what, ", "), pow(lp), tries(lp)})
		for l := 1; l < len(m.dims); l++ {
			n := m.dims[l-1]
			lp := logMiss(n, 1, trainSamples)
			t.Rows = append(t.Rows, []string{"", fmt.Sprint(trainSamples), fmt.Sprintf("one bad row of DW_%d (n = %d rows)", l, n), pow(lp), tries(lp)})
		}
	}
	for _, n := range []int{1024, 4096, 16384} {
		lp := logMiss(n, n/10, matmulSamples)
		t.Rows = append(t.Rows, []string{fmt.Sprintf("matmul %d³", n), fmt.Sprint(matmulSamples), fmt.Sprintf("%d rows of C (10 %%)", n/10), pow(lp), tries(lp)})
		lp = logMiss(n, 1, matmulSamples)
		t.Rows = append(t.Rows, []string{"", fmt.Sprint(matmulSamples), "one bad row of C", pow(lp), tries(lp)})
	}
	r.Tables = append(r.Tables, t)
	return nil
}

// escapeMeasured: k wrong rows of C in a 1024-row matmul unit, sampled at
// the real s = 280, beacon mode (one commitment, a fresh nonce a trial),
// through the real verifier: measured escapes against miss(1024, k, 280).
func escapeMeasured(ctx context.Context, r *Report, cfg Config) error {
	const n = 1024
	s := matmulSamples
	trials := pick(cfg.Quick, 1500, 10000)
	t := Table{Title: fmt.Sprintf("Measured escape at s = %d: k wrong rows of C in a %d-row matmul unit, %d beacon nonces each", s, n, trials),
		Header: []string{"k", "theory miss(n, k, s)", "measured", "3σ interval (Wilson)", "theory inside"},
		Note: "C is " + fmt.Sprint(n) + "×8 (K = 16), the product corrupted in k rows after the GEMM and committed once; each trial finishes the " +
			"bundle for a new nonce and runs verifier.Verify. The interval is Wilson's score interval at z = 3 (about 99.7 %).",
		Command: "bench --out DIR (escape); go test -run SampledEscapeRates -v ./verifier/"}
	cpu := matmul.NewCPU()
	for _, bad := range []int{1, 2, 4, 8, 16} {
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
		id := task.ID()
		escaped := 0
		for trial := 0; trial < trials; trial++ {
			var nonce [32]byte
			nonce[0], nonce[1], nonce[2], nonce[3] = byte(trial), byte(trial>>8), byte(trial>>16), byte(bad)
			b, _, err := pd.Finish(bundle.Sampled, nonce, benchKey)
			if err != nil {
				return err
			}
			if _, err := verifier.Verify(b, verifier.Options{TaskID: &id, Nonce: func(commit.Hash, uint64, [32]byte) ([32]byte, bool) { return nonce, true }}); err == nil {
				escaped++
			}
		}
		want := math.Exp2(logMiss(n, bad, s))
		got := float64(escaped) / float64(trials)
		lo, hi := wilson(escaped, trials, 3)
		r.add("escape theory", "probability", "rows wrong (k)", float64(bad), []float64{want})
		r.addRange("escape measured", "probability", "rows wrong (k)", float64(bad), got, lo, hi)
		ok := "yes"
		if want < lo || want > hi {
			ok = "no"
		}
		t.Rows = append(t.Rows, []string{fmt.Sprint(bad), fmt.Sprintf("%.4f", want), fmt.Sprintf("%.4f", got), fmt.Sprintf("%.4f–%.4f", lo, hi), ok})
	}
	r.Tables = append(r.Tables, t)
	return nil
}

// wilson is the score interval for x successes in n trials at z standard
// deviations: never below 0 or above 1, and not empty at x = 0.
func wilson(x, n int, z float64) (lo, hi float64) {
	p, fn := float64(x)/float64(n), float64(n)
	d := 1 + z*z/fn
	c := (p + z*z/(2*fn)) / d
	h := z / d * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn))
	return max(c-h, 0), min(c+h, 1)
}
