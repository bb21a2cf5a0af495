package matmul

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

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

// cpuOn returns a backend on path; every path must exist where Paths says.
func cpuOn(t testing.TB, path Path) *CPU {
	c, err := NewCPUPath(path)
	require.NoError(t, err)
	return c
}

// forPaths runs f as a subtest on every GEMM path this machine runs.
func forPaths(t *testing.T, f func(t *testing.T, cpu *CPU)) {
	for _, path := range Paths() {
		t.Run(string(path), func(t *testing.T) { f(t, cpuOn(t, path)) })
	}
}

// product is a test case: C = op(A)·op(B) with A, B stored as given.
type product struct {
	m, k, n int
	ta, tb  bool
	a, b    *tensor.Int8
}

func newProduct(rng *rand.Rand, m, k, n int, ta, tb bool) product {
	ar, ac := shapeOf(m, k, ta)
	br, bc := shapeOf(k, n, tb)
	return product{m: m, k: k, n: n, ta: ta, tb: tb, a: randInt8(rng, ar, ac), b: randInt8(rng, br, bc)}
}

func (p product) String() string {
	return fmt.Sprintf("%d×%d×%d ta=%v tb=%v", p.m, p.k, p.n, p.ta, p.tb)
}

func (p product) naive() *tensor.Int32 {
	c := tensor.NewInt32(p.m, p.n)
	gemmNaive(p.m, p.k, p.n, p.a, p.ta, p.b, p.tb, c)
	return c
}

// run computes the product on cpu into a poisoned C, so that an element the
// backend forgets to write cannot pass.
func (p product) run(t testing.TB, cpu *CPU) *tensor.Int32 {
	c := tensor.NewInt32(p.m, p.n)
	for i := range c.Data {
		c.Data[i] = 0x5a5a5a5a
	}
	err := cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(p.a), B: cpu.WrapInt8(p.b), TransA: p.ta, TransB: p.tb, C: cpu.WrapInt32(c)}})
	require.NoError(t, err, "%v", p)
	return c
}

// fill sets every element of m to v.
func fill(m *tensor.Int8, v int8) *tensor.Int8 {
	for i := range m.Data {
		m.Data[i] = v
	}
	return m
}

// blockShapes straddle every block size of every path: the portable tile
// (3×6, k in spans of 32), VNNI (6×64, k in quads) and AVX2 (4×16, k in
// pairs; whole tiles in blocks of kcQuads quads of k, row blocks shared by
// the workers), and the parallel threshold.
var blockShapes = [][3]int{
	{1, 1, 1}, {1, 300, 1}, {1, 17, 9}, {9, 17, 1}, {2, 2, 2}, {3, 5, 7},
	{3, 32, 6}, {4, 33, 7}, {5, 31, 13}, {6, 64, 12}, {7, 65, 11}, {2, 1, 5},
	{64, 64, 64}, {65, 1025, 33}, {130, 70, 129}, {1, 2048, 70}, {70, 2049, 1},
	{6, 4, 64}, {7, 3, 65}, {12, 129, 128}, {13, 127, 200},
	{6 * hashBlock * 2, 4*kcQuads + 4, 64}, {6*hashBlock + 7, 8*kcQuads + 3, 70},
}

// TestGEMMAgainstNaive: block-straddling and random shapes, every transpose
// combination, values that hit −128 and 127 often.
func TestGEMMAgainstNaive(t *testing.T) {
	const seed = 20261124
	forPaths(t, func(t *testing.T, cpu *CPU) {
		rng := rand.New(rand.NewPCG(seed, 1))
		shapes := append([][3]int(nil), blockShapes...)
		for range 30 {
			shapes = append(shapes, [3]int{1 + rng.IntN(90), 1 + rng.IntN(1200), 1 + rng.IntN(90)})
		}
		for _, s := range shapes {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					p := newProduct(rng, s[0], s[1], s[2], ta, tb)
					require.Equal(t, p.naive().Data, p.run(t, cpu).Data, "seed %d %v", seed, p)
				}
			}
		}
	})
}

// TestGEMMWorkers: any number of workers gives the same bits, including more
// workers than row or column panels.
func TestGEMMWorkers(t *testing.T) {
	const seed = 99
	forPaths(t, func(t *testing.T, cpu *CPU) {
		rng := rand.New(rand.NewPCG(seed, 2))
		for _, s := range [][3]int{{200, 300, 7}, {5, 300, 200}, {97, 513, 131}} {
			p := newProduct(rng, s[0], s[1], s[2], rng.IntN(2) == 0, rng.IntN(2) == 0)
			want := p.naive()
			for _, w := range []int{1, 2, 3, 5, 64} {
				cpu.SetWorkers(w)
				require.Equal(t, want.Data, p.run(t, cpu).Data, "seed %d %v workers %d", seed, p, w)
			}
		}
	})
}

