package snark

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"golang.org/x/crypto/sha3"

	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
)

// StepShapeOf is the circuit shape a training task needs.
func StepShapeOf(t protocol.Task) StepShape {
	cfg := t.Train
	cfg.Seed = 0
	return StepShape{Config: cfg, Samples: int(t.Samples)}
}

// encode is the shape's canonical encoding: u32 samples ‖ model.Config
// encoding (Seed zero).
func (s StepShape) encode() []byte {
	cfg := s.Config
	cfg.Seed = 0
	return cfg.AppendBinary(binary.BigEndian.AppendUint32(nil, uint32(s.Samples)))
}

func (s StepShape) equal(o StepShape) bool { return bytes.Equal(s.encode(), o.encode()) }

func decodeStepShape(b []byte) (StepShape, error) {
	var s StepShape
	if len(b) < 4 {
		return s, fmt.Errorf("%w: truncated shape", ErrKey)
	}
	s.Samples = int(binary.BigEndian.Uint32(b))
	cfg, n, err := model.ParseConfig(b[4:])
	if err != nil || n != len(b)-4 {
		return s, fmt.Errorf("%w: bad shape: %v", ErrKey, err)
	}
	s.Config = cfg
	if err := s.validate(); err != nil {
		return s, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return s, nil
}

// StepKeys are the Groth16 keys of one step-circuit shape.
type StepKeys struct {
	Shape StepShape
	CS    constraint.ConstraintSystem
	PK    groth16.ProvingKey
	VK    groth16.VerifyingKey

	Origin KeyOrigin // zero (development keys) unless from a ceremony
}

// CompileStep compiles the step circuit for a shape.
func CompileStep(s StepShape) (constraint.ConstraintSystem, error) {
	c, err := NewStepCircuit(s)
	if err != nil {
		return nil, err
	}
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
}

// DevSetupStep runs a single-party Groth16 setup: whoever ran it can forge
// proofs, so these keys are for development only.
func DevSetupStep(s StepShape) (*StepKeys, error) {
	cs, err := CompileStep(s)
	if err != nil {
		return nil, err
	}
	pk, vk, err := groth16.Setup(cs)
	if err != nil {
		return nil, err
	}
	return &StepKeys{Shape: s, CS: cs, PK: pk, VK: vk}, nil
}

// The step circuit's range checks use gnark's commitment, whose hash to
// the field is Keccak-256 here, natively as on chain (the exported Solidity
// verifier's default).

// ProveStep proves a committed step and returns the signed succinct
// bundle. The witness must have been made for key's public key.
func ProveStep(k *StepKeys, t protocol.Task, w *StepWitness, key ed25519.PrivateKey) ([]byte, error) {
	if !StepShapeOf(t).equal(k.Shape) || !w.Shape.equal(k.Shape) {
		return nil, fmt.Errorf("snark: the task's shape is not the key's")
	}
	if t.Mode == protocol.ModeFiatShamir && !w.Statement.Nonce.IsZero() {
		return nil, fmt.Errorf("snark: a Fiat–Shamir task takes no nonce")
	}
	pub := key.Public().(ed25519.PublicKey)
	if m := MinerDigest(pub); !m.Equal(&w.Statement.Miner) {
		return nil, fmt.Errorf("snark: the witness names another miner than the signing key")
	}
	if d := TaskDigest(t.ID()); !d.Equal(&w.Statement.Task) {
		return nil, fmt.Errorf("snark: the witness is for another task")
	}
	a, err := w.Assignment()
	if err != nil {
		return nil, err
	}
	full, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		return nil, err
	}
	proof, err := groth16.Prove(k.CS, k.PK, full, backend.WithProverHashToFieldFunction(sha3.NewLegacyKeccak256()))
	if err != nil {
		return nil, err
	}
	var pb bytes.Buffer
	if _, err := proof.WriteTo(&pb); err != nil {
		return nil, err
	}
	sb := &Succinct{Task: t, Step: w.Statement.Step, Roots: w.Statement.Roots(), Proof: pb.Bytes()}
	return sb.Encode(key), nil
}

