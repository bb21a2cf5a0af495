package snark

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math/big"
	"runtime"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/dataset"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/tensor"
)

// pack is the native side of the circuit's packing: values v (+ 2^(w−1)
// when signed), ⌊248/w⌋ per element, little-endian.
func pack(vals []int64, width int, signed bool) []fr.Element {
	per := packPer(width)
	var out []fr.Element
	for i := 0; i < len(vals); i += per {
		acc := new(big.Int)
		for k := min(per, len(vals)-i) - 1; k >= 0; k-- {
			v := vals[i+k]
			if signed {
				v += 1 << (width - 1)
			}
			acc.Lsh(acc, uint(width))
			acc.Add(acc, big.NewInt(v))
		}
		var e fr.Element
		e.SetBigInt(acc)
		out = append(out, e)
	}
	return out
}

func ints32(r []int32) []int64 {
	out := make([]int64, len(r))
	for i, x := range r {
		out[i] = int64(x)
	}
	return out
}

func ints8(r []int8) []int64 {
	out := make([]int64, len(r))
	for i, x := range r {
		out[i] = int64(x)
	}
	return out
}

// PackedLeaf32 is the leaf of an int32 row in a step's trees.
func PackedLeaf32(row []int32) fr.Element { return Sponge(pack(ints32(row), 32, true)...) }

// BatchLeaf is leaf i of the batch tree: the packed rows i of Z_1..Z_L,
// A_1..A_{L−1}, G_1..G_L, D_1..D_{L−1}, in that order.
func BatchLeaf(tr *model.Trace, i int) fr.Element {
	var e []fr.Element
	for _, z := range tr.Z {
		e = append(e, pack(ints32(z.Row(i)), 32, true)...)
	}
	for _, a := range tr.A {
		e = append(e, pack(ints8(a.Row(i)), 8, true)...)
	}
	for _, g := range tr.G {
		e = append(e, pack(ints8(g.Row(i)), 8, true)...)
	}
	for _, d := range tr.D {
		e = append(e, pack(ints32(d.Row(i)), 32, true)...)
	}
	return Sponge(e...)
}

// DataLeaf is leaf i of the data-set tree: Sponge(label, packed pixels).
func DataLeaf(label uint8, image []byte) fr.Element {
	px := make([]int64, len(image))
	for i, p := range image {
		px[i] = int64(p)
	}
	return Sponge(append([]fr.Element{elem(int64(label))}, pack(px, 8, false)...)...)
}

func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	w := runtime.GOMAXPROCS(0)
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += w {
				f(i)
			}
		}(g)
	}
	wg.Wait()
}

// NewDataTree builds the Poseidon2 tree over a data set's first 60 000
// examples (model.TrainExamples), the set batches are drawn from.
func NewDataTree(set *dataset.Set) (*Tree, error) {
	if set.N < model.TrainExamples || set.Rows*set.Cols != model.InputDim {
		return nil, fmt.Errorf("snark: data set of %d images of %d×%d, need %d of 28×28", set.N, set.Rows, set.Cols, model.TrainExamples)
	}
	leaves := make([]fr.Element, model.TrainExamples)
	parallel(len(leaves), func(i int) { leaves[i] = DataLeaf(set.Labels[i], set.Image(i)) })
	return NewTree(leaves)
}

func rowTree(m *tensor.Int32) (*Tree, error) {
	leaves := make([]fr.Element, m.Rows)
	parallel(m.Rows, func(i int) { leaves[i] = PackedLeaf32(m.Row(i)) })
	return NewTree(leaves)
}

// InitRoots are the roots of a task's initial weights (step 0's M_l), for
// a verifier to check the first step of a chain against.
func InitRoots(cfg model.Config) ([]fr.Element, error) {
	d := cfg.Dims()
	var roots []fr.Element
	for l := 1; l < len(d); l++ {
		m := tensor.NewInt32(d[l-1], d[l])
		for j := 0; j < m.Rows; j++ {
			cfg.InitRow(l, j, m.Row(j))
		}
		t, err := rowTree(m)
		if err != nil {
			return nil, err
		}
		roots = append(roots, t.Root())
	}
	return roots, nil
}

