package snark

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/seed46f70faa/trainproof/internal/safefile"
)

// A Ceremony is a multi-party Groth16 setup (gnark's mpcsetup) kept as files
// in a directory, so that participants can contribute one after another:
//
//	ceremony          the shape ("trainproof ceremony v1 M K N S", or
//	                  "trainproof ceremony v1 step HEX" with the step shape's encoding)
//	phase1/0000.bin   the initial powers of tau; NNNN.bin the contributions
//	beacon1           the public beacon that sealed phase 1, and its source
//	commons.bin       phase 1 sealed with that beacon
//	phase2/0000.bin   the circuit-specific initial state; NNNN.bin the contributions
//	beacon2           the public beacon that sealed phase 2 (Finalize)
//
// The keys are sound if at least one contributor of each phase destroyed
// their randomness (gnark's Contribute draws it from crypto/rand and keeps
// it only in memory), whoever coordinates: nothing the coordinator derives
// is taken on trust. phase1/0000.bin must be the canonical initial state;
// commons.bin is re-derived from the phase-1 contributions and beacon1;
// phase2/0000.bin is re-derived from commons.bin and the circuit; every
// contribution must prove knowledge of its randomness and build on the
// file before it (its challenge is that file's hash, so a contribution
// replayed, reordered or made on another start is refused). Verify and
// Finalize check all of it; Transcript hashes every file, in order, for
// publication.
//
// Decoding is bounded: every file's size follows from the circuit, and is
// checked, with its layout, before gnark reads it.
type Ceremony struct {
	Dir   string
	Shape MatMulShape
	Step  *StepShape // set for a training-step circuit (then Shape is unused)

	circuit frontend.Circuit // tests: a small circuit in place of Shape and Step
}

const ceremonyHeader = "trainproof ceremony v1"

// MaxCeremonyDomain bounds a ceremony's FFT domain: a phase-1 file holds
// 192 bytes per point of it, so this keeps every file under 1 GiB.
const MaxCeremonyDomain = 1 << 22

var (
	// ErrCeremony reports a ceremony transcript that does not verify: a
	// file that is malformed, missing, out of place, or not what the files
	// before it and the recorded beacons imply.
	ErrCeremony = errors.New("snark: ceremony rejected")
	// ErrBeacon reports a beacon that is too short or too long, or a
	// source that is not one line of printable text.
	ErrBeacon = errors.New("snark: bad beacon")
)

// A Beacon is a public random value that no contributor could predict or
// influence when they contributed (a later block hash, a drand round), and
// where anyone can look it up. Both are recorded in the ceremony directory
// and covered by the transcript hash.
type Beacon struct {
	Value  []byte // 16 to 1024 bytes
	Source string // one line of text, at most 1024 bytes: "drand quicknet round 1234567"
}

const (
	minBeacon    = 16
	maxBeacon    = 1024
	beaconHeader = "trainproof beacon v1"
)

func (b Beacon) validate() error {
	if len(b.Value) < minBeacon || len(b.Value) > maxBeacon {
		return fmt.Errorf("%w: %d bytes (want %d to %d)", ErrBeacon, len(b.Value), minBeacon, maxBeacon)
	}
	if len(b.Source) > maxBeacon || !utf8.ValidString(b.Source) ||
		strings.IndexFunc(b.Source, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("%w: the source must be one line of printable text, at most %d bytes", ErrBeacon, maxBeacon)
	}
	return nil
}

// encode is the beacon file: "trainproof beacon v1\nvalue HEX\nsource TEXT\n".
func (b Beacon) encode() []byte {
	return fmt.Appendf(nil, "%s\nvalue %x\nsource %s\n", beaconHeader, b.Value, b.Source)
}

func decodeBeacon(in []byte) (Beacon, error) {
	var b Beacon
	lines := strings.Split(string(in), "\n")
	if len(lines) != 4 || lines[0] != beaconHeader || lines[3] != "" ||
		!strings.HasPrefix(lines[1], "value ") || !strings.HasPrefix(lines[2], "source ") {
		return b, fmt.Errorf("%w: not a beacon file", ErrBeacon)
	}
	v, err := hex.DecodeString(lines[1][len("value "):])
	if err != nil {
		return b, fmt.Errorf("%w: %v", ErrBeacon, err)
	}
	b = Beacon{Value: v, Source: lines[2][len("source "):]}
	if err := b.validate(); err != nil {
		return b, err
	}
	if !bytes.Equal(b.encode(), in) {
		return b, fmt.Errorf("%w: not in canonical form", ErrBeacon)
	}
	return b, nil
}

