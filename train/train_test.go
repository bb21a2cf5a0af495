package train_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/internal/synth"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/tensor"
	"github.com/seed46f70faa/trainproof/train"
)

func small() model.Config {
	c := model.DefaultConfig()
	c.Layers, c.GradShifts, c.Batch = []int{24, 16}, []int{8, 8}, 12
	return c
}

// naive is the obviously correct product of op(a)·op(b).
func naive(a *tensor.Int8, ta bool, b *tensor.Int8, tb bool) *tensor.Int32 {
	get := func(m *tensor.Int8, t bool, i, j int) int32 {
		if t {
			return int32(m.At(j, i))
		}
		return int32(m.At(i, j))
	}
	m, k := a.Rows, a.Cols
	if ta {
		m, k = k, m
	}
	n := b.Cols
	if tb {
		n = b.Rows
	}
	c := tensor.NewInt32(m, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int32
			for l := 0; l < k; l++ {
				s += get(a, ta, i, l) * get(b, tb, l, j)
			}
			c.Data[i*n+j] = s
		}
	}
	return c
}

// checkTrace recomputes every matrix of a step from its definition in
// package model: products naively, element-wise outputs by the row functions.
func checkTrace(t *testing.T, cfg model.Config, data *dataset.Set, trc *model.Trace, prev []*tensor.Int32) {
	t.Helper()
	d := cfg.Dims()
	L := len(d) - 1
	require.Len(t, trc.Z, L)
	require.Len(t, trc.A, L-1)
	require.Len(t, trc.G, L)
	require.Len(t, trc.D, L-1)
	require.Len(t, trc.M, L)
	require.Len(t, trc.W, L)
	require.Len(t, trc.DW, L)
	require.Len(t, trc.MNext, L)
	for l := 1; l <= L; l++ {
		m := trc.M[l-1]
		if prev == nil {
			row := make([]int32, d[l])
			for j := 0; j < d[l-1]; j++ {
				cfg.InitRow(l, j, row)
				require.Equal(t, row, m.Row(j))
			}
		} else {
			require.Equal(t, prev[l-1].Data, m.Data, "weights chain")
		}
	}
	for i := 0; i < cfg.Batch; i++ {
		idx := cfg.SampleIndex(trc.Step, i)
		require.Equal(t, idx, trc.Index[i])
		require.Equal(t, data.Labels[idx], trc.Labels[i])
		x := make([]int8, d[0])
		cfg.InputRow(data.Image(idx), x)
		require.Equal(t, x, trc.X.Row(i))
	}
	act := trc.X
	for l := 1; l <= L; l++ {
		w := tensor.NewInt8(d[l-1], d[l])
		for j := 0; j < d[l-1]; j++ {
			cfg.ViewRow(trc.M[l-1].Row(j), w.Row(j))
		}
		require.Equal(t, w.Data, trc.W[l-1].Data)
		require.Equal(t, naive(act, false, w, false).Data, trc.Z[l-1].Data, "Z%d", l)
		if l < L {
			for i := 0; i < cfg.Batch; i++ {
				out := make([]int8, d[l])
				cfg.ActRow(l, trc.Z[l-1].Row(i), out)
				require.Equal(t, out, trc.A[l-1].Row(i))
			}
			act = trc.A[l-1]
		}
	}
	for i := 0; i < cfg.Batch; i++ {
		out := make([]int8, d[L])
		cfg.LossGradRow(trc.Z[L-1].Row(i), trc.Labels[i], out)
		require.Equal(t, out, trc.G[L-1].Row(i))
	}
	for l := L - 1; l >= 1; l-- {
		require.Equal(t, naive(trc.G[l], false, trc.W[l], true).Data, trc.D[l-1].Data, "D%d", l)
		for i := 0; i < cfg.Batch; i++ {
			out := make([]int8, d[l])
			cfg.BackActRow(l, trc.D[l-1].Row(i), trc.Z[l-1].Row(i), out)
			require.Equal(t, out, trc.G[l-1].Row(i))
		}
	}
	for l := 1; l <= L; l++ {
		in := trc.X
		if l > 1 {
			in = trc.A[l-2]
		}
		require.Equal(t, naive(in, true, trc.G[l-1], false).Data, trc.DW[l-1].Data, "DW%d", l)
		for j := 0; j < d[l-1]; j++ {
			out := make([]int32, d[l])
			cfg.UpdateRow(l, trc.Step, trc.M[l-1].Row(j), trc.DW[l-1].Row(j), out)
			require.Equal(t, out, trc.MNext[l-1].Row(j))
		}
	}
}

