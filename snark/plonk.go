package snark

import (
	"bytes"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/kzg"
	"github.com/consensys/gnark/backend/plonk"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/scs"
)

// PlonkKeys are PLONK (KZG on BN254) keys of one MatMulCircuit shape: the
// universal-setup alternative to Groth16. A deployment takes its KZG
// structured reference string from a public powers-of-tau ceremony (one SRS
// serves every circuit) and hands it to PlonkSetup; the package makes none
// itself (the tests make an insecure one with gnark's test/unsafekzg).
type PlonkKeys struct {
	Shape MatMulShape
	CS    constraint.ConstraintSystem
	PK    plonk.ProvingKey
	VK    plonk.VerifyingKey
}

// SRS returns a KZG structured reference string, in canonical and
// Lagrange form, large enough for a compiled circuit: taken from a public
// powers-of-tau ceremony (whoever knows its τ can forge proofs).
type SRS func(ccs constraint.ConstraintSystem) (canonical, lagrange kzg.SRS, err error)

// PlonkSetup compiles the matmul circuit for PLONK and sets it up with srs.
func PlonkSetup(s MatMulShape, srs SRS) (*PlonkKeys, error) {
	c, err := NewMatMulCircuit(s)
	if err != nil {
		return nil, err
	}
	ccs, pk, vk, err := plonkSetup(c, srs)
	if err != nil {
		return nil, err
	}
	return &PlonkKeys{Shape: s, CS: ccs, PK: pk, VK: vk}, nil
}

// plonkSetup compiles a circuit for PLONK and sets it up with srs.
func plonkSetup(c frontend.Circuit, srs SRS) (constraint.ConstraintSystem, plonk.ProvingKey, plonk.VerifyingKey, error) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), scs.NewBuilder, c)
	if err != nil {
		return nil, nil, nil, err
	}
	canonical, lagrange, err := srs(ccs)
	if err != nil {
		return nil, nil, nil, err
	}
	pk, vk, err := plonk.Setup(ccs, canonical, lagrange)
	if err != nil {
		return nil, nil, nil, err
	}
	return ccs, pk, vk, nil
}

// plonkProve proves a full assignment and returns the proof bytes.
func plonkProve(ccs constraint.ConstraintSystem, pk plonk.ProvingKey, assignment frontend.Circuit) ([]byte, error) {
	full, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		return nil, err
	}
	proof, err := plonk.Prove(ccs, pk, full)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := proof.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plonkVerify checks proof bytes against a public witness.
func plonkVerify(vk plonk.VerifyingKey, proofBytes []byte, pub witness.Witness) error {
	if len(proofBytes) > maxProof {
		return fmt.Errorf("%w: a PLONK proof of %d bytes", ErrFormat, len(proofBytes))
	}
	if err := checkPlonkProof(proofBytes); err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	proof := plonk.NewProof(ecc.BN254)
	if _, err := proof.ReadFrom(bytes.NewReader(proofBytes)); err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if err := plonk.Verify(proof, vk, pub); err != nil {
		return fmt.Errorf("%w: %v", ErrProof, err)
	}
	return nil
}

// PlonkProve proves a unit's witness with PLONK and returns the proof bytes.
func (k *PlonkKeys) PlonkProve(w *MatMulWitness) ([]byte, error) {
	if w.Shape != k.Shape {
		return nil, fmt.Errorf("snark: witness of shape %+v for keys of %+v", w.Shape, k.Shape)
	}
	return plonkProve(k.CS, k.PK, w.Assignment())
}

// PlonkVerify checks a PLONK proof against the three roots, the miner's
// digest, the task's digest and the nonce element (zero for Fiat–Shamir).
func (k *PlonkKeys) PlonkVerify(proofBytes []byte, roots [3]frontend.Variable, miner, task, nonce frontend.Variable) error {
	pub, err := frontend.NewWitness(&MatMulCircuit{RootA: roots[0], RootB: roots[1], RootC: roots[2], Miner: miner, Task: task, Nonce: nonce},
		ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err != nil {
		return err
	}
	return plonkVerify(k.VK, proofBytes, pub)
}

// PlonkStepKeys are PLONK keys of one step-circuit shape.
type PlonkStepKeys struct {
	Shape StepShape
	CS    constraint.ConstraintSystem
	PK    plonk.ProvingKey
	VK    plonk.VerifyingKey
}

// PlonkSetupStep is PlonkSetup for the training-step circuit.
func PlonkSetupStep(s StepShape, srs SRS) (*PlonkStepKeys, error) {
	c, err := NewStepCircuit(s)
	if err != nil {
		return nil, err
	}
	ccs, pk, vk, err := plonkSetup(c, srs)
	if err != nil {
		return nil, err
	}
	return &PlonkStepKeys{Shape: s, CS: ccs, PK: pk, VK: vk}, nil
}

// Prove proves a committed step with PLONK and returns the proof bytes.
func (k *PlonkStepKeys) Prove(w *StepWitness) ([]byte, error) {
	if !w.Shape.equal(k.Shape) {
		return nil, fmt.Errorf("snark: witness for another shape than the keys'")
	}
	a, err := w.Assignment()
	if err != nil {
		return nil, err
	}
	return plonkProve(k.CS, k.PK, a)
}

// Verify checks a PLONK step proof against a statement.
func (k *PlonkStepKeys) Verify(proofBytes []byte, st *StepStatement) error {
	pub, err := st.PublicWitness(k.Shape)
	if err != nil {
		return err
	}
	return plonkVerify(k.VK, proofBytes, pub)
}
