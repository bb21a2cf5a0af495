// Package snark turns the sampled checks of a work unit into a succinct
// proof: Poseidon2 (BN254) commitments to matrix rows, natively and inside a
// gnark circuit; the row-opening gadget; the matmul-unit circuit
// (MatMulCircuit) and the training-step circuit (StepCircuit: the batch and
// the int8 weight views held whole and hashed in the circuit, Freivalds
// checks of every product with no prover-supplied answer vectors, the
// element-wise functions of the model bit for bit on every batch row, the
// training examples opened against the data set's root, and sampled rows
// of the weights, gradients and updates), both with their challenges
// derived in the circuit; Groth16 keys in versioned envelopes, from a
// development setup or a multi-party ceremony; PLONK as the universal-setup
// alternative; succinct bundles and their verification, natively
// (VerifyMatMul, VerifyStep, StepChain) and, through package snark/evm
// (which alone imports go-ethereum), in a real EVM: the exported verifier
// and the StepChain contract. docs/PROTOCOL.md §8–9 specify them and
// docs/SOUNDNESS.md says what they prove.
package snark

import (
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

// Hash is Poseidon2 in Merkle–Damgård mode over BN254 field elements, the
// same function std/hash/poseidon2 computes in a circuit.
func Hash(elems ...fr.Element) fr.Element {
	h := poseidon2.NewMerkleDamgardHasher()
	for i := range elems {
		b := elems[i].Bytes()
		h.Write(b[:])
	}
	var out fr.Element
	out.SetBytes(h.Sum(nil))
	return out
}

// RowLeaf is the leaf of an int32 row: Hash of its elements, each mapped to
// the field by its residue (negative values as r − |x|).
func RowLeaf(row []int32) fr.Element {
	elems := make([]fr.Element, len(row))
	for i, x := range row {
		elems[i].SetInt64(int64(x))
	}
	return Hash(elems...)
}

// Tree is a Poseidon2 Merkle tree: node = Hash(left, right), padded with
// zero leaves to a power of two.
type Tree struct {
	levels [][]fr.Element
}

// NewTree builds a tree over leaves.
func NewTree(leaves []fr.Element) (*Tree, error) {
	if len(leaves) == 0 {
		return nil, fmt.Errorf("snark: empty tree")
	}
	n := 1
	for n < len(leaves) {
		n *= 2
	}
	level := make([]fr.Element, n)
	copy(level, leaves)
	t := &Tree{levels: [][]fr.Element{level}}
	for len(level) > 1 {
		next := make([]fr.Element, len(level)/2)
		for i := range next {
			next[i] = Hash(level[2*i], level[2*i+1])
		}
		t.levels = append(t.levels, next)
		level = next
	}
	return t, nil
}

// Root is the tree's root.
func (t *Tree) Root() fr.Element { return t.levels[len(t.levels)-1][0] }

// Depth is the number of siblings in an opening.
func (t *Tree) Depth() int { return len(t.levels) - 1 }

// Path returns the siblings of leaf i from the bottom up.
func (t *Tree) Path(i int) []fr.Element {
	var p []fr.Element
	for _, level := range t.levels[:len(t.levels)-1] {
		p = append(p, level[i^1])
		i >>= 1
	}
	return p
}

// Sponge hashes a message of any length with the width-16 Poseidon2
// permutation (gnark-crypto's BN254 parameters: 8 full, 57 partial rounds):
// the capacity element (index 15) starts at the message length, 15
// elements are absorbed per permutation (the last block zero-padded, and
// one permutation for an empty message), and the output is element 0.
// In a circuit it costs about 37 constraints per element, against 186 for
// Hash, so the step circuit uses it for rows, leaves and its transcript;
// Merkle nodes stay Hash(left, right).
func Sponge(elems ...fr.Element) fr.Element {
	var state [SpongeWidth]fr.Element
	state[SpongeRate].SetUint64(uint64(len(elems)))
	for i := 0; i == 0 || i < len(elems); i += SpongeRate {
		for k := 0; k < SpongeRate && i+k < len(elems); k++ {
			state[k].Add(&state[k], &elems[i+k])
		}
		if err := spongePerm().Permutation(state[:]); err != nil {
			panic(err)
		}
	}
	return state[0]
}

// SpongeWidth and SpongeRate are the sponge's state and rate in elements.
const (
	SpongeWidth = 16
	SpongeRate  = SpongeWidth - 1
	spongeFull  = 8
	spongePart  = 57
)

var spongePerm = sync.OnceValue(func() *poseidon2.Permutation {
	return poseidon2.NewPermutation(SpongeWidth, spongeFull, spongePart)
})
