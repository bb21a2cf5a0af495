//go:build onednn && cgo

package onednn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/internal/testutil"
	"github.com/seed46f70faa/trainproof/matmul"
	"github.com/seed46f70faa/trainproof/tensor"
)

var randInt8 = testutil.RandInt8

// TestSameAsOneDNN: oneDNN and every path of our CPU backend give the same
// int32 results, bit for bit.
func TestSameAsOneDNN(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	shapes := [][3]int{{1, 1, 1}, {1, 777, 3}, {17, 33, 65}, {128, 784, 256}, {256, 1024, 129}, {513, 300, 70}}
	for _, s := range shapes {
		m, k, n := s[0], s[1], s[2]
		a, b := randInt8(rng, m, k), randInt8(rng, k, n)
		want := tensor.NewInt32(m, n)
		require.NoError(t, GEMM(a, b, want))
		for _, p := range matmul.Paths() {
			cpu, err := matmul.NewCPUPath(p)
			require.NoError(t, err)
			got := tensor.NewInt32(m, n)
			require.NoError(t, cpu.MatMul(context.Background(), []matmul.Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(got)}}))
			require.Equal(t, want.Data, got.Data, "path %s, shape %v", p, s)
		}
	}
}

// BenchmarkSideBySide runs oneDNN and our fastest path on the same inputs
// in the same run, on 1 and 2 cores.
func BenchmarkSideBySide(b *testing.B) {
	for _, cores := range []int{1, 2} {
		for _, n := range []int{1024, 2048, 4096} {
			rng := rand.New(rand.NewPCG(uint64(n), 1))
			x, y, z := randInt8(rng, n, n), randInt8(rng, n, n), tensor.NewInt32(n, n)
			ops := 2 * float64(n) * float64(n) * float64(n)
			b.Run(fmt.Sprintf("onednn/cores=%d/n=%d", cores, n), func(b *testing.B) {
				SetThreads(cores)
				for b.Loop() {
					if err := GEMM(x, y, z); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
			})
			b.Run(fmt.Sprintf("trainproof/cores=%d/n=%d", cores, n), func(b *testing.B) {
				cpu := matmul.NewCPU()
				cpu.SetWorkers(cores)
				ps := []matmul.Product{{A: cpu.WrapInt8(x), B: cpu.WrapInt8(y), C: cpu.WrapInt32(z)}}
				for b.Loop() {
					if err := cpu.MatMul(context.Background(), ps); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
			})
		}
	}
}
