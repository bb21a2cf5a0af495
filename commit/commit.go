// Package commit builds the Merkle commitments trainproof binds every matrix
// to: one tree per matrix, one leaf per row (docs/PROTOCOL.md §3).
//
// Matrix rows (protocol v2) have BLAKE3 leaves, keyed by the matrix's domain;
// the tree's nodes are SHA-256 with a one-byte tag (RFC 6962 style, extended):
//
//	row leaf = BLAKE3-keyed_hash(RowKey(domain), row bytes)      (RowLeaf, HashRows)
//	node     = SHA-256(0x01 ‖ left ‖ right)
//	empty    = SHA-256(0x02)                     (pads the leaf layer to a power of two)
//
// where domain names the matrix (task, step, matrix id, kind, shape; see
// protocol.Plan.MatrixDomain), so a row cannot be moved to another matrix,
// step or task without changing its leaf, and its position in the tree binds
// its index. A row's leaf splits into BLAKE3's 1 KiB chunks: HashRows hashes
// 16 of them at a time with AVX-512 (8 with AVX2, else in Go), across rows.
//
// Leaf, with prefix 0x00 ‖ domain, is version 1's SHA-256 leaf
// SHA-256(prefix ‖ uint32be(row) ‖ row bytes), which the data-set tree keeps.
//
// A tree over n leaves has depth ⌈log2 n⌉ and every opening has exactly that
// many siblings. Nothing here panics on untrusted input but HashRows given
// fewer bytes than its rows (a caller's bug).
package commit

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// Hash is a 32-byte digest: a SHA-256 node or a BLAKE3 leaf.
type Hash = [32]byte

const (
	tagLeaf  = 0x00
	tagNode  = 0x01
	tagEmpty = 0x02
)

// Empty pads leaf layers to a power of two.
var Empty = sha256.Sum256([]byte{tagEmpty})

// ErrPath reports a Merkle opening that does not lead to the root.
var ErrPath = errors.New("commit: merkle path does not match root")

// MaxLeaves bounds the leaves of one tree (and so the depth, 32).
const MaxLeaves = 1<<31 - 1

// Depth returns the number of siblings in an opening of a tree over n leaves.
func Depth(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// LeafPrefix returns the bytes that precede uint32be(row) in every SHA-256
// leaf (Leaf) of a tree with the given domain: tagLeaf ‖ domain. Version 2
// uses it for the data-set tree only.
func LeafPrefix(domain []byte) []byte {
	return append([]byte{tagLeaf}, domain...)
}

// Leaf is the SHA-256 leaf of one item (the data-set tree's; matrix rows
// use RowLeaf).
func Leaf(prefix []byte, row uint32, data []byte) Hash {
	h := sha256.New()
	h.Write(prefix)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], row)
	h.Write(b[:])
	h.Write(data)
	var out Hash
	h.Sum(out[:0])
	return out
}

