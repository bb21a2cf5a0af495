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

// actsDigest is the Acts input: the Sponge of every batch row's packed
// rows of Z_1..Z_L and D_1..D_{L−1}, row by row, in that order.
func actsDigest(tr *model.Trace) fr.Element {
	var e []fr.Element
	for i := 0; i < tr.X.Rows; i++ {
		for _, z := range tr.Z {
			e = append(e, pack(ints32(z.Row(i)), 32, true)...)
		}
		for _, d := range tr.D {
			e = append(e, pack(ints32(d.Row(i)), 32, true)...)
		}
	}
	return Sponge(e...)
}

// viewsDigest is the Views input: the Sponge of the packed rows of the
// int8 views W_1..W_L, in that order.
func viewsDigest(tr *model.Trace) fr.Element {
	var e []fr.Element
	for _, w := range tr.W {
		for j := 0; j < w.Rows; j++ {
			e = append(e, pack(ints8(w.Row(j)), 8, true)...)
		}
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
	Views             fr.Element // the digest of the int8 views W_l
	Nonce             fr.Element // the beacon's nonce (zero for Fiat–Shamir)
}

func (s *StepStatement) inner() []fr.Element {
	return append(append([]fr.Element{s.Task, elem(int64(s.Step)), s.Data, s.Batch, s.Acts}, s.DW...), s.Views)
}

// Context is the Context public input.
func (s *StepStatement) Context() fr.Element {
	return Sponge(append(s.inner(), s.Nonce)...)
}

// seed is what the challenges are derived from: the whole statement but
// the nonce.
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

// Roots are what a succinct bundle carries, and what a beacon-task miner
// publishes before it gets the nonce: Acts, then M_l, DW_l, M′_l, then Views.
func (s *StepStatement) Roots() []fr.Element {
	return append(append(append(append([]fr.Element{s.Acts}, s.M...), s.DW...), s.MNext...), s.Views)
}

func (s *StepStatement) assign(c *StepCircuit) {
	c.Context, c.Task, c.Miner, c.Step, c.Data, c.Batch, c.Acts = s.Context(), s.Task, s.Miner, s.Step, s.Data, s.Batch, s.Acts
	c.Views, c.Nonce = s.Views, s.Nonce
	for l := range s.M {
		c.M[l], c.DW[l], c.MNext[l] = s.M[l], s.DW[l], s.MNext[l]
	}
}

// sampleRow is row k of layer l: the low 64 bits of Sponge(seed, nonce, 6, l, k) mod n.
func sampleRow(seed, nonce fr.Element, l, k, n int) int {
	h := Sponge(seed, nonce, elem(chalRow), elem(int64(l)), elem(int64(k)))
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
	trees     [3][]*Tree // M, DW, M′ per layer
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
	if len(tr.Z) != L || len(tr.D) != L-1 || len(tr.W) != L || tr.X.Rows != cfg.Batch || len(tr.Index) != cfg.Batch {
		return nil, fmt.Errorf("snark: trace of %d layers and batch %d, the shape has %d and %d", len(tr.Z), tr.X.Rows, L, cfg.Batch)
	}
	w := &StepWitness{Shape: shape, trace: tr, data: data, dataTree: dataTree}
	st := &w.Statement
	st.Task, st.Miner, st.Step = TaskDigest(task.ID()), MinerDigest(miner), tr.Step
	st.Data, st.Batch = dataTree.Root(), BatchDigest(cfg, tr.Step)
	st.Acts, st.Views = actsDigest(tr), viewsDigest(tr)
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
	return w, nil
}

// SetNonce sets the beacon's nonce, issued after the miner published the
// statement's roots (beacon tasks only).
func (w *StepWitness) SetNonce(n [32]byte) { w.Statement.Nonce = NonceElement(n) }

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

// SampledRows returns the rows of each layer the circuit opens (k < S),
// drawn from the statement's seed and nonce.
func (st *StepStatement) SampledRows(shape StepShape) [][]int {
	d := shape.Config.Dims()
	seed := st.seed()
	rows := make([][]int, len(d)-1)
	for l := 1; l < len(d); l++ {
		for k := 0; k < shape.Samples; k++ {
			rows[l-1] = append(rows[l-1], sampleRow(seed, st.Nonce, l, k, d[l-1]))
		}
	}
	return rows
}

// Assignment answers the circuit honestly: the trace as committed.
func (w *StepWitness) Assignment() (*StepCircuit, error) {
	c, err := NewStepCircuit(w.Shape)
	if err != nil {
		return nil, err
	}
	tr, cfg := w.trace, w.Shape.Config
	L := len(cfg.Dims()) - 1
	w.Statement.assign(c)
	for i, e := range tr.Index {
		c.Index[i] = e
		o := &c.Rows[i]
		for l := 1; l <= L; l++ {
			setRow(o.Z[l-1], tr.Z[l-1].Row(i))
			if l < L {
				setRow(o.D[l-1], tr.D[l-1].Row(i))
			}
		}
		for j, p := range w.data.Image(e) {
			o.Half[j], o.Low[j] = p>>1, p&1
		}
		o.Label = w.data.Labels[e]
		setPath(o.DataPath, w.dataTree.Path(e))
	}
	for l, rows := range w.Statement.SampledRows(w.Shape) {
		for j := range c.W[l] {
			setRow(c.W[l][j], tr.W[l].Row(j))
		}
		for k, j := range rows {
			o := &c.Layers[l][k]
			setRow(o.M, tr.M[l].Row(j))
			setRow(o.DW, tr.DW[l].Row(j))
			setRow(o.MNext, tr.MNext[l].Row(j))
			setPath(o.PathM, w.trees[0][l].Path(j))
			setPath(o.PathDW, w.trees[1][l].Path(j))
			setPath(o.PathMNext, w.trees[2][l].Path(j))
		}
	}
	return c, nil
}
