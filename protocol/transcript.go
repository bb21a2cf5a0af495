package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/seed46f70faa/trainproof/field"
)

// Transcript is the Fiat–Shamir transcript: a SHA-256 hash chain.
//
//	start:   state = SHA-256("trainproof/v2/transcript")
//	absorb:  state = SHA-256(state ‖ 0x01 ‖ uint32be(len(label)) ‖ label ‖ uint64be(len(data)) ‖ data)
//	squeeze: block_j = SHA-256(state ‖ 0x02 ‖ uint32be(len(label)) ‖ label ‖ uint64be(j)), j = 0, 1, …
//	         then state = SHA-256(state ‖ 0x03 ‖ uint32be(len(label)) ‖ label)
//
// Field elements are read from the blocks as big-endian uint64 words (four
// per block), shifted right by 3 to 61 bits, and accepted when below p
// (rejection sampling, so they are uniform in F_p).
type Transcript struct {
	state [32]byte
}

// NewTranscript starts a transcript.
func NewTranscript() *Transcript {
	return &Transcript{state: sha256.Sum256([]byte("trainproof/v2/transcript"))}
}

func (t *Transcript) header(tag byte, label string) []byte {
	b := make([]byte, 0, 32+1+4+len(label)+8)
	b = append(b, t.state[:]...)
	b = append(b, tag)
	b = binary.BigEndian.AppendUint32(b, uint32(len(label)))
	return append(b, label...)
}

// Absorb binds data under a label.
func (t *Transcript) Absorb(label string, data []byte) {
	h := sha256.New()
	h.Write(t.header(0x01, label))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(data)))
	h.Write(n[:])
	h.Write(data)
	h.Sum(t.state[:0])
}

// AbsorbElems binds a vector of field elements (8 bytes big-endian each).
func (t *Transcript) AbsorbElems(label string, v []field.Elem) {
	t.Absorb(label, AppendElems(nil, v))
}

// State returns the current state (a commitment to everything absorbed).
func (t *Transcript) State() [32]byte { return t.state }

// Elems squeezes n uniform field elements.
func (t *Transcript) Elems(label string, n int) []field.Elem {
	out := make([]field.Elem, 0, n)
	hdr := t.header(0x02, label)
	buf := make([]byte, len(hdr)+8)
	copy(buf, hdr)
	for j := uint64(0); len(out) < n; j++ {
		binary.BigEndian.PutUint64(buf[len(hdr):], j)
		blk := sha256.Sum256(buf)
		for w := 0; w < 4 && len(out) < n; w++ {
			x := binary.BigEndian.Uint64(blk[8*w:]) >> 3
			if x < field.P {
				out = append(out, field.Elem(x))
			}
		}
	}
	t.state = sha256.Sum256(t.header(0x03, label))
	return out
}

// Seed squeezes 32 bytes.
func (t *Transcript) Seed(label string) [32]byte {
	hdr := t.header(0x02, label)
	out := sha256.Sum256(append(hdr, 0, 0, 0, 0, 0, 0, 0, 0))
	t.state = sha256.Sum256(t.header(0x03, label))
	return out
}

// AppendElems appends the canonical encoding of field elements (uint64be each).
func AppendElems(dst []byte, v []field.Elem) []byte {
	for _, e := range v {
		dst = binary.BigEndian.AppendUint64(dst, uint64(e))
	}
	return dst
}

// SampleRows draws min(s, n) distinct row indices in [0, n), sorted, from a
// 32-byte seed and a group number:
//
//	word_j = uint64be(SHA-256("trainproof/v1/rows" ‖ seed ‖ uint32be(group) ‖ uint64be(j))[0:8])
//
// A word is accepted when below the largest multiple of n that fits in 64
// bits (so word mod n is uniform) and is not already drawn.
func SampleRows(seed [32]byte, group, n, s int) []int {
	if s >= n {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	limit := ^uint64(0) - (^uint64(0)%uint64(n)+1)%uint64(n)
	seen := make(map[int]bool, s)
	out := make([]int, 0, s)
	buf := make([]byte, 0, 64)
	buf = append(buf, "trainproof/v1/rows"...)
	buf = append(buf, seed[:]...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(group))
	pre := len(buf)
	buf = append(buf, make([]byte, 8)...)
	for j := uint64(0); len(out) < s; j++ {
		binary.BigEndian.PutUint64(buf[pre:], j)
		h := sha256.Sum256(buf)
		x := binary.BigEndian.Uint64(h[:8])
		if x > limit {
			continue
		}
		i := int(x % uint64(n))
		if !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}
