package snark

import (
	"fmt"
	"math/bits"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash/poseidon2"
	"github.com/consensys/gnark/std/selector"

	"github.com/seed46f70faa/trainproof/model"
)

// StepShape is what a training-step circuit is compiled for: the model and
// its hyper-parameters (every field of model.Config but Seed, which picks
// data and initial weights and is bound through the public inputs), and the
// number of rows sampled in each row group.
type StepShape struct {
	Config  model.Config
	Samples int
}

// MaxStepSamples bounds the samples of a step circuit.
const MaxStepSamples = 256

func (s StepShape) validate() error {
	if err := s.Config.Validate(); err != nil {
		return fmt.Errorf("snark: %w", err)
	}
	if s.Samples < 1 || s.Samples > MaxStepSamples {
		return fmt.Errorf("snark: %d samples not in [1, %d]", s.Samples, MaxStepSamples)
	}
	if s.Config.Batch < 2 {
		return fmt.Errorf("snark: a succinct step needs a batch of at least 2")
	}
	for _, d := range s.Config.Layers {
		if d < 2 {
			return fmt.Errorf("snark: a succinct step needs layers of at least 2 units")
		}
	}
	return nil
}

// depth is the Merkle depth of a tree over n leaves.
func depth(n int) int { return bits.Len(uint(n - 1)) }

// DataDepth is the depth of the data-set tree (60 000 examples).
var DataDepth = depth(model.TrainExamples)

// BatchRow is one row of the batch: the rows of the batch-indexed int32
// matrices Z_l and D_l, and the training example the row was drawn from,
// opened against the data-set root. X, A and G are not in the witness: the
// circuit computes them from the example, Z and D.
type BatchRow struct {
	Z, D      [][]frontend.Variable // int32 rows Z_1..Z_L, D_1..D_{L−1}
	Half, Low []frontend.Variable   // pixel = 2·Half + Low
	Label     frontend.Variable
	DataPath  []frontend.Variable
}

// LayerOpening is one sampled row of layer l's weights, gradient and next weights.
type LayerOpening struct {
	M, DW, MNext             []frontend.Variable
	PathM, PathDW, PathMNext []frontend.Variable
}

// StepCircuit proves one training step against the Poseidon2 commitments
// to its matrices (docs/PROTOCOL.md §9). Its public inputs are few, so that
// an EVM verifier stays cheap:
//
//   - Context: Sponge(Task, Step, Data, Batch, Acts, DW_1..DW_L, Views,
//     Nonce), where Task is the task id (first 31 bytes), Data the data
//     set's root, Batch the digest of the step's training-example indices,
//     Acts the digest of every row of Z_l and D_l, DW_l the roots of the
//     weight gradients, Views the digest of the int8 views W_l, and Nonce
//     the beacon's nonce (0 in Fiat–Shamir tasks); a verifier recomputes it
//     from the bundle and the nonce it issued;
//   - Miner: the miner's public key (SHA-256, first 31 bytes), so that a
//     proof cannot be re-signed by another miner;
//   - M_l and M′_l: the roots of each layer's weights before and after the
//     step (row trees, so step t's M′_l root is step t+1's M_l root), which
//     a contract chains.
//
// The witness holds the batch-indexed matrices and the views W_l whole,
// and the circuit hashes them into Acts and Views itself. The Freivalds
// challenges are derived from a seed that hashes the whole statement
// (everything but the nonce), so every value a product check reads is fixed
// before its challenge: Z, D and W directly, X, A and G as functions of
// them and of the examples, which the circuit computes. There are no
// prover-supplied answer vectors: q = W_l·r, Wᵀ·r and Aᵀ·(G·r) are computed
// in the circuit. Z_l = A_{l−1}·W_l and D_l = G_{l+1}·W_{l+1}ᵀ are checked on
// every batch row, and every element-wise function on every batch row. The
// rows of the weight matrices, which are too large to hold whole, are
// sampled: S rows per layer, drawn from the seed and the nonce, are opened
// in M_l, DW_l and M′_l, and the circuit checks DW_l,j·r = (A_{l−1}ᵀ·G_l·r)_j,
// W_l,j = ViewRow(M_l,j) (as W_l,j·r = ViewRow(M_l,j)·r) and
// M′_l,j = UpdateRow(M_l,j, DW_l,j) there. In a beacon task the miner
// publishes every root, Acts and Views included, before it learns the nonce,
// so it cannot choose the rows.
type StepCircuit struct {
	Context, Miner frontend.Variable   `gnark:",public"`
	M, MNext       []frontend.Variable `gnark:",public"`

	Task, Step, Data, Batch, Acts, Views frontend.Variable
	DW                                   []frontend.Variable
	Nonce                                frontend.Variable // the beacon's nonce (0 for Fiat–Shamir)

	Index  []frontend.Variable     // b training-example indices
	Rows   []BatchRow              // b
	W      [][][]frontend.Variable // L views W_l, d_{l−1} × d_l int8
	Layers [][]LayerOpening        // L × S

	Shape StepShape `gnark:"-"`
}

