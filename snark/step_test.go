package snark_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/profile"
	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
	"github.com/seed46f70faa/trainproof/tensor"
	"github.com/seed46f70faa/trainproof/train"
)

// tinyConfig is a model small enough for circuit tests: 784-8-6-10, batch 4.
func tinyConfig() model.Config {
	cfg := model.DefaultConfig()
	cfg.Layers, cfg.Batch = []int{8, 6}, 4
	return cfg
}

var synthData = sync.OnceValues(func() (*dataset.Set, *snark.Tree) {
	data := synth.Dataset(3)
	tree, err := snark.NewDataTree(data)
	if err != nil {
		panic(err)
	}
	return data, tree
})

// trace trains steps and returns the last one's trace.
func trace(t testing.TB, cfg model.Config, steps int) *model.Trace {
	data, _ := synthData()
	tr, err := train.New(cfg, data, matmul.NewCPU())
	require.NoError(t, err)
	var trace *model.Trace
	for s := 0; s < steps; s++ {
		trace, err = tr.Step(context.Background())
		require.NoError(t, err)
	}
	return trace
}

func trainTask(cfg model.Config, mode protocol.Mode, samples int) protocol.Task {
	return protocol.Task{Work: protocol.WorkTrain, Mode: mode, Samples: uint32(samples), Train: cfg}
}

func witnessOf(t testing.TB, cfg model.Config, tr *model.Trace, samples int) *snark.StepWitness {
	return witnessIn(t, trainTask(cfg, protocol.ModeFiatShamir, samples), tr)
}

func witnessIn(t testing.TB, task protocol.Task, tr *model.Trace) *snark.StepWitness {
	data, tree := synthData()
	pub, _, _ := ed25519.GenerateKey(nil)
	w, err := snark.NewStepWitness(task, pub, tr, data, tree)
	require.NoError(t, err)
	return w
}

// stepWitness trains steps (the last one traced) and commits to the last.
func stepWitness(t testing.TB, cfg model.Config, steps, samples int) *snark.StepWitness {
	return witnessOf(t, cfg, trace(t, cfg, steps), samples)
}

var compiledSteps sync.Map // fmt of StepShape → constraint.ConstraintSystem

// compiled compiles the step circuit of a shape once per test binary.
func compiled(t testing.TB, s snark.StepShape) constraint.ConstraintSystem {
	key := fmt.Sprintf("%+v", s)
	if cs, ok := compiledSteps.Load(key); ok {
		return cs.(constraint.ConstraintSystem)
	}
	cs, err := snark.CompileStep(s)
	require.NoError(t, err)
	compiledSteps.Store(key, cs)
	return cs
}

// solved runs the compiled circuit's solver, the prover's, on the witness's
// assignment: nil when every constraint holds.
func solved(t testing.TB, w *snark.StepWitness) error {
	a, err := w.Assignment()
	require.NoError(t, err)
	full, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	require.NoError(t, err)
	return compiled(t, w.Shape).IsSolved(full)
}

