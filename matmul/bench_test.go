package matmul

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/internal/par"
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

// BenchmarkHashRows: row commitments on every core (GB/s of matrix
// hashed): the backend's BLAKE3 leaves (protocol v2) beside version 1's
// SHA-256 leaves (SHA-256(0x00 ‖ domain ‖ u32 row ‖ row), crypto/sha256) on
// the same matrices in the same run.
func BenchmarkHashRows(b *testing.B) {
	cpu := NewCPU()
	prefix := commit.LeafPrefix(make([]byte, 20+32+8+2+1+4+4))
	for _, n := range []int{1024, 4096} {
		out := make([][32]byte, n)
		t32, t8 := tensor.NewInt32(n, n), tensor.NewInt8(n, n)
		m32, m8 := cpu.WrapInt32(t32), cpu.WrapInt8(t8)
		for _, kind := range []struct {
			name  string
			buf   Buffer
			bytes []byte
		}{{"int32", m32, int32Bytes(t32.Data)}, {"int8", m8, int8Bytes(t8.Data)}} {
			w := len(kind.bytes) / n
			b.Run(fmt.Sprintf("%s/n=%d/blake3-v2", kind.name, n), func(b *testing.B) {
				for b.Loop() {
					if err := cpu.HashRows(context.Background(), kind.buf, [32]byte{1}, out); err != nil {
						b.Fatal(err)
					}
				}
				gbps(b, len(kind.bytes))
			})
			b.Run(fmt.Sprintf("%s/n=%d/sha256-v1", kind.name, n), func(b *testing.B) {
				for b.Loop() {
					par.Range(n, 0, func(lo, hi int) {
						for i := lo; i < hi; i++ {
							out[i] = commit.Leaf(prefix, uint32(i), kind.bytes[i*w:(i+1)*w])
						}
					})
				}
				gbps(b, len(kind.bytes))
			})
		}
	}
}

// BenchmarkCommitC: the commitment's share of a matmul unit's product on
// every core, in one run: the bare GEMM, the GEMM with C's BLAKE3 row
// leaves in its epilogue (Product.RowHashes, protocol v2), and the GEMM
// followed by version 1's SHA-256 leaves of C's rows. hash-% is the extra
// time over the bare GEMM.
func BenchmarkCommitC(b *testing.B) {
	cpu := NewCPU()
	prefix := commit.LeafPrefix(make([]byte, 20+32+8+2+1+4+4))
	for _, n := range []int{1024, 2048, 4096} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		a, bb := randInt8(rng, n, n), randInt8(rng, n, n)
		c := tensor.NewInt32(n, n)
		leaves := make([][32]byte, n)
		p := Product{A: cpu.WrapInt8(a), B: cpu.WrapInt8(bb), C: cpu.WrapInt32(c)}
		var bare float64
		b.Run(fmt.Sprintf("n=%d/gemm", n), func(b *testing.B) {
			for b.Loop() {
				if err := cpu.MatMul(context.Background(), []Product{p}); err != nil {
					b.Fatal(err)
				}
			}
			bare = b.Elapsed().Seconds() / float64(b.N)
		})
		report := func(b *testing.B) {
			if t := b.Elapsed().Seconds() / float64(b.N); bare > 0 {
				b.ReportMetric(100*(t-bare)/bare, "hash-%")
			}
		}
		b.Run(fmt.Sprintf("n=%d/gemm+blake3-v2", n), func(b *testing.B) {
			q := p
			q.RowHashes, q.HashKey = leaves, [32]byte{1}
			for b.Loop() {
				if err := cpu.MatMul(context.Background(), []Product{q}); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
		b.Run(fmt.Sprintf("n=%d/gemm+sha256-v1", n), func(b *testing.B) {
			data := int32Bytes(c.Data)
			for b.Loop() {
				if err := cpu.MatMul(context.Background(), []Product{p}); err != nil {
					b.Fatal(err)
				}
				par.Range(n, 0, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						leaves[i] = commit.Leaf(prefix, uint32(i), data[4*n*i:4*n*(i+1)])
					}
				})
			}
			report(b)
		})
	}
}
