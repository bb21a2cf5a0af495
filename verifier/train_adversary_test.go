package verifier_test

import (
	"context"
	"crypto/ed25519"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/tensor"
	"github.com/seed46f70faa/trainproof/train"
	"github.com/seed46f70faa/trainproof/verifier"
)

func smallConfig() model.Config {
	c := model.DefaultConfig()
	c.Layers, c.GradShifts, c.Batch = []int{24, 16}, []int{8, 8}, 12
	return c
}

var (
	synthData = synth.Dataset(11)
	otherData = synth.Dataset(12)
)

type trainFixture struct {
	task protocol.Task
	tree *commit.Tree
	key  ed25519.PrivateKey
	opt  verifier.Options
}

func newTrainFixture(t testing.TB, samples int) *trainFixture {
	tree, err := prover.DatasetTree(synthData)
	require.NoError(t, err)
	root := tree.Root()
	task := protocol.Task{Work: protocol.WorkTrain, Mode: protocol.ModeFiatShamir, Samples: uint32(samples), Train: smallConfig(), DatasetRoot: root}
	return &trainFixture{task: task, tree: tree, key: newKey(t), opt: verifier.Options{AnyTask: true, DatasetRoot: &root}}
}

// cheat edits a step before it is committed; the trainer is the miner's own.
type cheat func(step int, st *prover.Step, tr *train.Trainer)

// run trains steps on data (the miner's choice) and proves them against the
// fixture's task, applying the cheat; it returns the encoded bundles.
func (f *trainFixture) run(t testing.TB, data *dataset.Set, steps int, variant bundle.Variant, c cheat) []*bundle.Bundle {
	tr, err := train.New(f.task.Train, data, matmul.NewCPU())
	require.NoError(t, err)
	var prev commit.Hash
	var out []*bundle.Bundle
	for s := 0; s < steps; s++ {
		if c != nil {
			c(s, nil, tr) // a chance to tamper with the trainer before the step
		}
		trc, err := tr.Step(context.Background())
		require.NoError(t, err)
		st, err := prover.TrainStep(f.task, prev, trc, prover.Examples(synthData, f.tree, trc.Index))
		require.NoError(t, err)
		if c != nil {
			c(s, st, tr)
		}
		pd, err := prover.Commit(context.Background(), st, pub(f.key))
		require.NoError(t, err)
		_, enc, err := pd.Finish(variant, [32]byte{}, f.key)
		require.NoError(t, err)
		b, err := bundle.Decode(enc, 0)
		require.NoError(t, err)
		out = append(out, b)
		prev = pd.StepRoot
	}
	return out
}

// verifyChain verifies bundles in order and links them.
func (f *trainFixture) verifyChain(bs []*bundle.Bundle, opt verifier.Options) error {
	ch := verifier.NewChain()
	for _, b := range bs {
		res, err := verifier.Verify(b, opt)
		if err != nil {
			return err
		}
		if err := ch.Add(res); err != nil {
			return err
		}
	}
	return nil
}

func TestTrainHonest(t *testing.T) {
	f := newTrainFixture(t, 4)
	for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		bs := f.run(t, synthData, 3, v, nil)
		require.NoError(t, f.verifyChain(bs, f.opt), "%v", v)
		// The default options expect Fashion-MNIST, not this synthetic set.
		_, err := verifier.Verify(bs[0], verifier.Options{AnyTask: true})
		require.ErrorIs(t, err, verifier.ErrTask)
	}
}

func TestTrainCheats(t *testing.T) {
	f := newTrainFixture(t, 1024) // every row of every group is opened
	plan, err := protocol.NewPlan(f.task)
	require.NoError(t, err)
	at := func(step int, fn func(st *prover.Step)) cheat {
		return func(s int, st *prover.Step, _ *train.Trainer) {
			if s == step && st != nil {
				fn(st)
			}
		}
	}
	i32 := func(st *prover.Step, m int) *tensor.Int32 { return st.Matrices[m].I32 }
	cases := []struct {
		name    string
		data    *dataset.Set
		cheat   cheat
		product string          // the failing product, or
		reason  verifier.Reason // the failing row check
	}{
		{name: "wrong element", cheat: at(0, func(st *prover.Step) { i32(st, plan.Z[0]).Data[40]++ }), product: "Z1 = A0·W1"},
		{name: "wrong row", cheat: at(1, func(st *prover.Step) {
			for j := range i32(st, plan.D[0]).Row(3) {
				i32(st, plan.D[0]).Row(3)[j] = -7
			}
		}), product: "D1 = G2·W2ᵀ"},
		{name: "zeroed output", cheat: at(0, func(st *prover.Step) { clear(i32(st, plan.Z[2]).Data) }), product: "Z3 = A2·W3"},
		{name: "zeroed weight gradient", cheat: at(1, func(st *prover.Step) { clear(i32(st, plan.DW[0]).Data) }), product: "DW1 = A0ᵀ·G1"},
		{name: "skipped update", cheat: at(1, func(st *prover.Step) {
			for l := range plan.M {
				copy(i32(st, plan.MNext[l]).Data, i32(st, plan.M[l]).Data)
			}
		}), reason: verifier.ReasonUpdate},
		{name: "reordered rows", cheat: at(0, func(st *prover.Step) {
			z := i32(st, plan.Z[0])
			r0 := append([]int32(nil), z.Row(0)...)
			copy(z.Row(0), z.Row(1))
			copy(z.Row(1), r0)
		}), product: "Z1 = A0·W1"},
		{name: "wrong activation", cheat: at(0, func(st *prover.Step) { st.Matrices[plan.A[0]].I8.Data[5] ^= 1 }), product: "Z2 = A1·W2"},
		{name: "another batch (the honest work on other data)", data: otherData, reason: verifier.ReasonInput},
	}
	for _, c := range cases {
		for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
			t.Run(c.name+"/"+v.String(), func(t *testing.T) {
				data := c.data
				if data == nil {
					data = synthData
				}
				bs := f.run(t, data, 2, v, c.cheat)
				err := f.verifyChain(bs, f.opt)
				var ce *verifier.CheckError
				require.ErrorAs(t, err, &ce, "%v", err)
				if c.product != "" {
					require.Equal(t, c.product, ce.Product, "%v", err)
				}
				if c.reason != 0 {
					require.Equal(t, c.reason, ce.Reason, "%v", err)
				}
				require.Contains(t, err.Error(), "step ")
			})
		}
	}
}

