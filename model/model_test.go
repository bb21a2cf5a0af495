package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
		{math.MinInt32, 62, 0}, {math.MaxInt32, -17, math.MaxInt32 << 17},
	}
	for _, c := range cases {
		require.Equal(t, c.want, roundShift(c.x, c.s), "roundShift(%d, %d)", c.x, c.s)
	}
}

// TestRoundShiftProperty checks the definition on random inputs: the
// remainder is at most half a unit, and a tie goes away from zero.
func TestRoundShiftProperty(t *testing.T) {
	rng := splitmix(7)
	for i := 0; i < 200000; i++ {
		x := int64(int32(rng.next())) >> (rng.next() % 32)
		if i%2 == 1 {
			x = int64(rng.next())<<1 - 1<<32 // the full ±2^32 range
		}
		s := int(rng.next()%64) - 1
		q := roundShift(x, s)
		if s <= 0 {
			require.Equal(t, x*(1<<uint(-s)), q)
			continue
		}
		r := x - q<<uint(s)
		half := int64(1) << uint(s-1)
		require.LessOrEqual(t, r, half, "x=%d s=%d", x, s)
		require.GreaterOrEqual(t, r, -half, "x=%d s=%d", x, s)
		if r == half || r == -half {
			require.True(t, (x > 0 && q > 0 && r < 0) || (x < 0 && q < 0 && r > 0), "tie away from zero: x=%d s=%d q=%d", x, s, q)
		}
	}
}

func TestInputRow(t *testing.T) {
	c := DefaultConfig()
	out := make([]int8, 5)
	c.InputRow([]byte{0, 1, 80, 81, 255}, out)
	require.Equal(t, []int8{-40, -40, 0, 0, 87}, out)
	for _, off := range []int{0, 127} {
		c.InputOffset = off
		c.InputRow([]byte{0, 255}, out[:2])
		require.Equal(t, []int8{int8(-off), int8(127 - off)}, out[:2])
	}
}

func TestViewRowSaturates(t *testing.T) {
	c := DefaultConfig()
	out := make([]int8, 6)
	c.ViewRow([]int32{math.MaxInt32, math.MinInt32, 1 << 13, -(1 << 13), 3 << 14, (1 << 13) - 1}, out)
	require.Equal(t, []int8{127, -127, 1, -1, 3, 0}, out, "half away from zero, saturating")
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

	for _, tc := range []struct {
		z    []int32
		want int
	}{
		{[]int32{0, -9}, -7}, {[]int32{1}, -6}, {[]int32{127}, 0}, {[]int32{128}, 1}, {[]int32{253}, 1},
		{[]int32{255}, 2}, {[]int32{1000, 2000}, 4}, {[]int32{math.MaxInt32}, 25}, {nil, -7},
	} {
		require.Equal(t, tc.want, ActShift(tc.z), "ActShift(%v)", tc.z)
	}
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
	// One logit a bit (16 units of 1/16 bit) above the nine others: 2/11 → 23, 1/11 → 12.
	z := make([]int32, 10)
	z[5] = 16 << c.LogitShift
	c.LossGradRow(z, 5, out)
	require.Equal(t, []int8{12, 12, 12, 12, 12, 23 - 127, 12, 12, 12, 12}, out)
	// A confident correct prediction gives a gradient near zero.
	z = make([]int32, 10)
	z[3] = 1 << 20
	c.LossGradRow(z, 3, out)
	require.Equal(t, make([]int8, 10), out)
	// Confidently wrong: the predicted class gets +127, the label −127.
	c.LossGradRow(z, 4, out)
	require.Equal(t, []int8{0, 0, 0, 127, -127, 0, 0, 0, 0, 0}, out)
	// Extremes stay in range.
	for _, v := range []int32{math.MaxInt32, math.MinInt32} {
		z := []int32{v, -v, 0, 1, -1, v, 0, 0, 0, 0}
		for _, label := range []uint8{0, 1, 9, 200} {
			c.LossGradRow(z, label, out)
			for _, g := range out {
				require.True(t, g >= -127 && g <= 127)
			}
		}
	}
}