// TestGEMMExtremes: constant operands at the extremes. Biased to unsigned,
// 127·127 is the largest product a SWAR lane sums (255²), and −128·−128 the
// largest signed one.
func TestGEMMExtremes(t *testing.T) {
	forPaths(t, func(t *testing.T, cpu *CPU) {
		for _, s := range [][3]int{{3, 32, 6}, {7, 4099, 13}, {1, 1, 1}} {
			m, k, n := s[0], s[1], s[2]
			for _, v := range [][2]int8{{127, 127}, {-128, -128}, {-128, 127}, {127, -128}} {
				for _, ta := range []bool{false, true} {
					for _, tb := range []bool{false, true} {
						ar, ac := shapeOf(m, k, ta)
						br, bc := shapeOf(k, n, tb)
						p := product{m: m, k: k, n: n, ta: ta, tb: tb, a: fill(tensor.NewInt8(ar, ac), v[0]), b: fill(tensor.NewInt8(br, bc), v[1])}
						got := p.run(t, cpu)
						for _, x := range got.Data {
							require.Equal(t, int32(v[0])*int32(v[1])*int32(k), x, "%v values %v", p, v)
						}
					}
				}
			}
		}
	})
}

// TestGEMMAgainstGonum uses gonum's float64 DGEMM as an independent
// reference (float64 is exact for these magnitudes: |sum| < 2^31 < 2^53).
func TestGEMMAgainstGonum(t *testing.T) {
	const seed = 7
	forPaths(t, func(t *testing.T, cpu *CPU) {
		rng := rand.New(rand.NewPCG(seed, 7))
		for _, s := range [][3]int{{31, 257, 45}, {128, 784, 64}, {1, 4096, 3}, {200, 33, 199}, {5, 1, 9}} {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					p := newProduct(rng, s[0], s[1], s[2], ta, tb)
					want := gonumGemm(p)
					got := p.run(t, cpu)
					for i, x := range got.Data {
						require.Equal(t, want[i], float64(x), "seed %d %v element %d", seed, p, i)
					}
				}
			}
		}
	})
}

func gonumGemm(p product) []float64 {
	general := func(m *tensor.Int8) blas64.General {
		d := make([]float64, len(m.Data))
		for i, x := range m.Data {
			d[i] = float64(x)
		}
		return blas64.General{Rows: m.Rows, Cols: m.Cols, Stride: m.Cols, Data: d}
	}
	flag := func(trans bool) blas.Transpose {
		if trans {
			return blas.Trans
		}
		return blas.NoTrans
	}
	c := blas64.General{Rows: p.m, Cols: p.n, Stride: p.n, Data: make([]float64, p.m*p.n)}
	blas64.Gemm(flag(p.ta), flag(p.tb), 1, general(p.a), general(p.b), 0, c)
	return c.Data
}

// TestGEMMInnerLimit: k = MaxInner with every element −128 gives the largest
// possible sum, 2^14·(2^17−1), exactly; all 127 the largest unsigned lane
// load; one more step is rejected.
func TestGEMMInnerLimit(t *testing.T) {
	forPaths(t, func(t *testing.T, cpu *CPU) {
		k := MaxInner
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				ar, ac := shapeOf(2, k, ta)
				br, bc := shapeOf(k, 3, tb)
				a, b := fill(tensor.NewInt8(ar, ac), -128), fill(tensor.NewInt8(br, bc), -128)
				if tb { // one mixed product too, in column 2 of op(B)
					b.Data[2*k+5] = 127
				} else {
					b.Data[5*3+2] = 127
				}
				p := product{m: 2, k: k, n: 3, ta: ta, tb: tb, a: a, b: b}
				got := p.run(t, cpu)
				require.Equal(t, p.naive().Data, got.Data, "%v", p)
				require.Equal(t, int32(16384*k), got.Data[0], "%v", p)
				require.Equal(t, int32(16384*(k-1)-128*127), got.Data[2], "%v", p)
			}
		}
		p := product{m: 1, k: k, n: 1, a: fill(tensor.NewInt8(1, k), 127), b: fill(tensor.NewInt8(k, 1), 127)}
		require.Equal(t, []int32{127 * 127 * int32(k)}, p.run(t, cpu).Data)

		a2, b2 := tensor.NewInt8(1, k+1), tensor.NewInt8(k+1, 1)
		err := cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(a2), B: cpu.WrapInt8(b2), C: cpu.WrapInt32(tensor.NewInt32(1, 1))}})
		require.ErrorIs(t, err, ErrOverflow)
		err = cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(tensor.NewInt8(k+1, 1)), B: cpu.WrapInt8(tensor.NewInt8(1, k+1)), TransA: true, TransB: true, C: cpu.WrapInt32(tensor.NewInt32(1, 1))}})
		require.ErrorIs(t, err, ErrOverflow)
	})
}

