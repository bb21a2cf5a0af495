package matmul

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/seed46f70faa/trainproof/field"
	"github.com/seed46f70faa/trainproof/internal/testutil"
	"github.com/seed46f70faa/trainproof/tensor"
)

var randInt8 = testutil.RandInt8

func shapeOf(rows, cols int, trans bool) (int, int) {
	if trans {
		return cols, rows
	}
	return rows, cols
}

// TestGEMMAgainstNaive: random shapes, every transpose combination, extreme values.
func TestGEMMAgainstNaive(t *testing.T) {
	for _, path := range Paths() {
		t.Run(string(path), func(t *testing.T) { testAgainstNaive(t, path) })
	}
}

// cpuOn returns a backend on path; every path must exist where Paths says.
func cpuOn(t testing.TB, path Path) *CPU {
	c, err := NewCPUPath(path)
	require.NoError(t, err)
	return c
}

func testAgainstNaive(t *testing.T, path Path) {
	seed := uint64(20261124)
	rng := rand.New(rand.NewPCG(seed, 1))
	cpu := cpuOn(t, path)
	shapes := [][3]int{{1, 1, 1}, {1, 300, 1}, {1, 17, 9}, {9, 17, 1}, {2, 2, 2}, {3, 5, 7}, {64, 64, 64}, {65, 1025, 33}, {130, 70, 129}}
	for i := 0; i < 40; i++ {
		shapes = append(shapes, [3]int{1 + rng.IntN(90), 1 + rng.IntN(1200), 1 + rng.IntN(90)})
	}
	for _, s := range shapes {
		m, k, n := s[0], s[1], s[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				ar, ac := shapeOf(m, k, ta)
				br, bc := shapeOf(k, n, tb)
				a, b := randInt8(rng, ar, ac), randInt8(rng, br, bc)
				want, got := tensor.NewInt32(m, n), tensor.NewInt32(m, n)
				for i := range got.Data {
					got.Data[i] = 0x5a5a5a5a // poison: every element must be written
				}
				gemmNaive(m, k, n, a, ta, b, tb, want)
				err := cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), TransA: ta, TransB: tb, C: cpu.WrapInt32(got)}})
				require.NoError(t, err)
				require.Equal(t, want.Data, got.Data, "seed %d shape %v ta=%v tb=%v", seed, s, ta, tb)
			}
		}
	}
}

// TestGEMMAgainstGonum uses gonum's float64 DGEMM as an independent
// reference (float64 is exact for these magnitudes: |sum| < 2^31 < 2^53).
func TestGEMMAgainstGonum(t *testing.T) {
	for _, path := range Paths() {
		t.Run(string(path), func(t *testing.T) { testAgainstGonum(t, path) })
	}
}

func testAgainstGonum(t *testing.T, path Path) {
	rng := rand.New(rand.NewPCG(7, 7))
	cpu := cpuOn(t, path)
	for _, s := range [][3]int{{31, 257, 45}, {128, 784, 64}, {1, 4096, 3}, {200, 33, 199}} {
		m, k, n := s[0], s[1], s[2]
		a, b := randInt8(rng, m, k), randInt8(rng, k, n)
		af, bf := make([]float64, m*k), make([]float64, k*n)
		for i, x := range a.Data {
			af[i] = float64(x)
		}
		for i, x := range b.Data {
			bf[i] = float64(x)
		}
		cf := blas64.General{Rows: m, Cols: n, Stride: n, Data: make([]float64, m*n)}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, blas64.General{Rows: m, Cols: k, Stride: k, Data: af}, blas64.General{Rows: k, Cols: n, Stride: n, Data: bf}, 0, cf)
		got := tensor.NewInt32(m, n)
		require.NoError(t, cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(got)}}))
		for i, x := range got.Data {
			require.Equal(t, cf.Data[i], float64(x), "shape %v element %d", s, i)
		}
	}
}

// TestGEMMInnerLimit: k = MaxInner with every element −128 gives the largest
// possible sum, 2^14·(2^17−1), exactly; one more is rejected.
func TestGEMMInnerLimit(t *testing.T) {
	for _, path := range Paths() {
		t.Run(string(path), func(t *testing.T) { testInnerLimit(t, path) })
	}
}

