package field

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

var bigP = new(big.Int).SetUint64(P)

// modP returns x mod p as a uint64.
func modP(x *big.Int) uint64 { return new(big.Int).Mod(x, bigP).Uint64() }

// edgeElems are the canonical elements where reductions go wrong first.
var edgeElems = []uint64{0, 1, 2, 3, 7, 8, P - 1, P - 2, P - 8, P / 2, P/2 + 1, 1 << 60, 1<<60 - 1, 1 << 31, 1<<31 - 1, 1 << 32, 1<<32 - 1}

func elems(rng *rand.Rand, random int) []uint64 {
	xs := append([]uint64(nil), edgeElems...)
	for range random {
		xs = append(xs, rng.Uint64()%P)
	}
	return xs
}

// TestArithmeticAgainstBig: Add, Sub, Mul on every pair of edge values and
// on random pairs, Neg on all of them; results canonical and equal to big.Int's.
func TestArithmeticAgainstBig(t *testing.T) {
	const seed = 1
	rng := rand.New(rand.NewPCG(seed, 2))
	xs := elems(rng, 60) // 77² pairs
	for _, a := range xs {
		ba := new(big.Int).SetUint64(a)
		require.Equal(t, modP(new(big.Int).Neg(ba)), uint64(Neg(Elem(a))), "seed %d: −%d", seed, a)
		for _, b := range xs {
			bb := new(big.Int).SetUint64(b)
			require.Equal(t, modP(new(big.Int).Add(ba, bb)), uint64(Add(Elem(a), Elem(b))), "seed %d: %d + %d", seed, a, b)
			require.Equal(t, modP(new(big.Int).Sub(ba, bb)), uint64(Sub(Elem(a), Elem(b))), "seed %d: %d − %d", seed, a, b)
			require.Equal(t, modP(new(big.Int).Mul(ba, bb)), uint64(Mul(Elem(a), Elem(b))), "seed %d: %d · %d", seed, a, b)
		}
	}
	for range 20000 {
		a, b := rng.Uint64()%P, rng.Uint64()%P
		ba, bb := new(big.Int).SetUint64(a), new(big.Int).SetUint64(b)
		require.Equal(t, modP(new(big.Int).Add(ba, bb)), uint64(Add(Elem(a), Elem(b))), "seed %d: %d + %d", seed, a, b)
		require.Equal(t, modP(new(big.Int).Sub(ba, bb)), uint64(Sub(Elem(a), Elem(b))), "seed %d: %d − %d", seed, a, b)
		require.Equal(t, modP(new(big.Int).Mul(ba, bb)), uint64(Mul(Elem(a), Elem(b))), "seed %d: %d · %d", seed, a, b)
	}
}

// TestFromAgainstBig: New on the whole uint64 range, FromInt64 on the whole
// int64 range, extremes included.
func TestFromAgainstBig(t *testing.T) {
	const seed = 5
	rng := rand.New(rand.NewPCG(seed, 6))
	us := []uint64{0, 1, P - 1, P, P + 1, 2*P - 1, 2 * P, 2*P + 1, 1<<63 - 1, 1 << 63, math.MaxUint64, math.MaxUint64 - 1, 8*P - 1}
	is := []int64{0, 1, -1, 2, -2, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, math.MaxInt64 - 1,
		int64(P), -int64(P), int64(P) + 1, -int64(P) - 1, int64(P) - 1, -int64(P) + 1, 2 * int64(P), -2 * int64(P), math.MinInt32, math.MaxInt32}
	for range 10000 {
		us = append(us, rng.Uint64())
		is = append(is, int64(rng.Uint64()), int64(rng.Uint64()>>uint(rng.IntN(64))))
	}
	for _, x := range us {
		require.Equal(t, modP(new(big.Int).SetUint64(x)), uint64(New(x)), "seed %d: New(%d)", seed, x)
	}
	for _, x := range is {
		require.Equal(t, modP(big.NewInt(x)), uint64(FromInt64(x)), "seed %d: FromInt64(%d)", seed, x)
	}
}

// dotCase is one row of a projection test.
type dotCase struct {
	name string
	r8   []int8
	r32  []int32
	v    []Elem
}

// dotCases: lengths around the unrolled and folded loops' boundaries and
// beyond 2^16, random values that hit the extremes often, and constant rows
// that maximise every partial sum.
func dotCases(seed uint64) []dotCase {
	rng := rand.New(rand.NewPCG(seed, 4))
	var cs []dotCase
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 1023, 1024, 1025, 2049, 5000, 1<<16 + 3, 300000} {
		c := dotCase{name: fmt.Sprintf("random/n=%d", n), r8: make([]int8, n), r32: make([]int32, n), v: make([]Elem, n)}
		for i := range c.v {
			c.v[i] = Elem(rng.Uint64() % P)
			if i%5 == 0 {
				c.v[i] = Elem(P - 1)
			}
			c.r8[i] = int8(rng.Uint32())
			c.r32[i] = int32(rng.Uint32())
			switch rng.IntN(6) {
			case 0:
				c.r8[i], c.r32[i] = -128, math.MinInt32
			case 1:
				c.r8[i], c.r32[i] = 127, math.MaxInt32
			}
		}
		cs = append(cs, c)
	}
	const n = 1<<16 + 5
	for _, v := range []Elem{Elem(P - 1), 1<<61 - 2, 1<<31 - 1, 1 << 60} {
		for _, x := range [][2]int64{{-128, math.MinInt32}, {127, math.MaxInt32}} {
			c := dotCase{name: fmt.Sprintf("const/x=%d/v=%d", x[0], v), r8: make([]int8, n), r32: make([]int32, n), v: make([]Elem, n)}
			for i := range c.v {
				c.r8[i], c.r32[i], c.v[i] = int8(x[0]), int32(x[1]), v
			}
			cs = append(cs, c)
		}
	}
	return cs
}