// rerun recomputes a step's trace from its step number, batch indices and
// starting weights M with the model's functions, in the trainer's order,
// and calls lie (if not nil) after each matrix it computes ("W", "Z", "A",
// "G", "D", "DW", "M'", with the layer), so that a cheating miner can
// replace that matrix and have everything after it computed from the lie:
// the trace then breaks exactly the relations the lie breaks.
func rerun(cfg model.Config, tr *model.Trace, lie func(m string, l int)) {
	if lie == nil {
		lie = func(string, int) {}
	}
	data, _ := synthData()
	d := cfg.Dims()
	L, b := len(d)-1, cfg.Batch
	tr.X, tr.Labels = tensor.NewInt8(b, d[0]), make([]uint8, b)
	for i, e := range tr.Index {
		cfg.InputRow(data.Image(e), tr.X.Row(i))
		tr.Labels[i] = data.Labels[e]
	}
	tr.W, tr.Z, tr.A, tr.G, tr.D, tr.DW, tr.MNext = make([]*tensor.Int8, L), make([]*tensor.Int32, L),
		make([]*tensor.Int8, L-1), make([]*tensor.Int8, L), make([]*tensor.Int32, L-1), make([]*tensor.Int32, L), make([]*tensor.Int32, L)
	for l := 1; l <= L; l++ {
		tr.W[l-1] = tensor.NewInt8(d[l-1], d[l])
		for j := 0; j < d[l-1]; j++ {
			cfg.ViewRow(tr.M[l-1].Row(j), tr.W[l-1].Row(j))
		}
		lie("W", l)
	}
	act := func(l int) *tensor.Int8 { // A_l, A_0 = X
		if l == 0 {
			return tr.X
		}
		return tr.A[l-1]
	}
	for l := 1; l <= L; l++ {
		tr.Z[l-1] = tensor.NewInt32(b, d[l])
		for i := 0; i < b; i++ {
			for k := 0; k < d[l]; k++ {
				var s int32
				for j := 0; j < d[l-1]; j++ {
					s += int32(act(l-1).At(i, j)) * int32(tr.W[l-1].At(j, k))
				}
				tr.Z[l-1].Row(i)[k] = s
			}
		}
		lie("Z", l)
		if l < L {
			tr.A[l-1] = tensor.NewInt8(b, d[l])
			for i := 0; i < b; i++ {
				cfg.ActRow(l, tr.Z[l-1].Row(i), tr.A[l-1].Row(i))
			}
			lie("A", l)
		}
	}
	tr.G[L-1] = tensor.NewInt8(b, d[L])
	for i := 0; i < b; i++ {
		cfg.LossGradRow(tr.Z[L-1].Row(i), tr.Labels[i], tr.G[L-1].Row(i))
	}
	lie("G", L)
	for l := L - 1; l >= 1; l-- {
		tr.D[l-1] = tensor.NewInt32(b, d[l])
		for i := 0; i < b; i++ {
			for j := 0; j < d[l]; j++ {
				var s int32
				for k := 0; k < d[l+1]; k++ {
					s += int32(tr.G[l].At(i, k)) * int32(tr.W[l].At(j, k))
				}
				tr.D[l-1].Row(i)[j] = s
			}
		}
		lie("D", l)
		tr.G[l-1] = tensor.NewInt8(b, d[l])
		for i := 0; i < b; i++ {
			cfg.BackActRow(l, tr.D[l-1].Row(i), tr.Z[l-1].Row(i), tr.G[l-1].Row(i))
		}
		lie("G", l)
	}
	for l := 1; l <= L; l++ {
		tr.DW[l-1] = tensor.NewInt32(d[l-1], d[l])
		for j := 0; j < d[l-1]; j++ {
			for k := 0; k < d[l]; k++ {
				var s int32
				for i := 0; i < b; i++ {
					s += int32(act(l-1).At(i, j)) * int32(tr.G[l-1].At(i, k))
				}
				tr.DW[l-1].Row(j)[k] = s
			}
		}
		lie("DW", l)
	}
	for l := 1; l <= L; l++ {
		tr.MNext[l-1] = tensor.NewInt32(d[l-1], d[l])
		for j := 0; j < d[l-1]; j++ {
			cfg.UpdateRow(l, tr.Step, tr.M[l-1].Row(j), tr.DW[l-1].Row(j), tr.MNext[l-1].Row(j))
		}
		lie("M'", l)
	}
}

// every applies f to every row of a matrix.
func every[T int8 | int32](rows int, row func(i int) []T, f func(r []T)) {
	for i := 0; i < rows; i++ {
		f(row(i))
	}
}

// TestStepRerun: rerun reproduces the trainer's trace bit for bit, so the
// cheats below differ from an honest step only by their lies.
func TestStepRerun(t *testing.T) {
	cfg := tinyConfig()
	tr := trace(t, cfg, 2)
	re := *tr
	rerun(cfg, &re, nil)
	require.Equal(t, tr.X, re.X)
	require.Equal(t, tr.Labels, re.Labels)
	for _, pair := range [][2]any{{tr.W, re.W}, {tr.Z, re.Z}, {tr.A, re.A}, {tr.G, re.G}, {tr.D, re.D}, {tr.DW, re.DW}, {tr.MNext, re.MNext}} {
		require.Equal(t, pair[0], pair[1])
	}
}

