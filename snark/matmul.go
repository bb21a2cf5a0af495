package snark

import (
	"fmt"
	"math/big"
	"math/bits"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash/poseidon2"
	"github.com/consensys/gnark/std/selector"
)

// MatMulCircuit proves the sampled Freivalds checks of a matmul unit
// C = A·B (A: M×K int8, B: K×N int8, C: M×N int32) against the Poseidon2 row
// roots of A, B and C, public inputs with Miner (MinerDigest of the signer,
// so that another miner cannot re-sign the proof), Task (TaskDigest of the
// task id, which covers the mode and the sample count, so that one proof
// serves one task) and Nonce (NonceElement of the beacon's nonce, issued
// after the miner published the roots; zero for Fiat–Shamir tasks):
//
//  1. seed = H(RootA, RootB, RootC, Miner, Task, Nonce); r_j = H(seed, j)
//     for j < N;
//  2. the prover's q = B·r is hashed, hq = H(seed, q…), only now the rows are
//     drawn: i_k = low bits of H(hq, k), j_k = low bits of H(hq, S + k);
//  3. for each k: rows i_k of A and C and row j_k of B open against their
//     roots, and C_i·r = A_i·q, B_j·r = q_j (in the BN254 scalar field).
//
// So the circuit checks in zero knowledge what sampled mode checks in the
// clear, with Fiat–Shamir challenges derived in-circuit from the commitments.
// M and K must be powers of two (indices are bit slices).
type MatMulCircuit struct {
	RootA, RootB, RootC, Miner, Task, Nonce frontend.Variable `gnark:",public"`

	Q      []frontend.Variable   // K
	ARows  [][]frontend.Variable // S × K
	APaths [][]frontend.Variable // S × log2 M
	CRows  [][]frontend.Variable // S × N
	CPaths [][]frontend.Variable // S × log2 M
	BRows  [][]frontend.Variable // S × N
	BPaths [][]frontend.Variable // S × log2 K
}

// MatMulShape is the shape a MatMulCircuit is compiled for.
type MatMulShape struct{ M, K, N, S int }

// Limits of a matmul circuit's shape, checked before anything is compiled or
// allocated: a key or ceremony file names its shape, and a hostile file must
// not make a node compile a circuit it cannot hold. The witness holds
// K + S·(K+2N) row elements (about 180 constraints each); MaxMatMulWitness
// keeps a circuit under about 48 M constraints, some 30 GiB to set up, and
// far above any shape a network would prove succinctly.
const (
	MaxMatMulDim     = 1 << 16
	MaxMatMulSamples = 1 << 10
	MaxMatMulWitness = 1 << 18
)

func (s MatMulShape) validate() error {
	if s.M < 2 || s.K < 2 || s.N < 1 || s.S < 1 || s.M&(s.M-1) != 0 || s.K&(s.K-1) != 0 {
		return fmt.Errorf("snark: shape %+v: M and K must be powers of two ≥ 2, N and S ≥ 1", s)
	}
	if s.M > MaxMatMulDim || s.K > MaxMatMulDim || s.N > MaxMatMulDim || s.S > MaxMatMulSamples {
		return fmt.Errorf("snark: shape %+v: M, K and N at most %d, S at most %d", s, MaxMatMulDim, MaxMatMulSamples)
	}
	if w := s.K + s.S*(s.K+2*s.N); w > MaxMatMulWitness {
		return fmt.Errorf("snark: shape %+v: %d witness row elements, at most %d", s, w, MaxMatMulWitness)
	}
	return nil
}

func log2(n int) int { return bits.Len(uint(n)) - 1 }

func matrix(rows, cols int) [][]frontend.Variable {
	m := make([][]frontend.Variable, rows)
	for i := range m {
		m[i] = make([]frontend.Variable, cols)
	}
	return m
}

// NewMatMulCircuit allocates the circuit for a shape.
func NewMatMulCircuit(s MatMulShape) (*MatMulCircuit, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &MatMulCircuit{
		Q:     make([]frontend.Variable, s.K),
		ARows: matrix(s.S, s.K), APaths: matrix(s.S, log2(s.M)),
		CRows: matrix(s.S, s.N), CPaths: matrix(s.S, log2(s.M)),
		BRows: matrix(s.S, s.N), BPaths: matrix(s.S, log2(s.K)),
	}, nil
}