func TestTraceConsistent(t *testing.T) {
	data := synth.Dataset(1)
	for _, cfg := range []model.Config{small(), func() model.Config {
		c := small()
		c.Layers, c.GradShifts, c.Batch = []int{9}, nil, 5 // one hidden layer, default gradient shift
		return c
	}(), func() model.Config {
		c := small()
		c.Layers, c.GradShifts = []int{}, nil // no hidden layer: softmax regression
		return c
	}()} {
		tr, err := train.New(cfg, data, matmul.NewCPU())
		require.NoError(t, err)
		var prev []*tensor.Int32
		for step := 0; step < 3; step++ {
			require.Equal(t, uint64(step), tr.NextStep())
			trc, err := tr.Step(context.Background())
			require.NoError(t, err)
			require.Equal(t, uint64(step), trc.Step)
			checkTrace(t, cfg, data, trc, prev)
			prev = trc.MNext
		}
	}
}

// TestTraceConsistentDefault checks one step of the full-size default model
// on the real data set, where the shifts and saturation are exercised at the
// scale they are tuned for.
func TestTraceConsistentDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("naive products of the full model")
	}
	set, err := dataset.LoadSet(dataset.DefaultDir, "train")
	if err != nil {
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
	cfg := model.DefaultConfig()
	cfg.Batch = 16
	tr, err := train.New(cfg, set, matmul.NewCPU())
	require.NoError(t, err)
	var prev []*tensor.Int32
	for step := 0; step < 2; step++ {
		trc, err := tr.Step(context.Background())
		require.NoError(t, err)
		checkTrace(t, cfg, set, trc, prev)
		prev = trc.MNext
	}
}

// opaque hides the CPU backend's type, so the trainer takes the
// upload/download path that device backends use.
type opaque struct{ matmul.Backend }

func run(t *testing.T, be matmul.Backend, data *dataset.Set, steps int) []*model.Trace {
	tr, err := train.New(small(), data, be)
	require.NoError(t, err)
	var out []*model.Trace
	for i := 0; i < steps; i++ {
		trc, err := tr.Step(context.Background())
		require.NoError(t, err)
		out = append(out, trc)
	}
	return out
}

// TestDeterministic: two trainers with the same seed produce identical
// traces, bit for bit, whichever path the backend takes.
func TestDeterministic(t *testing.T) {
	data := synth.Dataset(2)
	a := run(t, matmul.NewCPU(), data, 4)
	b := run(t, matmul.NewCPU(), data, 4)
	c := run(t, opaque{matmul.NewCPU()}, data, 4)
	require.Equal(t, a, b)
	require.Equal(t, a, c)
	// A different seed is a different run.
	cfg := small()
	cfg.Seed++
	tr, err := train.New(cfg, data, matmul.NewCPU())
	require.NoError(t, err)
	trc, err := tr.Step(context.Background())
	require.NoError(t, err)
	require.NotEqual(t, a[0].Index, trc.Index)
	require.NotEqual(t, a[0].M[0].Data, trc.M[0].Data)
}

func TestTracesNotReused(t *testing.T) {
	data := synth.Dataset(3)
	tr, err := train.New(small(), data, matmul.NewCPU())
	require.NoError(t, err)
	first, err := tr.Step(context.Background())
	require.NoError(t, err)
	snapshot := *first.Z[0]
	snapshot.Data = append([]int32(nil), first.Z[0].Data...)
	next := append([]int32(nil), first.MNext[0].Data...)
	second, err := tr.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, snapshot.Data, first.Z[0].Data, "the next step does not write the previous trace")
	require.Equal(t, next, first.MNext[0].Data)
	require.Same(t, first.MNext[0], second.M[0], "weights chain without copies")
}

