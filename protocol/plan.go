package protocol

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/tensor"
)

// MatrixSpec is one committed matrix of a work unit.
type MatrixSpec struct {
	Name       string
	Kind       tensor.Kind
	Rows, Cols int
	Group      int // row group: matrices of a group are opened at the same rows
	Layer      int // train: the layer l the matrix belongs to (0 for X)
	// Weights is set on master-weight matrices (M_l and M′_l): they are
	// committed under a domain that names the step they are input to, so
	// step t's M′_l and step t+1's M_l have the same root.
	Weights bool
	Next    bool // M′_l: the weights of the next step
	// Derived matrices are functions of the task alone (the matmul operands,
	// GenRow): they are not committed (their root is all zero), bundles
	// carry none of their rows, and the verifier derives the rows it needs.
	// Nothing a miner sends can make them other than the task says.
	Derived byte // 0, or the GenRow name ('A' or 'B')
	// Whole matrices travel complete in every bundle variant (protocol v2):
	// the verifier recomputes their roots and uses every row, so no value it
	// derives from them rests on a sample. Train: every batch-indexed matrix
	// and the int8 weight views W_l.
	Whole bool
}

// Committed reports whether the matrix has a Merkle tree and travels in bundles.
func (m MatrixSpec) Committed() bool { return m.Derived == 0 }

// RowBytes is the size of one row's canonical encoding.
func (m MatrixSpec) RowBytes() int { return m.Cols * m.Kind.Size() }

// Operand names a matrix used as a product operand.
type Operand struct {
	Matrix int  // index into Plan.Matrices
	Trans  bool // used transposed
}

// ProductSpec is one checked product C = op(A)·op(B), C of shape M×N, inner K.
type ProductSpec struct {
	Name    string
	C       int
	A, B    Operand
	M, K, N int
}

// ChallengeLen is the length of the product's Freivalds vector r: N, applied
// from the right (C·r = op(A)·(op(B)·r)), or, when B is used transposed, M,
// applied from the left (rᵀC = (rᵀA)·Bᵀ, checked on every row of B), so that
// the verifier never transposes the large operand B (protocol v2, §5).
func (p ProductSpec) ChallengeLen() int {
	if p.B.Trans {
		return p.M
	}
	return p.N
}

// GroupSpec is a set of matrices with the same number of rows, opened together.
type GroupSpec struct {
	Name     string
	Rows     int
	Matrices []int
}

// Plan is everything about a work unit's shape that follows from its task:
// which matrices are committed, in which order, how they group, and which
// products are checked.
type Plan struct {
	Task     Task
	Matrices []MatrixSpec
	Groups   []GroupSpec
	Products []ProductSpec
	// Train only: indices of the matrices (into Matrices) by role.
	X                int
	Z, A, G, D       []int // Z[l-1], A[l-1] (l < L), G[l-1], D[l-1] (l < L)
	M, DW, MNext     []int // per layer
	W                []int // per layer: the int8 view of M_l, committed whole
	MatA, MatB, MatC int   // matmul only
	BatchGroup       int   // train: the group of batch rows
}