func vec(n int) []frontend.Variable { return make([]frontend.Variable, n) }

// NewStepCircuit allocates the circuit for a shape.
func NewStepCircuit(s StepShape) (*StepCircuit, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	d := s.Config.Dims()
	L, b, S := len(d)-1, s.Config.Batch, s.Samples
	c := &StepCircuit{Shape: s, M: vec(L), DW: vec(L), MNext: vec(L), Index: vec(b)}
	for k := 0; k < b; k++ {
		o := BatchRow{Half: vec(model.InputDim), Low: vec(model.InputDim), DataPath: vec(DataDepth)}
		for l := 1; l <= L; l++ {
			o.Z = append(o.Z, vec(d[l]))
			if l < L {
				o.D = append(o.D, vec(d[l]))
			}
		}
		c.Rows = append(c.Rows, o)
	}
	for l := 1; l <= L; l++ {
		c.W = append(c.W, matrix(d[l-1], d[l]))
		var ls []LayerOpening
		for k := 0; k < S; k++ {
			dep := depth(d[l-1])
			ls = append(ls, LayerOpening{M: vec(d[l]), DW: vec(d[l]), MNext: vec(d[l]),
				PathM: vec(dep), PathDW: vec(dep), PathMNext: vec(dep)})
		}
		c.Layers = append(c.Layers, ls)
	}
	return c, nil
}

// Packing: a row of w-bit values v (stored as v + offset, offset 2^(w−1)
// for signed rows) is hashed as ⌈n / ⌊248/w⌋⌉ field elements, each the
// little-endian concatenation of ⌊248/w⌋ values. Every value is range
// checked, so a packed element has exactly one preimage.
func packPer(width int) int { return 248 / width }

func (g *ints) pack(vals []frontend.Variable, width int, signed bool) []frontend.Variable {
	return g.packed(vals, width, signed, true)
}

// packed is pack, with the range checks left to the caller when check is false.
func (g *ints) packed(vals []frontend.Variable, width int, signed, check bool) []frontend.Variable {
	api := g.api
	per := packPer(width)
	var out []frontend.Variable
	for i := 0; i < len(vals); i += per {
		var terms []frontend.Variable
		for k := 0; k < per && i+k < len(vals); k++ {
			v := vals[i+k]
			if signed {
				v = api.Add(v, pow2c(width-1))
			}
			if check {
				g.check(v, width)
			}
			terms = append(terms, api.Mul(v, pow2c(width*k)))
		}
		out = append(out, sum(api, terms))
	}
	return out
}

// sum adds terms in one linear expression.
func sum(api frontend.API, terms []frontend.Variable) frontend.Variable {
	switch len(terms) {
	case 0:
		return 0
	case 1:
		return terms[0]
	}
	return api.Add(terms[0], terms[1], terms[2:]...)
}

// dot is aᵀb: one constraint per pair of variables.
func dot(api frontend.API, a, b []frontend.Variable) frontend.Variable {
	terms := make([]frontend.Variable, len(a))
	for i := range a {
		terms[i] = api.Mul(a[i], b[i])
	}
	return sum(api, terms)
}

// mulVec returns m·v for a matrix given by its rows.
func mulVec(api frontend.API, m [][]frontend.Variable, v []frontend.Variable) []frontend.Variable {
	out := make([]frontend.Variable, len(m))
	for i, row := range m {
		out[i] = dot(api, row, v)
	}
	return out
}

