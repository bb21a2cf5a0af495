// Package bundle encodes and decodes trainproof proof bundles.
//
// A bundle is what a miner hands in for one step of a work unit: the task, the
// step's commitments, the matrices the protocol opens whole, the opened rows
// of the others (sampled variant) or every matrix (full variant), and the
// miner's ed25519 signature. The byte layout is specified in docs/PROTOCOL.md
// (protocol version 2; version 1 bundles are refused with ErrVersion).
//
// The encoding is canonical: every length follows from the task, so there is
// exactly one encoding of a bundle, and Decode rejects anything else. Decode
// never panics on untrusted input; it checks the whole input's length against
// the length the task implies before it allocates anything that depends on
// the input, and it never allocates more than a small multiple of len(input).
// Decode checks structure only; package verifier checks the proof.
package bundle

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/model"
	"github.com/seed46f70faa/trainproof/protocol"
)

// Magic opens every bundle.
const Magic = "TPB\x01"

// Version is the format version this package writes and reads.
const Version uint16 = 2

// MaxSize is the default limit on an encoded bundle (2 GiB − 1, the largest
// slice a 32-bit platform can hold).
const MaxSize = 1<<31 - 1

// Variant says what a bundle carries.
type Variant uint8

const (
	Sampled Variant = 1 // roots, the Whole matrices, and the openings of sampled rows of the others
	Full    Variant = 2 // roots and every matrix in full
)

func (v Variant) String() string {
	switch v {
	case Sampled:
		return "sampled"
	case Full:
		return "full"
	}
	return fmt.Sprintf("variant(%d)", uint8(v))
}

// ErrFormat reports bytes that are not a well-formed bundle.
var ErrFormat = errors.New("bundle: malformed")

// ErrVersion reports a bundle of another protocol version (it wraps ErrFormat).
var ErrVersion = fmt.Errorf("%w: unsupported protocol version", ErrFormat)

// ErrTooLarge reports a bundle larger than the configured limit.
var ErrTooLarge = errors.New("bundle: too large")

// Opening is one opened row and its Merkle siblings.
type Opening struct {
	Data []byte
	Path []commit.Hash
}

// Example is the opening of one training example in the data-set tree.
type Example struct {
	Label uint8
	Image []byte
	Path  []commit.Hash
}

// Bundle is a decoded bundle.
type Bundle struct {
	Variant Variant
	Task    protocol.Task
	Step    uint64
	Prev    commit.Hash   // the previous step's root (zero at step 0)
	Roots   []commit.Hash // one per matrix, plan order
	Nonce   [32]byte      // beacon mode: the nonce the rows were sampled with

	// Sampled: Open[m][k] is the opening of matrix m at its group's k-th
	// sampled row (nil for matrices that are not opened by rows: derived or
	// Whole).
	Open [][]Opening
	// Data[m] is matrix m's canonical bytes, all rows: every committed
	// matrix in a full bundle, the Whole ones in a sampled bundle (nil
	// otherwise).
	Data [][]byte
	// Train: the training example of every batch row, in row order.
	Examples []Example

	PublicKey ed25519.PublicKey
	Signature []byte
}

// ImageBytes is the size of one Fashion-MNIST image.
const ImageBytes = 28 * 28

// batchRows is the number of example openings the bundle carries: every
// batch row (the batch matrices are Whole in both variants).
func batchRows(plan *protocol.Plan) int {
	if plan.Task.Work != protocol.WorkTrain {
		return 0
	}
	return plan.Groups[plan.BatchGroup].Rows
}

// whole reports whether matrix m travels complete in a bundle of variant v.
func whole(v Variant, plan *protocol.Plan, m int) bool {
	ms := plan.Matrices[m]
	return ms.Committed() && (v == Full || ms.Whole)
}