// NewPlan derives the plan of a validated task.
func NewPlan(t Task) (*Plan, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	p := &Plan{Task: t}
	add := func(name string, k tensor.Kind, rows, cols, group, layer int) int {
		p.Matrices = append(p.Matrices, MatrixSpec{Name: name, Kind: k, Rows: rows, Cols: cols, Group: group, Layer: layer})
		return len(p.Matrices) - 1
	}
	switch t.Work {
	case WorkTrain:
		d := t.Train.Dims()
		L := len(d) - 1
		b := t.Train.Batch
		p.X = add("X", tensor.KindInt8, b, d[0], 0, 0)
		for l := 1; l <= L; l++ {
			p.Z = append(p.Z, add(fmt.Sprintf("Z%d", l), tensor.KindInt32, b, d[l], 0, l))
		}
		for l := 1; l < L; l++ {
			p.A = append(p.A, add(fmt.Sprintf("A%d", l), tensor.KindInt8, b, d[l], 0, l))
		}
		for l := 1; l <= L; l++ {
			p.G = append(p.G, add(fmt.Sprintf("G%d", l), tensor.KindInt8, b, d[l], 0, l))
		}
		for l := 1; l < L; l++ {
			p.D = append(p.D, add(fmt.Sprintf("D%d", l), tensor.KindInt32, b, d[l], 0, l))
		}
		for l := 1; l <= L; l++ {
			p.M = append(p.M, add(fmt.Sprintf("M%d", l), tensor.KindInt32, d[l-1], d[l], l, l))
			p.DW = append(p.DW, add(fmt.Sprintf("DW%d", l), tensor.KindInt32, d[l-1], d[l], l, l))
			p.MNext = append(p.MNext, add(fmt.Sprintf("M%d'", l), tensor.KindInt32, d[l-1], d[l], l, l))
			p.Matrices[p.M[l-1]].Weights = true
			p.Matrices[p.MNext[l-1]].Weights = true
			p.Matrices[p.MNext[l-1]].Next = true
		}
		for l := 1; l <= L; l++ {
			p.W = append(p.W, add(fmt.Sprintf("W%d", l), tensor.KindInt8, d[l-1], d[l], l, l))
			p.Matrices[p.W[l-1]].Whole = true
		}
		for _, m := range [][]int{{p.X}, p.Z, p.A, p.G, p.D} {
			for _, i := range m {
				p.Matrices[i].Whole = true
			}
		}
		p.BatchGroup = 0
		p.Groups = append(p.Groups, GroupSpec{Name: "batch", Rows: b})
		for l := 1; l <= L; l++ {
			p.Groups = append(p.Groups, GroupSpec{Name: fmt.Sprintf("layer%d", l), Rows: d[l-1]})
		}
		act := func(l int) int { // A_l, with A_0 = X
			if l == 0 {
				return p.X
			}
			return p.A[l-1]
		}
		for l := 1; l <= L; l++ {
			p.Products = append(p.Products, ProductSpec{
				Name: fmt.Sprintf("Z%d = A%d·W%d", l, l-1, l), C: p.Z[l-1],
				A: Operand{Matrix: act(l - 1)}, B: Operand{Matrix: p.W[l-1]},
				M: b, K: d[l-1], N: d[l],
			})
		}
		for l := L; l >= 2; l-- {
			p.Products = append(p.Products, ProductSpec{
				Name: fmt.Sprintf("D%d = G%d·W%dᵀ", l-1, l, l), C: p.D[l-2],
				A: Operand{Matrix: p.G[l-1]}, B: Operand{Matrix: p.W[l-1], Trans: true},
				M: b, K: d[l], N: d[l-1],
			})
		}
		for l := 1; l <= L; l++ {
			p.Products = append(p.Products, ProductSpec{
				Name: fmt.Sprintf("DW%d = A%dᵀ·G%d", l, l-1, l), C: p.DW[l-1],
				A: Operand{Matrix: act(l - 1), Trans: true}, B: Operand{Matrix: p.G[l-1]},
				M: d[l-1], K: b, N: d[l],
			})
		}
	case WorkMatMul:
		m, k, n := int(t.MatMul.M), int(t.MatMul.K), int(t.MatMul.N)
		p.MatA = add("A", tensor.KindInt8, m, k, 0, 0)
		p.MatC = add("C", tensor.KindInt32, m, n, 0, 0)
		p.MatB = add("B", tensor.KindInt8, k, n, 1, 0)
		p.Matrices[p.MatA].Derived = 'A'
		p.Matrices[p.MatB].Derived = 'B'
		p.Groups = []GroupSpec{{Name: "rows", Rows: m}, {Name: "inner", Rows: k}}
		p.Products = []ProductSpec{{Name: "C = A·B", C: p.MatC, A: Operand{Matrix: p.MatA}, B: Operand{Matrix: p.MatB}, M: m, K: k, N: n}}
	}
	for i, ms := range p.Matrices {
		p.Groups[ms.Group].Matrices = append(p.Groups[ms.Group].Matrices, i)
	}
	return p, nil
}

// Samples returns how many rows of group g are opened (in the sampled
// variant, for the group's matrices that are not Whole).
func (p *Plan) Samples(g int) int { return min(int(p.Task.Samples), p.Groups[g].Rows) }

// Opened reports whether matrix i is opened row by row at sampled rows in a
// sampled bundle: committed and not Whole.
func (p *Plan) Opened(i int) bool { return p.Matrices[i].Committed() && !p.Matrices[i].Whole }

// InitRoots returns the roots of a train task's initial master weights M_l
// (step 0), which every verifier computes from the task itself.
func (p *Plan) InitRoots(taskID commit.Hash) ([]commit.Hash, error) {
	if p.Task.Work != WorkTrain {
		return nil, fmt.Errorf("protocol: %v tasks have no weights", p.Task.Work)
	}
	cfg := p.Task.Train
	out := make([]commit.Hash, len(p.M))
	for l, m := range p.M {
		ms := p.Matrices[m]
		key := p.RowKey(taskID, 0, m)
		h := commit.NewRowHasher(&key)
		leaves := make([]commit.Hash, ms.Rows)
		row := make([]int32, ms.Cols)
		var buf []byte
		for j := range leaves {
			cfg.InitRow(l+1, j, row)
			buf = tensor.Int32Bytes(buf[:0], row)
			leaves[j] = h.Sum(buf)
		}
		root, err := commit.Root(leaves)
		if err != nil {
			return nil, err
		}
		out[l] = root
	}
	return out, nil
}

