package snark

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/seed46f70faa/trainproof/internal/safefile"
)

var (
	// ErrKey reports a key file that is malformed, of another kind, version
	// or shape, or whose checksum does not match.
	ErrKey = errors.New("snark: bad key")
	// ErrDevKey reports development keys where ceremony keys are required
	// (see KeyOrigin.Check).
	ErrDevKey = errors.New("snark: development keys (single-party setup: whoever made them can forge proofs)")
)

// Limits on key files, checked before anything is allocated.
const (
	MaxVerifyingKey = 1 << 20
	MaxProvingKey   = 1 << 30
)

// Envelope versions. Version 3 says where the keys come from (origin and
// transcript); versions 1 and 2 did not, and are refused. A step key's
// version also names its circuit: version 2 was the circuit that holds the
// batch and the views whole (no answer vectors), and it bumps again when
// the step circuit changes.
const (
	keyVersion     = 3
	stepKeyVersion = 3
)

// Key origins, the envelope's origin byte.
const (
	originDev      = 1
	originCeremony = 2
)

// KeyOrigin says how a key pair was made. Its zero value is a development
// key pair (DevSetup, DevSetupStep): whoever ran the setup knows its toxic
// waste and can forge proofs. Keys finalized from a ceremony carry the
// ceremony's transcript hash (Ceremony.Transcript), which anyone can check
// against the published transcript by re-running Ceremony.Verify on it.
type KeyOrigin struct {
	Transcript [32]byte // the ceremony's transcript hash; zero for development keys
}

// IsDev reports development keys.
func (o KeyOrigin) IsDev() bool { return o.Transcript == [32]byte{} }

// Check returns ErrDevKey for development keys unless allowDev: what a node
// runs before it accepts proofs under a key.
func (o KeyOrigin) Check(allowDev bool) error {
	if o.IsDev() && !allowDev {
		return ErrDevKey
	}
	return nil
}

// Keys are the Groth16 keys of one MatMulCircuit shape.
type Keys struct {
	Shape MatMulShape
	CS    constraint.ConstraintSystem
	PK    groth16.ProvingKey
	VK    groth16.VerifyingKey

	Origin KeyOrigin // zero (development keys) unless from a ceremony
}

// IsDev reports development keys.
func (k *Keys) IsDev() bool { return k.Origin.IsDev() }

// IsDev reports development keys.
func (k *StepKeys) IsDev() bool { return k.Origin.IsDev() }

// Compile compiles the circuit for a shape.
func Compile(s MatMulShape) (constraint.ConstraintSystem, error) {
	c, err := NewMatMulCircuit(s)
	if err != nil {
		return nil, err
	}
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
}

// DevSetup runs a single-party Groth16 setup. Whoever ran it knows the
// toxic waste and can forge proofs: these keys are for development only,
// and their envelopes say so.
func DevSetup(s MatMulShape) (*Keys, error) {
	cs, err := Compile(s)
	if err != nil {
		return nil, err
	}
	pk, vk, err := groth16.Setup(cs)
	if err != nil {
		return nil, err
	}
	return &Keys{Shape: s, CS: cs, PK: pk, VK: vk}, nil
}

// Envelope of every key file (version 3):
//
//	magic (4) ‖ u16 version (3) ‖ u8 curve (1 = BN254) ‖
//	u8 origin (1 = development, 2 = ceremony) ‖
//	transcript hash (32: the ceremony's, all zero iff development) ‖
//	u16 shape length ‖ shape ‖ u64 body length ‖ body ‖
//	SHA-256 of everything before it (32)
//
// The magic is "TPPK" or "TPVK" for a matmul circuit, whose shape is
// u32 M ‖ u32 K ‖ u32 N ‖ u32 S, and "TSPK" or "TSVK" for a training-step
// circuit, whose shape is StepShape's encoding. The body is gnark's
// compressed encoding of the key, checked by checkVK or checkPK before
// gnark decodes it.
const keyHead = 4 + 2 + 1 + 1 + 32 + 2

