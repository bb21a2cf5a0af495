package verifier_test

// The cheating miner of docs/SOUNDNESS.md §4: each cheat of the v1 review
// (issue 12) played against protocol v2, with its measured escape rate beside
// the theorem's bound. Sampling cheats run ≥ 10 000 Fiat–Shamir tries each,
// the miner re-committing with a new value of its free variable every time
// (grinding), so the measured rate is the probability that one try escapes.
// The one-row cheats must escape at C(n−k, s)/C(n, s) ≈ (1 − s/n)^k: that
// shows the bound is tight, not only claimed.

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/prover"
	"github.com/seed46f70faa/trainproof/tensor"
	"github.com/seed46f70faa/trainproof/train"
	"github.com/seed46f70faa/trainproof/verifier"
)

func clone32(m *tensor.Int32) *tensor.Int32 {
	return &tensor.Int32{Rows: m.Rows, Cols: m.Cols, Data: slices.Clone(m.Data)}
}

func clone8(m *tensor.Int8) *tensor.Int8 {
	return &tensor.Int8{Rows: m.Rows, Cols: m.Cols, Data: slices.Clone(m.Data)}
}

// cloneTrace deep-copies a trace, so that every try starts from the honest one.
func cloneTrace(tr *model.Trace) *model.Trace {
	c := *tr
	c.X = clone8(tr.X)
	m32 := func(ms []*tensor.Int32) []*tensor.Int32 {
		out := make([]*tensor.Int32, len(ms))
		for i, m := range ms {
			out[i] = clone32(m)
		}
		return out
	}
	m8 := func(ms []*tensor.Int8) []*tensor.Int8 {
		out := make([]*tensor.Int8, len(ms))
		for i, m := range ms {
			out[i] = clone8(m)
		}
		return out
	}
	c.Z, c.D, c.M, c.DW, c.MNext = m32(tr.Z), m32(tr.D), m32(tr.M), m32(tr.DW), m32(tr.MNext)
	c.A, c.G, c.W = m8(tr.A), m8(tr.G), m8(tr.W)
	return &c
}

// honestStep0 trains step 0 of the fixture's task honestly.
func (f *trainFixture) honestStep0(t testing.TB) (*model.Trace, *train.Trainer) {
	tr, err := train.New(f.task.Train, synthData, matmul.NewCPU())
	require.NoError(t, err)
	init := make([]*tensor.Int32, 0)
	for _, m := range tr.Weights() {
		init = append(init, clone32(m))
	}
	trc, err := tr.Step(context.Background())
	require.NoError(t, err)
	require.NoError(t, tr.SetWeights(init))
	tr.SetStep(0)
	return trc, tr
}

// try commits a (doctored) trace, samples with Fiat–Shamir, opens, signs and
// verifies it: one grinding try of the miner.
func (f *trainFixture) try(t testing.TB, trc *model.Trace) error {
	err, _ := f.tryRoot(t, trc)
	return err
}

// tryRoot is try that also returns the try's commitment.
func (f *trainFixture) tryRoot(t testing.TB, trc *model.Trace) (error, [32]byte) {
	st, err := prover.TrainStep(f.task, commit.Hash{}, trc, prover.Examples(synthData, f.tree, trc.Index))
	require.NoError(t, err)
	pd, err := prover.Commit(context.Background(), st, pub(f.key))
	require.NoError(t, err)
	b, _, err := pd.Finish(bundle.Sampled, [32]byte{}, f.key)
	require.NoError(t, err)
	_, err = verifier.Verify(b, f.opt)
	if err != nil && !errors.Is(err, verifier.ErrCheck) {
		t.Fatalf("unexpected rejection %v", err)
	}
	return err, pd.Commitment
}

