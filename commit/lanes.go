package commit

import (
	"encoding/binary"
	"unsafe"

	"lukechampine.com/blake3/guts"
)

// Many rows at once. A lane kernel runs BLAKE3's compression function on 16
// (or 8) independent lanes, one 32-bit word of every lane per vector
// element; HashRows feeds it whatever a matrix offers: 16 rows of one chunk,
// the chunks of several rows, then the parents of BLAKE3's tree, level by
// level across rows. Kernels: AVX-512F and AVX2 (generated, commit/_asm),
// and compressLanesGeneric, their pure-Go twin, all under one contract:
//
//   - lane l starts from cv = key with block counter ctr[l] (high word 0);
//   - block b < nfull of lane l is the 64 bytes at base + offs[l] + 64·b,
//     block b ≥ nfull (at most one) is last[l], zero-padded by the caller;
//   - block b has length blk[b][0] and flags blk[b][1];
//   - out[w][l] is word w of lane l's final chaining value (the first 32
//     bytes of the output when the last block's flags have ROOT).
type lanesFunc func(out *[8][16]uint32, key *[8]uint32, base *byte, offs *[16]int32, last *[16][64]byte, ctr *[16]uint32, blk *[16][2]uint32, nfull, nblocks int)

// A laneKernel is one implementation of the contract, lanes wide.
type laneKernel struct {
	name  string
	lanes int
	fn    lanesFunc
}

// genericKernel is the pure-Go twin of the SIMD kernels.
var genericKernel = laneKernel{"go", 16, compressLanesGeneric}

// compressLanesGeneric is the lane contract in Go (guts.CompressNode), 16 lanes.
func compressLanesGeneric(out *[8][16]uint32, key *[8]uint32, base *byte, offs *[16]int32, last *[16][64]byte, ctr *[16]uint32, blk *[16][2]uint32, nfull, nblocks int) {
	for l := range 16 {
		cv := *key
		for b := range nblocks {
			var block []byte
			if b < nfull {
				block = unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(base), int(offs[l])+64*b)), 64)
			} else {
				block = last[l][:]
			}
			n := guts.Node{CV: cv, Counter: uint64(ctr[l]), BlockLen: blk[b][0], Flags: blk[b][1]}
			for w := range n.Block {
				n.Block[w] = binary.LittleEndian.Uint32(block[4*w:])
			}
			cv = guts.ChainingValue(n)
		}
		for w := range cv {
			out[w][l] = cv[w]
		}
	}
}

// laneJob is the arguments of one kernel call.
type laneJob struct {
	key  [8]uint32
	out  [8][16]uint32
	offs [16]int32
	last [16][64]byte
	ctr  [16]uint32
	blk  [16][2]uint32
}

func (j *laneJob) run(k laneKernel, base *byte, nfull, nblocks int) {
	if base == nil {
		base = &j.last[0][0] // nothing is read at base when nfull = 0
	}
	k.fn(&j.out, &j.key, base, &j.offs, &j.last, &j.ctr, &j.blk, nfull, nblocks)
}

// cv returns lane l's output.
func (j *laneJob) cv(l int) (cv [8]uint32) {
	for w := range cv {
		cv[w] = j.out[w][l]
	}
	return cv
}

// leaf returns lane l's output as a leaf: eight little-endian words.
func (j *laneJob) leaf(l int) (h Hash) {
	for w := range 8 {
		binary.LittleEndian.PutUint32(h[4*w:], j.out[w][l])
	}
	return h
}

// chunkBlocks sets blk for a chunk of n bytes (n ≤ ChunkSize) with extra
// flags on its last block and returns its full blocks (read in place) and
// all its blocks (an empty chunk is one empty block).
func (j *laneJob) chunkBlocks(n int, extra uint32) (nfull, nblocks int) {
	nblocks = max(1, (n+63)/64)
	for b := range nblocks {
		j.blk[b] = [2]uint32{64, guts.FlagKeyedHash}
	}
	j.blk[0][1] |= guts.FlagChunkStart
	j.blk[nblocks-1] = [2]uint32{uint32(n - 64*(nblocks-1)), j.blk[nblocks-1][1] | guts.FlagChunkEnd | extra}
	return n / 64, nblocks
}

// setLast copies lane l's final partial block (src, < 64 bytes), zero-padded.
func (j *laneJob) setLast(l int, src []byte) {
	j.last[l] = [64]byte{}
	copy(j.last[l][:], src)
}

// maxBatchChunks bounds the chunks whose chaining values one batch of rows
// keeps (16 KiB of them).
const maxBatchChunks = 512