// mulVecT returns mᵀ·v for a matrix of n columns given by its rows.
func mulVecT(api frontend.API, m [][]frontend.Variable, v []frontend.Variable, n int) []frontend.Variable {
	terms := make([][]frontend.Variable, n)
	for i, row := range m {
		for j, x := range row {
			terms[j] = append(terms[j], api.Mul(x, v[i]))
		}
	}
	out := make([]frontend.Variable, n)
	for j := range out {
		out[j] = sum(api, terms[j])
	}
	return out
}

// powers returns 1, x, x², …, x^(n−1).
func powers(api frontend.API, x frontend.Variable, n int) []frontend.Variable {
	out := make([]frontend.Variable, n)
	out[0] = 1
	for i := 1; i < n; i++ {
		out[i] = api.Mul(out[i-1], x)
	}
	return out
}

// Challenge kinds, hashed with the seed and the layer (3 and 5, the
// second vectors of the version-1 circuit's transposed products, are
// retired).
const (
	chalZ   = 1 // r of Z_l
	chalD   = 2 // r of D_l
	chalDW  = 4 // r of DW_l
	chalRow = 6 // sampled rows: (6, layer, k)
)

func (c *StepCircuit) Define(api frontend.API) error {
	g := newInts(api)
	cfg := c.Shape.Config
	d := cfg.Dims()
	L, b := len(d)-1, cfg.Batch
	ph, err := poseidon2.New(api)
	if err != nil {
		return err
	}
	hash := func(xs ...frontend.Variable) frontend.Variable {
		ph.Reset()
		ph.Write(xs...)
		return ph.Sum()
	}
	sp, err := newSponge(api)
	if err != nil {
		return err
	}
	long := sp.sum
	merkle := func(leaf frontend.Variable, idx, path []frontend.Variable, root frontend.Variable) {
		node := leaf
		for lvl, sib := range path {
			left := api.Select(idx[lvl], sib, node)
			right := api.Select(idx[lvl], node, sib)
			node = hash(left, right)
		}
		api.AssertIsEqual(node, root)
	}

	// The batch's training examples, as the verifier computed them.
	api.AssertIsEqual(long(g.pack(c.Index, 16, false)...), c.Batch)

	// The commitments the challenges follow from: Acts and Views hash the
	// witness's Z, D and W whole, range-checking every value.
	var acts []frontend.Variable
	for _, o := range c.Rows {
		for _, z := range o.Z {
			acts = append(acts, g.pack(z, 32, true)...)
		}
		for _, dr := range o.D {
			acts = append(acts, g.pack(dr, 32, true)...)
		}
	}
	api.AssertIsEqual(long(acts...), c.Acts)
	var views []frontend.Variable
	for _, w := range c.W {
		for _, row := range w {
			views = append(views, g.pack(row, 8, true)...)
		}
	}
	api.AssertIsEqual(long(views...), c.Views)

	// Context binds the private statement values; the seed binds all of the
	// statement but the nonce; the challenge vectors follow from the seed.
	inner := append(append([]frontend.Variable{c.Task, c.Step, c.Data, c.Batch, c.Acts}, c.DW...), c.Views)
	api.AssertIsEqual(long(append(append([]frontend.Variable(nil), inner...), c.Nonce)...), c.Context)
	seed := long(append(append(append(inner, c.Miner), c.M...), c.MNext...)...)
	chal := func(kind, l, n int) []frontend.Variable { return powers(api, long(seed, kind, l), n) }

	// The learning-rate shift at this step, 2^shift and half of it.
	var pLR, halfLR frontend.Variable
	if cfg.LRDecayEvery == 0 {
		pLR, halfLR = pow2c(cfg.LRShift), 0
		if cfg.LRShift > 0 {
			halfLR = pow2c(cfg.LRShift - 1)
		}
	} else {
		g.check(c.Step, 64)
		qt := g.divRound(c.Step, 0, cfg.LRDecayEvery, 64, 32)
		capS := cfg.LRMaxShift - cfg.LRShift
		f := g.hint(clampHint, 1, qt, capS-1)[0]
		api.AssertIsBoolean(f)
		g.check(api.Add(api.Mul(f, api.Sub(qt, capS)), api.Mul(api.Sub(1, f), api.Sub(capS-1, qt))), 65)
		shift := api.Add(cfg.LRShift, api.Mul(f, capS), api.Mul(api.Sub(1, f), qt))
		pLR, halfLR = g.pow2(shift, 5)
	}

	// Every batch row: its example against the data set, X from the
	// pixels, and every element-wise function (A_l, G_l), computed.
	A := make([][][]frontend.Variable, L)   // A[l][i] = A_l,i, l < L (A_0 = X)
	G := make([][][]frontend.Variable, L+1) // G[l][i] = G_l,i, l ≥ 1
	for l := range G {
		G[l] = make([][]frontend.Variable, b)
		if l < L {
			A[l] = make([][]frontend.Variable, b)
		}
	}
	for i, o := range c.Rows {
		x := make([]frontend.Variable, model.InputDim)
		pix := make([]frontend.Variable, model.InputDim)
		for j := range x {
			g.check(o.Half[j], 7)
			api.AssertIsBoolean(o.Low[j])
			pix[j] = api.Add(api.Mul(o.Half[j], 2), o.Low[j])
			x[j] = api.Sub(o.Half[j], cfg.InputOffset)
		}
		g.check(o.Label, 8)
		leaf := long(append([]frontend.Variable{o.Label}, g.packed(pix, 8, false, false)...)...)
		merkle(leaf, api.ToBinary(c.Index[i], DataDepth), o.DataPath, c.Data)
		A[0][i] = x
		acts := make([]act, L)
		for l := 1; l < L; l++ {
			A[l][i], acts[l-1] = g.actRow(o.Z[l-1])
		}
		G[L][i] = g.lossGrad(o.Z[L-1], o.Label, cfg.LogitShift)
		for l := 1; l < L; l++ {
			G[l][i] = g.backAct(o.D[l-1], acts[l-1], cfg.GradShift(l))
		}
	}

	// The products. Z_l = A_{l−1}·W_l and D_l = G_{l+1}·W_{l+1}ᵀ on every
	// batch row; for DW_l = A_{l−1}ᵀ·G_l, h = A_{l−1}ᵀ·(G_l·r), whose
	// sampled entries the opened rows of DW_l must match.
	rZ, qZ, rDW, h := make([][]frontend.Variable, L+1), make([][]frontend.Variable, L+1),
		make([][]frontend.Variable, L+1), make([][]frontend.Variable, L+1)
	for l := 1; l <= L; l++ {
		rZ[l] = chal(chalZ, l, d[l])
		qZ[l] = mulVec(api, c.W[l-1], rZ[l])
		for i, o := range c.Rows {
			api.AssertIsEqual(dot(api, o.Z[l-1], rZ[l]), dot(api, A[l-1][i], qZ[l]))
		}
		if l < L {
			r := chal(chalD, l, d[l])
			q := mulVecT(api, c.W[l], r, d[l+1])
			for i, o := range c.Rows {
				api.AssertIsEqual(dot(api, o.D[l-1], r), dot(api, G[l+1][i], q))
			}
		}
		rDW[l] = chal(chalDW, l, d[l])
		h[l] = mulVecT(api, A[l-1], mulVec(api, G[l], rDW[l]), d[l-1])
	}

	// The sampled rows of every layer, drawn from the seed and the nonce.
	sample := func(group, k, n int) []frontend.Variable {
		hb := api.ToBinary(long(seed, c.Nonce, chalRow, group, k), api.Compiler().FieldBitLen())
		lo := api.FromBinary(hb[:64]...)
		q := g.hint(divHint, 1, lo, n)[0]
		api.ToBinary(q, 64)
		idx := api.Sub(lo, api.Mul(q, n))
		ib := api.ToBinary(idx, depth(n))
		if n&(n-1) != 0 {
			api.AssertIsLessOrEqual(idx, n-1)
		}
		return ib
	}
	pick := func(ib []frontend.Variable, v []frontend.Variable) frontend.Variable {
		padded := make([]frontend.Variable, 1<<len(ib))
		copy(padded, v)
		for i := len(v); i < len(padded); i++ {
			padded[i] = 0
		}
		return selector.BinaryMux(api, ib, padded)
	}
	lim := int64(127) << uint(cfg.WeightShift)
	for l := 1; l <= L; l++ {
		for k, o := range c.Layers[l-1] {
			ib := sample(l, k, d[l-1])
			for _, m := range o.M {
				g.check(api.Add(m, lim), cfg.WeightShift+8)
				g.check(api.Sub(lim, m), cfg.WeightShift+8)
			}
			merkle(long(g.pack(o.M, 32, true)...), ib, o.PathM, c.M[l-1])
			merkle(long(g.pack(o.DW, 32, true)...), ib, o.PathDW, c.DW[l-1])
			merkle(long(g.pack(o.MNext, 32, true)...), ib, o.PathMNext, c.MNext[l-1])
			view := o.M
			if cfg.WeightShift > 0 {
				view = make([]frontend.Variable, len(o.M))
				for j, m := range o.M {
					view[j] = g.roundShift(m, pow2c(cfg.WeightShift), pow2c(cfg.WeightShift-1), 31, cfg.WeightShift+1)
				}
			}
			// (W_l·r)_j = W_l,j·r: the committed view row is ViewRow(M_l,j)
			// but with probability d_l/|F| (r comes after Views and M_l).
			api.AssertIsEqual(dot(api, view, rZ[l]), pick(ib, qZ[l]))
			api.AssertIsEqual(dot(api, o.DW, rDW[l]), pick(ib, h[l]))
			for j, v := range g.update(o.M, o.DW, pLR, halfLR, cfg) {
				api.AssertIsEqual(v, o.MNext[j])
			}
		}
	}
	return nil
}