// tryBeacon commits a (doctored) trace once in a beacon-mode task, then
// draws trials nonces for that commitment and counts the bundles that
// verify: the miner cannot grind, each nonce is one chance.
func (f *trainFixture) tryBeacon(t testing.TB, trc *model.Trace, trials int) int {
	task := f.task
	task.Mode = protocol.ModeBeacon
	st, err := prover.TrainStep(task, commit.Hash{}, trc, prover.Examples(synthData, f.tree, trc.Index))
	require.NoError(t, err)
	pd, err := prover.Commit(context.Background(), st, pub(f.key))
	require.NoError(t, err)
	escaped := 0
	for trial := 0; trial < trials; trial++ {
		nonce := [32]byte{byte(trial), byte(trial >> 8), byte(trial >> 16), 0xbe}
		b, _, err := pd.Finish(bundle.Sampled, nonce, f.key)
		require.NoError(t, err)
		opt := f.opt
		opt.Nonce = func(_ commit.Hash, _ uint64, c [32]byte) ([32]byte, bool) { return nonce, c == pd.Commitment }
		_, err = verifier.Verify(b, opt)
		if err == nil {
			escaped++
		} else if !errors.Is(err, verifier.ErrCheck) {
			t.Fatalf("unexpected rejection %v", err)
		}
	}
	return escaped
}

// TestSoundnessOneRowCheats: cheats confined to k rows of one layer group
// escape at C(n−k, s)/C(n, s) per try, and no more: the bound of Theorem 1
// is met with equality. The layer group played has n = 24 rows and s = 4 are
// opened, so a one-row cheat escapes 5 tries in 6.
func TestSoundnessOneRowCheats(t *testing.T) {
	if testing.Short() {
		t.Skip("10 000 tries per cheat")
	}
	const s, trials = 4, 10000
	f := newTrainFixture(t, s)
	// A narrow first layer keeps a try cheap: 784-4-24-10, batch 6.
	f.task.Train.Layers, f.task.Train.Batch = []int{4, 24}, 6
	honest, _ := f.honestStep0(t)
	cfg := f.task.Train
	const l = 3 // layer 3: M3 is 24×10, its group has n = 24 rows
	n := cfg.Dims()[l-1]
	cases := []struct {
		name  string
		k     int
		cheat func(trial int) *model.Trace
	}{
		{"wrong gradient row DW3, update consistent", 1, func(trial int) *model.Trace {
			c := cloneTrace(honest)
			j := 7
			c.DW[l-1].Row(j)[0] += int32(trial + 1)
			cfg.UpdateRow(l, 0, c.M[l-1].Row(j), c.DW[l-1].Row(j), c.MNext[l-1].Row(j))
			return c
		}},
		{"three wrong gradient rows DW3", 3, func(trial int) *model.Trace {
			c := cloneTrace(honest)
			for _, j := range []int{1, 11, 20} {
				c.DW[l-1].Row(j)[3] -= int32(trial + 1)
				cfg.UpdateRow(l, 0, c.M[l-1].Row(j), c.DW[l-1].Row(j), c.MNext[l-1].Row(j))
			}
			return c
		}},
		{"one poisoned weight row M3'", 1, func(trial int) *model.Trace {
			c := cloneTrace(honest)
			for i := range c.MNext[l-1].Row(5) {
				c.MNext[l-1].Row(5)[i] = int32(trial) << 10
			}
			return c
		}},
		{"one weight row used off the record (W3 row ≠ view(M3 row))", 1, func(trial int) *model.Trace {
			// The miner runs the step from weights whose row 9 it chose,
			// and commits the anchored weights as M2.
			tr, err := train.New(cfg, synthData, matmul.NewCPU())
			require.NoError(t, err)
			ws := []*tensor.Int32{}
			for _, m := range tr.Weights() {
				ws = append(ws, clone32(m))
			}
			// Every try a different row, small enough that neither the view
			// nor the update clamps: the free variable must not repeat, or
			// tries repeat their commitment and so their sample.
			ws[l-1].Row(9)[trial%ws[l-1].Cols] += int32(1+trial/ws[l-1].Cols) << 8
			require.NoError(t, tr.SetWeights(ws))
			c, err := tr.Step(context.Background())
			require.NoError(t, err)
			c.M[l-1] = honest.M[l-1]
			return c
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			escaped := 0
			start := time.Now()
			seen := map[[32]byte]bool{}
			for trial := 0; trial < trials; trial++ {
				err, commitment := f.tryRoot(t, c.cheat(trial))
				if err == nil {
					escaped++
				}
				seen[commitment] = true
			}
			require.Len(t, seen, trials, "every try must be a new commitment, or the tries are not independent")
			perTry := time.Since(start) / trials
			want := missProb(n, c.k, s)
			got := float64(escaped) / trials
			se := math.Sqrt(want * (1 - want) / trials)
			t.Logf("%s: %d of %d rows, s = %d: escape %.4f measured over %d tries, bound C(n−k,s)/C(n,s) = %.4f (±%.4f); %v a try (train+commit+prove+verify)",
				c.name, c.k, n, s, got, trials, want, se, perTry)
			require.InDelta(t, want, got, 5*se)
		})
	}
	t.Run("beacon: wrong gradient row DW3, one commitment, fresh nonces", func(t *testing.T) {
		t.Parallel()
		escaped := f.tryBeacon(t, cases[0].cheat(0), trials)
		want := missProb(n, 1, s)
		got := float64(escaped) / trials
		se := math.Sqrt(want * (1 - want) / trials)
		t.Logf("beacon, one wrong row of %d, s = %d: escape %.4f measured over %d nonces, bound %.4f (±%.4f)", n, s, got, trials, want, se)
		require.InDelta(t, want, got, 5*se)
	})
}

