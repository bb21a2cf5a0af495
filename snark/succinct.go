package snark

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/frontend"

	"github.com/seed46f70faa/trainproof/protocol"
	"github.com/seed46f70faa/trainproof/tensor"
)

// Succinct is a succinct bundle: the task, the step (0 for a matmul unit),
// the Poseidon2 roots the proof is about, a Groth16 proof that the sampled
// checks pass against them, and the miner's signature.
//
// A matmul unit carries the roots of A, B and C; a training step carries
// Acts, then M_l, DW_l and M′_l for each layer, then Views (see
// StepStatement.Roots).
type Succinct struct {
	Task      protocol.Task
	Step      uint64
	Roots     []fr.Element
	Proof     []byte // gnark's compressed Groth16 encoding
	PublicKey ed25519.PublicKey
	Signature []byte
}

// SuccinctMagic opens every succinct bundle.
const SuccinctMagic = "TPS\x02"

// Limits of a succinct bundle, checked before anything is allocated.
const (
	maxSuccinct = 1 << 16
	maxProof    = 1 << 12
)

var (
	// ErrFormat reports bytes that are not a succinct bundle.
	ErrFormat = errors.New("snark: malformed succinct bundle")
	// ErrProof reports a proof, signature or statement that does not verify.
	ErrProof = errors.New("snark: proof rejected")
)

func signedDigest(b []byte) []byte {
	h := sha256.New()
	h.Write([]byte("trainproof/v1/succinct"))
	h.Write(b)
	return h.Sum(nil)
}

// Encode signs and encodes:
//
//	magic ‖ u16 task length ‖ task ‖ u64 step ‖ u8 root count ‖ roots
//	(32 bytes each, big-endian, canonical; as many as the task needs) ‖
//	u16 proof length ‖ proof ‖ ed25519 public key (32) ‖ signature (64) of
//	SHA-256("trainproof/v1/succinct" ‖ every preceding byte)
func (s *Succinct) Encode(key ed25519.PrivateKey) []byte {
	task := s.Task.AppendBinary(nil)
	b := append([]byte(SuccinctMagic), byte(len(task)>>8), byte(len(task)))
	b = append(b, task...)
	b = binary.BigEndian.AppendUint64(b, s.Step)
	b = append(b, byte(len(s.Roots)))
	for i := range s.Roots {
		r := s.Roots[i].Bytes()
		b = append(b, r[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.Proof)))
	b = append(b, s.Proof...)
	s.PublicKey = key.Public().(ed25519.PublicKey)
	b = append(b, s.PublicKey...)
	s.Signature = ed25519.Sign(key, signedDigest(b))
	return append(b, s.Signature...)
}

// DecodeSuccinct parses and checks the signature of a succinct bundle.
func DecodeSuccinct(in []byte) (*Succinct, error) {
	if len(in) > maxSuccinct || len(in) < len(SuccinctMagic)+2 || string(in[:4]) != SuccinctMagic {
		return nil, fmt.Errorf("%w: bad magic or size", ErrFormat)
	}
	off := 4
	need := func(n int) ([]byte, error) {
		if n < 0 || n > len(in)-off {
			return nil, fmt.Errorf("%w: truncated at byte %d", ErrFormat, off)
		}
		b := in[off : off+n]
		off += n
		return b, nil
	}
	l, err := need(2)
	if err != nil {
		return nil, err
	}
	tb, err := need(int(binary.BigEndian.Uint16(l)))
	if err != nil {
		return nil, err
	}
	s := &Succinct{}
	if s.Task, err = protocol.ParseTask(tb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	sb, err := need(9)
	if err != nil {
		return nil, err
	}
	s.Step = binary.BigEndian.Uint64(sb)
	if want := RootCount(s.Task); int(sb[8]) != want {
		return nil, fmt.Errorf("%w: %d roots, the task needs %d", ErrFormat, sb[8], want)
	}
	s.Roots = make([]fr.Element, sb[8])
	for i := range s.Roots {
		rb, err := need(32)
		if err != nil {
			return nil, err
		}
		if err := s.Roots[i].SetBytesCanonical(rb); err != nil {
			return nil, fmt.Errorf("%w: root %d is not a canonical field element", ErrFormat, i)
		}
	}
	if l, err = need(2); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(l))
	if n > maxProof {
		return nil, fmt.Errorf("%w: proof of %d bytes", ErrFormat, n)
	}
	if s.Proof, err = need(n); err != nil {
		return nil, err
	}
	if err := checkProof(s.Proof); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	signed := off + ed25519.PublicKeySize
	pk, err := need(ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	sig, err := need(ed25519.SignatureSize)
	if err != nil {
		return nil, err
	}
	if off != len(in) {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrFormat, len(in)-off)
	}
	s.PublicKey, s.Signature = ed25519.PublicKey(pk), sig
	if !ed25519.Verify(s.PublicKey, signedDigest(in[:signed]), s.Signature) {
		return nil, fmt.Errorf("%w: bad signature", ErrProof)
	}
	return s, nil
}