func TestNewAndSetWeights(t *testing.T) {
	data := synth.Dataset(4)
	bad := small()
	bad.Batch = 0
	_, err := train.New(bad, data, matmul.NewCPU())
	require.ErrorIs(t, err, model.ErrConfig)
	_, err = train.New(small(), &dataset.Set{N: 10, Rows: 28, Cols: 28}, matmul.NewCPU())
	require.Error(t, err)

	tr, err := train.New(small(), data, matmul.NewCPU())
	require.NoError(t, err)
	require.Error(t, tr.SetWeights(tr.Weights()[:1]))
	require.Error(t, tr.SetWeights([]*tensor.Int32{tensor.NewInt32(1, 1), tensor.NewInt32(1, 1), tensor.NewInt32(1, 1)}))

	// Resuming from saved weights and step reproduces the run.
	a, err := tr.Step(context.Background())
	require.NoError(t, err)
	b, err := tr.Step(context.Background())
	require.NoError(t, err)
	resumed, err := train.New(small(), data, matmul.NewCPU())
	require.NoError(t, err)
	require.NoError(t, resumed.SetWeights(a.MNext))
	resumed.SetStep(1)
	b2, err := resumed.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, b, b2)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = tr.Step(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, uint64(2), tr.NextStep(), "a failed step leaves the trainer as it was")
}

func TestEvaluate(t *testing.T) {
	data := synth.Dataset(5)
	tr, err := train.New(small(), data, matmul.NewCPU())
	require.NoError(t, err)
	test := &dataset.Set{N: 1500, Rows: 28, Cols: 28, Images: data.Images[:1500*784], Labels: data.Labels[:1500]}
	acc, loss, err := tr.Evaluate(context.Background(), test)
	require.NoError(t, err)
	require.True(t, acc >= 0 && acc <= 1)
	require.Greater(t, loss, 0.0)
	// The same figures through the device path, on the trainer's backend or another.
	tr2, err := train.New(small(), data, opaque{matmul.NewCPU()})
	require.NoError(t, err)
	acc2, loss2, err := tr2.Evaluate(context.Background(), test)
	require.NoError(t, err)
	require.Equal(t, acc, acc2)
	require.Equal(t, loss, loss2)
	acc3, loss3, err := tr.EvaluateOn(context.Background(), test, opaque{matmul.NewCPU()})
	require.NoError(t, err)
	require.Equal(t, acc, acc3)
	require.Equal(t, loss, loss3)
	_, _, err = tr.Evaluate(context.Background(), &dataset.Set{N: 1, Rows: 2, Cols: 2, Images: make([]byte, 4), Labels: []uint8{0}})
	require.Error(t, err)
}

// TestLearns trains the default model on the real data set: 200 steps must
// clearly beat chance (0.10); the tuned defaults reach about 0.82.
func TestLearns(t *testing.T) {
	trainSet, testSet, err := dataset.Load(dataset.DefaultDir)
	if err != nil {
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
	tr, err := train.New(model.DefaultConfig(), trainSet, matmul.NewCPU())
	require.NoError(t, err)
	start := time.Now()
	const steps = 200
	for i := 0; i < steps; i++ {
		_, err := tr.Step(context.Background())
		require.NoError(t, err)
	}
	el := time.Since(start)
	acc, loss, err := tr.Evaluate(context.Background(), testSet)
	require.NoError(t, err)
	t.Logf("%d steps in %.2f s (%.0f steps/s): test accuracy %.4f, loss %.3f", steps, el.Seconds(), steps/el.Seconds(), acc, loss)
	require.Greater(t, acc, 0.75)
	require.Less(t, loss, 0.75)
}