// TestStepCircuitSolved: honest steps satisfy the circuit, for the tiny
// model and variants that take every branch of the element-wise gadgets.
func TestStepCircuitSolved(t *testing.T) {
	variants := map[string]func(*model.Config){
		"default":               func(*model.Config) {},
		"decay, lr steps":       func(c *model.Config) { c.DecayShift, c.LRDecayEvery, c.LRMaxShift = 12, 1, 3 },
		"fixed lr":              func(c *model.Config) { c.LRDecayEvery, c.LRShift, c.LRMaxShift = 0, 2, 2 },
		"no shifts":             func(c *model.Config) { c.WeightShift, c.LogitShift, c.InitAmp = 0, 0, 3 },
		"grad shifts, 3 layers": func(c *model.Config) { c.Layers, c.GradShifts = []int{8, 5, 4}, []int{0, 9, 3} },
	}
	for name, f := range variants {
		t.Run(name, func(t *testing.T) {
			cfg := tinyConfig()
			f(&cfg)
			require.NoError(t, solved(t, stepWitness(t, cfg, 3, 2)))
		})
	}
}

// TestStepCircuitCheats plays a miner who commits to a step with one lie,
// every matrix after the lie computed from it (rerun), so that the lie
// breaks one relation: the circuit has no satisfying assignment at S = 1,
// whichever rows are sampled. Batch-indexed matrices are checked on every
// row, so a lie in any one batch row is caught; a lie in the weight rows is
// caught here because it is in every row (TestStepCircuitSampling shows a
// lie in one weight row).
func TestStepCircuitCheats(t *testing.T) {
	type lie = func(cfg model.Config, tr *model.Trace, m string, l int)
	cheats := map[string]lie{
		"forward product, one batch row": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "Z" && l == 1 {
				tr.Z[0].Row(tr.Z[0].Rows - 1)[1]++
			}
		},
		"backward product": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "D" && l == 1 {
				every(tr.D[0].Rows, tr.D[0].Row, func(r []int32) { r[0] += 3 })
			}
		},
		// The review's null-space attack left D = 0: with answer vectors
		// q in G's null space it satisfied the old circuit at any S.
		"null-space D: every D = 0": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "D" {
				clear(tr.D[l-1].Data)
			}
		},
		"weight gradient": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "DW" && l == 2 {
				every(tr.DW[1].Rows, tr.DW[1].Row, func(r []int32) { r[2]-- })
			}
		},
		// The review's absorbing-entry attack: every DW = 0 and so M′ = M (no
		// decay), balanced in the old circuit by one wrong entry of y^DW.
		"no update: every DW = 0, M′ = M": func(_ model.Config, tr *model.Trace, m string, l int) {
			switch m {
			case "DW":
				clear(tr.DW[l-1].Data)
			case "M'":
				copy(tr.MNext[l-1].Data, tr.M[l-1].Data)
			}
		},
		"activation": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "A" && l == 1 {
				every(tr.A[0].Rows, tr.A[0].Row, func(r []int8) { r[0] ^= 1 })
			}
		},
		"activation, one batch row": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "A" && l == 1 {
				tr.A[0].Row(0)[3] ^= 1
			}
		},
		"loss gradient": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "G" && l == len(tr.G) {
				every(tr.G[l-1].Rows, tr.G[l-1].Row, func(r []int8) { r[0], r[1] = r[1], r[0]+1 })
			}
		},
		"hidden gradient": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "G" && l == 2 {
				every(tr.G[1].Rows, tr.G[1].Row, func(r []int8) { r[2] = -r[2] + 1 })
			}
		},
		"views": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "W" && l == 2 {
				every(tr.W[1].Rows, tr.W[1].Row, func(r []int8) { r[1] ^= 1 })
			}
		},
		"update skipped": func(_ model.Config, tr *model.Trace, m string, l int) {
			if m == "M'" {
				copy(tr.MNext[l-1].Data, tr.M[l-1].Data)
			}
		},
		"other examples": func(cfg model.Config, tr *model.Trace, m string, l int) {
			if m == "" {
				for i := range tr.Index {
					tr.Index[i] = (tr.Index[i] + 1) % model.TrainExamples
				}
			}
		},
		"other step": func(cfg model.Config, tr *model.Trace, m string, l int) {
			if m == "" {
				tr.Step++
			}
		},
	}
	cfg := tinyConfig()
	// The no-update cheat is caught whichever row of layer 1 is drawn only
	// if no row of the honest DW_1 is zero.
	dw := trace(t, cfg, 2).DW[0]
	for j := 0; j < dw.Rows; j++ {
		require.NotEqual(t, make([]int32, dw.Cols), dw.Row(j), "row %d of DW_1", j)
	}
	for name, cheat := range cheats {
		t.Run(name, func(t *testing.T) {
			tr := trace(t, cfg, 2)
			cheat(cfg, tr, "", 0)
			rerun(cfg, tr, func(m string, l int) { cheat(cfg, tr, m, l) })
			require.Error(t, solved(t, witnessOf(t, cfg, tr, 1)))
		})
	}
}