// TestSoundnessGlobalCheats: the cheats that v1 let through with one
// absorbing entry (no update, forward only, poisoned weights, a zeroed
// backward pass) have nothing to absorb them in v2. The batch-side ones fail
// a Freivalds identity on every try; the weight-side ones touch every row
// of every layer group, so a try escapes with probability ≤ Π C(n−k, s)/C(n, s).
func TestSoundnessGlobalCheats(t *testing.T) {
	const s, trials = 4, 300
	f := newTrainFixture(t, s)
	honest, _ := f.honestStep0(t)
	cfg := f.task.Train
	d := cfg.Dims()
	L := len(d) - 1
	noUpdate := func(c *model.Trace) {
		for l := range c.DW {
			clear(c.DW[l].Data)
			copy(c.MNext[l].Data, c.M[l].Data)
		}
	}
	cases := []struct {
		name    string
		cheat   func(trial int, c *model.Trace)
		product string          // the failing product's name starts with this, or
		reason  verifier.Reason // the failing check
	}{
		{"no update (DW = 0, M' = M)", func(trial int, c *model.Trace) {
			noUpdate(c)
			c.MNext[0].Data[trial%len(c.MNext[0].Data)]++ // the free variable
		}, "DW", 0},
		{"forward only (D = 0, DW = 0, M' = M)", func(trial int, c *model.Trace) {
			noUpdate(c)
			for l := range c.D {
				clear(c.D[l].Data)
			}
			c.MNext[0].Data[trial%len(c.MNext[0].Data)]++
		}, "D", 0},
		{"poisoned weights (M' = 0)", func(trial int, c *model.Trace) {
			for l := range c.MNext {
				clear(c.MNext[l].Data)
			}
			c.MNext[0].Data[trial%len(c.MNext[0].Data)] = int32(trial)
		}, "", verifier.ReasonUpdate},
		{"zeroed backward pass (G_l = 0 for l < L, D = 0, DW = 0, M' = M)", func(trial int, c *model.Trace) {
			noUpdate(c)
			for l := 0; l < L-1; l++ {
				clear(c.G[l].Data)
				clear(c.D[l].Data)
			}
			c.MNext[0].Data[trial%len(c.MNext[0].Data)]++
		}, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for trial := 0; trial < trials; trial++ {
				tc := cloneTrace(honest)
				c.cheat(trial, tc)
				err := f.try(t, tc)
				require.Error(t, err, "try %d escaped", trial)
				var ce *verifier.CheckError
				require.ErrorAs(t, err, &ce)
				if c.product != "" {
					require.Equal(t, verifier.ReasonProduct, ce.Reason, "%v", err)
					require.True(t, strings.HasPrefix(ce.Product, c.product), "%v", err)
				}
				if c.reason != 0 {
					require.Equal(t, c.reason, ce.Reason, "%v", err)
				}
			}
			tc := cloneTrace(honest)
			c.cheat(0, tc)
			require.Zero(t, f.tryBeacon(t, tc, 100), "beacon mode")
			t.Logf("%s: 0 of %d Fiat–Shamir tries and 0 of 100 beacon nonces escaped", c.name, trials)
		})
	}
}