// act is what BackAct needs of a row's ActRow: which entries passed the
// ReLU, and 2^u and ⌊2^u/2⌋ for u = ActShift + 7.
type act struct {
	pos     []frontend.Variable
	p, half frontend.Variable
}

// actRow is model.ActRow on an int32 row (range checked by the caller).
func (g *ints) actRow(z []frontend.Variable) ([]frontend.Variable, act) {
	api := g.api
	mx := g.max(z, 33, true)
	u := g.hint(actShiftHint, 1, mx)[0]
	p, half := g.pow2(u, 6)
	x := api.Mul(mx, 128)
	// roundShift(mx, s) ≤ 127, and s = −7 or roundShift(mx, s − 1) > 127.
	g.check(api.Sub(api.Sub(api.Mul(255, p), api.Mul(2, x)), 1), 42)
	g.check(api.Add(api.Sub(api.Mul(4, x), api.Mul(255, p)), api.Mul(api.IsZero(u), pow2c(44))), 45)
	// u ≤ 32 (ActShift ≤ 25 for int32 rows): c = 2^(32−u) exists, and
	// ⌊n / 2^u⌋ = ⌊n·c / 2^32⌋ is a division by a constant, whose remainder
	// one range check bounds on both sides.
	c, _ := g.pow2(api.Sub(32, u), 6)
	a := act{p: p, half: half, pos: make([]frontend.Variable, len(z))}
	out := make([]frontend.Variable, len(z))
	for j, v := range z {
		pos := g.hint(posHint, 1, v)[0]
		api.AssertIsBoolean(pos)
		// pos = 1: v − 1 ≥ 0; pos = 0: −v ≥ 0.
		g.check(api.Sub(api.Mul(2, pos, v), api.Add(pos, v)), 32)
		a.pos[j] = pos
		n := api.Mul(api.Add(api.Mul(pos, v, 128), half), c)
		q := g.hint(divHint, 1, n, pow2c(32))[0]
		g.check(q, 8) // the output is at most 127
		g.check(api.Sub(n, api.Mul(q, pow2c(32))), 32)
		out[j] = q
	}
	return out, a
}