// digest31 reads the first 31 bytes of a hash as a field element.
func digest31(h []byte) fr.Element {
	var e fr.Element
	e.SetBytes(h[:31])
	return e
}

// TaskDigest is the Task public input of a task id.
func TaskDigest(id commit.Hash) fr.Element { return digest31(id[:]) }

// MinerDigest is the Miner public input: SHA-256("trainproof/v1/miner" ‖ key), first 31 bytes.
func MinerDigest(pk ed25519.PublicKey) fr.Element {
	h := sha256.Sum256(append([]byte("trainproof/v1/miner"), pk...))
	return digest31(h[:])
}

// BatchDigest is the Batch public input: Hash of the step's
// training-example indices, 16 bits each, packed.
func BatchDigest(cfg model.Config, step uint64) fr.Element {
	idx := make([]int64, cfg.Batch)
	for i := range idx {
		idx[i] = int64(cfg.SampleIndex(step, i))
	}
	return Sponge(pack(idx, 16, false)...)
}

// StepStatement is what a step proof is about: its public inputs are
// Context (a sponge over most of it), Miner, M and MNext.
type StepStatement struct {
	Task, Miner       fr.Element
	Step              uint64
	Data, Batch, Acts fr.Element
	M, DW, MNext      []fr.Element
	PreCommit         fr.Element // ζ: the hash of the answer vectors
	Nonce             fr.Element // the beacon's nonce (zero for Fiat–Shamir)
}

func (s *StepStatement) inner() []fr.Element {
	return append([]fr.Element{s.Task, elem(int64(s.Step)), s.Data, s.Batch, s.Acts}, s.DW...)
}

// Context is the Context public input.
func (s *StepStatement) Context() fr.Element {
	return Sponge(append(s.inner(), s.PreCommit, s.Nonce)...)
}

// seed is what the Freivalds challenges are derived from: the statement
// without PreCommit and Nonce, which come after the answers.
func (s *StepStatement) seed() fr.Element {
	return Sponge(append(append(append(s.inner(), s.Miner), s.M...), s.MNext...)...)
}

// NonceElement maps a 32-byte beacon nonce to the Nonce input (its first 31 bytes).
func NonceElement(n [32]byte) fr.Element { return digest31(n[:]) }

// Elements lists the public inputs in the circuit's order: Context, Miner,
// M_1..M_L, M′_1..M′_L.
func (s *StepStatement) Elements() []fr.Element {
	return append(append([]fr.Element{s.Context(), s.Miner}, s.M...), s.MNext...)
}

// Roots are what a succinct bundle carries: Acts, then M_l, DW_l, M′_l, then PreCommit.
func (s *StepStatement) Roots() []fr.Element {
	return append(append(append(append([]fr.Element{s.Acts}, s.M...), s.DW...), s.MNext...), s.PreCommit)
}

func (s *StepStatement) assign(c *StepCircuit) {
	c.Context, c.Task, c.Miner, c.Step, c.Data, c.Batch, c.Acts = s.Context(), s.Task, s.Miner, s.Step, s.Data, s.Batch, s.Acts
	c.PreCommit, c.Nonce = s.PreCommit, s.Nonce
	for l := range s.M {
		c.M[l], c.DW[l], c.MNext[l] = s.M[l], s.DW[l], s.MNext[l]
	}
}

func powersOf(x fr.Element, n int) []fr.Element {
	out := make([]fr.Element, n)
	out[0].SetOne()
	for i := 1; i < n; i++ {
		out[i].Mul(&out[i-1], &x)
	}
	return out
}

func chalVec(seed fr.Element, kind, l, n int) []fr.Element {
	return powersOf(Sponge(seed, elem(int64(kind)), elem(int64(l))), n)
}