// TestStepCircuitSampling plays a miner who lies in one row j of a
// layer's matrices (DW_2 or the view W_2, everything after the lie
// computed from it) in a beacon task, where the rows are drawn from the
// nonce the miner gets after publishing its roots. The circuit catches the
// lie exactly when row j is drawn: with S = 1 and d_1 = 8 rows, the lie
// escapes for 7 nonces in 8, the escape rate the sampling states.
func TestStepCircuitSampling(t *testing.T) {
	cfg := tinyConfig()
	const layer, row = 2, 5
	lies := map[string]func(tr *model.Trace, m string, l int){
		"DW row": func(tr *model.Trace, m string, l int) {
			if m == "DW" && l == layer {
				tr.DW[l-1].Row(row)[0] += 64
			}
		},
		"view row": func(tr *model.Trace, m string, l int) {
			if m == "W" && l == layer {
				tr.W[l-1].Row(row)[0] ^= 1
			}
		},
	}
	for name, lie := range lies {
		t.Run(name, func(t *testing.T) {
			tr := trace(t, cfg, 2)
			rerun(cfg, tr, func(m string, l int) { lie(tr, m, l) })
			w := witnessIn(t, trainTask(cfg, protocol.ModeBeacon, 1), tr)
			const nonces = 512
			var drawn []int // nonces that draw the row
			var missed []int
			for n := 0; n < nonces; n++ {
				w.SetNonce([32]byte{byte(n), byte(n >> 8)})
				if w.Statement.SampledRows(w.Shape)[layer-1][0] == row {
					drawn = append(drawn, n)
				} else {
					missed = append(missed, n)
				}
			}
			rate := float64(len(missed)) / nonces
			t.Logf("row %d of layer %d escapes for %d nonces in %d (%.3f; 1 − S/n = %.3f)", row, layer, len(missed), nonces, rate, 1-1.0/8)
			require.InDelta(t, 1-1.0/8, rate, 0.05)
			for _, n := range drawn[:2] {
				w.SetNonce([32]byte{byte(n), byte(n >> 8)})
				require.Error(t, solved(t, w), "nonce %d draws the lying row", n)
			}
			for _, n := range missed[:2] {
				w.SetNonce([32]byte{byte(n), byte(n >> 8)})
				require.NoError(t, solved(t, w), "nonce %d does not draw the lying row: the lie escapes", n)
			}
		})
	}
}

func TestStepCircuitSize(t *testing.T) {
	c, err := snark.NewStepCircuit(snark.StepShape{Config: tinyConfig(), Samples: 2})
	require.NoError(t, err)
	cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
	require.NoError(t, err)
	t.Logf("tiny step circuit, 2 samples: %d constraints", cs.GetNbConstraints())
}

// TestStepCircuitScaling logs constraint counts of the tiny, a mid-size and
// the default model (TRAINPROOF_STEP_SCALING=1; the default model takes
// about two minutes and 5 GiB per compile).
func TestStepCircuitScaling(t *testing.T) {
	if os.Getenv("TRAINPROOF_STEP_SCALING") == "" {
		t.Skip("set TRAINPROOF_STEP_SCALING=1")
	}
	mid := model.DefaultConfig()
	mid.Layers, mid.Batch = []int{64, 32}, 32
	for _, cfg := range []model.Config{tinyConfig(), mid, model.DefaultConfig()} {
		for _, s := range []int{1, 8} {
			t0 := time.Now()
			cs := compiled(t, snark.StepShape{Config: cfg, Samples: s})
			t.Logf("layers %v batch %d, %d samples: %d constraints (compiled in %v)", cfg.Layers, cfg.Batch, s, cs.GetNbConstraints(), time.Since(t0).Round(time.Second))
			compiledSteps.Clear()
		}
	}
}