func (c *Ceremony) path(name string) string { return filepath.Join(c.Dir, filepath.FromSlash(name)) }

// Beacon returns the beacon recorded for a phase (1 or 2), or nil if that
// phase is not sealed.
func (c *Ceremony) Beacon(phase int) (*Beacon, error) {
	in, err := readLimited(c.path(fmt.Sprintf("beacon%d", phase)), 4096)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := decodeBeacon(in)
	if err != nil {
		return nil, fmt.Errorf("%w: beacon%d: %w", ErrCeremony, phase, err)
	}
	return &b, nil
}

// circuitOf compiles the ceremony's circuit and returns its domain size.
func (c *Ceremony) circuitOf() (uint64, *cs.R1CS, error) {
	if err := c.checkDomainFloor(); err != nil {
		return 0, nil, err
	}
	return c.compile()
}

// minMatMulConstraints is a floor on the constraints of a matmul circuit:
// each of its K + S·(K+2N) witness row elements costs more than 150
// (measured: 230 to 460).
func minMatMulConstraints(s MatMulShape) uint64 {
	return 150 * uint64(s.K+s.S*(s.K+2*s.N))
}

// checkDomainFloor runs before a ceremony's circuit is compiled. Compiling
// takes memory in proportion to the circuit that the ceremony file names,
// so a hostile directory (a few bytes naming a huge shape) must not reach
// it: phase1/0000.bin, the initial state for the circuit's domain, must be
// as large as the smallest domain the shape can have. What a verifier then
// spends is in proportion to the files it was given.
func (c *Ceremony) checkDomainFloor() error {
	if c.circuit != nil || c.Step != nil {
		return nil
	}
	min := ecc.NextPowerOfTwo(minMatMulConstraints(c.Shape))
	if min > MaxCeremonyDomain {
		return fmt.Errorf("%w: shape %+v needs a domain of at least %d points, more than a ceremony allows (%d)", ErrCeremony, c.Shape, min, MaxCeremonyDomain)
	}
	fi, err := os.Lstat(c.path("phase1/0000.bin"))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCeremony, err)
	}
	if want := phase1Size(min, 0); !fi.Mode().IsRegular() || fi.Size() < want {
		return fmt.Errorf("%w: phase1/0000.bin has %d bytes; shape %+v needs a domain of at least %d points (%d bytes)", ErrCeremony, fi.Size(), c.Shape, min, want)
	}
	return nil
}

// compile compiles the ceremony's circuit and returns its domain size.
func (c *Ceremony) compile() (uint64, *cs.R1CS, error) {
	var ccs constraint.ConstraintSystem
	var err error
	switch {
	case c.circuit != nil:
		ccs, err = frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c.circuit)
	case c.Step != nil:
		ccs, err = CompileStep(*c.Step)
	default:
		ccs, err = Compile(c.Shape)
	}
	if err != nil {
		return 0, nil, err
	}
	r, ok := ccs.(*cs.R1CS)
	if !ok {
		return 0, nil, fmt.Errorf("snark: unexpected constraint system %T", ccs)
	}
	n := ecc.NextPowerOfTwo(uint64(ccs.GetNbConstraints()))
	if n > MaxCeremonyDomain {
		return 0, nil, fmt.Errorf("%w: the circuit's domain of %d points is larger than a ceremony allows (%d)", ErrCeremony, n, MaxCeremonyDomain)
	}
	if cm, _ := r.CommitmentInfo.(constraint.Groth16Commitments); len(cm) > maxCommitments {
		return 0, nil, fmt.Errorf("snark: the circuit has %d commitments, at most %d", len(cm), maxCommitments)
	}
	return n, r, nil
}

// InitCeremony starts a ceremony for a shape in an empty directory.
func InitCeremony(dir string, s MatMulShape) (*Ceremony, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	return initCeremony(&Ceremony{Dir: dir, Shape: s}, fmt.Sprintf("%s %d %d %d %d\n", ceremonyHeader, s.M, s.K, s.N, s.S))
}