func (c *MatMulCircuit) Define(api frontend.API) error {
	S, N := len(c.ARows), len(c.CRows[0])
	h, err := poseidon2.New(api)
	if err != nil {
		return err
	}
	hash := func(xs ...frontend.Variable) frontend.Variable {
		h.Reset()
		h.Write(xs...)
		return h.Sum()
	}
	seed := hash(c.RootA, c.RootB, c.RootC, c.Miner, c.Task, c.Nonce)
	r := make([]frontend.Variable, N)
	for j := range r {
		r[j] = hash(seed, j)
	}
	hq := hash(append([]frontend.Variable{seed}, c.Q...)...)
	for k := 0; k < S; k++ {
		ib := api.ToBinary(hash(hq, k), api.Compiler().FieldBitLen())[:len(c.APaths[k])]
		jb := api.ToBinary(hash(hq, S+k), api.Compiler().FieldBitLen())[:len(c.BPaths[k])]
		cr, err := OpenRowBits(api, 32, c.RootC, c.CRows[k], ib, c.CPaths[k], r)
		if err != nil {
			return err
		}
		aq, err := OpenRowBits(api, 8, c.RootA, c.ARows[k], ib, c.APaths[k], c.Q)
		if err != nil {
			return err
		}
		api.AssertIsEqual(aq, cr)
		br, err := OpenRowBits(api, 8, c.RootB, c.BRows[k], jb, c.BPaths[k], r)
		if err != nil {
			return err
		}
		j := api.FromBinary(jb...)
		api.AssertIsEqual(br, selector.Mux(api, j, c.Q...))
	}
	return nil
}

// --- the native side -------------------------------------------------------

func elem(x int64) fr.Element {
	var e fr.Element
	e.SetInt64(x)
	return e
}

// RowLeaf8 is the leaf of an int8 row.
func RowLeaf8(row []int8) fr.Element {
	elems := make([]fr.Element, len(row))
	for i, x := range row {
		elems[i].SetInt64(int64(x))
	}
	return Hash(elems...)
}

// MatMulWitness holds a unit's matrices and trees, to answer the circuit.
type MatMulWitness struct {
	Shape      MatMulShape
	Miner      fr.Element // MinerDigest of the key that will sign
	Task       fr.Element // TaskDigest of the task id
	Nonce      fr.Element // NonceElement of the beacon's nonce (zero for Fiat–Shamir)
	A, B       [][]int8
	C          [][]int32
	TA, TB, TC *Tree
}

// NewMatMulWitness commits to A, B and C (row-major slices of slices).
func NewMatMulWitness(s MatMulShape, a, b [][]int8, c [][]int32) (*MatMulWitness, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	w := &MatMulWitness{Shape: s, A: a, B: b, C: c}
	var err error
	la := make([]fr.Element, s.M)
	lc := make([]fr.Element, s.M)
	for i := range la {
		la[i], lc[i] = RowLeaf8(a[i]), RowLeaf(c[i])
	}
	lb := make([]fr.Element, s.K)
	for j := range lb {
		lb[j] = RowLeaf8(b[j])
	}
	if w.TA, err = NewTree(la); err != nil {
		return nil, err
	}
	if w.TB, err = NewTree(lb); err != nil {
		return nil, err
	}
	if w.TC, err = NewTree(lc); err != nil {
		return nil, err
	}
	return w, nil
}

func lowBits(e fr.Element, n int) int {
	b := e.BigInt(new(big.Int))
	return int(new(big.Int).And(b, big.NewInt(int64(1<<n-1))).Int64())
}

// Assignment answers the circuit's challenges honestly.
func (w *MatMulWitness) Assignment() *MatMulCircuit {
	s := w.Shape
	c, _ := NewMatMulCircuit(s)
	ra, rb, rc := w.TA.Root(), w.TB.Root(), w.TC.Root()
	c.RootA, c.RootB, c.RootC, c.Miner, c.Task, c.Nonce = ra, rb, rc, w.Miner, w.Task, w.Nonce
	seed := Hash(ra, rb, rc, w.Miner, w.Task, w.Nonce)
	r := make([]fr.Element, s.N)
	for j := range r {
		r[j] = Hash(seed, elem(int64(j)))
	}
	q := make([]fr.Element, s.K)
	for j := range q {
		for t := 0; t < s.N; t++ {
			x := elem(int64(w.B[j][t]))
			x.Mul(&x, &r[t])
			q[j].Add(&q[j], &x)
		}
		c.Q[j] = q[j]
	}
	hq := Hash(append([]fr.Element{seed}, q...)...)
	for k := 0; k < s.S; k++ {
		i := lowBits(Hash(hq, elem(int64(k))), log2(s.M))
		j := lowBits(Hash(hq, elem(int64(s.S+k))), log2(s.K))
		for t := 0; t < s.K; t++ {
			c.ARows[k][t] = w.A[i][t]
		}
		for t := 0; t < s.N; t++ {
			c.CRows[k][t] = w.C[i][t]
			c.BRows[k][t] = w.B[j][t]
		}
		for lvl, sib := range w.TA.Path(i) {
			c.APaths[k][lvl] = sib
		}
		for lvl, sib := range w.TC.Path(i) {
			c.CPaths[k][lvl] = sib
		}
		for lvl, sib := range w.TB.Path(j) {
			c.BPaths[k][lvl] = sib
		}
	}
	return c
}