// TestGEMMEmpty: k = 0 gives zeros; m = 0 or n = 0 gives nothing to do.
func TestGEMMEmpty(t *testing.T) {
	forPaths(t, func(t *testing.T, cpu *CPU) {
		for _, s := range [][3]int{{3, 0, 4}, {0, 5, 4}, {3, 5, 0}} {
			p := product{m: s[0], k: s[1], n: s[2], a: tensor.NewInt8(s[0], s[1]), b: tensor.NewInt8(s[1], s[2])}
			require.Equal(t, make([]int32, s[0]*s[2]), p.run(t, cpu).Data, "%v", p)
		}
	})
}

// katInt8 fills a rows×cols matrix from the PCG-DXSM stream itself (whose
// output is fixed by its specification, unlike the helpers of math/rand),
// one byte per element, an eighth of them −128 and an eighth 127.
func katInt8(src *rand.PCG, rows, cols int) *tensor.Int8 {
	m := tensor.NewInt8(rows, cols)
	for i := range m.Data {
		x := src.Uint64()
		switch x >> 61 {
		case 0:
			m.Data[i] = -128
		case 1:
			m.Data[i] = 127
		default:
			m.Data[i] = int8(x)
		}
	}
	return m
}

// katDigest is SHA-256 over the canonical bytes of C for every product of
// katShapes, in order, each in the four transpose combinations, A and B drawn
// from one PCG(2026, 46) stream. gonum's DGEMM gives the same digest.
const katDigest = "1952f61aca2da24a86aaa36e12e6831973d5b505a1c3a1cb3d6cd25e8f7e7de3"

var katShapes = [][3]int{{1, 1, 1}, {3, 32, 6}, {17, 100, 33}, {64, 255, 70}, {5, 2000, 3}, {130, 64, 129}}