// InitStepCeremony starts a ceremony for a training-step circuit.
func InitStepCeremony(dir string, s StepShape) (*Ceremony, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	return initCeremony(&Ceremony{Dir: dir, Step: &s}, fmt.Sprintf("%s step %x\n", ceremonyHeader, s.encode()))
}

func initCeremony(c *Ceremony, meta string) (*Ceremony, error) {
	n, _, err := c.compile()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.path("phase1"), 0o755); err != nil {
		return nil, err
	}
	if err := writeExclusive(c.path("ceremony"), []byte(meta), 0o644); err != nil {
		return nil, err
	}
	return c, writeExclusive(c.path("phase1/0000.bin"), phase1Start(n), 0o644)
}

// phase1Start is the canonical initial phase-1 state for domain n.
func phase1Start(n uint64) []byte { return mustBytes(mpcsetup.NewPhase1(n)) }

// OpenCeremony reads a ceremony directory.
func OpenCeremony(dir string) (*Ceremony, error) {
	b, err := readLimited(filepath.Join(dir, "ceremony"), 4096)
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

// files lists a phase's files in order; they must be named 0000.bin,
// 0001.bin, … without a gap.
func (c *Ceremony) files(phase int) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(c.Dir, fmt.Sprintf("phase%d", phase), "*.bin"))
	if err != nil {
		return nil, err
	}
	sort.Strings(m)
	for i, f := range m {
		if want := fmt.Sprintf("%04d.bin", i); filepath.Base(f) != want {
			return nil, fmt.Errorf("%w: phase %d: %s where %s belongs", ErrCeremony, phase, filepath.Base(f), want)
		}
	}
	return m, nil
}

// Phase is the phase contributions go to now: 1, or 2 once phase 1 is sealed.
func (c *Ceremony) Phase() int {
	for _, f := range []string{"beacon1", "commons.bin"} {
		if _, err := os.Lstat(c.path(f)); err == nil {
			return 2
		}
	}
	return 1
}

func (c *Ceremony) finalized() bool {
	_, err := os.Lstat(c.path("beacon2"))
	return err == nil
}

// Contribute adds one contribution to the current phase and returns its
// file. It builds on the last file without verifying the transcript: a
// contributor runs Verify first.
func (c *Ceremony) Contribute() (string, error) {
	n, r1cs, err := c.circuitOf()
	if err != nil {
		return "", err
	}
	phase := c.Phase()
	if phase == 2 && c.finalized() {
		return "", fmt.Errorf("%w: the ceremony is finalized", ErrCeremony)
	}
	files, err := c.files(phase)
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("%w: phase %d has no initial state", ErrCeremony, phase)
	}
	last := files[len(files)-1]
	next := filepath.Join(filepath.Dir(last), fmt.Sprintf("%04d.bin", len(files)))
	if phase == 1 {
		p, err := readPhase1(last, n, len(files) > 1)
		if err != nil {
			return "", err
		}
		p.Contribute()
		return next, writeExclusive(next, mustBytes(p), 0o644)
	}
	p, err := readPhase2(last, r1cs, n, len(files) > 1)
	if err != nil {
		return "", err
	}
	p.Contribute()
	return next, writeExclusive(next, mustBytes(p), 0o644)
}

// challengeLen is the challenge a phase file carries: none in the initial
// state, the previous file's SHA-256 in a contribution.
func challengeLen(contribution bool) int {
	if contribution {
		return sha256.Size
	}
	return 0
}

// readPhase1 reads a phase-1 file for domain n, checking its size and
// layout before gnark decodes it.
func readPhase1(path string, n uint64, contribution bool) (*mpcsetup.Phase1, error) {
	b, err := readLimited(path, int(phase1Size(n, challengeLen(contribution))))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCeremony, err)
	}
	return decodePhase1(path, b, n, contribution)
}

func decodePhase1(path string, b []byte, n uint64, contribution bool) (*mpcsetup.Phase1, error) {
	if err := checkPhase1(b, n, challengeLen(contribution)); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCeremony, path, err)
	}
	p := new(mpcsetup.Phase1)
	if _, err := p.ReadFrom(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCeremony, path, err)
	}
	return p, nil
}

