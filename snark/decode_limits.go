package snark

import (
	"encoding/binary"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/constraint"
)

// Bounded decoding of gnark's encodings.
//
// gnark's decoders trust the counts they read: a u32 slice length becomes a
// make() before one element is read (gnark-crypto's bn254 Decoder for
// []G1Affine and [][]uint64, mpcsetup's Phase1, Phase2 and SrsCommons, the
// proving key's wire count), so a few hundred hostile bytes ask for
// hundreds of GiB and the runtime dies with "out of memory", which no
// recover catches. Before any of those decoders runs, the walkers below
// check the exact byte layout gnark will read:
//
//   - every point is in compressed form (its first byte's two top bits are
//     not 00), so that each field's offset is the one gnark reads it at;
//   - every count equals the circuit's known value where one is known, and
//     otherwise fits in the bytes that are left (count × element size);
//   - the encoding ends exactly where the input does.
//
// What passes makes gnark allocate at most about twice the input (an
// affine point in memory is twice its compressed encoding).

const (
	g1Size = curve.SizeOfG1AffineCompressed // 32
	g2Size = curve.SizeOfG2AffineCompressed // 64
	// maxCommitments bounds gnark's BSB22 commitments per circuit: the
	// matmul circuit has none, the step circuit one.
	maxCommitments = 1
)

// walker reads an encoding front to back; its first error sticks.
type walker struct {
	b   []byte
	off int
	err error
}

func (w *walker) fail(format string, a ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format+" (at byte %d of %d)", append(a, w.off, len(w.b))...)
	}
}

func (w *walker) left() int { return len(w.b) - w.off }

// take returns the next n bytes, or nil once anything failed.
func (w *walker) take(n int) []byte {
	if w.err != nil {
		return nil
	}
	if n < 0 || n > w.left() {
		w.fail("truncated: %d bytes wanted, %d left", n, w.left())
		return nil
	}
	b := w.b[w.off : w.off+n]
	w.off += n
	return b
}

func (w *walker) u8() uint64 {
	if b := w.take(1); b != nil {
		return uint64(b[0])
	}
	return 0
}