// RootCount is how many roots a succinct bundle of the task carries.
func RootCount(t protocol.Task) int {
	if t.Work == protocol.WorkTrain {
		return 2 + 3*(len(t.Train.Dims())-1)
	}
	return 3
}

// ShapeOf is the circuit shape a matmul task needs.
func ShapeOf(t protocol.Task) MatMulShape {
	return MatMulShape{M: int(t.MatMul.M), K: int(t.MatMul.K), N: int(t.MatMul.N), S: int(t.Samples)}
}

func rows8(m *tensor.Int8) [][]int8 {
	out := make([][]int8, m.Rows)
	for i := range out {
		out[i] = m.Row(i)
	}
	return out
}

// OperandRoots derives a matmul task's A and B from its seed and returns
// their Poseidon2 row roots: what a verifier checks the proof's roots against
// (a light client takes them from the task's publisher).
func OperandRoots(t protocol.Task) (ra, rb fr.Element, err error) {
	s := ShapeOf(t)
	if err := s.validate(); err != nil {
		return ra, rb, err
	}
	la := make([]fr.Element, s.M)
	row := make([]int8, s.K)
	for i := range la {
		protocol.GenRow(t.MatMul.Seed, 'A', i, row)
		la[i] = RowLeaf8(row)
	}
	lb := make([]fr.Element, s.K)
	row = make([]int8, s.N)
	for j := range lb {
		protocol.GenRow(t.MatMul.Seed, 'B', j, row)
		lb[j] = RowLeaf8(row)
	}
	ta, err := NewTree(la)
	if err != nil {
		return ra, rb, err
	}
	tb, err := NewTree(lb)
	if err != nil {
		return ra, rb, err
	}
	return ta.Root(), tb.Root(), nil
}

// ProveMatMul proves a computed matmul unit of a Fiat–Shamir task and
// returns the signed succinct bundle.
func ProveMatMul(k *Keys, t protocol.Task, a, b *tensor.Int8, c *tensor.Int32, key ed25519.PrivateKey) ([]byte, error) {
	return ProveMatMulNonce(k, t, a, b, c, key, nil)
}

// MatMulCommitment is what the miner of a beacon matmul task publishes
// before its nonce is issued: the Poseidon2 roots of A, B and C. Operand
// roots are the task's (OperandRoots); the C root is the miner's choice, made
// before the nonce exists.
func MatMulCommitment(s MatMulShape, a, b *tensor.Int8, c *tensor.Int32) ([3]fr.Element, error) {
	w, err := matMulWitness(s, a, b, c)
	if err != nil {
		return [3]fr.Element{}, err
	}
	return [3]fr.Element{w.TA.Root(), w.TB.Root(), w.TC.Root()}, nil
}

func matMulWitness(s MatMulShape, a, b *tensor.Int8, c *tensor.Int32) (*MatMulWitness, error) {
	cr := make([][]int32, c.Rows)
	for i := range cr {
		cr[i] = c.Row(i)
	}
	return NewMatMulWitness(s, rows8(a), rows8(b), cr)
}

// ProveMatMulNonce proves a computed matmul unit: nonce is nil for a
// Fiat–Shamir task and the nonce issued for the unit's commitment
// (MatMulCommitment) for a beacon task.
func ProveMatMulNonce(k *Keys, t protocol.Task, a, b *tensor.Int8, c *tensor.Int32, key ed25519.PrivateKey, nonce *[32]byte) ([]byte, error) {
	s := ShapeOf(t)
	if s != k.Shape {
		return nil, fmt.Errorf("snark: task needs shape %+v, the keys are for %+v", s, k.Shape)
	}
	n, err := matMulNonce(t, nonce)
	if err != nil {
		return nil, err
	}
	w, err := matMulWitness(s, a, b, c)
	if err != nil {
		return nil, err
	}
	w.Miner = MinerDigest(key.Public().(ed25519.PublicKey))
	w.Task, w.Nonce = TaskDigest(t.ID()), n
	full, err := frontend.NewWitness(w.Assignment(), ecc.BN254.ScalarField())
	if err != nil {
		return nil, err
	}
	proof, err := groth16.Prove(k.CS, k.PK, full)
	if err != nil {
		return nil, err
	}
	var pb bytes.Buffer
	if _, err := proof.WriteTo(&pb); err != nil {
		return nil, err
	}
	sb := &Succinct{Task: t, Roots: []fr.Element{w.TA.Root(), w.TB.Root(), w.TC.Root()}, Proof: pb.Bytes()}
	return sb.Encode(key), nil
}