// readPhase2 reads a phase-2 file of the circuit, checking its layout
// before gnark decodes it: the counts gnark allocates by are bounded by the
// circuit (its wires, its commitments, Z's n−1 points).
func readPhase2(path string, r1cs *cs.R1CS, n uint64, contribution bool) (*mpcsetup.Phase2, error) {
	s := pkShapeOf(r1cs)
	// PKK and σCKK hold at most one point per wire, Z n−1.
	limit := 2 + g1Size + 4 + int(s.wires)*g1Size + 4 + int(n)*g1Size + g2Size +
		int(s.commitments)*(4+g2Size+g1Size+g2Size) + g1Size + g2Size + 1 + sha256.Size
	b, err := readLimited(path, limit)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCeremony, path, err)
	}
	return decodePhase2(path, b, r1cs, n, contribution, nil)
}

// decodePhase2 decodes a phase-2 file after checking its layout, and
// against want's if given.
func decodePhase2(path string, b []byte, r1cs *cs.R1CS, n uint64, contribution bool, want *phase2Layout) (*mpcsetup.Phase2, error) {
	s := pkShapeOf(r1cs)
	l, err := walkPhase2(b, s.wires, s.commitments)
	switch {
	case err != nil:
	case l.z != n-1:
		err = fmt.Errorf("%d points Z for domain %d", l.z, n)
	case l.challenge != uint64(challengeLen(contribution)):
		err = fmt.Errorf("a challenge of %d bytes", l.challenge)
	case want != nil && (l.pkk != want.pkk || l.ckk != want.ckk):
		err = fmt.Errorf("its counts are not the initial state's")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCeremony, path, err)
	}
	p := new(mpcsetup.Phase2)
	if _, err := p.ReadFrom(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCeremony, path, err)
	}
	return p, nil
}

// A Report is what Audit established about a ceremony directory.
type Report struct {
	Phase      int  // 1, or 2 once phase 1 is sealed
	Phase1     int  // phase-1 contributions verified
	Phase2     int  // phase-2 contributions verified
	Finalized  bool // phase 2 sealed (beacon2 recorded)
	Beacons    [2]*Beacon
	Transcript Transcript
}

// Verify checks every contribution of the current phase against the one
// before it, and in phase 2 everything phase 2 starts from: the phase-1
// contributions, commons.bin re-derived from them and beacon1, and
// phase2/0000.bin re-derived from commons.bin. It returns the number of
// contributions of the current phase. What a contributor or an observer
// runs before trusting the transcript; Audit says more.
func (c *Ceremony) Verify() (int, error) {
	r, err := c.Audit()
	if err != nil {
		return 0, err
	}
	if r.Phase == 1 {
		return r.Phase1, nil
	}
	return r.Phase2, nil
}

// Audit verifies the whole transcript (see Verify) and returns what it
// established, with the transcript hash of the files it verified.
func (c *Ceremony) Audit() (*Report, error) {
	n, r1cs, err := c.circuitOf()
	if err != nil {
		return nil, err
	}
	r := &Report{Phase: c.Phase(), Finalized: c.finalized()}
	if r.Phase == 1 {
		if _, r.Phase1, err = c.verifyPhase1(n); err != nil {
			return nil, err
		}
	} else {
		st, err := c.verifyPhase2(n, r1cs)
		if err != nil {
			return nil, err
		}
		r.Phase1, r.Phase2 = st.phase1, st.phase2
		r.Beacons[0], r.Beacons[1] = st.beacon1, st.beacon2
		if r.Finalized && r.Phase2 == 0 {
			return nil, fmt.Errorf("%w: phase 2 was sealed without a contribution", ErrCeremony)
		}
	}
	// Hashed after verifying, so that an oversized file is refused by its
	// size rather than read.
	if r.Transcript, err = c.Transcript(); err != nil {
		return nil, err
	}
	return r, nil
}