func (w *walker) u16() uint64 {
	if b := w.take(2); b != nil {
		return uint64(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (w *walker) u32() uint64 {
	if b := w.take(4); b != nil {
		return uint64(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (w *walker) u64() uint64 {
	if b := w.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// points skips n compressed points of size bytes each.
func (w *walker) points(n uint64, size int) {
	if w.err != nil {
		return
	}
	if n > uint64(w.left()/size) {
		w.fail("%d points of %d bytes in %d bytes", n, size, w.left())
		return
	}
	for range n {
		if w.b[w.off]>>6 == 0 {
			w.fail("a point not in compressed form")
			return
		}
		w.off += size
	}
}

// count reads a u32 count of elements of size bytes, at most max, that
// must fit in what is left.
func (w *walker) count(max uint64, size int) uint64 {
	n := w.u32()
	if w.err == nil && (n > max || n > uint64(w.left()/size)) {
		w.fail("count %d (at most %d, and %d bytes left)", n, max, w.left())
		return 0
	}
	return n
}

// expect checks a value read against the one the circuit implies.
func (w *walker) expect(what string, got, want uint64) {
	if w.err == nil && got != want {
		w.fail("%s is %d, want %d", what, got, want)
	}
}

func (w *walker) end() error {
	if w.err == nil && w.off != len(w.b) {
		w.fail("%d trailing bytes", len(w.b)-w.off)
	}
	return w.err
}

// Proof layout (gnark's Proof.WriteTo, compressed): Ar (G1) ‖ Bs (G2) ‖
// Krs (G1) ‖ u32 n ‖ n commitments (G1) ‖ commitment PoK (G1), so
// 164 bytes, or 196 with the step circuit's one commitment.
const (
	proofSize          = 3*g1Size + g2Size + 4
	proofSizeCommitted = proofSize + g1Size
)

// checkProof checks the layout of a Groth16 proof: the 367-byte bundle
// whose proof says 2³²−1 commitments must not reach gnark.
func checkProof(b []byte) error {
	if len(b) != proofSize && len(b) != proofSizeCommitted {
		return fmt.Errorf("a Groth16 proof is %d or %d bytes, not %d", proofSize, proofSizeCommitted, len(b))
	}
	w := &walker{b: b}
	w.points(1, g1Size)
	w.points(1, g2Size)
	w.points(1, g1Size)
	w.points(w.count(maxCommitments, g1Size), g1Size)
	w.points(1, g1Size)
	return w.end()
}

// maxPlonkClaims bounds the claimed values of a PLONK proof's batched
// opening: gnark opens the linearised polynomial, l, r, o, s1, s2 and one
// value per BSB22 commitment.
const maxPlonkClaims = 6 + maxCommitments + 8

// checkPlonkProof checks the layout of a PLONK proof (gnark's
// plonk Proof.WriteTo on BN254, compressed):
//
//	LRO (3 G1) ‖ Z ‖ H (3 G1) ‖ batched opening H (G1) ‖ u32 n ‖ n claimed
//	values (32 each) ‖ shifted opening H (G1) ‖ its claimed value (32) ‖
//	u32 c ‖ c BSB22 commitments (G1)
//
// before gnark's decoder, which trusts both counts, sees it.
func checkPlonkProof(b []byte) error {
	w := &walker{b: b}
	w.points(8, g1Size)
	n := w.count(maxPlonkClaims, 32)
	w.take(int(n) * 32)
	w.points(1, g1Size)
	w.take(32)
	w.points(w.count(maxCommitments, g1Size), g1Size)
	return w.end()
}

// checkVK checks the layout of a verifying key (gnark's
// VerifyingKey.WriteTo, compressed):
//
//	[α]₁ ‖ [β]₁ ‖ [β]₂ ‖ [γ]₂ ‖ [δ]₁ ‖ [δ]₂ ‖ u32 k ‖ k points K (G1) ‖
//	u32 c ‖ c × (u32 m ‖ m u64 indices of committed public inputs) ‖
//	u32 c ‖ c Pedersen keys (2 G2 each)
//
// The counts are bounded by the bytes left (the envelope is at most
// MaxVerifyingKey), c by maxCommitments, and each committed index must name
// a public input: gnark's Verify indexes the public witness with it.
func checkVK(b []byte) error {
	w := &walker{b: b}
	w.points(2, g1Size)
	w.points(2, g2Size)
	w.points(1, g1Size)
	w.points(1, g2Size)
	k := w.count(uint64(len(b)), g1Size)
	w.points(k, g1Size)
	c := w.count(maxCommitments, 4)
	if w.err == nil && k < 1+c {
		w.fail("%d points K for %d commitments", k, c)
	}
	for range c {
		m := w.count(k, 8)
		for range m {
			// Verify reads publicWitness[i-1], whose length is k-c-1.
			if i := w.u64(); w.err == nil && (i < 1 || i > k-c-1) {
				w.fail("committed public input %d of %d", i, k-c-1)
			}
		}
	}
	w.expect("commitment keys", w.u32(), c)
	w.points(2*c, g2Size)
	return w.end()
}

// pkShape is what a circuit fixes in its proving key.
type pkShape struct {
	domain      uint64 // the FFT domain: constraints, rounded up to a power of two
	wires       uint64
	commitments uint64
}

func pkShapeOf(ccs constraint.ConstraintSystem) pkShape {
	internal, secret, public := ccs.GetNbVariables()
	var c uint64
	if cm, ok := ccs.GetCommitments().(constraint.Groth16Commitments); ok {
		c = uint64(len(cm))
	}
	return pkShape{domain: ecc.NextPowerOfTwo(uint64(ccs.GetNbConstraints())),
		wires: uint64(internal + secret + public), commitments: c}
}

// checkPK checks the layout of a proving key (gnark's ProvingKey.WriteTo,
// compressed) against its circuit:
//
//	domain (u64 cardinality ‖ 5 field elements ‖ u8 precomputed) ‖
//	[α]₁ ‖ [β]₁ ‖ [δ]₁ ‖ A, B, Z, K (u32 n ‖ n G1 each) ‖ [β]₂ ‖ [δ]₂ ‖
//	B (u32 n ‖ n G2) ‖ u64 wires ‖ u64 ‖ u64 (points at infinity in A, B) ‖
//	wires bytes ‖ wires bytes ‖ u32 c ‖ c × (basis, basis^σ: u32 n ‖ n G1 each)
func checkPK(b []byte, s pkShape) error {
	w := &walker{b: b}
	w.expect("domain size", w.u64(), s.domain)
	w.take(5 * 32)
	if p := w.u8(); p > 1 {
		w.fail("precomputation flag %d", p)
	}
	w.points(3, g1Size)
	for _, max := range []uint64{s.wires, s.wires, s.domain, s.wires} { // A, B, Z, K
		w.points(w.count(max, g1Size), g1Size)
	}
	w.points(2, g2Size)
	w.points(w.count(s.wires, g2Size), g2Size)
	w.expect("wires", w.u64(), s.wires)
	if a, b := w.u64(), w.u64(); w.err == nil && (a > s.wires || b > s.wires) {
		w.fail("%d and %d points at infinity among %d wires", a, b, s.wires)
	}
	w.take(int(min(s.wires, uint64(len(b)))))
	w.take(int(min(s.wires, uint64(len(b)))))
	c := w.u32()
	w.expect("commitment keys", c, s.commitments)
	for range c {
		n := w.count(s.wires, g1Size)
		w.points(n, g1Size)
		w.expect("commitment basis", w.count(s.wires, g1Size), n)
		w.points(n, g1Size)
	}
	return w.end()
}

// Phase-1 layout (mpcsetup.Phase1.WriteTo): 3 update proofs (G1 ‖ G2
// each) ‖ u64 N ‖ [β]₂ ‖ [τⁱ]₁ for 1 ≤ i ≤ 2N−2 ‖ [τⁱ]₂ for 1 ≤ i ≤ N−1 ‖
// [βτⁱ]₁ and [ατⁱ]₁ for 0 ≤ i < N ‖ u8 challenge length ‖ challenge (none
// in the initial state, 32 bytes in a contribution). Its size follows from
// the circuit's domain N alone.
func phase1Size(n uint64, challenge int) int64 {
	return int64(3*(g1Size+g2Size)+8+g2Size) + int64(2*n-2)*g1Size + int64(n-1)*g2Size + int64(2*n)*g1Size + 1 + int64(challenge)
}

func checkPhase1(b []byte, n uint64, challenge int) error {
	if int64(len(b)) != phase1Size(n, challenge) {
		return fmt.Errorf("a phase-1 file for domain %d is %d bytes, not %d", n, phase1Size(n, challenge), len(b))
	}
	w := &walker{b: b}
	for range 3 {
		w.points(1, g1Size)
		w.points(1, g2Size)
	}
	w.expect("domain size", w.u64(), n)
	w.points(1, g2Size)
	w.points(2*n-2, g1Size)
	w.points(n-1, g2Size)
	w.points(2*n, g1Size)
	w.expect("challenge length", w.u8(), uint64(challenge))
	w.take(challenge)
	return w.end()
}

// phase2Layout is what a phase-2 file's counts say (mpcsetup.Phase2.WriteTo):
//
//	u16 c ‖ [δ]₁ ‖ PKK (u32 n ‖ n G1) ‖ Z (u32 n ‖ n G1) ‖ [δ]₂ ‖
//	c × σCKK (u32 n ‖ n G1) ‖ c × [σ]₂ ‖ (1+c) update proofs (G1 ‖ G2) ‖
//	u8 challenge length ‖ challenge
type phase2Layout struct {
	commitments, pkk, z, challenge uint64
	ckk                            [maxCommitments]uint64
}

// walkPhase2 checks a phase-2 file's layout for a circuit of the given
// wires and commitments, and returns its counts.
func walkPhase2(b []byte, wires, commitments uint64) (phase2Layout, error) {
	var l phase2Layout
	w := &walker{b: b}
	l.commitments = w.u16()
	w.expect("commitments", l.commitments, commitments)
	if l.commitments > maxCommitments {
		w.fail("%d commitments, at most %d", l.commitments, maxCommitments)
	}
	w.points(1, g1Size)
	l.pkk = w.count(wires, g1Size)
	w.points(l.pkk, g1Size)
	l.z = w.count(uint64(len(b)), g1Size)
	w.points(l.z, g1Size)
	w.points(1, g2Size)
	for i := range l.commitments {
		if w.err != nil {
			break
		}
		l.ckk[i] = w.count(wires, g1Size)
		w.points(l.ckk[i], g1Size)
	}
	w.points(l.commitments, g2Size)
	for range 1 + l.commitments {
		w.points(1, g1Size)
		w.points(1, g2Size)
	}
	l.challenge = w.u8()
	w.take(int(l.challenge))
	return l, w.end()
}

// MaxSuccinctBundle is the largest succinct bundle DecodeSuccinct accepts:
// a caller checks a file's size against it before reading the file whole,
// so that a large file in a directory of bundles is refused unread.
const MaxSuccinctBundle = maxSuccinct
