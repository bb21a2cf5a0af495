package snark

import (
	"errors"
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	p2perm "github.com/consensys/gnark/std/permutation/poseidon2"
	"github.com/consensys/gnark/std/rangecheck"
)

// The step circuit's integer gadgets. Values are signed integers embedded
// in the BN254 scalar field (negative x as p − |x|). Every gadget asks a
// hint for its result and then pins it with equations and range checks, so
// that exactly one assignment satisfies it: range checks (gnark's
// log-derivative lookups) bound every quantity far below p/2, so nothing
// wraps around the field.

func init() {
	solver.RegisterHint(signHint, divHint, maxHint, actShiftHint, posHint, clampHint, clamp2Hint, clampMagHint)
}

// signed reads a field element as a signed integer.
func signed(mod, x *big.Int) *big.Int {
	half := new(big.Int).Rsh(mod, 1)
	if x.Cmp(half) > 0 {
		return new(big.Int).Sub(x, mod)
	}
	return new(big.Int).Set(x)
}

func field(mod, x *big.Int) *big.Int { return new(big.Int).Mod(x, mod) }

// signHint: 1 when the input is negative.
func signHint(mod *big.Int, in, out []*big.Int) error {
	for i, x := range in {
		if signed(mod, x).Sign() < 0 {
			out[i].SetInt64(1)
		} else {
			out[i].SetInt64(0)
		}
	}
	return nil
}

// posHint: 1 when the input is positive.
func posHint(mod *big.Int, in, out []*big.Int) error {
	for i, x := range in {
		if signed(mod, x).Sign() > 0 {
			out[i].SetInt64(1)
		} else {
			out[i].SetInt64(0)
		}
	}
	return nil
}

// divHint: ⌊a / d⌋ for non-negative a and positive d (in[0], in[1]).
func divHint(mod *big.Int, in, out []*big.Int) error {
	a, d := signed(mod, in[0]), signed(mod, in[1])
	if d.Sign() <= 0 {
		return errors.New("snark: division by a non-positive number")
	}
	out[0].Set(field(mod, new(big.Int).Div(a, d))) // Euclidean: floor for d > 0
	return nil
}

// maxHint: max of the inputs (signed), and of 0 when in[0] is 1 (the
// first input is a flag).
func maxHint(mod *big.Int, in, out []*big.Int) error {
	var m *big.Int
	if in[0].Sign() != 0 {
		m = new(big.Int)
	}
	for _, x := range in[1:] {
		if v := signed(mod, x); m == nil || v.Cmp(m) > 0 {
			m = v
		}
	}
	out[0].Set(field(mod, m))
	return nil
}

// actShiftHint: u = ActShift(row with maximum mx) + 7, from mx ≥ 0.
func actShiftHint(mod *big.Int, in, out []*big.Int) error {
	mx := signed(mod, in[0]).Int64()
	s := -7
	for roundShiftRef(mx, s) > 127 {
		s++
	}
	out[0].SetInt64(int64(s + 7))
	return nil
}

// clampHint: 1 when in[0] > in[1] (both signed).
func clampHint(mod *big.Int, in, out []*big.Int) error {
	if signed(mod, in[0]).Cmp(signed(mod, in[1])) > 0 {
		out[0].SetInt64(1)
	} else {
		out[0].SetInt64(0)
	}
	return nil
}

// clampMagHint: (min(⌊in[0] / in[1]⌋, in[2]), 1 when the quotient is
// above in[2]) for in[0] ≥ 0, in[1] > 0.
func clampMagHint(mod *big.Int, in, out []*big.Int) error {
	num, d, lim := signed(mod, in[0]), signed(mod, in[1]), signed(mod, in[2])
	if d.Sign() <= 0 {
		return errors.New("snark: division by a non-positive number")
	}
	q := new(big.Int).Div(num, d)
	out[0].Set(field(mod, q))
	out[1].SetInt64(0)
	if q.Cmp(lim) > 0 {
		out[0].Set(field(mod, lim))
		out[1].SetInt64(1)
	}
	return nil
}

// clamp2Hint: (hi, lo) flags of x = in[0] against ±in[1].
func clamp2Hint(mod *big.Int, in, out []*big.Int) error {
	x, lim := signed(mod, in[0]), signed(mod, in[1])
	out[0].SetInt64(0)
	out[1].SetInt64(0)
	if x.Cmp(lim) > 0 {
		out[0].SetInt64(1)
	}
	if x.Cmp(new(big.Int).Neg(lim)) < 0 {
		out[1].SetInt64(1)
	}
	return nil
}

// roundShiftRef is model's roundShift, for the hints.
func roundShiftRef(x int64, s int) int64 {
	if s <= 0 {
		return x << uint(-s)
	}
	sign := int64(1)
	if x < 0 {
		sign, x = -1, -x
	}
	return sign * ((x + 1<<(s-1)) >> s)
}

// ints is the gadget set of one circuit: the API and its range checker.
type ints struct {
	api frontend.API
	rc  frontend.Rangechecker
}