func TestTrainChainCheats(t *testing.T) {
	f := newTrainFixture(t, 4)
	honest := f.run(t, synthData, 3, bundle.Sampled, nil)

	// Stale weights: step 1 honestly computed from step 0's input weights.
	var w0 []*tensor.Int32
	stale := f.run(t, synthData, 2, bundle.Sampled, func(s int, st *prover.Step, tr *train.Trainer) {
		if st == nil && s == 0 {
			for _, m := range tr.Weights() {
				w0 = append(w0, &tensor.Int32{Rows: m.Rows, Cols: m.Cols, Data: append([]int32(nil), m.Data...)})
			}
		}
		if st == nil && s == 1 {
			require.NoError(t, tr.SetWeights(w0))
		}
	})
	_, err := verifier.Verify(stale[1], f.opt)
	require.NoError(t, err, "the stale step is internally consistent")
	require.ErrorIs(t, f.verifyChain(stale, f.opt), verifier.ErrStale)

	// Weights not from the previous step: random weights.
	random := f.run(t, synthData, 2, bundle.Sampled, func(s int, st *prover.Step, tr *train.Trainer) {
		if st == nil && s == 1 {
			var ws []*tensor.Int32
			for i, m := range tr.Weights() {
				r := tensor.NewInt32(m.Rows, m.Cols)
				for j := range r.Data {
					r.Data[j] = int32((j*7919+i*31)%255-127) << 14
				}
				ws = append(ws, r)
			}
			require.NoError(t, tr.SetWeights(ws))
		}
	})
	require.ErrorIs(t, f.verifyChain(random, f.opt), verifier.ErrStale)

	// Replayed, skipped and out-of-order steps.
	require.ErrorIs(t, f.verifyChain([]*bundle.Bundle{honest[0], honest[1], honest[1]}, f.opt), verifier.ErrReplay)
	require.ErrorIs(t, f.verifyChain([]*bundle.Bundle{honest[0], honest[2]}, f.opt), verifier.ErrStale)
	require.ErrorIs(t, f.verifyChain([]*bundle.Bundle{honest[1]}, f.opt), verifier.ErrStale)

	// A bundle from another task (another seed) in this chain, and on its own
	// against an expected task id.
	g := newTrainFixture(t, 4)
	g.task.Train.Seed = 99
	g.key = f.key
	other := g.run(t, synthData, 2, bundle.Sampled, nil)
	require.ErrorIs(t, f.verifyChain([]*bundle.Bundle{honest[0], other[1]}, f.opt), verifier.ErrTask)
	id := f.task.ID()
	opt := f.opt
	opt.TaskID = &id
	_, err = verifier.Verify(other[0], opt)
	require.ErrorIs(t, err, verifier.ErrTask)

	// Swapped openings, re-signed with the miner's valid key.
	b := *honest[0]
	b.Open = append([][]bundle.Opening(nil), b.Open...)
	for m := range b.Open {
		if b.Open[m] == nil {
			continue
		}
		o := append([]bundle.Opening(nil), b.Open[m]...)
		o[0], o[1] = o[1], o[0]
		b.Open[m] = o
	}
	enc, err := bundle.Encode(&b, f.key)
	require.NoError(t, err)
	swapped, err := bundle.Decode(enc, 0)
	require.NoError(t, err)
	_, err = verifier.Verify(swapped, f.opt)
	var ce *verifier.CheckError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, verifier.ReasonOpening, ce.Reason)
}

// TestDatasetRoot: the data-set root compiled into the verifier is the one
// the prover computes from Debian's Fashion-MNIST files.
func TestDatasetRoot(t *testing.T) {
	set, err := dataset.LoadSet(dataset.DefaultDir, "train")
	if err != nil {
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
	tree, err := prover.DatasetTree(set)
	require.NoError(t, err)
	require.Equal(t, verifier.FashionMNISTRoot, tree.Root())
}

func defaultTrainConfig() model.Config { return model.DefaultConfig() }