// mulVec8 returns M·v (trans: Mᵀ·v) for an int8 matrix.
func mulVec8(m *tensor.Int8, v []fr.Element, trans bool) []fr.Element {
	n := m.Rows
	if trans {
		n = m.Cols
	}
	out := make([]fr.Element, n)
	for i := 0; i < m.Rows; i++ {
		row := m.Row(i)
		for j, x := range row {
			var t fr.Element
			t.SetInt64(int64(x))
			if trans {
				t.Mul(&t, &v[i])
				out[j].Add(&out[j], &t)
			} else {
				t.Mul(&t, &v[j])
				out[i].Add(&out[i], &t)
			}
		}
	}
	return out
}

func mulVec32(m *tensor.Int32, v []fr.Element) []fr.Element {
	out := make([]fr.Element, m.Rows)
	for i := range out {
		for j, x := range m.Row(i) {
			var t fr.Element
			t.SetInt64(int64(x))
			t.Mul(&t, &v[j])
			out[i].Add(&out[i], &t)
		}
	}
	return out
}

// sampleRow is row k of group g: the low 64 bits of Sponge(ζ, nonce, 6, g, k) mod n.
func sampleRow(zeta, nonce fr.Element, group, k, n int) int {
	h := Sponge(zeta, nonce, elem(chalRow), elem(int64(group)), elem(int64(k)))
	b := h.BigInt(new(big.Int))
	lo := new(big.Int).And(b, new(big.Int).SetUint64(^uint64(0)))
	return int(new(big.Int).Mod(lo, big.NewInt(int64(n))).Int64())
}

// StepWitness is everything a prover needs to answer the step circuit.
type StepWitness struct {
	Shape     StepShape
	Statement StepStatement
	trace     *model.Trace
	data      *dataset.Set
	dataTree  *Tree
	batch     *Tree
	trees     [3][]*Tree        // M, DW, M′ per layer
	vectors   [6][][]fr.Element // q^Z, q^D, w^D, c^DW, q^DW, y^DW
}

// NewStepWitness commits to a step of a training task. dataTree is
// NewDataTree(data); miner is the key that will sign the bundle.
func NewStepWitness(task protocol.Task, miner ed25519.PublicKey, tr *model.Trace,
	data *dataset.Set, dataTree *Tree) (*StepWitness, error) {
	if task.Work != protocol.WorkTrain {
		return nil, fmt.Errorf("snark: a %v task has no training steps", task.Work)
	}
	shape := StepShapeOf(task)
	if err := shape.validate(); err != nil {
		return nil, err
	}
	cfg := task.Train
	d := cfg.Dims()
	L := len(d) - 1
	if len(tr.Z) != L || tr.X.Rows != cfg.Batch {
		return nil, fmt.Errorf("snark: trace of %d layers and batch %d, the shape has %d and %d", len(tr.Z), tr.X.Rows, L, cfg.Batch)
	}
	w := &StepWitness{Shape: shape, trace: tr, data: data, dataTree: dataTree}
	leaves := make([]fr.Element, cfg.Batch)
	parallel(cfg.Batch, func(i int) { leaves[i] = BatchLeaf(tr, i) })
	var err error
	if w.batch, err = NewTree(leaves); err != nil {
		return nil, err
	}
	st := &w.Statement
	st.Task, st.Miner, st.Step = TaskDigest(task.ID()), MinerDigest(miner), tr.Step
	st.Data, st.Batch, st.Acts = dataTree.Root(), BatchDigest(cfg, tr.Step), w.batch.Root()
	for k, ms := range [3][]*tensor.Int32{tr.M, tr.DW, tr.MNext} {
		for _, m := range ms {
			t, err := rowTree(m)
			if err != nil {
				return nil, err
			}
			w.trees[k] = append(w.trees[k], t)
		}
	}
	for l := 0; l < L; l++ {
		st.M = append(st.M, w.trees[0][l].Root())
		st.DW = append(st.DW, w.trees[1][l].Root())
		st.MNext = append(st.MNext, w.trees[2][l].Root())
	}
	w.answer()
	return w, nil
}

// SetNonce sets the beacon's nonce, issued after the miner published the
// statement's roots and PreCommit (beacon tasks only).
func (w *StepWitness) SetNonce(n [32]byte) { w.Statement.Nonce = NonceElement(n) }