// TestSoundnessAnchors: the cheats on where a run starts and what a unit
// claims, each rejected on the first try.
func TestSoundnessAnchors(t *testing.T) {
	f := newTrainFixture(t, 4)

	// Poisoned initial weights: 16 rows of layer 1 set to +127·2^14 and the
	// step trained from them, consistent in every row function.
	tr, err := train.New(f.task.Train, synthData, matmul.NewCPU())
	require.NoError(t, err)
	ws := []*tensor.Int32{}
	for _, m := range tr.Weights() {
		ws = append(ws, clone32(m))
	}
	for j := 0; j < 16; j++ {
		for i := range ws[0].Row(j) {
			ws[0].Row(j)[i] = 127 << 14
		}
	}
	require.NoError(t, tr.SetWeights(ws))
	trc, err := tr.Step(context.Background())
	require.NoError(t, err)
	err = f.try(t, trc)
	var ce *verifier.CheckError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, verifier.ReasonInitWeights, ce.Reason, "%v", err)

	// A chain cannot start at a lone mid-run step; a checkpoint can.
	bs := f.run(t, synthData, 3, bundle.Sampled, nil)
	require.ErrorIs(t, f.verifyChain(bs[1:], f.opt), verifier.ErrStale)
	r0, err := verifier.Verify(bs[0], f.opt)
	require.NoError(t, err)
	_, out := r0.WeightRoots()
	ch := verifier.NewChainFrom(verifier.Checkpoint{TaskID: f.task.ID(), Step: 1, Prev: r0.StepRoot, Weights: out})
	for _, b := range bs[1:] {
		res, err := verifier.Verify(b, f.opt)
		require.NoError(t, err)
		require.NoError(t, ch.Add(res))
	}
	require.Equal(t, uint64(3), ch.Checkpoint().Step)
	wrong := verifier.NewChainFrom(verifier.Checkpoint{TaskID: f.task.ID(), Step: 1, Prev: r0.StepRoot, Weights: []commit.Hash{{1}, {2}, {3}}})
	r1, err := verifier.Verify(bs[1], f.opt)
	require.NoError(t, err)
	require.ErrorIs(t, wrong.Add(r1), verifier.ErrStale)

	// Zero options pin no task: refused.
	_, err = verifier.Verify(bs[0], verifier.Options{DatasetRoot: f.opt.DatasetRoot})
	require.ErrorIs(t, err, verifier.ErrNoTask)
	require.ErrorIs(t, err, verifier.ErrTask)

	// One matmul product claimed as step 1.
	key := newKey(t)
	task := matmulTask(16, 16, 16, 4, protocol.ModeFiatShamir)
	st := matmulStep(t, task)
	st.Step = 1
	st.Leaves = nil
	b, _ := prove(t, st, bundle.Sampled, key, [32]byte{})
	_, err = verifier.Verify(b, verifier.Options{AnyTask: true})
	require.ErrorIs(t, err, verifier.ErrTask)
}
