package matmul

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/tensor"
)

// benchSizes are the square products every GEMM benchmark runs.
var benchSizes = []int{256, 512, 1024, 2048}

// gops reports 2n³ operations per op as GOPS.
func gops(b *testing.B, n int) {
	b.ReportMetric(2*float64(n)*float64(n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
}

// gbps reports bytes read per op as GB/s.
func gbps(b *testing.B, bytes int) {
	b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkMatMul: n×n·n×n int8 products on every path, on one core and on
// all of them (GOPS = 2n³/s). The SIMD paths also run n = 4096.
func BenchmarkMatMul(b *testing.B) {
	cores := []int{1}
	if all := runtime.GOMAXPROCS(0); all > 1 {
		cores = append(cores, all)
	}
	for _, path := range Paths() {
		for _, workers := range cores {
			sizes := benchSizes
			if path != PathGo {
				sizes = append(sizes[:len(sizes):len(sizes)], 4096)
			}
			for _, n := range sizes {
				b.Run(fmt.Sprintf("%s/cores=%d/n=%d", path, workers, n), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, uint64(n)))
					cpu := cpuOn(b, path)
					cpu.SetWorkers(workers)
					x, y, z := randInt8(rng, n, n), randInt8(rng, n, n), tensor.NewInt32(n, n)
					ps := []Product{{A: cpu.WrapInt8(x), B: cpu.WrapInt8(y), C: cpu.WrapInt32(z)}}
					for b.Loop() {
						if err := cpu.MatMul(context.Background(), ps); err != nil {
							b.Fatal(err)
						}
					}
					gops(b, n)
				})
			}
		}
	}
}

// BenchmarkMatMulTrans: the portable path with transposed operands (packing
// reads them in another order), n = 1024.
func BenchmarkMatMulTrans(b *testing.B) {
	const n = 1024
	for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		b.Run(fmt.Sprintf("ta=%v/tb=%v", tr[0], tr[1]), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, n))
			cpu := cpuOn(b, PathGo)
			x, y, z := randInt8(rng, n, n), randInt8(rng, n, n), tensor.NewInt32(n, n)
			ps := []Product{{A: cpu.WrapInt8(x), B: cpu.WrapInt8(y), TransA: tr[0], TransB: tr[1], C: cpu.WrapInt32(z)}}
			for b.Loop() {
				if err := cpu.MatMul(context.Background(), ps); err != nil {
					b.Fatal(err)
				}
			}
			gops(b, n)
		})
	}
}

// BenchmarkGonumDgemm is the float64 baseline (gonum's pure-Go DGEMM) at the
// same sizes, in GOPS as well (one multiply-add is two operations).
func BenchmarkGonumDgemm(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			g := func() blas64.General {
				d := make([]float64, n*n)
				for i := range d {
					d[i] = float64(i%255 - 127)
				}
				return blas64.General{Rows: n, Cols: n, Stride: n, Data: d}
			}
			x, y, z := g(), g(), g()
			for b.Loop() {
				blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, x, y, 0, z)
			}
			gops(b, n)
		})
	}
}

// BenchmarkProject: Freivalds projections of every row (GB/s of matrix read).
func BenchmarkProject(b *testing.B) {
	cpu := NewCPU()
	for _, n := range []int{1024, 4096} {
		rng := rand.New(rand.NewPCG(4, uint64(n)))
		r, out := randElems(rng, n), make([]field.Elem, n)
		m8, m32 := cpu.WrapInt8(randInt8(rng, n, n)), cpu.WrapInt32(randInt32(rng, n, n))
		b.Run(fmt.Sprintf("int8/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := cpu.Project(context.Background(), m8, r, out); err != nil {
					b.Fatal(err)
				}
			}
			gbps(b, n*n)
		})
		b.Run(fmt.Sprintf("int32/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := cpu.Project(context.Background(), m32, r, out); err != nil {
					b.Fatal(err)
				}
			}
			gbps(b, 4*n*n)
		})
		b.Run(fmt.Sprintf("cols-int8/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := cpu.ProjectCols(context.Background(), m8, r, out); err != nil {
					b.Fatal(err)
				}
			}
			gbps(b, n*n)
		})
	}
}

// BenchmarkHashRows: row commitments (GB/s of matrix hashed).
func BenchmarkHashRows(b *testing.B) {
	cpu := NewCPU()
	for _, n := range []int{1024, 4096} {
		out := make([][32]byte, n)
		m32, m8 := cpu.WrapInt32(tensor.NewInt32(n, n)), cpu.WrapInt8(tensor.NewInt8(n, n))
		b.Run(fmt.Sprintf("int32/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := cpu.HashRows(context.Background(), m32, []byte("prefix"), out); err != nil {
					b.Fatal(err)
				}
			}
			gbps(b, 4*n*n)
		})
		b.Run(fmt.Sprintf("int8/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := cpu.HashRows(context.Background(), m8, []byte("prefix"), out); err != nil {
					b.Fatal(err)
				}
			}
			gbps(b, n*n)
		})
	}
}
