package train_test

import (
	"context"
	"testing"

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

// TestTraceConsistent recomputes every matrix of several steps from its
// definition in package model.
func TestTraceConsistent(t *testing.T) {
	cfg := small()
	data := synth.Dataset(1)
	tr, err := train.New(cfg, data, matmul.NewCPU())
	require.NoError(t, err)
	d := cfg.Dims()
	L := len(d) - 1
	var prev []*tensor.Int32
	for step := 0; step < 3; step++ {
		trc, err := tr.Step(context.Background())
		require.NoError(t, err)
		require.Equal(t, uint64(step), trc.Step)
		for l := 1; l <= L; l++ {
			m := trc.M[l-1]
			if step == 0 {
				row := make([]int32, d[l])
				for j := 0; j < d[l-1]; j++ {
					cfg.InitRow(l, j, row)
					require.Equal(t, row, m.Row(j))
				}
			} else {
				require.Equal(t, prev[l-1].Data, m.Data, "weights chain")
			}
		}
		prev = trc.MNext
		for i := 0; i < cfg.Batch; i++ {
			idx := cfg.SampleIndex(trc.Step, i)
			require.Equal(t, idx, trc.Index[i])
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
}

func TestDeterministic(t *testing.T) {
	data := synth.Dataset(2)
	run := func() []*tensor.Int32 {
		tr, err := train.New(small(), data, matmul.NewCPU())
		require.NoError(t, err)
		for i := 0; i < 4; i++ {
			_, err := tr.Step(context.Background())
			require.NoError(t, err)
		}
		return tr.Weights()
	}
	a, b := run(), run()
	for l := range a {
		require.Equal(t, a[l].Data, b[l].Data)
	}
}

// TestLearns trains the default model on the real data set for 150 steps:
// it must clearly beat chance (0.10).
func TestLearns(t *testing.T) {
	trainSet, testSet, err := dataset.Load(dataset.DefaultDir)
	if err != nil {
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
	tr, err := train.New(model.DefaultConfig(), trainSet, matmul.NewCPU())
	require.NoError(t, err)
	for i := 0; i < 150; i++ {
		_, err := tr.Step(context.Background())
		require.NoError(t, err)
	}
	acc, loss, err := tr.Evaluate(context.Background(), testSet)
	require.NoError(t, err)
	t.Logf("150 steps: test accuracy %.4f, loss %.3f", acc, loss)
	require.Greater(t, acc, 0.70)
}