// hashRowsLanes computes out[i] = RowLeaf(key, row i) for rows of rowBytes
// bytes stored one after another in data, with kernel k.
func hashRowsLanes(k laneKernel, key *[32]byte, data []byte, rowBytes int, out []Hash) {
	if len(out) == 0 {
		return
	}
	var j laneJob
	for i := range j.key {
		j.key[i] = binary.LittleEndian.Uint32(key[4*i:])
	}
	if rowBytes <= ChunkSize {
		oneChunkRows(k, &j, data, rowBytes, out)
		return
	}
	cpr := (rowBytes + ChunkSize - 1) / ChunkSize
	batch := max(1, min(len(out), maxBatchChunks/cpr))
	cvs := make([][8]uint32, batch*cpr)
	for r0 := 0; r0 < len(out); r0 += batch {
		nr := min(batch, len(out)-r0)
		chunkRows(k, &j, data[r0*rowBytes:(r0+nr)*rowBytes], rowBytes, cpr, cvs[:nr*cpr], out[r0:r0+nr])
	}
}

// oneChunkRows hashes rows of at most one chunk, lanes rows a call: each row
// is its own root chunk.
func oneChunkRows(k laneKernel, j *laneJob, data []byte, rowBytes int, out []Hash) {
	nfull, nblocks := j.chunkBlocks(rowBytes, guts.FlagRoot)
	clear(j.ctr[:])
	for r0 := 0; r0 < len(out); r0 += k.lanes {
		n := min(k.lanes, len(out)-r0)
		for l := range k.lanes {
			src := min(l, n-1) // spare lanes repeat the last row
			j.offs[l] = int32(src * rowBytes)
			if nfull < nblocks {
				row := data[(r0+src)*rowBytes : (r0+src+1)*rowBytes]
				j.setLast(l, row[64*nfull:])
			}
		}
		var base *byte
		if nfull > 0 {
			base = &data[r0*rowBytes]
		}
		j.run(k, base, nfull, nblocks)
		for l := range n {
			out[r0+l] = j.leaf(l)
		}
	}
}

// chunkRows hashes rows of cpr ≥ 2 chunks: every chunk's chaining value,
// lanes chunks a call across rows, then BLAKE3's tree, one level at a time
// across rows (pairs of neighbours, an odd last node carried up: the tree
// of BLAKE3, whose left subtrees are complete), the top parent with ROOT.
func chunkRows(k laneKernel, j *laneJob, data []byte, rowBytes, cpr int, cvs [][8]uint32, out []Hash) {
	nr := len(out)
	tail := rowBytes - ChunkSize*(cpr-1) // the last chunk's bytes, 1 … 1024
	full := cpr                          // chunks a row read in place as 16 full blocks
	if tail < ChunkSize {
		full--
	}
	// Whole chunks, in row order.
	nfull, nblocks := j.chunkBlocks(ChunkSize, 0)
	total := nr * full
	for t0 := 0; t0 < total; t0 += k.lanes {
		for l := range k.lanes {
			t := min(t0+l, total-1)
			r, c := t/full, t%full
			j.offs[l] = int32(r*rowBytes + ChunkSize*c)
			j.ctr[l] = uint32(c)
		}
		j.run(k, &data[0], nfull, nblocks)
		for l := range min(k.lanes, total-t0) {
			t := t0 + l
			cvs[t/full*cpr+t%full] = j.cv(l)
		}
	}
	// Partial last chunks, one a row.
	if full < cpr {
		nfull, nblocks := j.chunkBlocks(tail, 0)
		for r0 := 0; r0 < nr; r0 += k.lanes {
			n := min(k.lanes, nr-r0)
			for l := range k.lanes {
				r := r0 + min(l, n-1)
				j.offs[l] = int32(r*rowBytes + ChunkSize*(cpr-1))
				j.ctr[l] = uint32(cpr - 1)
				if nfull < nblocks {
					j.setLast(l, data[r*rowBytes+ChunkSize*(cpr-1)+64*nfull:(r+1)*rowBytes])
				}
			}
			j.run(k, &data[0], nfull, nblocks)
			for l := range n {
				cvs[(r0+l)*cpr+cpr-1] = j.cv(l)
			}
		}
	}
	// The tree: level by level, in place (parent p of a row goes to slot p,
	// which no later pair of the level reads).
	clear(j.ctr[:])
	base := (*byte)(unsafe.Pointer(&cvs[0]))
	for count := cpr; count > 1; count = count/2 + count%2 {
		pairs := count / 2
		flags := uint32(guts.FlagKeyedHash | guts.FlagParent)
		if count == 2 {
			flags |= guts.FlagRoot
		}
		j.blk[0] = [2]uint32{64, flags}
		total := nr * pairs
		for t0 := 0; t0 < total; t0 += k.lanes {
			for l := range k.lanes {
				t := min(t0+l, total-1)
				j.offs[l] = int32(32 * (t/pairs*cpr + 2*(t%pairs)))
			}
			j.run(k, base, 1, 1)
			for l := range min(k.lanes, total-t0) {
				t := t0 + l
				if count == 2 {
					out[t] = j.leaf(l)
				} else {
					cvs[t/pairs*cpr+t%pairs] = j.cv(l)
				}
			}
		}
		if count%2 == 1 {
			for r := range nr {
				cvs[r*cpr+pairs] = cvs[r*cpr+count-1]
			}
		}
	}
}