// verifyPhase1 checks phase1/0000.bin is the canonical start and every
// contribution against the one before, reading one file at a time, and
// returns the last state (the start if none) and the contribution count.
func (c *Ceremony) verifyPhase1(n uint64) (*mpcsetup.Phase1, int, error) {
	files, err := c.files(1)
	if err != nil {
		return nil, 0, err
	}
	if len(files) == 0 {
		return nil, 0, fmt.Errorf("%w: phase1/0000.bin is missing", ErrCeremony)
	}
	start := phase1Start(n)
	if err := sameFile(files[0], start); err != nil {
		return nil, 0, fmt.Errorf("%w: phase1/0000.bin is not the initial state for a domain of %d: %v", ErrCeremony, n, err)
	}
	prev := mpcsetup.NewPhase1(n)
	for i, f := range files[1:] {
		next, err := readPhase1(f, n, true)
		if err != nil {
			return nil, i, err
		}
		if err := prev.Verify(next); err != nil {
			return nil, i, fmt.Errorf("%w: phase 1 contribution %d (%s): %v", ErrCeremony, i+1, filepath.Base(f), err)
		}
		prev = next
	}
	return prev, len(files) - 1, nil
}

// sealPhase1 re-derives commons.bin: phase 1 verified, sealed with beacon.
func (c *Ceremony) sealPhase1(n uint64, beacon Beacon) (*mpcsetup.SrsCommons, int, error) {
	last, count, err := c.verifyPhase1(n)
	if err != nil {
		return nil, count, err
	}
	if count == 0 {
		return nil, 0, fmt.Errorf("%w: phase 1 has no contribution", ErrCeremony)
	}
	commons := last.Seal(beacon.Value)
	return &commons, count, nil
}

// SealPhase1 verifies every phase-1 contribution, seals them with a public
// beacon (a value no contributor could predict, e.g. a later block hash),
// records the beacon and starts phase 2.
func (c *Ceremony) SealPhase1(beacon []byte) error { return c.SealPhase1With(Beacon{Value: beacon}) }

// SealPhase1With is SealPhase1 recording where the beacon comes from. Run
// again with the same beacon, it completes a seal that was interrupted.
func (c *Ceremony) SealPhase1With(beacon Beacon) error {
	if err := beacon.validate(); err != nil {
		return err
	}
	n, r1cs, err := c.circuitOf()
	if err != nil {
		return err
	}
	old, err := c.Beacon(1)
	if err != nil {
		return err
	}
	if old != nil && !bytes.Equal(old.encode(), beacon.encode()) {
		return fmt.Errorf("%w: phase 1 is already sealed with another beacon", ErrCeremony)
	}
	commons, _, err := c.sealPhase1(n, beacon)
	if err != nil {
		return err
	}
	var p mpcsetup.Phase2
	p.Initialize(r1cs, commons)
	if err := os.MkdirAll(c.path("phase2"), 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"beacon1", beacon.encode()}, {"commons.bin", mustBytes(commons)}, {"phase2/0000.bin", mustBytes(&p)}} {
		if err := writeOrSame(c.path(f.name), f.b); err != nil {
			return err
		}
	}
	return nil
}

// phase2State is what verifyPhase2 established.
type phase2State struct {
	commons          *mpcsetup.SrsCommons
	evals            mpcsetup.Phase2Evaluations
	last             *mpcsetup.Phase2
	phase1, phase2   int
	beacon1, beacon2 *Beacon
}

// verifyPhase2 re-derives phase 2's start from phase 1 and beacon1, checks
// commons.bin and phase2/0000.bin are it, and verifies every phase-2
// contribution against the one before.
func (c *Ceremony) verifyPhase2(n uint64, r1cs *cs.R1CS) (*phase2State, error) {
	st := &phase2State{}
	var err error
	if st.beacon1, err = c.Beacon(1); err != nil {
		return nil, err
	}
	if st.beacon1 == nil {
		return nil, fmt.Errorf("%w: phase 1 is sealed but beacon1, its beacon, is not recorded", ErrCeremony)
	}
	if st.beacon2, err = c.Beacon(2); err != nil {
		return nil, err
	}
	if st.commons, st.phase1, err = c.sealPhase1(n, *st.beacon1); err != nil {
		return nil, err
	}
	if err := sameFile(c.path("commons.bin"), mustBytes(st.commons)); err != nil {
		return nil, fmt.Errorf("%w: commons.bin is not phase 1 sealed with beacon1: %v", ErrCeremony, err)
	}
	start := new(mpcsetup.Phase2)
	st.evals = start.Initialize(r1cs, st.commons)
	startBytes := mustBytes(start)
	files, err := c.files(2)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: phase2/0000.bin is missing", ErrCeremony)
	}
	if err := sameFile(files[0], startBytes); err != nil {
		return nil, fmt.Errorf("%w: phase2/0000.bin is not the phase-2 start derived from commons.bin: %v", ErrCeremony, err)
	}
	want, err := walkPhase2(startBytes, pkShapeOf(r1cs).wires, pkShapeOf(r1cs).commitments)
	if err != nil {
		return nil, fmt.Errorf("snark: phase-2 start: %w", err)
	}
	st.last = start
	for i, f := range files[1:] {
		b, err := readLimited(f, len(startBytes)+sha256.Size)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCeremony, err)
		}
		next, err := decodePhase2(f, b, r1cs, n, true, &want)
		if err != nil {
			return nil, err
		}
		if err := st.last.Verify(next); err != nil {
			return nil, fmt.Errorf("%w: phase 2 contribution %d (%s): %v", ErrCeremony, i+1, filepath.Base(f), err)
		}
		st.last = next
	}
	st.phase2 = len(files) - 1
	return st, nil
}