// MatrixDomain is the domain of matrix i's Merkle tree at a step:
//
//	"trainproof/v1/matrix" ‖ task id ‖ uint64be(step) ‖ uint16be(i) ‖ uint8 kind ‖ uint32be(rows) ‖ uint32be(cols)
//
// except for master weights, whose domain names the layer and the step v
// they are the input of (v = step for M_l, step + 1 for M′_l):
//
//	"trainproof/v1/weights" ‖ task id ‖ uint64be(v) ‖ uint16be(l) ‖ uint8 kind ‖ uint32be(rows) ‖ uint32be(cols)
func (p *Plan) MatrixDomain(taskID commit.Hash, step uint64, i int) []byte {
	m := p.Matrices[i]
	var b []byte
	if m.Weights {
		v := step
		if m.Next {
			v++
		}
		b = append([]byte("trainproof/v1/weights"), taskID[:]...)
		b = binary.BigEndian.AppendUint64(b, v)
		b = binary.BigEndian.AppendUint16(b, uint16(m.Layer))
	} else {
		b = append([]byte("trainproof/v1/matrix"), taskID[:]...)
		b = binary.BigEndian.AppendUint64(b, step)
		b = binary.BigEndian.AppendUint16(b, uint16(i))
	}
	b = append(b, byte(m.Kind))
	b = binary.BigEndian.AppendUint32(b, uint32(m.Rows))
	return binary.BigEndian.AppendUint32(b, uint32(m.Cols))
}

// RowKey is the key of matrix i's row leaves at a step (protocol v2, §3):
// BLAKE3 derive_key(commit.RowKeyContext, MatrixDomain(taskID, step, i)).
// Leaf j of the matrix is commit.RowLeaf(key, row j's canonical bytes).
func (p *Plan) RowKey(taskID commit.Hash, step uint64, i int) [32]byte {
	return commit.RowKey(p.MatrixDomain(taskID, step, i))
}

// StepRoot binds a step: SHA-256("trainproof/v1/step" ‖ task id ‖ uint64be(step) ‖ previous step root ‖ matrix roots in plan order).
func StepRoot(taskID commit.Hash, step uint64, prev commit.Hash, roots []commit.Hash) commit.Hash {
	h := sha256.New()
	h.Write([]byte("trainproof/v1/step"))
	h.Write(taskID[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], step)
	h.Write(b[:])
	h.Write(prev[:])
	for _, r := range roots {
		h.Write(r[:])
	}
	var out commit.Hash
	h.Sum(out[:0])
	return out
}

// DatasetPrefix is the leaf prefix of the data-set tree; its leaf i hashes
// label_i ‖ image_i (see DatasetLeaf).
var DatasetPrefix = commit.LeafPrefix([]byte("trainproof/v1/dataset"))

// DatasetLeaf hashes training example i.
func DatasetLeaf(i int, label uint8, image []byte) commit.Hash {
	data := make([]byte, 0, 1+len(image))
	data = append(data, label)
	data = append(data, image...)
	return commit.Leaf(DatasetPrefix, uint32(i), data)
}

// GenRow fills row i of the seed-derived matrix named by which ('A' or 'B')
// of a matmul work unit (protocol v2, §2): the AES-128-CTR keystream with
//
//	key = SHA-256("trainproof/v2/gen" ‖ uint64be(seed) ‖ which)[0:16]
//	IV  = uint32be(i) ‖ 12 zero bytes
//
// read as int8. A row has at most 2¹⁶ bytes (4096 blocks), so the counter
// never carries into the row index and rows never share keystream. AES-CTR
// is a standard PRG with hardware support on amd64 and arm64: the verifier
// derives all of B for every unit it checks, and v1's SHA-256 per 32 bytes
// cost more than the check itself at n = 4096.
func GenRow(seed uint64, which byte, i int, out []int8) {
	NewRowGen(seed, which).Row(i, out)
}

// RowGen generates the rows of one seed-derived matrix (GenRow) with its
// key derived and expanded once. It is safe for concurrent use.
type RowGen struct {
	block cipher.Block
}

// NewRowGen returns the generator of the matrix named by which ('A' or 'B')
// of a matmul work unit with the given seed.
func NewRowGen(seed uint64, which byte) RowGen {
	var kb [17 + 8 + 1]byte
	n := copy(kb[:], "trainproof/v2/gen")
	binary.BigEndian.PutUint64(kb[n:], seed)
	kb[n+8] = which
	key := sha256.Sum256(kb[:])
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	return RowGen{block: block}
}

// Row fills out (every element) with row i, exactly as GenRow.
func (g RowGen) Row(i int, out []int8) {
	var iv [aes.BlockSize]byte
	binary.BigEndian.PutUint32(iv[:], uint32(i))
	dst := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(out))), len(out))
	clear(dst)
	cipher.NewCTR(g.block, iv[:]).XORKeyStream(dst, dst)
}