// matMulNonce checks that a nonce comes exactly with beacon tasks and maps
// it to the circuit's Nonce input.
func matMulNonce(t protocol.Task, nonce *[32]byte) (fr.Element, error) {
	switch {
	case t.Mode == protocol.ModeBeacon && nonce == nil:
		return fr.Element{}, fmt.Errorf("%w: a beacon task's unit needs the nonce that was issued for it", ErrProof)
	case t.Mode != protocol.ModeBeacon && nonce != nil:
		return fr.Element{}, fmt.Errorf("%w: a %v task takes no nonce", ErrProof, t.Mode)
	case nonce == nil:
		return fr.Element{}, nil
	}
	return NonceElement(*nonce), nil
}

// VerifyMatMul checks a succinct bundle of a Fiat–Shamir matmul task: the
// task's shape is the key's, the roots of A and B are the task's operands,
// and the proof verifies for the bundle's task and signer. A beacon task's
// bundle is refused here: use VerifyMatMulNonce.
func VerifyMatMul(s *Succinct, shape MatMulShape, vk groth16.VerifyingKey) error {
	return VerifyMatMulNonce(s, shape, vk, nil)
}

// VerifyMatMulNonce is VerifyMatMul with the nonce a beacon issued for the
// unit's commitment (nil for a Fiat–Shamir task).
//
// A proof counts once per statement (Statement's public inputs: roots, task,
// signer, nonce), whatever its bytes: a Groth16 proof can be re-randomised
// into other bytes that verify, so a node that pays per unit deduplicates by
// StatementKey, never by file hash.
func VerifyMatMulNonce(s *Succinct, shape MatMulShape, vk groth16.VerifyingKey, nonce *[32]byte) error {
	if s.Task.Work != protocol.WorkMatMul || ShapeOf(s.Task) != shape || s.Step != 0 {
		return fmt.Errorf("%w: task %v of shape %+v, the key is for %+v", ErrProof, s.Task.Work, ShapeOf(s.Task), shape)
	}
	if _, err := matMulNonce(s.Task, nonce); err != nil {
		return err
	}
	ra, rb, err := OperandRoots(s.Task)
	if err != nil {
		return err
	}
	if !ra.Equal(&s.Roots[0]) || !rb.Equal(&s.Roots[1]) {
		return fmt.Errorf("%w: the proof is about other operands than the task's", ErrProof)
	}
	proof, pub, err := s.StatementNonce(nonce)
	if err != nil {
		return err
	}
	if err := groth16.Verify(proof, vk, pub); err != nil {
		return fmt.Errorf("%w: %v", ErrProof, err)
	}
	return nil
}

// Statement returns the bundle's proof and public witness (the three roots,
// the signer's MinerDigest, the TaskDigest of its task and a zero nonce), as
// a verifier, on chain or off, takes them. For a beacon task use
// StatementNonce.
func (s *Succinct) Statement() (groth16.Proof, witness.Witness, error) {
	return s.StatementNonce(nil)
}

// StatementNonce is Statement with a beacon task's nonce.
func (s *Succinct) StatementNonce(nonce *[32]byte) (groth16.Proof, witness.Witness, error) {
	proof, err := ParseProof(s.Proof)
	if err != nil {
		return nil, nil, err
	}
	var n fr.Element
	if nonce != nil {
		n = NonceElement(*nonce)
	}
	pub, err := frontend.NewWitness(&MatMulCircuit{RootA: s.Roots[0], RootB: s.Roots[1], RootC: s.Roots[2],
		Miner: MinerDigest(s.PublicKey), Task: TaskDigest(s.Task.ID()), Nonce: n},
		ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return nil, nil, err
	}
	return proof, pub, nil
}

// StatementKey identifies what a matmul bundle claims: the task, the roots,
// the signer and the nonce. Two bundles with one key are one claim, however
// their proof bytes differ.
func (s *Succinct) StatementKey(nonce *[32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("trainproof/v2/succinct-statement"))
	id := s.Task.ID()
	h.Write(id[:])
	for i := range s.Roots {
		r := s.Roots[i].Bytes()
		h.Write(r[:])
	}
	h.Write(s.PublicKey)
	if nonce != nil {
		h.Write(nonce[:])
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}