// TestGEMMKnownAnswer: one digest pins the output bits of every path, so a
// change in any of them (or in the reference) fails loudly. The products run
// as one batch.
func TestGEMMKnownAnswer(t *testing.T) {
	src := rand.NewPCG(2026, 46)
	var ps []product
	for _, s := range katShapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				ar, ac := shapeOf(s[0], s[1], ta)
				br, bc := shapeOf(s[1], s[2], tb)
				ps = append(ps, product{m: s[0], k: s[1], n: s[2], ta: ta, tb: tb, a: katInt8(src, ar, ac), b: katInt8(src, br, bc)})
			}
		}
	}
	digest := func(cs []*tensor.Int32) string {
		h := sha256.New()
		for _, c := range cs {
			h.Write(tensor.Int32Bytes(nil, c.Data))
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	var want []*tensor.Int32
	for _, p := range ps {
		want = append(want, p.naive())
	}
	require.Equal(t, katDigest, digest(want), "reference")
	forPaths(t, func(t *testing.T, cpu *CPU) {
		batch := make([]Product, len(ps))
		got := make([]*tensor.Int32, len(ps))
		for i, p := range ps {
			got[i] = tensor.NewInt32(p.m, p.n)
			batch[i] = Product{A: cpu.WrapInt8(p.a), B: cpu.WrapInt8(p.b), TransA: p.ta, TransB: p.tb, C: cpu.WrapInt32(got[i])}
		}
		require.NoError(t, cpu.MatMul(context.Background(), batch))
		require.Equal(t, katDigest, digest(got))
	})
}

// FuzzPaths: every path computes the same bits as the reference on
// fuzzer-chosen shapes and values.
func FuzzPaths(f *testing.F) {
	f.Add(uint8(3), uint16(5), uint8(7), uint64(1), false, true)
	f.Add(uint8(1), uint16(300), uint8(1), uint64(2), true, false)
	f.Fuzz(func(t *testing.T, m8 uint8, k16 uint16, n8 uint8, seed uint64, ta, tb bool) {
		m, k, n := int(m8%70)+1, int(k16%2000)+1, int(n8%70)+1
		p := newProduct(rand.New(rand.NewPCG(seed, 3)), m, k, n, ta, tb)
		want := p.naive()
		for _, path := range Paths() {
			require.Equal(t, want.Data, p.run(t, cpuOn(t, path)).Data, "path %s seed %d %v", path, seed, p)
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

// TestFusedRowHashes: hashing C in the product's epilogue gives exactly
// HashRows' hashes, on every path and shape (including several hash blocks).
func TestFusedRowHashes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	forPaths(t, func(t *testing.T, cpu *CPU) {
		for _, s := range [][3]int{{1, 5, 3}, {7, 33, 65}, {6*hashBlock + 5, 40, 70}, {2*6*hashBlock + 1, 9, 130}} {
			m, k, n := s[0], s[1], s[2]
			a, b := randInt8(rng, m, k), randInt8(rng, k, n)
			c := tensor.NewInt32(m, n)
			fused := make([][32]byte, m)
			require.NoError(t, cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(a), B: cpu.WrapInt8(b), C: cpu.WrapInt32(c), RowHashes: fused, HashKey: [32]byte{7}}}))
			want := tensor.NewInt32(m, n)
			gemmNaive(m, k, n, a, false, b, false, want)
			require.Equal(t, want.Data, c.Data, "%v", s)
			sep := make([][32]byte, m)
			require.NoError(t, cpu.HashRows(context.Background(), cpu.WrapInt32(c), [32]byte{7}, sep))
			require.Equal(t, sep, fused, "%v", s)
		}
	})
	cpu := NewCPU()
	err := cpu.MatMul(context.Background(), []Product{{A: cpu.WrapInt8(tensor.NewInt8(2, 2)), B: cpu.WrapInt8(tensor.NewInt8(2, 2)), C: cpu.WrapInt32(tensor.NewInt32(2, 2)), RowHashes: make([][32]byte, 3)}})
	require.ErrorIs(t, err, ErrShape)
}

// TestGeneratedOperands: operands given as generated rows (GenInt8) give
// the same product and fused row hashes as the stored matrices, on every
// path, shape and transpose (a transposed or non-VNNI operand is stored
// whole first), and the generator is asked only for rows that exist.
func TestGeneratedOperands(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	gen := func(t *testing.T, m *tensor.Int8) func(i int, row []int8) {
		return func(i int, row []int8) {
			if i < 0 || i >= m.Rows || len(row) != m.Cols {
				t.Errorf("generator asked for row %d of %d, %d wide", i, m.Rows, len(row))
				return
			}
			copy(row, m.Row(i))
		}
	}
	forPaths(t, func(t *testing.T, cpu *CPU) {
		shapes := append([][3]int{{6*hashBlock*2 + 7, 2*bStrip + 5, 131}}, blockShapes...)
		for _, s := range shapes {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
				p := newProduct(rng, s[0], s[1], s[2], tr[0], tr[1])
				want := p.naive()
				for _, which := range []int{1, 2, 3} {
					var a, b Buffer = cpu.WrapInt8(p.a), cpu.WrapInt8(p.b)
					if which&1 != 0 {
						a = cpu.GenInt8(p.a.Rows, p.a.Cols, gen(t, p.a))
					}
					if which&2 != 0 {
						b = cpu.GenInt8(p.b.Rows, p.b.Cols, gen(t, p.b))
					}
					c := tensor.NewInt32(p.m, p.n)
					hashes := make([][32]byte, p.m)
					var tm Timing
					require.NoError(t, cpu.MatMul(context.Background(), []Product{{A: a, B: b, TransA: p.ta, TransB: p.tb, C: cpu.WrapInt32(c), RowHashes: hashes, HashKey: [32]byte{9}, Timing: &tm}}))
					require.Equal(t, want.Data, c.Data, "%v, generated %d", p, which)
					sep := make([][32]byte, p.m)
					require.NoError(t, cpu.HashRows(context.Background(), cpu.WrapInt32(c), [32]byte{9}, sep))
					require.Equal(t, sep, hashes, "%v, generated %d", p, which)
				}
			}
		}
	})
	cpu := NewCPU()
	g := cpu.GenInt8(3, 4, func(i int, row []int8) { row[0] = int8(i) })
	got := tensor.NewInt8(3, 4)
	require.NoError(t, cpu.DownloadInt8(g, got))
	require.Equal(t, []int8{0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0}, got.Data)
	require.NoError(t, cpu.Free(g))
	require.ErrorIs(t, cpu.DownloadInt8(g, got), ErrBuffer)
	made := 0
	g = cpu.GenInt8(3, 4, func(i int, row []int8) { made++ })
	require.NoError(t, cpu.Free(g))
	require.Zero(t, made, "Free generates nothing")
	require.ErrorIs(t, cpu.Free(g), ErrBuffer)
}

// TestNewInt32: a matrix for a product to write is zeroed and whole, large
// enough to be populated up front or not.
func TestNewInt32(t *testing.T) {
	for _, s := range [][2]int{{3, 5}, {1100, 1000}, {1 << 10, 1<<10 + 3}} {
		m := NewInt32(s[0], s[1])
		require.Equal(t, s[0], m.Rows)
		require.Equal(t, s[1], m.Cols)
		require.Len(t, m.Data, s[0]*s[1])
		for i, x := range m.Data {
			if x != 0 {
				t.Fatalf("%v: element %d is %d", s, i, x)
			}
		}
		m.Data[len(m.Data)-1] = 7
	}
}
