// Package snark turns the sampled checks of a work unit into a succinct
// proof: Poseidon2 (BN254) commitments to matrix rows, natively and inside a
// gnark circuit; the row-opening gadget (open a row against a root, project it
// onto a challenge vector); the matmul-unit circuit, whose challenges are
// derived in the circuit from the commitments; Groth16 keys in versioned
// envelopes; and succinct bundles. docs/PROTOCOL.md §8 specifies them and
// docs/SOUNDNESS.md says what they prove. The training-step circuit is not
// written yet.
package snark

import (
	"fmt"

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