// answer computes the answer vectors and PreCommit.
func (w *StepWitness) answer() {
	tr, cfg := w.trace, w.Shape.Config
	d := cfg.Dims()
	L := len(d) - 1
	seed := w.Statement.seed()
	act := func(l int) *tensor.Int8 { // A_l, A_0 = X
		if l == 0 {
			return tr.X
		}
		return tr.A[l-1]
	}
	v := &w.vectors
	for l := 1; l <= L; l++ {
		v[0] = append(v[0], mulVec8(tr.W[l-1], chalVec(seed, chalZ, l, d[l]), false))
		if l < L {
			rD, sD := chalVec(seed, chalD, l, d[l]), chalVec(seed, chalDS, l, d[l+1])
			v[1] = append(v[1], mulVec8(tr.W[l], rD, true))
			v[2] = append(v[2], mulVec8(tr.W[l], sD, false))
		}
		rDW, tDW := chalVec(seed, chalDW, l, d[l]), chalVec(seed, chalDWT, l, d[l-1])
		v[3] = append(v[3], mulVec32(tr.DW[l-1], rDW))
		v[4] = append(v[4], mulVec8(tr.G[l-1], rDW, false))
		v[5] = append(v[5], mulVec8(act(l-1), tDW, false))
	}
	transcript := []fr.Element{seed}
	for _, vs := range v {
		for _, x := range vs {
			transcript = append(transcript, x...)
		}
	}
	w.Statement.PreCommit = Sponge(transcript...)
}

func setVec(dst []frontend.Variable, v []fr.Element) {
	for i := range v {
		dst[i] = v[i]
	}
}

func setRow[T int8 | int32](dst []frontend.Variable, row []T) {
	for i, x := range row {
		dst[i] = int64(x)
	}
}

func setPath(dst []frontend.Variable, p []fr.Element) {
	for i := range p {
		dst[i] = p[i]
	}
}

// Assignment answers the circuit's challenges honestly.
func (w *StepWitness) Assignment() (*StepCircuit, error) {
	c, err := NewStepCircuit(w.Shape)
	if err != nil {
		return nil, err
	}
	tr, cfg := w.trace, w.Shape.Config
	d := cfg.Dims()
	L, b := len(d)-1, cfg.Batch
	w.Statement.assign(c)
	for i, e := range tr.Index {
		c.Index[i] = e
	}
	for k, vs := range w.vectors {
		dst := [][][]frontend.Variable{c.QZ, c.QD, c.WD, c.CDW, c.QDW, c.YDW}[k]
		for i, v := range vs {
			setVec(dst[i], v)
		}
	}
	zeta, nonce := w.Statement.PreCommit, w.Statement.Nonce
	for k := range c.Rows {
		o := &c.Rows[k]
		i := sampleRow(zeta, nonce, 0, k, b)
		for l := 1; l <= L; l++ {
			setRow(o.Z[l-1], tr.Z[l-1].Row(i))
			setRow(o.G[l-1], tr.G[l-1].Row(i))
			if l < L {
				setRow(o.A[l-1], tr.A[l-1].Row(i))
				setRow(o.D[l-1], tr.D[l-1].Row(i))
			}
		}
		setPath(o.Path, w.batch.Path(i))
		e := tr.Index[i]
		for j, p := range w.data.Image(e) {
			o.Half[j], o.Low[j] = p>>1, p&1
		}
		o.Label = w.data.Labels[e]
		setPath(o.DataPath, w.dataTree.Path(e))
	}
	for l := 1; l <= L; l++ {
		for k := range c.Layers[l-1] {
			o := &c.Layers[l-1][k]
			j := sampleRow(zeta, nonce, l, k, d[l-1])
			setRow(o.M, tr.M[l-1].Row(j))
			setRow(o.DW, tr.DW[l-1].Row(j))
			setRow(o.MNext, tr.MNext[l-1].Row(j))
			setPath(o.PathM, w.trees[0][l-1].Path(j))
			setPath(o.PathDW, w.trees[1][l-1].Path(j))
			setPath(o.PathMNext, w.trees[2][l-1].Path(j))
		}
	}
	return c, nil
}