func testInnerLimit(t *testing.T, path Path) {
	cpu := cpuOn(t, path)
	k := MaxInner
	a, b := tensor.NewInt8(2, k), tensor.NewInt8(k, 3)
	for i := range a.Data {
		a.Data[i] = -128
	}
	for i := range b.Data {
		b.Data[i] = -128
	}
	b.Data[5] = 127 // one mixed product too
	c := tensor.NewInt32(2, 3)
	require.NoError(t, cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c)}}))
	want := tensor.NewInt32(2, 3)
	gemmNaive(2, k, 3, a, false, b, false, want)
	require.Equal(t, want.Data, c.Data)
	require.Equal(t, int32(16384*k), c.Data[0])

	a2, b2 := tensor.NewInt8(1, k+1), tensor.NewInt8(k+1, 1)
	err := cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(a2), B: cpu.WrapInt8(b2), C: cpu.WrapInt32(tensor.NewInt32(1, 1))}})
	require.ErrorIs(t, err, ErrOverflow)
}

func TestBackendErrors(t *testing.T) {
	cpu := NewCPU()
	a, b := cpu.WrapInt8(tensor.NewInt8(2, 3)), cpu.WrapInt8(tensor.NewInt8(4, 2))
	c := cpu.WrapInt32(tensor.NewInt32(2, 2))
	require.ErrorIs(t, cpu.MatMul(context.Background(), []Product{{A: a, B: b, C: c}}), ErrShape)
	require.ErrorIs(t, cpu.MatMul(context.Background(), []Product{{A: c, B: b, C: c}}), ErrBuffer)
	buf, err := cpu.Alloc(tensor.KindInt8, 3, 2)
	require.NoError(t, err)
	require.NoError(t, cpu.Free(buf))
	require.ErrorIs(t, cpu.Free(buf), ErrBuffer)
	require.ErrorIs(t, cpu.DownloadInt8(buf, tensor.NewInt8(3, 2)), ErrBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, cpu.MatMul(ctx, []Product{{A: a, B: cpu.WrapInt8(tensor.NewInt8(3, 2)), C: c}}), context.Canceled)
}

func BenchmarkMatMul(b *testing.B) {
	for _, path := range Paths() {
		for _, workers := range []int{1, 2} {
			for _, n := range []int{256, 512, 1024, 2048, 4096} {
				if path == PathGo && n > 2048 {
					continue
				}
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
					b.ReportMetric(2*float64(n*n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
				})
			}
		}
	}
}

// FuzzPaths: every path computes the same bits as the reference on
// fuzzer-chosen shapes and values.
func FuzzPaths(f *testing.F) {
	f.Add(uint8(3), uint16(5), uint8(7), uint64(1), false, true)
	f.Add(uint8(1), uint16(300), uint8(1), uint64(2), true, false)
	f.Fuzz(func(t *testing.T, m8 uint8, k16 uint16, n8 uint8, seed uint64, ta, tb bool) {
		m, k, n := int(m8%70)+1, int(k16%2000)+1, int(n8%70)+1
		rng := rand.New(rand.NewPCG(seed, 3))
		ar, ac := shapeOf(m, k, ta)
		br, bc := shapeOf(k, n, tb)
		a, bm := randInt8(rng, ar, ac), randInt8(rng, br, bc)
		want := tensor.NewInt32(m, n)
		gemmNaive(m, k, n, a, ta, bm, tb, want)
		for _, path := range Paths() {
			cpu := cpuOn(t, path)
			got := tensor.NewInt32(m, n)
			require.NoError(t, cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(bm), TransA: ta, TransB: tb, C: cpu.WrapInt32(got)}}))
			require.Equal(t, want.Data, got.Data, "path %s shape %d×%d×%d", path, m, k, n)
		}
	})
}

func TestPathsAvailable(t *testing.T) {
	require.Contains(t, Paths(), PathGo)
	_, err := NewCPUPath("nonsense")
	require.Error(t, err)
	t.Setenv(EnvPath, string(PathGo))
	require.Equal(t, PathGo, NewCPU().Path())
}