func TestBackActRow(t *testing.T) {
	c := DefaultConfig()
	out := make([]int8, 5)
	// ActShift(z) = 3, so the shift is 3 + 8 − 10 = 1.
	c.BackActRow(1, []int32{5, -5, 3, 1 << 20, 7}, []int32{1000, 1, 1, 1, 0}, out)
	require.Equal(t, []int8{3, -3, 2, 127, 0}, out)
	// ActShift(z) = 14: shift 12.
	c.BackActRow(2, []int32{4096, 6144, -6144, -(1 << 30), 1 << 30}, []int32{1 << 20, 1, 1, 1, -1}, out)
	require.Equal(t, []int8{1, 2, -2, -127, 0}, out)
	// A small row (ActShift −6) multiplies by 2^8: saturates.
	c.BackActRow(1, []int32{1, -1, 0, math.MinInt32, math.MaxInt32}, []int32{1, 1, 1, 1, 1}, out)
	require.Equal(t, []int8{127, -127, 0, -127, 127}, out)
	// The layer's shift comes from GradShifts, or the default.
	c.GradShifts = []int{8, 10}
	c.BackActRow(2, []int32{5, -5, 3, 1 << 20, 7}, []int32{1000, 1, 1, 1, 0}, out)
	require.Equal(t, []int8{1, -1, 0, 127, 0}, out)
	c.GradShifts = nil
	require.Equal(t, DefaultGradShift, c.GradShift(2))
}

func TestUpdateRow(t *testing.T) {
	c := DefaultConfig()
	m := []int32{0, 100, 127 << 14, -(127 << 14), 7}
	next := make([]int32, 5)
	c.UpdateRow(1, 0, m, []int32{10, -10, -1 << 30, 1 << 30, 0}, next)
	require.Equal(t, []int32{-10, 110, 127 << 14, -(127 << 14), 7}, next, "lr shift 0 at step 0, saturating")
	c.UpdateRow(1, uint64(c.LRDecayEvery), m, []int32{10, -10, 0, 0, 3}, next)
	require.Equal(t, []int32{-5, 105, 127 << 14, -(127 << 14), 5}, next, "one decay later the shift is 1 (3/2 rounds to 2)")
	require.Equal(t, c.LRMaxShift, c.LRShiftAt(1<<40))
	require.Equal(t, c.LRMaxShift, c.LRShiftAt(math.MaxUint64))
	c.DecayShift = 4
	c.UpdateRow(1, 0, []int32{160, -160}, []int32{0, 0}, next[:2])
	require.Equal(t, []int32{150, -150}, next[:2], "weight decay m/16")
	c.LRDecayEvery = 0
	require.Equal(t, c.LRShift, c.LRShiftAt(1<<40))
	// The largest weight shift still cannot overflow.
	c.WeightShift = 23
	c.UpdateRow(1, 0, []int32{math.MaxInt32, math.MinInt32}, []int32{math.MinInt32, math.MaxInt32}, next[:2])
	require.Equal(t, []int32{127 << 23, -127 << 23}, next[:2])
}

func TestInitAndSample(t *testing.T) {
	c := DefaultConfig()
	a, b := make([]int32, 300), make([]int32, 300)
	c.InitRow(1, 5, a)
	c.InitRow(1, 5, b)
	require.Equal(t, a, b)
	c.InitRow(1, 6, b)
	require.NotEqual(t, a, b)
	c.InitRow(2, 5, b)
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
	c2 := c
	c2.Seed++
	require.NotEqual(t, c.SampleIndex(7, 0), c2.SampleIndex(7, 0))
}

// TestKnownAnswers hashes the outputs of every row function on seeded
// inputs into one digest: any change to the arithmetic, on any machine,
// changes it. Update the constant only with a deliberate change of semantics
// (and of the protocol version).
func TestKnownAnswers(t *testing.T) {
	c := DefaultConfig()
	rng := splitmix(1) // self-contained, so the digest cannot depend on a library's generator
	h := sha256.New()
	put8 := func(v []int8) {
		for _, x := range v {
			h.Write([]byte{byte(x)})
		}
	}
	put32 := func(v []int32) {
		for _, x := range v {
			h.Write(binary.BigEndian.AppendUint32(nil, uint32(x)))
		}
	}
	wide := func(n int) []int32 {
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(rng.next()) >> (rng.next() % 32)
		}
		return v
	}
	for trial := 0; trial < 200; trial++ {
		img := make([]byte, InputDim)
		for i := range img {
			img[i] = byte(rng.next())
		}
		x := make([]int8, InputDim)
		c.InputRow(img, x)
		put8(x)
		m, out8, out32 := wide(64), make([]int8, 64), make([]int32, 64)
		c.ViewRow(m, out8)
		put8(out8)
		z, d := wide(64), wide(64)
		c.ActRow(1, z, out8)
		put8(out8)
		c.BackActRow(1+trial%2, d, z, out8)
		put8(out8)
		c.LossGradRow(z[:Classes], uint8(trial%Classes), out8[:Classes])
		put8(out8[:Classes])
		c.UpdateRow(1, uint64(trial*37), m, d, out32)
		put32(out32)
		c.InitRow(1+trial%3, trial, out32)
		put32(out32)
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(c.SampleIndex(uint64(trial), trial))))
	}
	require.Equal(t, knownAnswerDigest, hex.EncodeToString(h.Sum(nil)))
}