func newInts(api frontend.API) *ints { return &ints{api: api, rc: rangecheck.New(api)} }

func (g *ints) hint(f solver.Hint, n int, in ...frontend.Variable) []frontend.Variable {
	out, err := g.api.Compiler().NewHint(f, n, in...)
	if err != nil {
		panic(err)
	}
	return out
}

// check asserts 0 ≤ x < 2^bits.
func (g *ints) check(x frontend.Variable, bits int) { g.rc.Check(x, bits) }

// abs returns |x| and the sign bit σ (x = |x|·(1 − 2σ)), with |x| < 2^bits.
func (g *ints) abs(x frontend.Variable, bits int) (ax, sigma frontend.Variable) {
	api := g.api
	sigma = g.hint(signHint, 1, x)[0]
	api.AssertIsBoolean(sigma)
	ax = api.Mul(x, api.Sub(1, api.Mul(2, sigma)))
	g.check(ax, bits)
	return ax, sigma
}

// divRound returns ⌊(a + half) / p⌋ for 0 ≤ a < 2^aBits, 1 ≤ p < 2^pBits:
// the quotient q with 0 ≤ a + half − q·p < p.
func (g *ints) divRound(a, half, p frontend.Variable, aBits, pBits int) frontend.Variable {
	return g.quotient(g.api.Add(a, half), p, aBits+1, pBits)
}

// quotient returns ⌊num / p⌋ for a quotient known to be below 2^qBits and
// 1 ≤ p ≤ 2^pBits: the q with 0 ≤ num − q·p < p, which is unique whatever
// the widths, as long as q·p + p stays far below the field's size. A width
// only has to hold the honest values; a multiple of the range checker's
// limb (8 bits for the step circuits measured) costs no extra lookup.
func (g *ints) quotient(num, p frontend.Variable, qBits, pBits int) frontend.Variable {
	api := g.api
	q := g.hint(divHint, 1, num, p)[0]
	g.check(q, qBits)
	e := api.Sub(num, api.Mul(q, p))
	g.check(e, pBits)
	g.check(api.Sub(api.Sub(p, 1), e), pBits)
	return q
}

// roundShift is model's roundShift(x, s) for a shift s ≥ 0 given as p = 2^s
// and half = ⌊p/2⌋: x / p rounded half away from zero. |x| < 2^xBits.
func (g *ints) roundShift(x, p, half frontend.Variable, xBits, pBits int) frontend.Variable {
	ax, sigma := g.abs(x, xBits)
	q := g.divRound(ax, half, p, xBits, pBits)
	return g.api.Mul(q, g.api.Sub(1, g.api.Mul(2, sigma)))
}

// pow2 returns 2^e and ⌊2^e / 2⌋ for 0 ≤ e < 2^bits.
func (g *ints) pow2(e frontend.Variable, bits int) (p, half frontend.Variable) {
	api := g.api
	eb := api.ToBinary(e, bits)
	p = 1
	for k, b := range eb {
		f := new(big.Int).Lsh(big.NewInt(1), 1<<k)
		f.Sub(f, big.NewInt(1))
		p = api.Mul(p, api.Add(1, api.Mul(b, f)))
	}
	half = api.Mul(api.Sub(p, api.IsZero(e)), big.NewInt(0).ModInverse(big.NewInt(2), api.Compiler().Field()))
	return p, half
}

// constant 2^s as a big integer.
func pow2c(s int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(s)) }

// max returns max(xs) (and of 0 when withZero), for signed xs with
// |x| < 2^(bits−1): every x ≤ m, and m is one of them.
func (g *ints) max(xs []frontend.Variable, bits int, withZero bool) frontend.Variable {
	api := g.api
	flag := 0
	if withZero {
		flag = 1
	}
	m := g.hint(maxHint, 1, append([]frontend.Variable{flag}, xs...)...)[0]
	var prod frontend.Variable = 1
	if withZero {
		g.check(m, bits-1)
		prod = m
	}
	for _, x := range xs {
		d := api.Sub(m, x)
		g.check(d, bits)
		prod = api.Mul(prod, d)
	}
	api.AssertIsEqual(prod, 0)
	return m
}

// sponge is Sponge in a circuit.
type sponge struct {
	api  frontend.API
	perm *p2perm.Permutation
}

func newSponge(api frontend.API) (*sponge, error) {
	p, err := p2perm.NewPoseidon2FromParameters(api, SpongeWidth, spongeFull, spongePart)
	if err != nil {
		return nil, err
	}
	return &sponge{api: api, perm: p}, nil
}

func (s *sponge) sum(xs ...frontend.Variable) frontend.Variable {
	state := make([]frontend.Variable, SpongeWidth)
	for i := range state {
		state[i] = 0
	}
	state[SpongeRate] = len(xs)
	for i := 0; i == 0 || i < len(xs); i += SpongeRate {
		for k := 0; k < SpongeRate && i+k < len(xs); k++ {
			state[k] = s.api.Add(state[k], xs[i+k])
		}
		if err := s.perm.Permutation(state); err != nil {
			panic(err)
		}
	}
	return state[0]
}