func sealKey(magic string, version uint16, o KeyOrigin, shape, body []byte) []byte {
	b := binary.BigEndian.AppendUint16([]byte(magic), version)
	b = append(b, 1, originDev)
	if !o.IsDev() {
		b[7] = originCeremony
	}
	b = append(b, o.Transcript[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(shape)))
	b = append(b, shape...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(body)))
	b = append(b, body...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// openKey checks an envelope and returns its origin, shape and body.
func openKey(magic string, version uint16, in []byte, limit int) (KeyOrigin, []byte, []byte, error) {
	var o KeyOrigin
	if len(in) > limit || len(in) < keyHead+8+32 || string(in[:4]) != magic {
		return o, nil, nil, fmt.Errorf("%w: not a %s key of at most %d bytes", ErrKey, magic, limit)
	}
	if v := binary.BigEndian.Uint16(in[4:]); v != version || in[6] != 1 {
		hint := ""
		if v < version {
			hint = " (keys of an older version are for an older circuit or do not say whether they are development keys: make them again)"
		}
		return o, nil, nil, fmt.Errorf("%w: version %d curve %d (want %d, BN254)%s", ErrKey, v, in[6], version, hint)
	}
	if sum := sha256.Sum256(in[:len(in)-32]); !bytes.Equal(sum[:], in[len(in)-32:]) {
		return o, nil, nil, fmt.Errorf("%w: checksum mismatch", ErrKey)
	}
	copy(o.Transcript[:], in[8:40])
	if (in[7] == originDev) != o.IsDev() || (in[7] != originDev && in[7] != originCeremony) {
		return o, nil, nil, fmt.Errorf("%w: origin %d with transcript %x", ErrKey, in[7], o.Transcript)
	}
	n := int(binary.BigEndian.Uint16(in[40:]))
	if keyHead+n+8+32 > len(in) {
		return o, nil, nil, fmt.Errorf("%w: truncated", ErrKey)
	}
	shape := in[keyHead : keyHead+n]
	body := in[keyHead+n+8 : len(in)-32]
	if binary.BigEndian.Uint64(in[keyHead+n:]) != uint64(len(body)) {
		return o, nil, nil, fmt.Errorf("%w: body of %d bytes in a file of %d", ErrKey, binary.BigEndian.Uint64(in[keyHead+n:]), len(in))
	}
	return o, shape, body, nil
}

// KeyOriginOf reads the origin of a key file of any kind (proving or
// verifying, matmul or step) from its envelope, without decoding the key:
// what a node checks (KeyOrigin.Check) before it trusts a key.
func KeyOriginOf(in []byte) (KeyOrigin, error) {
	if len(in) < 4 {
		return KeyOrigin{}, fmt.Errorf("%w: not a key", ErrKey)
	}
	limit, version := MaxProvingKey, uint16(keyVersion)
	switch m := string(in[:4]); m {
	case "TPVK", "TSVK", "TPPK", "TSPK":
		if m[3] == 'V' {
			limit = MaxVerifyingKey
		}
		if m[1] == 'S' {
			version = stepKeyVersion
		}
		o, _, _, err := openKey(m, version, in, limit)
		return o, err
	}
	return KeyOrigin{}, fmt.Errorf("%w: not a key", ErrKey)
}

func encodeMatMulShape(s MatMulShape) []byte {
	var b []byte
	for _, x := range []int{s.M, s.K, s.N, s.S} {
		b = binary.BigEndian.AppendUint32(b, uint32(x))
	}
	return b
}

func decodeMatMulShape(b []byte) (MatMulShape, error) {
	var s MatMulShape
	if len(b) != 16 {
		return s, fmt.Errorf("%w: a matmul shape of %d bytes", ErrKey, len(b))
	}
	s = MatMulShape{M: int(binary.BigEndian.Uint32(b)), K: int(binary.BigEndian.Uint32(b[4:])),
		N: int(binary.BigEndian.Uint32(b[8:])), S: int(binary.BigEndian.Uint32(b[12:]))}
	if err := s.validate(); err != nil {
		return s, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return s, nil
}

// seal and sealStep make development-key envelopes (what tests and
// fuzzers seed with); Marshal* seal with the keys' own origin.
func seal(magic string, s MatMulShape, body []byte) []byte {
	return sealKey(magic, keyVersion, KeyOrigin{}, encodeMatMulShape(s), body)
}

func sealStep(magic string, s StepShape, body []byte) []byte {
	return sealKey(magic, stepKeyVersion, KeyOrigin{}, s.encode(), body)
}

// open and openStep check a key envelope and return its shape and body;
// openMatMul and openStepKey also its origin.
func open(magic string, in []byte, limit int) (MatMulShape, []byte, error) {
	_, s, b, err := openMatMul(magic, in, limit)
	return s, b, err
}

func openStep(magic string, in []byte, limit int) (StepShape, []byte, error) {
	_, s, b, err := openStepKey(magic, in, limit)
	return s, b, err
}

func openMatMul(magic string, in []byte, limit int) (KeyOrigin, MatMulShape, []byte, error) {
	o, sb, b, err := openKey(magic, keyVersion, in, limit)
	if err != nil {
		return o, MatMulShape{}, nil, err
	}
	s, err := decodeMatMulShape(sb)
	return o, s, b, err
}

func openStepKey(magic string, in []byte, limit int) (KeyOrigin, StepShape, []byte, error) {
	o, sb, b, err := openKey(magic, stepKeyVersion, in, limit)
	if err != nil {
		return o, StepShape{}, nil, err
	}
	s, err := decodeStepShape(sb)
	return o, s, b, err
}

// body is gnark's encoding of a key, an envelope's body.
func body(w io.WriterTo) ([]byte, error) {
	var b bytes.Buffer
	_, err := w.WriteTo(&b)
	return b.Bytes(), err
}

// readVK decodes an envelope's body, after checking its layout.
func readVK(b []byte) (groth16.VerifyingKey, error) {
	if err := checkVK(b); err != nil {
		return nil, fmt.Errorf("%w: verifying key: %v", ErrKey, err)
	}
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if _, err := vk.ReadFrom(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return vk, nil
}

// readPK decodes an envelope's body, after checking its layout against
// the circuit it is for.
func readPK(b []byte, ccs constraint.ConstraintSystem) (groth16.ProvingKey, error) {
	if err := checkPK(b, pkShapeOf(ccs)); err != nil {
		return nil, fmt.Errorf("%w: proving key: %v", ErrKey, err)
	}
	pk := groth16.NewProvingKey(ecc.BN254)
	if _, err := pk.ReadFrom(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return pk, nil
}

// MarshalVK and MarshalPK encode keys in their envelopes.
func (k *Keys) MarshalVK() ([]byte, error) {
	b, err := body(k.VK)
	return sealKey("TPVK", keyVersion, k.Origin, encodeMatMulShape(k.Shape), b), err
}

func (k *Keys) MarshalPK() ([]byte, error) {
	b, err := body(k.PK)
	return sealKey("TPPK", keyVersion, k.Origin, encodeMatMulShape(k.Shape), b), err
}

// ParseVK decodes a verifying key. Its origin is KeyOriginOf(in).
func ParseVK(in []byte) (MatMulShape, groth16.VerifyingKey, error) {
	s, b, err := open("TPVK", in, MaxVerifyingKey)
	if err != nil {
		return s, nil, err
	}
	vk, err := readVK(b)
	return s, vk, err
}

// LoadProver reads a proving key and recompiles the circuit it belongs to.
func LoadProver(path string) (*Keys, error) {
	in, err := readLimited(path, MaxProvingKey)
	if err != nil {
		return nil, err
	}
	o, s, b, err := openMatMul("TPPK", in, MaxProvingKey)
	if err != nil {
		return nil, err
	}
	cs, err := Compile(s)
	if err != nil {
		return nil, err
	}
	pk, err := readPK(b, cs)
	if err != nil {
		return nil, err
	}
	return &Keys{Shape: s, CS: cs, PK: pk, Origin: o}, nil
}

// MarshalVK and MarshalPK encode the keys in their envelopes.
func (k *StepKeys) MarshalVK() ([]byte, error) {
	b, err := body(k.VK)
	return sealKey("TSVK", stepKeyVersion, k.Origin, k.Shape.encode(), b), err
}

func (k *StepKeys) MarshalPK() ([]byte, error) {
	b, err := body(k.PK)
	return sealKey("TSPK", stepKeyVersion, k.Origin, k.Shape.encode(), b), err
}

// ParseStepVK decodes a step verifying key. Its origin is KeyOriginOf(in).
func ParseStepVK(in []byte) (StepShape, groth16.VerifyingKey, error) {
	s, b, err := openStep("TSVK", in, MaxVerifyingKey)
	if err != nil {
		return s, nil, err
	}
	vk, err := readVK(b)
	return s, vk, err
}

// LoadStepProver reads a step proving key and recompiles its circuit.
func LoadStepProver(path string) (*StepKeys, error) {
	in, err := readLimited(path, MaxProvingKey)
	if err != nil {
		return nil, err
	}
	o, s, b, err := openStepKey("TSPK", in, MaxProvingKey)
	if err != nil {
		return nil, err
	}
	cs, err := CompileStep(s)
	if err != nil {
		return nil, err
	}
	pk, err := readPK(b, cs)
	if err != nil {
		return nil, err
	}
	return &StepKeys{Shape: s, CS: cs, PK: pk, Origin: o}, nil
}

// WriteKeyFile writes a new key file: never over an existing file, never
// through a symbolic link, readable by its owner only (mode 0600).
func WriteKeyFile(path string, b []byte) error { return writeExclusive(path, b, 0o600) }

// writeExclusive creates path (O_EXCL, so an existing file or link, even a
// dangling one, is refused) and writes b.
func writeExclusive(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readLimited reads a regular file of at most limit bytes, checking its
// size before reading (safefile.ReadFile).
func readLimited(path string, limit int) ([]byte, error) {
	b, err := safefile.ReadFile(path, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("snark: %w", err)
	}
	return b, nil
}