// size returns the exact encoded size the header implies, or an error when
// it overflows or exceeds limit.
func size(b *Bundle, plan *protocol.Plan, taskLen int, limit uint64) (uint64, error) {
	var total uint64 = uint64(len(Magic)) + 2 + 1 + 2 + uint64(taskLen) + 8 + 32
	add := func(x, y uint64) error {
		hi, lo := bits.Mul64(x, y)
		if hi != 0 {
			return ErrTooLarge
		}
		s, c := bits.Add64(total, lo, 0)
		if c != 0 || s > limit {
			return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		total = s
		return nil
	}
	if err := add(uint64(len(plan.Matrices)), 32); err != nil {
		return 0, err
	}
	if plan.Task.Mode == protocol.ModeBeacon {
		if err := add(1, 32); err != nil {
			return 0, err
		}
	}
	for i, m := range plan.Matrices {
		if !m.Committed() {
			continue
		}
		rows := uint64(m.Rows)
		per := uint64(m.RowBytes())
		if !whole(b.Variant, plan, i) {
			rows = uint64(plan.Samples(m.Group))
			per += 32 * uint64(commit.Depth(m.Rows))
		}
		if err := add(rows, per); err != nil {
			return 0, err
		}
	}
	if err := add(uint64(batchRows(plan)), 1+ImageBytes+32*uint64(commit.Depth(model.TrainExamples))); err != nil {
		return 0, err
	}
	if err := add(1, ed25519.PublicKeySize+ed25519.SignatureSize); err != nil {
		return 0, err
	}
	return total, nil
}

// signedDigest is what the signature signs: SHA-256("trainproof/v1/bundle" ‖ every byte before the signature).
func signedDigest(body []byte) []byte {
	h := sha256.New()
	h.Write([]byte("trainproof/v1/bundle"))
	h.Write(body)
	return h.Sum(nil)
}

// Encode signs the bundle with key (setting PublicKey and Signature) and
// returns its encoding.
func Encode(b *Bundle, key ed25519.PrivateKey) ([]byte, error) {
	plan, err := protocol.NewPlan(b.Task)
	if err != nil {
		return nil, err
	}
	if err := CheckShape(b, plan); err != nil {
		return nil, err
	}
	task := b.Task.AppendBinary(nil)
	want, err := size(b, plan, len(task), 1<<62)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, want)
	out = append(out, Magic...)
	out = binary.BigEndian.AppendUint16(out, Version)
	out = append(out, byte(b.Variant))
	out = binary.BigEndian.AppendUint16(out, uint16(len(task)))
	out = append(out, task...)
	out = binary.BigEndian.AppendUint64(out, b.Step)
	out = append(out, b.Prev[:]...)
	for _, r := range b.Roots {
		out = append(out, r[:]...)
	}
	if plan.Task.Mode == protocol.ModeBeacon {
		out = append(out, b.Nonce[:]...)
	}
	for m := range plan.Matrices {
		if whole(b.Variant, plan, m) {
			out = append(out, b.Data[m]...)
		}
	}
	if b.Variant == Sampled {
		for g := range plan.Groups {
			for k := 0; k < plan.Samples(g); k++ {
				for _, m := range plan.Groups[g].Matrices {
					if !plan.Opened(m) {
						continue
					}
					o := b.Open[m][k]
					out = append(out, o.Data...)
					for _, h := range o.Path {
						out = append(out, h[:]...)
					}
				}
			}
		}
	}
	for _, e := range b.Examples {
		out = append(out, e.Label)
		out = append(out, e.Image...)
		for _, h := range e.Path {
			out = append(out, h[:]...)
		}
	}
	b.PublicKey = key.Public().(ed25519.PublicKey)
	out = append(out, b.PublicKey...)
	b.Signature = ed25519.Sign(key, signedDigest(out))
	out = append(out, b.Signature...)
	if uint64(len(out)) != want {
		return nil, fmt.Errorf("bundle: internal error: encoded %d bytes, expected %d", len(out), want)
	}
	return out, nil
}