func bigDot[T int8 | int32](row []T, v []Elem) uint64 {
	sum, t := new(big.Int), new(big.Int)
	for i, x := range row {
		sum.Add(sum, t.Mul(big.NewInt(int64(x)), new(big.Int).SetUint64(uint64(v[i]))))
	}
	return modP(sum)
}

// TestDotAgainstBig: the dispatched projections and the portable ones
// against big.Int, and Dot on elements.
func TestDotAgainstBig(t *testing.T) {
	const seed = 3
	for _, c := range dotCases(seed) {
		w8, w32 := bigDot(c.r8, c.v), bigDot(c.r32, c.v)
		require.Equal(t, w8, uint64(DotInt8(c.r8, c.v)), "seed %d %s int8", seed, c.name)
		require.Equal(t, w8, uint64(dotInt8Generic(c.r8, c.v)), "seed %d %s int8 generic", seed, c.name)
		require.Equal(t, w32, uint64(DotInt32(c.r32, c.v)), "seed %d %s int32", seed, c.name)
		require.Equal(t, w32, uint64(dotInt32Generic(c.r32, c.v)), "seed %d %s int32 generic", seed, c.name)
		if len(c.v) <= 5000 {
			e := make([]Elem, len(c.r32))
			for i, x := range c.r32 {
				e[i] = FromInt64(int64(x))
			}
			require.Equal(t, w32, uint64(Dot(e, c.v)), "seed %d %s elems", seed, c.name)
		}
	}
}

// TestDotLongerVector: v may be longer than the row; only its prefix counts.
func TestDotLongerVector(t *testing.T) {
	r8, r32 := []int8{-128, 127, 3}, []int32{math.MinInt32, 5, math.MaxInt32}
	v := []Elem{Elem(P - 1), 2, 3, 99, 100}
	require.Equal(t, bigDot(r8, v), uint64(DotInt8(r8, v)))
	require.Equal(t, bigDot(r32, v), uint64(DotInt32(r32, v)))
}

// TestSIMDMatchesGeneric compares the dispatched projections with the
// portable ones on every length up to 2100 (all tails of the vector loops).
func TestSIMDMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	v := make([]Elem, 2100)
	r8 := make([]int8, 2100)
	r32 := make([]int32, 2100)
	for i := range v {
		v[i] = Elem(rng.Uint64() % P)
		r8[i] = int8(rng.Uint32())
		r32[i] = int32(rng.Uint32())
	}
	for n := 0; n <= len(v); n++ {
		require.Equal(t, dotInt8Generic(r8[:n], v), DotInt8(r8[:n], v), "int8 n=%d", n)
		require.Equal(t, dotInt32Generic(r32[:n], v), DotInt32(r32[:n], v), "int32 n=%d", n)
	}
}

// BenchmarkDot reports the projection rate in GB/s of row data read, for
// the dispatched kernels and the portable Go ones. One op projects an
// in-cache row reps times, so that even -benchtime 3x measures something.
func BenchmarkDot(b *testing.B) {
	const n, reps = 1 << 16, 64
	v := make([]Elem, n)
	for i := range v {
		v[i] = Elem(uint64(i) * 0x9e3779b97f4a7c15 % P)
	}
	r8, r32 := make([]int8, n), make([]int32, n)
	for i := range r8 {
		r8[i], r32[i] = int8(i*7), int32(i*0x9e3779b9)
	}
	gbps := func(b *testing.B, bytes int) {
		b.ReportMetric(float64(reps*bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	}
	var sink Elem
	for _, impl := range []struct {
		name string
		d8   func([]int8, []Elem) Elem
		d32  func([]int32, []Elem) Elem
	}{{"dispatch", DotInt8, DotInt32}, {"go", dotInt8Generic, dotInt32Generic}} {
		b.Run(fmt.Sprintf("int8/%s/n=%d", impl.name, n), func(b *testing.B) {
			for b.Loop() {
				for range reps {
					sink += impl.d8(r8, v)
				}
			}
			gbps(b, n)
		})
		b.Run(fmt.Sprintf("int32/%s/n=%d", impl.name, n), func(b *testing.B) {
			for b.Loop() {
				for range reps {
					sink += impl.d32(r32, v)
				}
			}
			gbps(b, 4*n)
		})
	}
	_ = sink
}
