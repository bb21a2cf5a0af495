package model

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoundShift(t *testing.T) {
	cases := []struct {
		x    int64
		s    int
		want int64
	}{
		{5, 1, 3}, {-5, 1, -3}, {4, 1, 2}, {-4, 1, -2}, {3, 2, 1}, {-3, 2, -1}, {2, 2, 1}, {-2, 2, -1},
		{1, 2, 0}, {-1, 2, 0}, {7, 0, 7}, {3, -2, 12}, {-3, -2, -12}, {math.MaxInt32, 31, 1}, {math.MinInt32, 31, -1},
	}
	for _, c := range cases {
		require.Equal(t, c.want, roundShift(c.x, c.s), "roundShift(%d, %d)", c.x, c.s)
	}
}

func TestViewRowSaturates(t *testing.T) {
	c := DefaultConfig()
	out := make([]int8, 5)
	c.ViewRow([]int32{math.MaxInt32, math.MinInt32, 1 << 13, -(1 << 13), 3 << 14}, out)
	require.Equal(t, []int8{127, -127, 1, -1, 3}, out)
}

func TestActRow(t *testing.T) {
	c := DefaultConfig()
	out := make([]int8, 4)
	c.ActRow(1, []int32{-5, 0, 1000, 500}, out) // max 1000 → shift 3 (125)
	require.Equal(t, []int8{0, 0, 125, 63}, out)
	c.ActRow(1, []int32{1, 2, -3, 0}, out) // small rows are scaled up until the max is in [64, 127]
	require.Equal(t, []int8{32, 64, 0, 0}, out)
	c.ActRow(1, []int32{-1, -2, 0, 0}, out)
	require.Equal(t, []int8{0, 0, 0, 0}, out)
	c.ActRow(1, []int32{math.MaxInt32, math.MinInt32, 0, 1}, out)
	require.Equal(t, int8(64), out[0]) // 2^31−1 rounds to 128 at shift 24, so the shift is 25
	require.Equal(t, int8(0), out[1])
}

func TestLossGradRow(t *testing.T) {
	c := DefaultConfig()
	out := make([]int8, 10)
	// Equal logits: softmax 0.1 each → 13 (round(12.7)), label gets 13 − 127.
	c.LossGradRow(make([]int32, 10), 3, out)
	for j, g := range out {
		if j == 3 {
			require.Equal(t, int8(13-127), g)
		} else {
			require.Equal(t, int8(13), g)
		}
	}
	// A confident correct prediction gives a gradient near zero.
	z := make([]int32, 10)
	z[3] = 1 << 20
	c.LossGradRow(z, 3, out)
	require.Equal(t, make([]int8, 10), out)
	// Extremes stay in range.
	for _, v := range []int32{math.MaxInt32, math.MinInt32} {
		z := []int32{v, -v, 0, 1, -1, v, 0, 0, 0, 0}
		c.LossGradRow(z, 0, out)
		for _, g := range out {
			require.True(t, g >= -127 && g <= 127)
		}
	}
}

func TestBackActAndUpdate(t *testing.T) {
	c := DefaultConfig()
	out := make([]int8, 4)
	c.BackActRow(1, []int32{1000, -1000, 1 << 20, 5}, []int32{1, 1, 1, 0}, out)
	require.Equal(t, []int8{4, -4, 127, 0}, out)
	m := []int32{0, 100, 127 << 14, -(127 << 14)}
	next := make([]int32, 4)
	c.UpdateRow(1, 0, m, []int32{10, -10, -1 << 30, 1 << 30}, next)
	require.Equal(t, []int32{-10, 110, 127 << 14, -(127 << 14)}, next, "lr shift 0 at step 0, saturating")
	c.UpdateRow(1, uint64(c.LRDecayEvery), m, []int32{10, -10, 0, 0}, next)
	require.Equal(t, []int32{-5, 105, 127 << 14, -(127 << 14)}, next, "one decay later the shift is 1")
	require.Equal(t, c.LRMaxShift, c.LRShiftAt(1<<40))
}

func TestInitAndSample(t *testing.T) {
	c := DefaultConfig()
	a, b := make([]int32, 300), make([]int32, 300)
	c.InitRow(1, 5, a)
	c.InitRow(1, 5, b)
	require.Equal(t, a, b)
	c.InitRow(1, 6, b)
	require.NotEqual(t, a, b)
	for _, x := range a {
		w := x >> c.WeightShift
		require.True(t, w >= -int32(c.InitAmp) && w <= int32(c.InitAmp))
		require.Zero(t, x&(1<<c.WeightShift-1))
	}
	seen := map[int]bool{}
	for i := 0; i < 1000; i++ {
		idx := c.SampleIndex(7, i)
		require.True(t, idx >= 0 && idx < TrainExamples)
		seen[idx] = true
	}
	require.Greater(t, len(seen), 980)
	require.NotEqual(t, c.SampleIndex(7, 0), c.SampleIndex(8, 0))
}

func TestConfigRoundTrip(t *testing.T) {
	for _, c := range []Config{DefaultConfig(), {Layers: []int{}, GradShifts: []int{}, Batch: 1, InitAmp: 1}, {Layers: []int{3, 4, 5}, GradShifts: []int{1, 2, 3}, Batch: 9, Seed: 1 << 60, InitAmp: 127, WeightShift: 23, LRShift: 2, LRMaxShift: 9, LRDecayEvery: 77, DecayShift: 12}} {
		require.NoError(t, c.Validate())
		enc := c.AppendBinary(nil)
		got, n, err := ParseConfig(append(enc, 0xee))
		require.NoError(t, err)
		require.Equal(t, len(enc), n)
		require.Equal(t, enc, got.AppendBinary(nil))
	}
	bad := DefaultConfig()
	bad.Layers = []int{0, 128}
	require.ErrorIs(t, bad.Validate(), ErrConfig)
	bad = DefaultConfig()
	bad.GradShifts = []int{8}
	require.ErrorIs(t, bad.Validate(), ErrConfig)
}

func FuzzParseConfig(f *testing.F) {
	f.Add(DefaultConfig().AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, n, err := ParseConfig(b)
		if err != nil {
			return
		}
		require.NoError(t, c.Validate())
		require.Equal(t, b[:n], c.AppendBinary(nil))
	})
}
