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
)

// ErrKey reports a key file that is malformed, of another kind, version or
// shape, or whose checksum does not match.
var ErrKey = errors.New("snark: bad key")

// Limits on key files, checked before anything is allocated.
const (
	MaxVerifyingKey = 1 << 20
	MaxProvingKey   = 1 << 30
	keyVersion      = 1
)

// Keys are the Groth16 keys of one MatMulCircuit shape.
type Keys struct {
	Shape MatMulShape
	CS    constraint.ConstraintSystem
	PK    groth16.ProvingKey
	VK    groth16.VerifyingKey
}

// Compile compiles the circuit for a shape.
func Compile(s MatMulShape) (constraint.ConstraintSystem, error) {
	c, err := NewMatMulCircuit(s)
	if err != nil {
		return nil, err
	}
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
}

// DevSetup runs a single-party Groth16 setup. Whoever ran it knows the
// toxic waste and can forge proofs: these keys are for development only.
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

// Envelope of a key file:
//
//	magic (4: "TPPK" or "TPVK") ‖ u16 version ‖ u8 curve (1 = BN254) ‖
//	u32 M ‖ u32 K ‖ u32 N ‖ u32 S ‖ u64 body length ‖ body (gnark encoding) ‖
//	SHA-256 of everything before it (32)
func seal(magic string, s MatMulShape, body []byte) []byte {
	b := append([]byte(magic), 0, keyVersion, 1)
	for _, x := range []int{s.M, s.K, s.N, s.S} {
		b = binary.BigEndian.AppendUint32(b, uint32(x))
	}
	b = binary.BigEndian.AppendUint64(b, uint64(len(body)))
	b = append(b, body...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func open(magic string, in []byte, limit int) (MatMulShape, []byte, error) {
	var s MatMulShape
	const head = 4 + 2 + 1 + 16 + 8
	if len(in) > limit || len(in) < head+32 || string(in[:4]) != magic {
		return s, nil, fmt.Errorf("%w: not a %s key of at most %d bytes", ErrKey, magic, limit)
	}
	if binary.BigEndian.Uint16(in[4:]) != keyVersion || in[6] != 1 {
		return s, nil, fmt.Errorf("%w: version %d curve %d (want %d, BN254)", ErrKey, binary.BigEndian.Uint16(in[4:]), in[6], keyVersion)
	}
	s = MatMulShape{M: int(binary.BigEndian.Uint32(in[7:])), K: int(binary.BigEndian.Uint32(in[11:])),
		N: int(binary.BigEndian.Uint32(in[15:])), S: int(binary.BigEndian.Uint32(in[19:]))}
	n := binary.BigEndian.Uint64(in[23:])
	if n != uint64(len(in)-head-32) {
		return s, nil, fmt.Errorf("%w: body of %d bytes in a file of %d", ErrKey, n, len(in))
	}
	if sum := sha256.Sum256(in[:len(in)-32]); !bytes.Equal(sum[:], in[len(in)-32:]) {
		return s, nil, fmt.Errorf("%w: checksum mismatch", ErrKey)
	}
	if err := s.validate(); err != nil {
		return s, nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return s, in[head : len(in)-32], nil
}

// body is gnark's encoding of a key, an envelope's body.
func body(w io.WriterTo) ([]byte, error) {
	var b bytes.Buffer
	_, err := w.WriteTo(&b)
	return b.Bytes(), err
}

// readVK and readPK decode an envelope's body.
func readVK(b []byte) (groth16.VerifyingKey, error) {
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if _, err := vk.ReadFrom(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return vk, nil
}

func readPK(b []byte) (groth16.ProvingKey, error) {
	pk := groth16.NewProvingKey(ecc.BN254)
	if _, err := pk.ReadFrom(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return pk, nil
}

// MarshalVK and MarshalPK encode keys in their envelopes.
func (k *Keys) MarshalVK() ([]byte, error) {
	b, err := body(k.VK)
	return seal("TPVK", k.Shape, b), err
}

func (k *Keys) MarshalPK() ([]byte, error) {
	b, err := body(k.PK)
	return seal("TPPK", k.Shape, b), err
}

// ParseVK decodes a verifying key.
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
	s, b, err := open("TPPK", in, MaxProvingKey)
	if err != nil {
		return nil, err
	}
	pk, err := readPK(b)
	if err != nil {
		return nil, err
	}
	cs, err := Compile(s)
	if err != nil {
		return nil, err
	}
	return &Keys{Shape: s, CS: cs, PK: pk}, nil
}

func readLimited(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > int64(limit) {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrKey, path, st.Size(), limit)
	}
	return io.ReadAll(io.LimitReader(f, int64(limit)+1))
}