const knownAnswerDigest = "581aee16e9fa19d88d29b0f592258b13dc434412c931fc57119f96f12b50d86c"

// splitmix is SplitMix64 (Steele, Lea, Flood 2014).
type splitmix uint64

func (s *splitmix) next() uint32 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return uint32((z ^ (z >> 31)) >> 32)
}

func TestConfigRoundTrip(t *testing.T) {
	for _, c := range []Config{
		DefaultConfig(),
		{Layers: []int{}, Batch: 1, InitAmp: 1},
		{Layers: []int{7, 9}, Batch: 3, InitAmp: 5},
		{Layers: []int{3, 4, 5}, GradShifts: []int{1, 2, 3}, Batch: 9, Seed: 1 << 60, InputOffset: 127, InitAmp: 127, WeightShift: 23, LRShift: 2, LRMaxShift: 9, LRDecayEvery: 77, DecayShift: 12},
	} {
		require.NoError(t, c.Validate())
		enc := c.AppendBinary(nil)
		got, n, err := ParseConfig(append(enc, 0xee))
		require.NoError(t, err)
		require.Equal(t, len(enc), n)
		require.Equal(t, enc, got.AppendBinary(nil))
		require.Equal(t, c.Dims(), got.Dims())
		for l := 1; l <= len(c.Layers); l++ {
			require.Equal(t, c.GradShift(l), got.GradShift(l))
		}
		for i := 0; i < len(enc); i++ {
			_, _, err := ParseConfig(enc[:i])
			require.ErrorIs(t, err, ErrConfig, "prefix of %d bytes", i)
		}
	}
	require.Equal(t, []int{784, 256, 128, 10}, DefaultConfig().Dims())

	for name, mut := range map[string]func(*Config){
		"zero layer":      func(c *Config) { c.Layers = []int{0, 128} },
		"huge layer":      func(c *Config) { c.Layers = []int{MaxDim + 1, 128} },
		"too many layers": func(c *Config) { c.Layers = make([]int, MaxLayers+1) },
		"grad shifts":     func(c *Config) { c.GradShifts = []int{8} },
		"grad shift":      func(c *Config) { c.GradShifts = []int{8, 32} },
		"batch":           func(c *Config) { c.Batch = 0 },
		"big batch":       func(c *Config) { c.Batch = MaxBatch + 1 },
		"offset":          func(c *Config) { c.InputOffset = 128 },
		"amp":             func(c *Config) { c.InitAmp = 0 },
		"weight shift":    func(c *Config) { c.WeightShift = 24 },
		"logit shift":     func(c *Config) { c.LogitShift = -1 },
		"lr":              func(c *Config) { c.LRShift, c.LRMaxShift = 5, 4 },
		"lr max":          func(c *Config) { c.LRMaxShift = 32 },
		"lr every":        func(c *Config) { c.LRDecayEvery = -1 },
		"decay":           func(c *Config) { c.DecayShift = 32 },
	} {
		c := DefaultConfig()
		mut(&c)
		require.ErrorIs(t, c.Validate(), ErrConfig, name)
	}

	// Non-canonical or invalid encodings are rejected.
	enc := DefaultConfig().AppendBinary(nil)
	bad := append([]byte(nil), enc...)
	bad[1+4*2+12+4] = 1 // one gradient shift for two layers
	_, _, err := ParseConfig(bad)
	require.ErrorIs(t, err, ErrConfig)
	bad = append([]byte(nil), enc...)
	bad[0] = MaxLayers + 1
	_, _, err = ParseConfig(bad)
	require.ErrorIs(t, err, ErrConfig)
}

func FuzzParseConfig(f *testing.F) {
	f.Add(DefaultConfig().AppendBinary(nil))
	f.Add(Config{Layers: []int{}, Batch: 1, InitAmp: 1}.AppendBinary(nil))
	f.Add(Config{Layers: []int{3, 4, 5}, GradShifts: []int{1, 2, 3}, Batch: 9, InitAmp: 127, LRMaxShift: 9}.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, n, err := ParseConfig(b)
		if err != nil {
			return
		}
		require.NoError(t, c.Validate())
		require.Equal(t, b[:n], c.AppendBinary(nil), "whatever parses re-encodes to the same bytes")
	})
}