// backAct is model.BackActRow: roundShift(d, ActShift + gs − 10), which is
// roundShift(d·2^17, u + gs), clamped to ±127 where the ReLU passed. The
// clamp comes first: with n = |d|·2^17 + ⌊pp/2⌋ and pp = 2^(u+gs), the
// magnitude mag and the flag cl satisfy cl = 0, mag ≤ 127 and
// 0 ≤ n − mag·pp < pp (mag = ⌊n/pp⌋), or cl = 1, mag = 127 and
// n ≥ 128·pp; exactly one pair does, and no quotient beyond 127 is ever
// range-checked.
func (g *ints) backAct(d []frontend.Variable, a act, gs int) []frontend.Variable {
	api := g.api
	pp := api.Mul(a.p, pow2c(gs))
	halfp := a.half
	if gs > 0 {
		halfp = api.Mul(a.p, pow2c(gs-1))
	}
	// Remainders: below pp ≤ 2^(32+gs) when cl = 0, below n < 2^48 + pp/2
	// when cl = 1; widths rounded up to whole 8-bit limbs.
	w1, w2 := roundUp8(max(33+gs, 49)), roundUp8(32+gs)
	out := make([]frontend.Variable, len(d))
	for j, v := range d {
		ax, sigma := g.abs(v, 32) // |d| ≤ 2^31
		n := api.Add(api.Mul(ax, pow2c(17)), halfp)
		f := g.hint(clampMagHint, 2, n, pp, 127)
		mag, cl := f[0], f[1]
		api.AssertIsBoolean(cl)
		g.check(api.Sub(127, mag), 8)
		api.AssertIsEqual(api.Mul(cl, api.Sub(127, mag)), 0)
		e := api.Sub(n, api.Mul(api.Add(mag, cl), pp))
		g.check(e, w1)
		g.check(api.Mul(api.Sub(1, cl), api.Sub(api.Sub(pp, 1), e)), w2)
		out[j] = api.Mul(a.pos[j], mag, api.Sub(1, api.Mul(2, sigma)))
	}
	return out
}

