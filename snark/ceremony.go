package snark

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
)

// A Ceremony is a multi-party Groth16 setup (gnark's mpcsetup) kept as files
// in a directory, so that participants can contribute one after another:
//
//	ceremony          the shape ("trainproof ceremony v1 M K N S", or
//	                  "trainproof ceremony v1 step HEX" with the step shape's encoding)
//	phase1/0000.bin   the initial powers of tau; NNNN.bin the contributions
//	commons.bin       phase 1 sealed with a public beacon
//	phase2/0000.bin   the circuit-specific initial state; NNNN.bin the contributions
//
// The keys are sound if at least one contributor destroyed their randomness
// (gnark's Contribute draws it from crypto/rand and keeps it only in memory).
type Ceremony struct {
	Dir   string
	Shape MatMulShape
	Step  *StepShape // set for a training-step circuit (then Shape is unused)
}

const ceremonyHeader = "trainproof ceremony v1"

func (c *Ceremony) domain() (uint64, *cs.R1CS, error) {
	var ccs constraint.ConstraintSystem
	var err error
	if c.Step != nil {
		ccs, err = CompileStep(*c.Step)
	} else {
		ccs, err = Compile(c.Shape)
	}
	if err != nil {
		return 0, nil, err
	}
	r, ok := ccs.(*cs.R1CS)
	if !ok {
		return 0, nil, fmt.Errorf("snark: unexpected constraint system %T", ccs)
	}
	return ecc.NextPowerOfTwo(uint64(ccs.GetNbConstraints())), r, nil
}

// InitCeremony starts a ceremony for a shape in an empty directory.
func InitCeremony(dir string, s MatMulShape) (*Ceremony, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "phase1"), 0o755); err != nil {
		return nil, err
	}
	return initCeremony(&Ceremony{Dir: dir, Shape: s}, fmt.Sprintf("%s %d %d %d %d\n", ceremonyHeader, s.M, s.K, s.N, s.S))
}

// InitStepCeremony starts a ceremony for a training-step circuit.
func InitStepCeremony(dir string, s StepShape) (*Ceremony, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "phase1"), 0o755); err != nil {
		return nil, err
	}
	return initCeremony(&Ceremony{Dir: dir, Step: &s}, fmt.Sprintf("%s step %x\n", ceremonyHeader, s.encode()))
}

func initCeremony(c *Ceremony, meta string) (*Ceremony, error) {
	dir := c.Dir
	if err := writeNew(filepath.Join(dir, "ceremony"), []byte(meta)); err != nil {
		return nil, err
	}
	n, _, err := c.domain()
	if err != nil {
		return nil, err
	}
	var p mpcsetup.Phase1
	p.Initialize(n)
	return c, writeTo(filepath.Join(dir, "phase1", "0000.bin"), &p)
}

// OpenCeremony reads a ceremony directory.
func OpenCeremony(dir string) (*Ceremony, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ceremony"))
	if err != nil {
		return nil, err
	}
	c := &Ceremony{Dir: dir}
	var hexShape string
	if _, err := fmt.Sscanf(string(b), ceremonyHeader+" step %s", &hexShape); err == nil {
		enc, err := hex.DecodeString(hexShape)
		if err != nil {
			return nil, fmt.Errorf("snark: %s: bad step shape", dir)
		}
		s, err := decodeStepShape(enc)
		if err != nil {
			return nil, err
		}
		c.Step = &s
		return c, nil
	}
	if _, err := fmt.Sscanf(strings.TrimPrefix(string(b), ceremonyHeader), " %d %d %d %d", &c.Shape.M, &c.Shape.K, &c.Shape.N, &c.Shape.S); err != nil || !strings.HasPrefix(string(b), ceremonyHeader) {
		return nil, fmt.Errorf("snark: %s is not a ceremony", dir)
	}
	return c, c.Shape.validate()
}

// files lists a phase's files in order.
func (c *Ceremony) files(phase string) []string {
	m, _ := filepath.Glob(filepath.Join(c.Dir, phase, "*.bin"))
	sort.Strings(m)
	return m
}

// Phase is the phase contributions go to now: 1, or 2 once phase 1 is sealed.
func (c *Ceremony) Phase() int {
	if _, err := os.Stat(filepath.Join(c.Dir, "commons.bin")); err == nil {
		return 2
	}
	return 1
}

// Contribute adds one contribution to the current phase and returns its file.
func (c *Ceremony) Contribute() (string, error) {
	phase := fmt.Sprintf("phase%d", c.Phase())
	files := c.files(phase)
	if len(files) == 0 {
		return "", fmt.Errorf("snark: %s has no initial state", phase)
	}
	last := files[len(files)-1]
	next := filepath.Join(c.Dir, phase, fmt.Sprintf("%04d.bin", len(files)))
	if phase == "phase1" {
		var p mpcsetup.Phase1
		if err := readFrom(last, &p); err != nil {
			return "", err
		}
		p.Contribute()
		return next, writeTo(next, &p)
	}
	var p mpcsetup.Phase2
	if err := readFrom(last, &p); err != nil {
		return "", err
	}
	p.Contribute()
	return next, writeTo(next, &p)
}