// Decode parses a bundle of at most limit bytes (0 means MaxSize) and
// checks its signature. The returned bundle's byte slices alias in.
func Decode(in []byte, limit int) (*Bundle, error) {
	if limit <= 0 {
		limit = MaxSize
	}
	if len(in) > limit {
		return nil, fmt.Errorf("%w: %d bytes exceeds the limit of %d", ErrTooLarge, len(in), limit)
	}
	r := reader{b: in}
	if string(r.next(len(Magic))) != Magic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if v := r.u16(); v != Version {
		if r.err != nil {
			return nil, r.err
		}
		return nil, fmt.Errorf("%w %d (this build reads version %d only; re-prove the step with a current prover)", ErrVersion, v, Version)
	}
	b := &Bundle{Variant: Variant(r.u8())}
	if b.Variant != Sampled && b.Variant != Full {
		return nil, fmt.Errorf("%w: unknown variant %d", ErrFormat, b.Variant)
	}
	taskLen := int(r.u16())
	taskBytes := r.next(taskLen)
	if r.err != nil {
		return nil, r.err
	}
	task, err := protocol.ParseTask(taskBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	b.Task = task
	plan, err := protocol.NewPlan(task)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	want, err := size(b, plan, taskLen, uint64(limit))
	if err != nil {
		return nil, err
	}
	if uint64(len(in)) != want {
		return nil, fmt.Errorf("%w: %d bytes, the task implies %d", ErrFormat, len(in), want)
	}
	// From here on every read is in bounds: the length was checked.
	b.Step = r.u64()
	copy(b.Prev[:], r.next(32))
	b.Roots = make([]commit.Hash, len(plan.Matrices))
	for i := range b.Roots {
		copy(b.Roots[i][:], r.next(32))
		if !plan.Matrices[i].Committed() && b.Roots[i] != (commit.Hash{}) {
			return nil, fmt.Errorf("%w: matrix %s is derived from the task, its root must be zero", ErrFormat, plan.Matrices[i].Name)
		}
	}
	if task.Mode == protocol.ModeBeacon {
		copy(b.Nonce[:], r.next(32))
	}
	b.Data = make([][]byte, len(plan.Matrices))
	for m, ms := range plan.Matrices {
		if whole(b.Variant, plan, m) {
			b.Data[m] = r.next(ms.Rows * ms.RowBytes())
		}
	}
	if b.Variant == Sampled {
		b.Open = make([][]Opening, len(plan.Matrices))
		for g := range plan.Groups {
			s := plan.Samples(g)
			for _, m := range plan.Groups[g].Matrices {
				if plan.Opened(m) {
					b.Open[m] = make([]Opening, s)
				}
			}
			for k := 0; k < s; k++ {
				for _, m := range plan.Groups[g].Matrices {
					ms := plan.Matrices[m]
					if plan.Opened(m) {
						b.Open[m][k] = Opening{Data: r.next(ms.RowBytes()), Path: r.hashes(commit.Depth(ms.Rows))}
					}
				}
			}
		}
	}
	b.Examples = make([]Example, batchRows(plan))
	for i := range b.Examples {
		b.Examples[i] = Example{Label: r.u8(), Image: r.next(ImageBytes), Path: r.hashes(commit.Depth(model.TrainExamples))}
	}
	signed := in[:r.off+ed25519.PublicKeySize]
	b.PublicKey = ed25519.PublicKey(r.next(ed25519.PublicKeySize))
	b.Signature = r.next(ed25519.SignatureSize)
	if r.err != nil {
		return nil, r.err
	}
	if !ed25519.Verify(b.PublicKey, signedDigest(signed), b.Signature) {
		return nil, ErrSignature
	}
	return b, nil
}

// CheckShape reports whether a bundle (decoded, or built by hand) has every
// part its plan implies, with the right sizes, so that Encode can write it
// and a verifier can index it without further checks.
func CheckShape(b *Bundle, plan *protocol.Plan) error {
	if b.Variant != Sampled && b.Variant != Full {
		return fmt.Errorf("%w: variant %d", ErrFormat, b.Variant)
	}
	if len(b.Roots) != len(plan.Matrices) || len(b.Data) != len(plan.Matrices) || len(b.Examples) != batchRows(plan) {
		return fmt.Errorf("%w: parts do not match the task's plan", ErrFormat)
	}
	if b.Variant == Sampled && len(b.Open) != len(plan.Matrices) {
		return fmt.Errorf("%w: openings do not match the task's plan", ErrFormat)
	}
	for m, ms := range plan.Matrices {
		if whole(b.Variant, plan, m) != (b.Data[m] != nil) || (b.Data[m] != nil && len(b.Data[m]) != ms.Rows*ms.RowBytes()) {
			return fmt.Errorf("%w: matrix %s data has the wrong size", ErrFormat, ms.Name)
		}
		if b.Variant == Sampled && plan.Opened(m) {
			if len(b.Open[m]) != plan.Samples(ms.Group) {
				return fmt.Errorf("%w: matrix %s has %d openings, want %d", ErrFormat, ms.Name, len(b.Open[m]), plan.Samples(ms.Group))
			}
			for _, o := range b.Open[m] {
				if len(o.Data) != ms.RowBytes() || len(o.Path) != commit.Depth(ms.Rows) {
					return fmt.Errorf("%w: matrix %s opening has the wrong size", ErrFormat, ms.Name)
				}
			}
		}
	}
	for _, e := range b.Examples {
		if len(e.Image) != ImageBytes || len(e.Path) != commit.Depth(model.TrainExamples) {
			return fmt.Errorf("%w: example opening has the wrong size", ErrFormat)
		}
	}
	return nil
}

// ErrSignature reports a signature that does not verify under the bundle's key.
var ErrSignature = errors.New("bundle: bad signature")

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) next(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		if r.err == nil {
			r.err = fmt.Errorf("%w: truncated at byte %d", ErrFormat, r.off)
		}
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

func (r *reader) u8() uint8 {
	if b := r.next(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.next(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.next(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (r *reader) hashes(n int) []commit.Hash {
	raw := r.next(32 * n)
	if raw == nil {
		return nil
	}
	hs := make([]commit.Hash, n)
	for i := range hs {
		copy(hs[i][:], raw[32*i:])
	}
	return hs
}