func roundUp8(bits int) int { return (bits + 7) &^ 7 }

// lossGrad is model.LossGradRow.
func (g *ints) lossGrad(z []frontend.Variable, label frontend.Variable, ls int) []frontend.Variable {
	api := g.api
	u := make([]frontend.Variable, len(z))
	for j, v := range z {
		if ls == 0 {
			u[j] = v
			continue
		}
		q := g.divRound(api.Add(v, pow2c(31)), 0, pow2c(ls), 32, ls)
		u[j] = api.Sub(q, pow2c(31-ls))
	}
	mu := g.max(u, 33, false)
	table := make([]frontend.Variable, 16)
	for i, t := range exp2Table {
		table[i] = t
	}
	e := make([]frontend.Variable, len(z))
	var sum frontend.Variable = 0
	for j := range z {
		db := api.ToBinary(api.Sub(mu, u[j]), 33)
		t := selector.BinaryMux(api, db[:4], table)
		var pk frontend.Variable = 1
		for i, bit := range db[4:8] {
			pk = api.Mul(pk, api.Add(1, api.Mul(bit, (1<<(1<<i))-1)))
		}
		far := api.Sub(1, api.IsZero(api.FromBinary(db[8:]...)))
		q := g.divRound(t, 0, pk, 17, 16)
		e[j] = api.Mul(q, api.Sub(1, far))
		sum = api.Add(sum, e[j])
	}
	out := make([]frontend.Variable, len(z))
	for j := range z {
		q := g.divRound(api.Mul(254, e[j]), sum, api.Mul(2, sum), 25, 26)
		out[j] = api.Sub(q, api.Mul(127, api.IsZero(api.Sub(label, j))))
	}
	return out
}

// exp2Table is model's: round(2^16 · 2^(−k/16)).
var exp2Table = [16]int64{65536, 62757, 60097, 57549, 55109, 52773, 50535, 48393, 46341, 44376, 42495, 40693, 38968, 37316, 35734, 34219}

// update is model.UpdateRow with the shift given as 2^s and ⌊2^s/2⌋.
func (g *ints) update(m, dw []frontend.Variable, p, half frontend.Variable, cfg model.Config) []frontend.Variable {
	api := g.api
	lim := int64(127) << uint(cfg.WeightShift)
	out := make([]frontend.Variable, len(m))
	for j := range m {
		x := api.Sub(m[j], g.roundShift(dw[j], p, half, 32, 32))
		if cfg.DecayShift > 0 {
			x = api.Sub(x, g.roundShift(m[j], pow2c(cfg.DecayShift), pow2c(cfg.DecayShift-1), 31, cfg.DecayShift+1))
		}
		f := g.hint(clamp2Hint, 2, x, lim)
		hi, lo := f[0], f[1]
		api.AssertIsBoolean(hi)
		api.AssertIsBoolean(lo)
		api.AssertIsEqual(api.Mul(hi, lo), 0)
		mid := api.Sub(1, hi, lo)
		g.check(api.Add(api.Mul(hi, api.Sub(x, lim+1)), api.Mul(lo, api.Sub(-lim-1, x)), api.Mul(mid, api.Sub(lim, x))), 34)
		g.check(api.Mul(mid, api.Add(x, lim)), 34)
		out[j] = api.Add(api.Mul(api.Sub(hi, lo), lim), api.Mul(mid, x))
	}
	return out
}