// Verify checks every contribution of the current phase against the one
// before it (each proves knowledge of its randomness and builds on its
// predecessor), without sealing anything: what a contributor or an observer
// runs before trusting the transcript. It returns the number checked.
func (c *Ceremony) Verify() (int, error) {
	if c.Phase() == 1 {
		return verifyChain(c.files("phase1"), func() *mpcsetup.Phase1 { return new(mpcsetup.Phase1) },
			func(a, b *mpcsetup.Phase1) error { return a.Verify(b) })
	}
	return verifyChain(c.files("phase2"), func() *mpcsetup.Phase2 { return new(mpcsetup.Phase2) },
		func(a, b *mpcsetup.Phase2) error { return a.Verify(b) })
}

// verifyChain reads a phase's files in order (the initial state first) and
// checks each against the one before.
func verifyChain[P io.ReaderFrom](files []string, alloc func() P, verify func(a, b P) error) (int, error) {
	var prev P
	for i, f := range files {
		p := alloc()
		if err := readFrom(f, p); err != nil {
			return 0, err
		}
		if i > 0 {
			if err := verify(prev, p); err != nil {
				return i - 1, fmt.Errorf("snark: contribution %d (%s): %w", i, filepath.Base(f), err)
			}
		}
		prev = p
	}
	return max(len(files)-1, 0), nil
}

func (c *Ceremony) phase1() ([]*mpcsetup.Phase1, error) {
	files := c.files("phase1")
	if len(files) < 2 {
		return nil, fmt.Errorf("snark: phase 1 has no contribution")
	}
	var out []*mpcsetup.Phase1
	for _, f := range files[1:] {
		p := new(mpcsetup.Phase1)
		if err := readFrom(f, p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// SealPhase1 verifies every phase-1 contribution, seals them with a public
// beacon (a value no contributor could predict, e.g. a later block hash) and
// starts phase 2.
func (c *Ceremony) SealPhase1(beacon []byte) error {
	n, r1cs, err := c.domain()
	if err != nil {
		return err
	}
	contribs, err := c.phase1()
	if err != nil {
		return err
	}
	commons, err := mpcsetup.VerifyPhase1(n, beacon, contribs...)
	if err != nil {
		return fmt.Errorf("snark: phase 1: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, "phase2"), 0o755); err != nil {
		return err
	}
	var p mpcsetup.Phase2
	p.Initialize(r1cs, &commons)
	if err := writeTo(filepath.Join(c.Dir, "phase2", "0000.bin"), &p); err != nil {
		return err
	}
	return writeNew(filepath.Join(c.Dir, "commons.bin"), mustBytes(&commons))
}

// Finalize verifies every phase-2 contribution, seals them with a beacon and
// returns the keys.
func (c *Ceremony) Finalize(beacon []byte) (*Keys, error) {
	if c.Step != nil {
		return nil, fmt.Errorf("snark: a training-step ceremony: use FinalizeStep")
	}
	r1cs, pk, vk, err := c.finalize(beacon)
	if err != nil {
		return nil, err
	}
	return &Keys{Shape: c.Shape, CS: r1cs, PK: pk, VK: vk}, nil
}

// FinalizeStep is Finalize for a training-step ceremony.
func (c *Ceremony) FinalizeStep(beacon []byte) (*StepKeys, error) {
	if c.Step == nil {
		return nil, fmt.Errorf("snark: a matmul ceremony: use Finalize")
	}
	r1cs, pk, vk, err := c.finalize(beacon)
	if err != nil {
		return nil, err
	}
	return &StepKeys{Shape: *c.Step, CS: r1cs, PK: pk, VK: vk}, nil
}

func (c *Ceremony) finalize(beacon []byte) (*cs.R1CS, groth16.ProvingKey, groth16.VerifyingKey, error) {
	_, r1cs, err := c.domain()
	if err != nil {
		return nil, nil, nil, err
	}
	var commons mpcsetup.SrsCommons
	if err := readFrom(filepath.Join(c.Dir, "commons.bin"), &commons); err != nil {
		return nil, nil, nil, err
	}
	files := c.files("phase2")
	if len(files) < 2 {
		return nil, nil, nil, fmt.Errorf("snark: phase 2 has no contribution")
	}
	var contribs []*mpcsetup.Phase2
	for _, f := range files[1:] {
		p := new(mpcsetup.Phase2)
		if err := readFrom(f, p); err != nil {
			return nil, nil, nil, err
		}
		contribs = append(contribs, p)
	}
	pk, vk, err := mpcsetup.VerifyPhase2(r1cs, &commons, beacon, contribs...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("snark: phase 2: %w", err)
	}
	return r1cs, pk, vk, nil
}

func mustBytes(w io.WriterTo) []byte {
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func writeTo(path string, w io.WriterTo) error { return writeNew(path, mustBytes(w)) }

func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readFrom(path string, r io.ReaderFrom) error {
	b, err := readLimited(path, MaxProvingKey)
	if err != nil {
		return err
	}
	if _, err := r.ReadFrom(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("snark: %s: %w", path, err)
	}
	return nil
}
