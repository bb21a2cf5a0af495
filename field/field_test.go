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

func toBig(x int64) *big.Int {
	b := big.NewInt(x)
	return b.Mod(b, bigP)
}

func TestArithmeticAgainstBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	edges := []uint64{0, 1, 2, P - 1, P - 2, 1 << 60, P / 2}
	var xs []uint64
	xs = append(xs, edges...)
	for i := 0; i < 2000; i++ {
		xs = append(xs, rng.Uint64()%P)
	}
	for i, a := range xs {
		b := xs[(i*7+3)%len(xs)]
		ba, bb := new(big.Int).SetUint64(a), new(big.Int).SetUint64(b)
		want := new(big.Int)
		require.Equal(t, want.Mod(want.Add(ba, bb), bigP).Uint64(), uint64(Add(Elem(a), Elem(b))))
		require.Equal(t, want.Mod(want.Sub(ba, bb), bigP).Uint64(), uint64(Sub(Elem(a), Elem(b))))
		require.Equal(t, want.Mod(want.Mul(ba, bb), bigP).Uint64(), uint64(Mul(Elem(a), Elem(b))))
		require.Equal(t, want.Mod(want.Neg(ba), bigP).Uint64(), uint64(Neg(Elem(a))))
	}
	for _, x := range []int64{0, 1, -1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, -int64(P), int64(P), int64(P) + 1} {
		require.Equal(t, toBig(x).Uint64(), uint64(FromInt64(x)), "FromInt64(%d)", x)
	}
	require.Equal(t, uint64(0), uint64(New(P)))
	require.Equal(t, uint64(5), uint64(New(P+5)))
}

func TestDotAgainstBig(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 1023, 1024, 1025, 5000, 70000} {
		v := make([]Elem, n)
		r8 := make([]int8, n)
		r32 := make([]int32, n)
		for i := range v {
			v[i] = Elem(rng.Uint64() % P)
			if i%5 == 0 {
				v[i] = Elem(P - 1)
			}
			r8[i] = int8(rng.IntN(256) - 128)
			r32[i] = int32(rng.Uint32())
			switch i % 7 {
			case 0:
				r8[i], r32[i] = -128, math.MinInt32
			case 1:
				r8[i], r32[i] = 127, math.MaxInt32
			}
		}
		w8, w32, we := new(big.Int), new(big.Int), new(big.Int)
		for i := range v {
			bv := new(big.Int).SetUint64(uint64(v[i]))
			w8.Add(w8, new(big.Int).Mul(big.NewInt(int64(r8[i])), bv))
			w32.Add(w32, new(big.Int).Mul(big.NewInt(int64(r32[i])), bv))
			we.Add(we, new(big.Int).Mul(bv, bv))
		}
		require.Equal(t, w8.Mod(w8, bigP).Uint64(), uint64(DotInt8(r8, v)), "int8 n=%d", n)
		require.Equal(t, w32.Mod(w32, bigP).Uint64(), uint64(DotInt32(r32, v)), "int32 n=%d", n)
		require.Equal(t, we.Mod(we, bigP).Uint64(), uint64(Dot(v, v)), "elems n=%d", n)
	}
}

// BenchmarkDot reports the projection rate in GB/s of matrix data read.
func BenchmarkDot(b *testing.B) {
	const n = 1 << 16
	v := make([]Elem, n)
	for i := range v {
		v[i] = Elem(uint64(i) * 0x9e3779b97f4a7c15 % P)
	}
	r8, r32 := make([]int8, n), make([]int32, n)
	b.Run(fmt.Sprintf("int8/n=%d", n), func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			DotInt8(r8, v)
		}
	})
	b.Run(fmt.Sprintf("int32/n=%d", n), func(b *testing.B) {
		b.SetBytes(4 * n)
		for b.Loop() {
			DotInt32(r32, v)
		}
	})
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