// Finalize verifies the whole transcript (see Verify), seals phase 2 with
// a beacon, records it and returns the keys, which carry the transcript
// hash.
func (c *Ceremony) Finalize(beacon []byte) (*Keys, error) {
	return c.FinalizeWith(Beacon{Value: beacon})
}

// FinalizeWith is Finalize recording where the beacon comes from. Run again
// with the same beacon, it derives the same keys.
func (c *Ceremony) FinalizeWith(beacon Beacon) (*Keys, error) {
	if c.Step != nil {
		return nil, fmt.Errorf("snark: a training-step ceremony: use FinalizeStep")
	}
	r1cs, pk, vk, o, err := c.finalize(beacon)
	if err != nil {
		return nil, err
	}
	return &Keys{Shape: c.Shape, CS: r1cs, PK: pk, VK: vk, Origin: o}, nil
}

// FinalizeStep is Finalize for a training-step ceremony.
func (c *Ceremony) FinalizeStep(beacon []byte) (*StepKeys, error) {
	return c.FinalizeStepWith(Beacon{Value: beacon})
}

// FinalizeStepWith is FinalizeWith for a training-step ceremony.
func (c *Ceremony) FinalizeStepWith(beacon Beacon) (*StepKeys, error) {
	if c.Step == nil {
		return nil, fmt.Errorf("snark: a matmul ceremony: use Finalize")
	}
	r1cs, pk, vk, o, err := c.finalize(beacon)
	if err != nil {
		return nil, err
	}
	return &StepKeys{Shape: *c.Step, CS: r1cs, PK: pk, VK: vk, Origin: o}, nil
}

func (c *Ceremony) finalize(beacon Beacon) (*cs.R1CS, groth16.ProvingKey, groth16.VerifyingKey, KeyOrigin, error) {
	var o KeyOrigin
	if err := beacon.validate(); err != nil {
		return nil, nil, nil, o, err
	}
	n, r1cs, err := c.circuitOf()
	if err != nil {
		return nil, nil, nil, o, err
	}
	if c.Phase() != 2 {
		return nil, nil, nil, o, fmt.Errorf("%w: phase 1 is not sealed", ErrCeremony)
	}
	st, err := c.verifyPhase2(n, r1cs)
	if err != nil {
		return nil, nil, nil, o, err
	}
	if st.phase2 == 0 {
		return nil, nil, nil, o, fmt.Errorf("%w: phase 2 has no contribution", ErrCeremony)
	}
	if st.beacon2 != nil && !bytes.Equal(st.beacon2.encode(), beacon.encode()) {
		return nil, nil, nil, o, fmt.Errorf("%w: phase 2 is already sealed with another beacon", ErrCeremony)
	}
	if err := writeOrSame(c.path("beacon2"), beacon.encode()); err != nil {
		return nil, nil, nil, o, err
	}
	tr, err := c.Transcript()
	if err != nil {
		return nil, nil, nil, o, err
	}
	pk, vk := st.last.Seal(st.commons, &st.evals, beacon.Value)
	return r1cs, pk, vk, KeyOrigin{Transcript: tr.Hash}, nil
}