// modelSpec reads "layers:batch:samples" (layers comma-separated) or
// "samples" (the default model).
func modelSpec(t *testing.T, spec string) (model.Config, int) {
	cfg := model.DefaultConfig()
	f := strings.Split(spec, ":")
	if len(f) == 3 {
		cfg.Layers = nil
		for _, x := range strings.Split(f[0], ",") {
			n, err := strconv.Atoi(x)
			require.NoError(t, err)
			cfg.Layers = append(cfg.Layers, n)
		}
		var err error
		cfg.Batch, err = strconv.Atoi(f[1])
		require.NoError(t, err)
		f = f[2:]
	}
	samples, err := strconv.Atoi(f[0])
	require.NoError(t, err)
	return cfg, samples
}

// TestStepProveDefault measures a Groth16 proof of one step
// (TRAINPROOF_STEP_PROVE=<samples> for the default model, or
// <layers>:<batch>:<samples>, e.g. 8,6:4:1 for the tiny one; the
// development setup of the default model takes long): constraints, setup,
// prove and verify times, proof size.
func TestStepProveDefault(t *testing.T) {
	ss := os.Getenv("TRAINPROOF_STEP_PROVE")
	if ss == "" {
		t.Skip("set TRAINPROOF_STEP_PROVE=<samples> or <layers>:<batch>:<samples>")
	}
	cfg, samples := modelSpec(t, ss)
	task := trainTask(cfg, protocol.ModeFiatShamir, samples)
	t0 := time.Now()
	k, err := snark.DevSetupStep(snark.StepShapeOf(task))
	require.NoError(t, err)
	t.Logf("layers %v batch %d, %d samples: %d constraints; compile and development setup %v", cfg.Layers, cfg.Batch, samples, k.CS.GetNbConstraints(), time.Since(t0))
	pkb, err := k.MarshalPK()
	require.NoError(t, err)
	t.Logf("proving key %.1f MiB", float64(len(pkb))/(1<<20))
	pkb = nil
	data, tree := synthData()
	pub, key, _ := ed25519.GenerateKey(nil)
	w, err := snark.NewStepWitness(task, pub, trace(t, cfg, 2), data, tree)
	require.NoError(t, err)
	var enc []byte
	for range 2 {
		t0 = time.Now()
		enc, err = snark.ProveStep(k, task, w, key)
		require.NoError(t, err)
		t.Logf("prove (witness, solve, Groth16): %v", time.Since(t0))
	}
	sb, err := snark.DecodeSuccinct(enc)
	require.NoError(t, err)
	t0 = time.Now()
	_, err = snark.VerifyStep(sb, k.Shape, k.VK, tree.Root(), nil)
	require.NoError(t, err)
	t.Logf("native verify (Context recomputed): %v", time.Since(t0))
	t.Logf("proof %d bytes, bundle %d bytes", len(sb.Proof), len(enc))
}

// TestStepCircuitProfile prints where the constraints of a step circuit go
// (TRAINPROOF_STEP_PROFILE=<samples> for the default model, or
// <layers>:<batch>:<samples>; gnark's profiler).
func TestStepCircuitProfile(t *testing.T) {
	ss := os.Getenv("TRAINPROOF_STEP_PROFILE")
	if ss == "" {
		t.Skip("set TRAINPROOF_STEP_PROFILE=<samples> or <layers>:<batch>:<samples>")
	}
	cfg, samples := modelSpec(t, ss)
	c, err := snark.NewStepCircuit(snark.StepShape{Config: cfg, Samples: samples})
	require.NoError(t, err)
	p := profile.Start(profile.WithNoOutput(), profile.WithoutOperations())
	_, err = frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
	p.Stop()
	require.NoError(t, err)
	t.Logf("%d constraints\n%s", p.NbConstraints(), p.Top())
}
