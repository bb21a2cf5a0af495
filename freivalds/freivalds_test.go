package freivalds

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/internal/testutil"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/tensor"
)

var randInt8 = testutil.RandInt8

func randVec(rng *rand.Rand, n int) []field.Elem {
	v := make([]field.Elem, n)
	for i := range v {
		v[i] = field.New(rng.Uint64() % field.P)
	}
	return v
}

func product(t testing.TB, a, b *tensor.Int8) *tensor.Int32 {
	cpu := matmul.NewCPU()
	c := tensor.NewInt32(a.Rows, b.Cols)
	require.NoError(t, cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c)}}))
	return c
}

func TestHonestAlwaysPasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		m, k, n := 1+rng.IntN(40), 1+rng.IntN(40), 1+rng.IntN(40)
		a, b := randInt8(rng, m, k), randInt8(rng, k, n)
		ok, row, err := Check(a, b, product(t, a, b), randVec(rng, n))
		require.NoError(t, err)
		require.True(t, ok, "trial %d: honest %d×%d×%d product rejected at row %d", trial, m, k, n, row)
	}
}

// TestFreivaldsSingleElement: one changed element anywhere is caught in every
// one of 10 000 trials, each with fresh matrices, position, change and vector.
func TestFreivaldsSingleElement(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const trials = 10000
	for trial := 0; trial < trials; trial++ {
		m, k, n := 1+rng.IntN(24), 1+rng.IntN(24), 1+rng.IntN(24)
		a, b := randInt8(rng, m, k), randInt8(rng, k, n)
		c := product(t, a, b)
		i, j := rng.IntN(m), rng.IntN(n)
		delta := int32(rng.IntN(1<<20)) + 1
		if rng.IntN(2) == 0 {
			delta = -delta
		}
		if rng.IntN(10) == 0 {
			delta = 1 // the smallest change
		}
		c.Data[i*n+j] += delta
		ok, row, err := Check(a, b, c, randVec(rng, n))
		require.NoError(t, err)
		require.False(t, ok, "trial %d: change %+d at (%d,%d) of %d×%d escaped", trial, delta, i, j, m, n)
		require.Equal(t, i, row, "trial %d", trial)
	}
}

func TestShapes(t *testing.T) {
	_, _, err := Check(tensor.NewInt8(2, 3), tensor.NewInt8(4, 2), tensor.NewInt32(2, 2), make([]field.Elem, 2))
	require.Error(t, err)
}

// BenchmarkFullVerifyVsRecompute measures, in one run, the full-mode check of
// C = A·B (one pass over A, B and C) and the CPU backend recomputing the same
// product, so benchstat shows the ratio. Metric: GB/s of A, B and C read.
func BenchmarkFullVerifyVsRecompute(b *testing.B) {
	for _, n := range []int{256, 1024, 2048, 4096} {
		rng := rand.New(rand.NewPCG(uint64(n), 5))
		a, bm := randInt8(rng, n, n), randInt8(rng, n, n)
		c := product(b, a, bm)
		r := randVec(rng, n)
		bytes := float64(n * n * (1 + 1 + 4))
		b.Run(fmt.Sprintf("verify/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if ok, _, _ := Check(a, bm, c, r); !ok {
					b.Fatal("honest product rejected")
				}
			}
			b.ReportMetric(bytes*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
		if n > 2048 && testing.Short() {
			continue
		}
		b.Run(fmt.Sprintf("recompute/n=%d", n), func(b *testing.B) {
			cpu := matmul.NewCPU()
			out := tensor.NewInt32(n, n)
			for b.Loop() {
				if err := cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(bm), C: cpu.WrapInt32(out)}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
		})
	}
}
