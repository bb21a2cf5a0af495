package snark_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/profile"
	"github.com/consensys/gnark/test"
	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/snark"
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

func witnessOf(t testing.TB, cfg model.Config, tr *model.Trace, samples int) *snark.StepWitness {
	data, tree := synthData()
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: uint32(samples), Train: cfg}
	pub, _, _ := ed25519.GenerateKey(nil)
	w, err := snark.NewStepWitness(task, pub, tr, data, tree)
	require.NoError(t, err)
	return w
}

// stepWitness trains steps (the last one traced) and commits to the last.
func stepWitness(t testing.TB, cfg model.Config, steps, samples int) *snark.StepWitness {
	return witnessOf(t, cfg, trace(t, cfg, steps), samples)
}

func solved(t testing.TB, w *snark.StepWitness) error {
	c, err := snark.NewStepCircuit(w.Shape)
	require.NoError(t, err)
	a, err := w.Assignment()
	require.NoError(t, err)
	return test.IsSolved(c, a, ecc.BN254.ScalarField())
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

// TestStepCircuitCheats plays a miner who commits to a step computed
// wrongly in every batch row or every weight row: the circuit has no
// satisfying assignment, whichever rows are sampled.
func TestStepCircuitCheats(t *testing.T) {
	cheats := map[string]func(tr *model.Trace){
		"forward product": func(tr *model.Trace) {
			for i := 0; i < tr.Z[0].Rows; i++ {
				tr.Z[0].Row(i)[1]++
			}
		},
		"backward product": func(tr *model.Trace) {
			for i := 0; i < tr.D[0].Rows; i++ {
				tr.D[0].Row(i)[0] += 3
			}
		},
		"weight gradient": func(tr *model.Trace) {
			for i := 0; i < tr.DW[1].Rows; i++ {
				tr.DW[1].Row(i)[2]--
			}
		},
		"activation": func(tr *model.Trace) {
			for i := 0; i < tr.A[0].Rows; i++ {
				r := tr.A[0].Row(i)
				r[0] ^= 1
			}
		},
		"loss gradient": func(tr *model.Trace) {
			for i := 0; i < tr.G[2].Rows; i++ {
				r := tr.G[2].Row(i)
				r[0], r[1] = r[1], r[0]+1
			}
		},
		"update skipped": func(tr *model.Trace) {
			for l := range tr.MNext {
				copy(tr.MNext[l].Data, tr.M[l].Data)
			}
		},
		"other examples": func(tr *model.Trace) {
			for i := range tr.Index {
				tr.Index[i] = (tr.Index[i] + 1) % model.TrainExamples
			}
		},
		"other step": func(tr *model.Trace) { tr.Step++ },
	}
	for name, cheat := range cheats {
		t.Run(name, func(t *testing.T) {
			tr := trace(t, tinyConfig(), 2)
			cheat(tr)
			require.Error(t, solved(t, witnessOf(t, tinyConfig(), tr, 2)))
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

// TestStepCircuitScaling logs constraint counts of the default model
// (TRAINPROOF_STEP_SCALING=1; compiling takes about a minute).
func TestStepCircuitScaling(t *testing.T) {
	if os.Getenv("TRAINPROOF_STEP_SCALING") == "" {
		t.Skip("set TRAINPROOF_STEP_SCALING=1")
	}
	for _, cfg := range []model.Config{tinyConfig(), model.DefaultConfig()} {
		for _, s := range []int{1, 2, 4, 8} {
			c, err := snark.NewStepCircuit(snark.StepShape{Config: cfg, Samples: s})
			require.NoError(t, err)
			cs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
			require.NoError(t, err)
			t.Logf("layers %v batch %d, %d samples: %d constraints", cfg.Layers, cfg.Batch, s, cs.GetNbConstraints())
		}
	}
}

// TestStepProveDefault measures a Groth16 proof of one step of the default
// model (TRAINPROOF_STEP_PROVE=<samples>; the development setup alone takes
// minutes): constraints, setup, prove and verify times, proof size.
func TestStepProveDefault(t *testing.T) {
	ss := os.Getenv("TRAINPROOF_STEP_PROVE")
	if ss == "" {
		t.Skip("set TRAINPROOF_STEP_PROVE=<samples>")
	}
	samples, err := strconv.Atoi(ss)
	require.NoError(t, err)
	cfg := model.DefaultConfig()
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: uint32(samples), Train: cfg}
	t0 := time.Now()
	k, err := snark.DevSetupStep(snark.StepShapeOf(task))
	require.NoError(t, err)
	t.Logf("default model, %d samples: %d constraints; compile and development setup %v", samples, k.CS.GetNbConstraints(), time.Since(t0))
	pkb, err := k.MarshalPK()
	require.NoError(t, err)
	t.Logf("proving key %.1f MiB", float64(len(pkb))/(1<<20))
	data, tree := synthData()
	pub, key, _ := ed25519.GenerateKey(nil)
	w, err := snark.NewStepWitness(task, pub, trace(t, cfg, 2), data, tree)
	require.NoError(t, err)
	t0 = time.Now()
	enc, err := snark.ProveStep(k, task, w, key)
	require.NoError(t, err)
	t.Logf("prove (witness, solve, Groth16): %v", time.Since(t0))
	sb, err := snark.DecodeSuccinct(enc)
	require.NoError(t, err)
	t0 = time.Now()
	_, err = snark.VerifyStep(sb, k.Shape, k.VK, tree.Root(), nil)
	require.NoError(t, err)
	t.Logf("native verify (Context recomputed): %v", time.Since(t0))
	t.Logf("proof %d bytes, bundle %d bytes", len(sb.Proof), len(enc))
}

// TestStepCircuitProfile prints where the constraints of a step circuit go
// (TRAINPROOF_STEP_PROFILE=<samples>, default model; gnark's profiler).
func TestStepCircuitProfile(t *testing.T) {
	ss := os.Getenv("TRAINPROOF_STEP_PROFILE")
	if ss == "" {
		t.Skip("set TRAINPROOF_STEP_PROFILE=<samples>")
	}
	samples, err := strconv.Atoi(ss)
	require.NoError(t, err)
	c, err := snark.NewStepCircuit(snark.StepShape{Config: model.DefaultConfig(), Samples: samples})
	require.NoError(t, err)
	p := profile.Start(profile.WithNoOutput(), profile.WithoutOperations())
	_, err = frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
	p.Stop()
	require.NoError(t, err)
	t.Logf("%d constraints\n%s", p.NbConstraints(), p.Top())
}