// StepStatementOf is the statement a verifier reconstructs from a succinct
// step bundle: task, miner and step from the bundle, the batch digest from
// the task, the data set's Poseidon2 root from the caller, the roots (Acts,
// M_l, DW_l, M′_l, Views) from the bundle, and the nonce: nil for a
// Fiat–Shamir task, the one the verifier issued (after seeing the roots)
// for a beacon task.
func StepStatementOf(s *Succinct, dataRoot fr.Element, nonce *[32]byte) (*StepStatement, error) {
	if s.Task.Work != protocol.WorkTrain || len(s.Roots) != RootCount(s.Task) {
		return nil, fmt.Errorf("%w: not a training-step bundle", ErrProof)
	}
	switch {
	case s.Task.Mode == protocol.ModeBeacon && nonce == nil:
		return nil, fmt.Errorf("%w: a beacon task's step needs the nonce that was issued for it", ErrProof)
	case s.Task.Mode != protocol.ModeBeacon && nonce != nil:
		return nil, fmt.Errorf("%w: a %v task takes no nonce", ErrProof, s.Task.Mode)
	}
	L := len(s.Task.Train.Dims()) - 1
	st := &StepStatement{Task: TaskDigest(s.Task.ID()), Miner: MinerDigest(s.PublicKey), Step: s.Step,
		Data: dataRoot, Batch: BatchDigest(s.Task.Train, s.Step), Acts: s.Roots[0]}
	st.M = append([]fr.Element(nil), s.Roots[1:1+L]...)
	st.DW = append([]fr.Element(nil), s.Roots[1+L:1+2*L]...)
	st.MNext = append([]fr.Element(nil), s.Roots[1+2*L:1+3*L]...)
	st.Views = s.Roots[1+3*L]
	if nonce != nil {
		st.Nonce = NonceElement(*nonce)
	}
	return st, nil
}

// PublicWitness is the statement as gnark's public witness.
func (st *StepStatement) PublicWitness(shape StepShape) (witness.Witness, error) {
	c, err := NewStepCircuit(shape)
	if err != nil {
		return nil, err
	}
	st.assign(c)
	return frontend.NewWitness(c, ecc.BN254.ScalarField(), frontend.PublicOnly())
}

// VerifyStep checks a succinct step bundle (whose signature DecodeSuccinct
// checked) against a verifying key, the data set's Poseidon2 root and, for
// a beacon task, the nonce issued for the step, and returns its statement. A chain of steps must also link: each step's M_l
// roots are the previous step's M′_l roots (and InitRoots at step 0).
func VerifyStep(s *Succinct, shape StepShape, vk groth16.VerifyingKey, dataRoot fr.Element, nonce *[32]byte) (*StepStatement, error) {
	if s.Task.Work != protocol.WorkTrain || !StepShapeOf(s.Task).equal(shape) {
		return nil, fmt.Errorf("%w: the task's shape is not the key's", ErrProof)
	}
	st, err := StepStatementOf(s, dataRoot, nonce)
	if err != nil {
		return nil, err
	}
	pub, err := st.PublicWitness(shape)
	if err != nil {
		return nil, err
	}
	proof, err := ParseProof(s.Proof)
	if err != nil {
		return nil, err
	}
	if err := groth16.Verify(proof, vk, pub, backend.WithVerifierHashToFieldFunction(sha3.NewLegacyKeccak256())); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProof, err)
	}
	return st, nil
}

// ParseProof decodes a bundle's Groth16 proof.
func ParseProof(b []byte) (groth16.Proof, error) {
	if err := checkProof(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	proof := groth16.NewProof(ecc.BN254)
	if _, err := proof.ReadFrom(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return proof, nil
}

// Equal reports whether two shapes compile to the same circuit.
func (s StepShape) Equal(o StepShape) bool { return s.equal(o) }
