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

// BatchOpening is one sampled batch row: the rows of every batch-indexed
// matrix but X, which the circuit computes from the training example the row
// was drawn from, opened against the data-set root.
type BatchOpening struct {
	Z, D     [][]frontend.Variable // int32 rows Z_1..Z_L, D_1..D_{L−1}
	A, G     [][]frontend.Variable // int8 rows A_1..A_{L−1}, G_1..G_L
	Path     []frontend.Variable   // in the batch tree
	Half     []frontend.Variable   // pixel = 2·Half + Low
	Low      []frontend.Variable
	Label    frontend.Variable
	DataPath []frontend.Variable
}

// LayerOpening is one sampled row of layer l's weights, gradient and next weights.
type LayerOpening struct {
	M, DW, MNext             []frontend.Variable
	PathM, PathDW, PathMNext []frontend.Variable
}

// StepCircuit proves that the sampled checks of one training step pass
// against the Poseidon2 roots of its matrices (docs/PROTOCOL.md §9). Its
// public inputs are few, so that an EVM verifier stays cheap:
//
//   - Context: Sponge(Task, Step, Data, Batch, Acts, DW_1..DW_L, PreCommit,
//     Nonce), where Task is the task id (first 31 bytes), Data the data
//     set's root, Batch the digest of the step's training-example indices,
//     Acts the root of the batch tree (leaf i packs row i of every Z_l, A_l,
//     G_l, D_l), DW_l the roots of the weight gradients, PreCommit ζ (below)
//     and Nonce the beacon's nonce (0 in Fiat–Shamir tasks); a verifier
//     recomputes it from the bundle and the nonce it issued;
//   - Miner: the miner's public key (SHA-256, first 31 bytes), so that a
//     proof cannot be re-signed by another miner;
//   - M_l and M′_l: the roots of each layer's weights before and after the
//     step (row trees, so step t's M′_l root is step t+1's M_l root), which
//     a contract chains.
//
// The Freivalds challenge vectors are powers of values hashed from the
// statement (all of it but PreCommit and Nonce); the prover's answer vectors
// are hashed after them into ζ = PreCommit, and the sampled rows are drawn
// from ζ and Nonce. In a beacon task the miner publishes its roots and ζ
// before it learns the nonce, so it cannot grind the rows.
type StepCircuit struct {
	Context, Miner frontend.Variable   `gnark:",public"`
	M, MNext       []frontend.Variable `gnark:",public"`

	Task, Step, Data, Batch, Acts frontend.Variable
	DW                            []frontend.Variable
	PreCommit, Nonce              frontend.Variable // ζ, and the beacon's nonce (0 for Fiat–Shamir)

	Index         []frontend.Variable   // b training-example indices
	QZ            [][]frontend.Variable // Z_l: q = W_l·r (d_{l−1})
	QD, WD        [][]frontend.Variable // D_l: q = W_{l+1}ᵀ·r (d_{l+1}), w = W_{l+1}·s (d_l)
	CDW, QDW, YDW [][]frontend.Variable // DW_l: c = DW_l·r (d_{l−1}), q = G_l·r (b), y = A_{l−1}·t (b)
	Rows          []BatchOpening        // S
	Layers        [][]LayerOpening      // L × S

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
	for l := 1; l <= L; l++ {
		c.QZ = append(c.QZ, vec(d[l-1]))
		c.CDW = append(c.CDW, vec(d[l-1]))
		c.QDW = append(c.QDW, vec(b))
		c.YDW = append(c.YDW, vec(b))
		if l < L {
			c.QD = append(c.QD, vec(d[l+1]))
			c.WD = append(c.WD, vec(d[l]))
		}
	}
	for k := 0; k < S; k++ {
		o := BatchOpening{Path: vec(depth(b)), Half: vec(model.InputDim), Low: vec(model.InputDim), DataPath: vec(DataDepth)}
		for l := 1; l <= L; l++ {
			o.Z = append(o.Z, vec(d[l]))
			o.G = append(o.G, vec(d[l]))
			if l < L {
				o.A = append(o.A, vec(d[l]))
				o.D = append(o.D, vec(d[l]))
			}
		}
		c.Rows = append(c.Rows, o)
	}
	for l := 1; l <= L; l++ {
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
	api := g.api
	per := packPer(width)
	var out []frontend.Variable
	for i := 0; i < len(vals); i += per {
		var acc frontend.Variable = 0
		for k := 0; k < per && i+k < len(vals); k++ {
			v := vals[i+k]
			if signed {
				v = api.Add(v, pow2c(width-1))
			}
			g.check(v, width)
			acc = api.Add(acc, api.Mul(v, pow2c(width*k)))
		}
		out = append(out, acc)
	}
	return out
}

func dot(api frontend.API, a, b []frontend.Variable) frontend.Variable {
	var acc frontend.Variable = 0
	for i := range a {
		acc = api.Add(acc, api.Mul(a[i], b[i]))
	}
	return acc
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

// Challenge kinds, hashed with the seed and the layer.
const (
	chalZ   = 1 // r of Z_l
	chalD   = 2 // r of D_l
	chalDS  = 3 // s of D_l
	chalDW  = 4 // r of DW_l
	chalDWT = 5 // t of DW_l
	chalRow = 6 // sampled rows: (6, group, k)
)

func (c *StepCircuit) Define(api frontend.API) error {
	g := newInts(api)
	cfg := c.Shape.Config
	d := cfg.Dims()
	L, b, S := len(d)-1, cfg.Batch, c.Shape.Samples
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

	// Context binds the private statement values; the seed binds all of the
	// statement but PreCommit and Nonce, which come after the answers; the
	// challenge vectors follow from the seed.
	inner := append([]frontend.Variable{c.Task, c.Step, c.Data, c.Batch, c.Acts}, c.DW...)
	api.AssertIsEqual(long(append(append([]frontend.Variable(nil), inner...), c.PreCommit, c.Nonce)...), c.Context)
	seed := long(append(append(append(inner, c.Miner), c.M...), c.MNext...)...)
	chal := func(kind, l, n int) []frontend.Variable { return powers(api, long(seed, kind, l), n) }
	rZ, rD, sD, rDW, tDW := make([][]frontend.Variable, L+1), make([][]frontend.Variable, L+1),
		make([][]frontend.Variable, L+1), make([][]frontend.Variable, L+1), make([][]frontend.Variable, L+1)
	for l := 1; l <= L; l++ {
		rZ[l] = chal(chalZ, l, d[l])
		rDW[l] = chal(chalDW, l, d[l])
		tDW[l] = chal(chalDWT, l, d[l-1])
		if l < L {
			rD[l] = chal(chalD, l, d[l])
			sD[l] = chal(chalDS, l, d[l+1])
		}
	}

	// The batch's training examples, as the verifier computed them.
	api.AssertIsEqual(long(g.pack(c.Index, 16, false)...), c.Batch)

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

	// Whole-vector checks of the transposed products: sᵀq = wᵀr, tᵀc = yᵀq.
	for l := 1; l < L; l++ {
		api.AssertIsEqual(dot(api, sD[l], c.QD[l-1]), dot(api, c.WD[l-1], rD[l]))
	}
	for l := 1; l <= L; l++ {
		api.AssertIsEqual(dot(api, tDW[l], c.CDW[l-1]), dot(api, c.YDW[l-1], c.QDW[l-1]))
	}

	// Everything about the opened rows that does not depend on which rows
	// they are: range checks, leaves, element-wise functions, projections.
	type batchRow struct {
		leaf, dataLeaf frontend.Variable
		qdw, ydw       []frontend.Variable // G_l·r, A_{l−1}·t
	}
	brs := make([]batchRow, S)
	for k, o := range c.Rows {
		var elems []frontend.Variable
		for _, z := range o.Z {
			elems = append(elems, g.pack(z, 32, true)...)
		}
		for _, a := range o.A {
			elems = append(elems, g.pack(a, 8, true)...)
		}
		for _, gr := range o.G {
			elems = append(elems, g.pack(gr, 8, true)...)
		}
		for _, dr := range o.D {
			elems = append(elems, g.pack(dr, 32, true)...)
		}
		br := batchRow{leaf: long(elems...)}
		x := make([]frontend.Variable, model.InputDim)
		pix := make([]frontend.Variable, model.InputDim)
		for j := range x {
			g.check(o.Half[j], 7)
			api.AssertIsBoolean(o.Low[j])
			pix[j] = api.Add(api.Mul(o.Half[j], 2), o.Low[j])
			x[j] = api.Sub(o.Half[j], cfg.InputOffset)
		}
		br.dataLeaf = long(append([]frontend.Variable{o.Label}, g.pack(pix, 8, false)...)...)
		g.check(o.Label, 8)
		acts := make([]act, L)
		for l := 1; l <= L; l++ {
			in := x
			if l > 1 {
				in = o.A[l-2]
			}
			api.AssertIsEqual(dot(api, o.Z[l-1], rZ[l]), dot(api, in, c.QZ[l-1]))
			if l < L {
				var out []frontend.Variable
				out, acts[l-1] = g.actRow(o.Z[l-1])
				for j := range out {
					api.AssertIsEqual(out[j], o.A[l-1][j])
				}
				api.AssertIsEqual(dot(api, o.D[l-1], rD[l]), dot(api, o.G[l], c.QD[l-1]))
			}
			br.qdw = append(br.qdw, dot(api, o.G[l-1], rDW[l]))
			br.ydw = append(br.ydw, dot(api, in, tDW[l]))
		}
		for j, v := range g.lossGrad(o.Z[L-1], o.Label, cfg.LogitShift) {
			api.AssertIsEqual(v, o.G[L-1][j])
		}
		for l := 1; l < L; l++ {
			for j, v := range g.backAct(o.D[l-1], acts[l-1], cfg.GradShift(l)) {
				api.AssertIsEqual(v, o.G[l-1][j])
			}
		}
		brs[k] = br
	}
	type layerRow struct {
		lm, ldw, lnext frontend.Variable
		qz, wd, cdw    frontend.Variable
	}
	lrs := make([][]layerRow, L)
	lim := int64(127) << uint(cfg.WeightShift)
	for l := 1; l <= L; l++ {
		for _, o := range c.Layers[l-1] {
			for _, m := range o.M {
				g.check(api.Add(m, lim), cfg.WeightShift+8)
				g.check(api.Sub(lim, m), cfg.WeightShift+8)
			}
			lr := layerRow{lm: long(g.pack(o.M, 32, true)...), ldw: long(g.pack(o.DW, 32, true)...),
				lnext: long(g.pack(o.MNext, 32, true)...)}
			view := o.M
			if cfg.WeightShift > 0 {
				view = make([]frontend.Variable, len(o.M))
				for j, m := range o.M {
					view[j] = g.roundShift(m, pow2c(cfg.WeightShift), pow2c(cfg.WeightShift-1), 31, cfg.WeightShift+1)
				}
			}
			lr.qz = dot(api, view, rZ[l])
			if l >= 2 {
				lr.wd = dot(api, view, sD[l-1])
			}
			lr.cdw = dot(api, o.DW, rDW[l])
			for j, v := range g.update(o.M, o.DW, pLR, halfLR, cfg) {
				api.AssertIsEqual(v, o.MNext[j])
			}
			lrs[l-1] = append(lrs[l-1], lr)
		}
	}

	// The prover's vectors are hashed into the transcript; only then are
	// the rows drawn.
	transcript := []frontend.Variable{seed}
	for _, vs := range [][][]frontend.Variable{c.QZ, c.QD, c.WD, c.CDW, c.QDW, c.YDW} {
		for _, v := range vs {
			transcript = append(transcript, v...)
		}
	}
	zeta := long(transcript...)
	api.AssertIsEqual(zeta, c.PreCommit)
	{
		// sample returns the bits of row k of a group of n rows.
		sample := func(group, k, n int) []frontend.Variable {
			hb := api.ToBinary(long(zeta, c.Nonce, chalRow, group, k), api.Compiler().FieldBitLen())
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
		for k, o := range c.Rows {
			ib := sample(0, k, b)
			merkle(brs[k].leaf, ib, o.Path, c.Acts)
			e := pick(ib, c.Index)
			merkle(brs[k].dataLeaf, api.ToBinary(e, DataDepth), o.DataPath, c.Data)
			for l := 1; l <= L; l++ {
				api.AssertIsEqual(pick(ib, c.QDW[l-1]), brs[k].qdw[l-1])
				api.AssertIsEqual(pick(ib, c.YDW[l-1]), brs[k].ydw[l-1])
			}
		}
		for l := 1; l <= L; l++ {
			for k, o := range c.Layers[l-1] {
				ib := sample(l, k, d[l-1])
				lr := lrs[l-1][k]
				merkle(lr.lm, ib, o.PathM, c.M[l-1])
				merkle(lr.ldw, ib, o.PathDW, c.DW[l-1])
				merkle(lr.lnext, ib, o.PathMNext, c.MNext[l-1])
				api.AssertIsEqual(pick(ib, c.QZ[l-1]), lr.qz)
				api.AssertIsEqual(pick(ib, c.CDW[l-1]), lr.cdw)
				if l >= 2 {
					api.AssertIsEqual(pick(ib, c.WD[l-2]), lr.wd)
				}
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
	a := act{p: p, half: half, pos: make([]frontend.Variable, len(z))}
	out := make([]frontend.Variable, len(z))
	for j, v := range z {
		pos := g.hint(posHint, 1, v)[0]
		api.AssertIsBoolean(pos)
		// pos = 1: v − 1 ≥ 0; pos = 0: −v ≥ 0.
		g.check(api.Sub(api.Mul(2, pos, v), api.Add(pos, v)), 32)
		a.pos[j] = pos
		out[j] = g.divRound(api.Mul(pos, v, 128), half, p, 38, 34)
	}
	return out, a
}

// backAct is model.BackActRow: roundShift(d, ActShift + gs − 10), which is
// roundShift(d·2^17, u + gs), clamped to ±127 where the ReLU passed.
func (g *ints) backAct(d []frontend.Variable, a act, gs int) []frontend.Variable {
	api := g.api
	pp := api.Mul(a.p, pow2c(gs))
	halfp := a.half
	if gs > 0 {
		halfp = api.Mul(a.p, pow2c(gs-1))
	}
	out := make([]frontend.Variable, len(d))
	for j, v := range d {
		ax, sigma := g.abs(api.Mul(v, pow2c(17)), 49)
		q := g.divRound(ax, halfp, pp, 49, 66)
		cl := g.hint(clampHint, 1, q, 127)[0]
		api.AssertIsBoolean(cl)
		g.check(api.Add(api.Mul(cl, api.Sub(q, 128)), api.Mul(api.Sub(1, cl), api.Sub(127, q))), 50)
		mag := api.Add(q, api.Mul(cl, api.Sub(127, q)))
		out[j] = api.Mul(a.pos[j], mag, api.Sub(1, api.Mul(2, sigma)))
	}
	return out
}

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
