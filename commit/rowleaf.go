package commit

import (
	"encoding/binary"

	"lukechampine.com/blake3"
	"lukechampine.com/blake3/guts"
)

// RowKeyContext is the BLAKE3 derive_key context string of matrix row keys
// (docs/PROTOCOL.md §3).
const RowKeyContext = "trainproof v2 matrix row key"

// ChunkSize is BLAKE3's chunk: the unit a row's hashing splits into. Chunk j
// of a row is its bytes [1024j, 1024j+1024), hashed at chunk counter j.
const ChunkSize = guts.ChunkSize

// RowKey derives the key of a matrix's row leaves from its domain:
// BLAKE3 derive_key(RowKeyContext, domain), 32 bytes.
func RowKey(domain []byte) [32]byte {
	var k [32]byte
	blake3.DeriveKey(k[:], RowKeyContext, domain)
	return k
}

// RowLeaf returns the Merkle leaf of a matrix row given its canonical bytes:
// BLAKE3 keyed_hash(key, data), 32 bytes. Nothing precedes the data: the
// row's index is bound by the leaf's position in the tree.
func RowLeaf(key *[32]byte, data []byte) Hash {
	h := NewRowHasher(key)
	return h.Sum(data)
}

// A RowHasher computes RowLeaf for one key, one row at a time, without
// allocating: through lukechampine.com/blake3's chunk and parent functions,
// 16 chunks at a time where its AVX-512 path runs, with BLAKE3's tree above
// 16 chunks merged here. It is safe for concurrent use. For the rows of a
// matrix, HashRows is faster: it fills its lanes across rows.
type RowHasher struct {
	key [8]uint32
}

// NewRowHasher returns a hasher for rows under key.
func NewRowHasher(key *[32]byte) RowHasher {
	var h RowHasher
	for i := range h.key {
		h.key[i] = binary.LittleEndian.Uint32(key[4*i:])
	}
	return h
}

// group is the bytes hashed at once: MaxSIMD chunks, a complete subtree.
const group = guts.MaxSIMD * guts.ChunkSize

// Sum returns the leaf of one row.
func (h *RowHasher) Sum(data []byte) Hash {
	const flags = guts.FlagKeyedHash
	var n guts.Node
	if len(data) <= group {
		n = h.tail(data, 0)
	} else {
		// Full groups while more data follows (BLAKE3 merges lazily: the
		// last subtree may be the root's child, never a pushed one).
		// stack[l] holds a subtree of 2^l groups; bit l of done says so.
		var stack [48][8]uint32
		var done uint64
		for len(data) > group {
			cv := guts.ChainingValue(guts.CompressBuffer((*[group]byte)(data), group, &h.key, 16*done, flags))
			l := 0
			for ; done&(1<<l) != 0; l++ {
				cv = guts.ChainingValue(guts.ParentNode(stack[l], cv, &h.key, flags))
			}
			stack[l] = cv
			done++
			data = data[group:]
		}
		n = h.tail(data, 16*done)
		for l := 0; l < 48; l++ {
			if done&(1<<l) != 0 {
				n = guts.ParentNode(stack[l], guts.ChainingValue(n), &h.key, flags)
			}
		}
	}
	n.Flags |= guts.FlagRoot
	out := guts.CompressNode(n)
	var leaf Hash
	for i := range 8 {
		binary.LittleEndian.PutUint32(leaf[4*i:], out[i])
	}
	return leaf
}

// tail returns the (unfinalised) node of the last 1 … group bytes of a row,
// starting at chunk counter: a chunk's node when they fit one chunk, else
// their subtree's top parent.
func (h *RowHasher) tail(data []byte, counter uint64) guts.Node {
	const flags = guts.FlagKeyedHash
	switch {
	case len(data) <= guts.ChunkSize:
		return guts.CompressChunk(data, &h.key, counter, flags)
	case len(data) == group:
		return guts.CompressBuffer((*[group]byte)(data), group, &h.key, counter, flags)
	}
	return h.padded(data, counter)
}

// padded hashes a partial group through a copy (CompressBuffer reads a whole
// group): out of line so that rows of whole groups never clear the buffer.
//
//go:noinline
func (h *RowHasher) padded(data []byte, counter uint64) guts.Node {
	var buf [group]byte
	copy(buf[:], data)
	return guts.CompressBuffer(&buf, len(data), &h.key, counter, guts.FlagKeyedHash)
}

// HashRows computes out[i] = RowLeaf(key, row i) for the len(out) rows of
// rowBytes bytes each stored one after another in data: 16 chunks at a time
// with AVX-512, 8 with AVX2, else in Go (see lanes.go), across rows when
// rows are shorter than 16 chunks.
func HashRows(key *[32]byte, data []byte, rowBytes int, out []Hash) {
	if rowBytes < 0 || len(data) < rowBytes*len(out) {
		panic("commit: HashRows: data shorter than its rows")
	}
	hashRowsLanes(laneKernels[0], key, data, rowBytes, out)
}

// HashRowsKernel names the lane kernel HashRows runs on this machine and
// build: "avx512", "avx2" or "go".
func HashRowsKernel() string { return laneKernels[0].name }
