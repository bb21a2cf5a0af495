// Package field implements arithmetic in the prime field F_p with
// p = 2^61 − 1 (a Mersenne prime), the field in which trainproof runs its
// Freivalds checks.
//
// Why this prime: reduction modulo a Mersenne prime is a shift, a mask and an
// add, so a 64-bit CPU (and a GPU) multiplies two elements with one 64×64→128
// multiply and a few ALU operations; and 1/p ≈ 4.3·10⁻¹⁹ is the soundness error
// of one Freivalds trial. Elements are kept canonical, in [0, p).
//
// Nothing here is constant time; Freivalds vectors are public challenges.
package field

import "math/bits"

// P is the modulus 2^61 − 1.
const P uint64 = 1<<61 - 1

// Elem is an element of F_p in canonical form, in [0, P).
type Elem uint64

// reduce folds x < 2^64 into [0, P).
func reduce(x uint64) Elem {
	x = (x & P) + (x >> 61)
	if x >= P {
		x -= P
	}
	return Elem(x)
}

// New returns x mod p.
func New(x uint64) Elem { return reduce(x) }

// FromInt64 maps a signed integer to its residue mod p.
func FromInt64(x int64) Elem {
	if x >= 0 {
		return reduce(uint64(x))
	}
	return Neg(reduce(uint64(-x)))
}

// Add returns a + b mod p.
func Add(a, b Elem) Elem { return reduce(uint64(a) + uint64(b)) }

// Sub returns a − b mod p.
func Sub(a, b Elem) Elem { return reduce(uint64(a) + P - uint64(b)) }

// Neg returns −a mod p.
func Neg(a Elem) Elem {
	if a == 0 {
		return 0
	}
	return Elem(P - uint64(a))
}

// Mul returns a·b mod p.
func Mul(a, b Elem) Elem {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	// a·b = hi·2^64 + lo = (hi·8 + lo>>61)·2^61 + (lo & P) ≡ hi·8 + lo>>61 + lo&P.
	return reduce((lo & P) + (lo>>61 | hi<<3))
}

// Dot returns Σ a[i]·b[i] mod p. len(b) must be at least len(a).
func Dot(a, b []Elem) Elem {
	var acc Elem
	for i, x := range a {
		acc = Add(acc, Mul(x, b[i]))
	}
	return acc
}

// DotInt8 returns Σ row[i]·v[i] mod p, the Freivalds projection of one int8
// row. len(v) must be at least len(row), and len(row) at most 2^24.
func DotInt8(row []int8, v []Elem) Elem { return dotInt8(row, v) }

// DotInt32 returns Σ row[i]·v[i] mod p, the Freivalds projection of one int32 row.
func DotInt32(row []int32, v []Elem) Elem { return dotInt32(row, v) }

func dotInt8Generic(row []int8, v []Elem) Elem {
	// Split v[i] = lo + hi·2^31 with lo < 2^31, hi < 2^30: each partial product
	// is below 2^38 in magnitude, so 2^25 of them fit an int64 exactly.
	var slo, shi int64
	v = v[:len(row)]
	for i, x := range row {
		e := uint64(v[i])
		slo += int64(x) * int64(e&(1<<31-1))
		shi += int64(x) * int64(e>>31)
	}
	return Add(FromInt64(slo), Mul(FromInt64(shi), 1<<31))
}

func dotInt32Generic(row []int32, v []Elem) Elem {
	// Split v[i] into three 21-bit limbs: |x·limb| < 2^52, so 2^11 terms fit an
	// int64; fold every 1024 terms.
	var acc Elem
	v = v[:len(row)]
	for start := 0; start < len(row); start += 1024 {
		end := min(start+1024, len(row))
		var s0, s1, s2 int64
		for i := start; i < end; i++ {
			x := int64(row[i])
			e := uint64(v[i])
			s0 += x * int64(e&(1<<21-1))
			s1 += x * int64((e>>21)&(1<<21-1))
			s2 += x * int64(e>>42)
		}
		acc = Add(acc, FromInt64(s0))
		acc = Add(acc, Mul(FromInt64(s1), 1<<21))
		acc = Add(acc, Mul(FromInt64(s2), 1<<42))
	}
	return acc
}