// CheckVK checks that vk, a verifying-key file, is the one this finalized
// ceremony gives: it verifies the transcript and derives the keys again
// with the recorded beacon2 (Finalize is deterministic), origin included.
// A key's transcript hash alone proves nothing (whoever wrote the file
// chose it); this is what binds a published key to a verified transcript.
func (c *Ceremony) CheckVK(vk []byte) error {
	b, err := c.Beacon(2)
	if err != nil {
		return err
	}
	if b == nil {
		return fmt.Errorf("%w: the ceremony is not finalized", ErrCeremony)
	}
	_, _, v, o, err := c.finalize(*b)
	if err != nil {
		return err
	}
	body, err := body(v)
	if err != nil {
		return err
	}
	want := sealKey("TPVK", keyVersion, o, encodeMatMulShape(c.Shape), body)
	if c.Step != nil {
		want = sealKey("TSVK", stepKeyVersion, o, c.Step.encode(), body)
	}
	if !bytes.Equal(vk, want) {
		return fmt.Errorf("%w: the verifying key is not the one this transcript gives", ErrCeremony)
	}
	return nil
}

// A Transcript lists a ceremony's files in order, with their digests, and
// hashes them into one value to publish: the keys a ceremony gives carry
// it (KeyOrigin), and each contributor checks that the digest of their
// contribution is listed.
type Transcript struct {
	Files []TranscriptFile
	Hash  [32]byte
}

// A TranscriptFile is one file of a transcript.
type TranscriptFile struct {
	Name   string // slash-separated, relative to the ceremony directory
	Size   int64
	SHA256 [32]byte
}

const transcriptDomain = "trainproof ceremony transcript v1\n"

// Transcript hashes the ceremony's files as they are now, in their order:
// ceremony, phase1/NNNN.bin, beacon1, commons.bin, phase2/NNNN.bin,
// beacon2 (those that exist). The hash is
//
//	SHA-256("trainproof ceremony transcript v1\n" ‖
//	        for each file: u16 name length ‖ name ‖ u64 size ‖ SHA-256(file))
//
// It does not verify anything (Verify and Audit do); it reads one file at a
// time, in blocks.
func (c *Ceremony) Transcript() (Transcript, error) {
	var names []string
	add := func(name string) {
		if _, err := os.Lstat(c.path(name)); err == nil {
			names = append(names, name)
		}
	}
	addPhase := func(phase int) error {
		files, err := c.files(phase)
		for _, f := range files {
			names = append(names, fmt.Sprintf("phase%d/%s", phase, filepath.Base(f)))
		}
		return err
	}
	add("ceremony")
	if err := addPhase(1); err != nil {
		return Transcript{}, err
	}
	add("beacon1")
	add("commons.bin")
	if err := addPhase(2); err != nil {
		return Transcript{}, err
	}
	add("beacon2")
	var t Transcript
	h := sha256.New()
	h.Write([]byte(transcriptDomain))
	for _, name := range names {
		f, err := fileDigest(c.path(name))
		if err != nil {
			return Transcript{}, err
		}
		f.Name = name
		t.Files = append(t.Files, f)
		h.Write(binary.BigEndian.AppendUint16(nil, uint16(len(name))))
		h.Write([]byte(name))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(f.Size)))
		h.Write(f.SHA256[:])
	}
	h.Sum(t.Hash[:0])
	return t, nil
}

func fileDigest(path string) (TranscriptFile, error) {
	var t TranscriptFile
	f, _, err := safefile.Open(path)
	if err != nil {
		return t, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return t, err
	}
	if !st.Mode().IsRegular() {
		return t, fmt.Errorf("%w: %s is not a regular file", ErrCeremony, path)
	}
	h := sha256.New()
	if t.Size, err = io.Copy(h, f); err != nil {
		return t, err
	}
	h.Sum(t.SHA256[:0])
	return t, nil
}

// sameFile checks that path holds exactly want, reading at most its size.
func sameFile(path string, want []byte) error {
	got, err := readLimited(path, len(want))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("its contents differ")
	}
	return nil
}

// writeOrSame writes a new file, or accepts one that already holds b.
func writeOrSame(path string, b []byte) error {
	err := writeExclusive(path, b, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if sameFile(path, b) == nil {
			return nil
		}
		return fmt.Errorf("%w: %s exists with other contents", ErrCeremony, path)
	}
	return err
}

func mustBytes(w io.WriterTo) []byte {
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}