// Node hashes two children.
func Node(l, r Hash) Hash {
	var b [65]byte
	b[0] = tagNode
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// Tree is a Merkle tree with every level kept, for openings.
type Tree struct {
	n      int
	levels [][]Hash // levels[0] = padded leaves, last = root
}

// New builds a tree over leaves (which it keeps; do not modify them).
func New(leaves []Hash) (*Tree, error) {
	n := len(leaves)
	if n == 0 || n > MaxLeaves {
		return nil, fmt.Errorf("commit: %d leaves out of range", n)
	}
	d := Depth(n)
	level := leaves
	if len(level) != 1<<d {
		level = make([]Hash, 1<<d)
		copy(level, leaves)
		for i := n; i < len(level); i++ {
			level[i] = Empty
		}
	}
	t := &Tree{n: n, levels: [][]Hash{level}}
	for len(level) > 1 {
		next := make([]Hash, len(level)/2)
		for i := range next {
			next[i] = Node(level[2*i], level[2*i+1])
		}
		t.levels = append(t.levels, next)
		level = next
	}
	return t, nil
}

// Root returns the tree's root.
func (t *Tree) Root() Hash { return t.levels[len(t.levels)-1][0] }

// Leaves returns the number of (unpadded) leaves.
func (t *Tree) Leaves() int { return t.n }

// Path returns the siblings of leaf i from the bottom up.
func (t *Tree) Path(i int) []Hash {
	path := make([]Hash, 0, len(t.levels)-1)
	for _, level := range t.levels[:len(t.levels)-1] {
		path = append(path, level[i^1])
		i >>= 1
	}
	return path
}

// RootFromPath recomputes the root from leaf i of a tree over n leaves.
func RootFromPath(leaf Hash, i, n int, path []Hash) (Hash, error) {
	if i < 0 || i >= n || len(path) != Depth(n) {
		return Hash{}, fmt.Errorf("%w: leaf %d of %d with %d siblings", ErrPath, i, n, len(path))
	}
	h := leaf
	for _, s := range path {
		if i&1 == 0 {
			h = Node(h, s)
		} else {
			h = Node(s, h)
		}
		i >>= 1
	}
	return h, nil
}

// Verify checks that leaf is at index i of the tree over n leaves with root.
func Verify(root, leaf Hash, i, n int, path []Hash) error {
	got, err := RootFromPath(leaf, i, n, path)
	if err != nil {
		return err
	}
	if got != root {
		return ErrPath
	}
	return nil
}

// Root computes the root of a tree over leaves without keeping the levels.
func Root(leaves []Hash) (Hash, error) {
	t, err := New(leaves)
	if err != nil {
		return Hash{}, err
	}
	return t.Root(), nil
}

// VerifyMany checks several openings of one tree over n leaves at once:
// leaves[k] at index idx[k] with siblings paths[k]. Ancestors that openings
// share are hashed once, and every sibling an opening names must be the one
// the others imply, so it accepts exactly what Verify accepts opening by
// opening. It returns -1 when every opening leads to root, else the
// position k of an opening that does not.
func VerifyMany(root Hash, n int, idx []int, leaves []Hash, paths [][]Hash) int {
	d := Depth(n)
	type node struct {
		i    int
		h    Hash
		reps []int // the openings under this node
	}
	cur := make([]node, len(idx))
	for k, i := range idx {
		if i < 0 || i >= n || len(paths[k]) != d {
			return k
		}
		cur[k] = node{i, leaves[k], []int{k}}
	}
	slices.SortFunc(cur, func(a, b node) int { return a.i - b.i })
	// The same leaf opened more than once: one node, every opening under it.
	merged := cur[:0]
	for _, x := range cur {
		if m := len(merged); m > 0 && merged[m-1].i == x.i {
			if merged[m-1].h != x.h {
				return verifyEach(root, n, idx, leaves, paths)
			}
			merged[m-1].reps = append(merged[m-1].reps, x.reps...)
			continue
		}
		merged = append(merged, x)
	}
	cur = merged
	// agree reports whether every opening under x names sib at level.
	agree := func(x node, level int, sib Hash) bool {
		for _, k := range x.reps {
			if paths[k][level] != sib {
				return false
			}
		}
		return true
	}
	for level := 0; level < d; level++ {
		next := make([]node, 0, len(cur))
		for j := 0; j < len(cur); {
			x := cur[j]
			if x.i&1 == 0 && j+1 < len(cur) && cur[j+1].i == x.i+1 {
				y := cur[j+1]
				if !agree(x, level, y.h) || !agree(y, level, x.h) {
					return verifyEach(root, n, idx, leaves, paths)
				}
				next = append(next, node{x.i >> 1, Node(x.h, y.h), append(x.reps, y.reps...)})
				j += 2
				continue
			}
			sib := paths[x.reps[0]][level]
			if !agree(x, level, sib) {
				return verifyEach(root, n, idx, leaves, paths)
			}
			h := Node(x.h, sib)
			if x.i&1 == 1 {
				h = Node(sib, x.h)
			}
			next = append(next, node{x.i >> 1, h, x.reps})
			j++
		}
		cur = next
	}
	if len(cur) > 1 || (len(cur) == 1 && cur[0].h != root) {
		return verifyEach(root, n, idx, leaves, paths)
	}
	return -1
}

// verifyEach finds an opening that fails alone (VerifyMany's slow path, to
// say which).
func verifyEach(root Hash, n int, idx []int, leaves []Hash, paths [][]Hash) int {
	for k := range idx {
		if Verify(root, leaves[k], idx[k], n, paths[k]) != nil {
			return k
		}
	}
	return 0 // the openings disagree with one another, though each leads to root: a collision
}