func BenchmarkGonumDgemm(b *testing.B) {
	for _, n := range []int{256, 512, 1024} {
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
			b.ReportMetric(2*float64(n*n)*float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}

func BenchmarkHashRows(b *testing.B) {
	cpu := NewCPU()
	for _, n := range []int{1024, 4096} {
		m := tensor.NewInt32(n, n)
		out := make([][32]byte, n)
		b.Run(fmt.Sprintf("int32/n=%d", n), func(b *testing.B) {
			b.SetBytes(int64(4 * n * n))
			for b.Loop() {
				if err := cpu.HashRows(context.Background(), cpu.WrapInt32(m), []byte("prefix"), out); err != nil {
					b.Fatal(err)
				}
			}
		})
		m8 := tensor.NewInt8(n, n)
		b.Run(fmt.Sprintf("int8/n=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n * n))
			for b.Loop() {
				if err := cpu.HashRows(context.Background(), cpu.WrapInt8(m8), []byte("prefix"), out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestHashRowsAndProject(t *testing.T) {
	cpu := NewCPU()
	rng := rand.New(rand.NewPCG(9, 9))
	a := randInt8(rng, 300, 300)
	a32 := tensor.NewInt32(300, 300)
	for i := range a32.Data {
		a32.Data[i] = int32(rng.Uint32())
	}
	out := make([][32]byte, 300)
	require.NoError(t, cpu.HashRows(context.Background(), cpu.WrapInt8(a), []byte("p"), out))
	for i := 0; i < 300; i++ {
		want := sha256.Sum256(append(append([]byte("p"), byte(i>>24), byte(i>>16), byte(i>>8), byte(i)), tensor.Int8Bytes(nil, a.Row(i))...))
		require.Equal(t, want, out[i])
	}
	require.NoError(t, cpu.HashRows(context.Background(), cpu.WrapInt32(a32), []byte("p"), out))
	for i := 0; i < 300; i++ {
		want := sha256.Sum256(append(append([]byte("p"), byte(i>>24), byte(i>>16), byte(i>>8), byte(i)), tensor.Int32Bytes(nil, a32.Row(i))...))
		require.Equal(t, want, out[i])
	}
	r := make([]field.Elem, 300)
	for i := range r {
		r[i] = field.New(rng.Uint64())
	}
	proj := make([]field.Elem, 300)
	require.NoError(t, cpu.Project(context.Background(), cpu.WrapInt32(a32), r, proj))
	for i := range proj {
		require.Equal(t, field.DotInt32(a32.Row(i), r), proj[i])
	}
	require.ErrorIs(t, cpu.Project(context.Background(), cpu.WrapInt32(a32), r[:5], proj), ErrShape)
}

// TestFusedRowHashes: hashing C in the product's epilogue gives exactly
// HashRows' hashes, on every path and shape (including several hash blocks).
func TestFusedRowHashes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, path := range Paths() {
		cpu := cpuOn(t, path)
		for _, s := range [][3]int{{1, 5, 3}, {7, 33, 65}, {6*hashBlock + 5, 40, 70}, {2*6*hashBlock + 1, 9, 130}} {
			m, k, n := s[0], s[1], s[2]
			a, b := randInt8(rng, m, k), randInt8(rng, k, n)
			c := tensor.NewInt32(m, n)
			fused := make([][32]byte, m)
			require.NoError(t, cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c), RowHashes: fused, HashPrefix: []byte("pfx")}}))
			want := tensor.NewInt32(m, n)
			gemmNaive(m, k, n, a, false, b, false, want)
			require.Equal(t, want.Data, c.Data, "%s %v", path, s)
			sep := make([][32]byte, m)
			require.NoError(t, cpu.HashRows(context.Background(), cpu.WrapInt32(c), []byte("pfx"), sep))
			require.Equal(t, sep, fused, "%s %v", path, s)
		}
	}
	cpu := NewCPU()
	err := cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(tensor.NewInt8(2, 2)), B: cpu.WrapInt8(tensor.NewInt8(2, 2)), C: cpu.WrapInt32(tensor.NewInt32(2, 2)), RowHashes: make([][32]byte, 3)}})
	require.ErrorIs(t, err, ErrShape)
}
