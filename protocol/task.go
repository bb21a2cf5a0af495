package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/seed46f70faa/trainproof/commit"
	"github.com/seed46f70faa/trainproof/model"
)

// Work is the kind of a work unit.
type Work uint8

const (
	WorkTrain  Work = 1 // one SGD step of the quantized MLP
	WorkMatMul Work = 2 // one product C = A·B of seed-derived int8 matrices
)

func (w Work) String() string {
	switch w {
	case WorkTrain:
		return "train"
	case WorkMatMul:
		return "matmul"
	}
	return fmt.Sprintf("work(%d)", uint8(w))
}

// Mode says where the row-sampling challenge comes from.
type Mode uint8

const (
	// ModeFiatShamir derives the sampled rows from the transcript. The prover
	// can grind (re-commit until a sample misses its bad rows), so the number
	// of samples must make (1−f)^s negligible even times the prover's budget.
	ModeFiatShamir Mode = 1
	// ModeBeacon derives the sampled rows from a 32-byte nonce that the
	// verifier (or a public beacon) supplies after the prover has committed
	// and answered the Freivalds challenges. Grinding is impossible.
	ModeBeacon Mode = 2
)

func (m Mode) String() string {
	switch m {
	case ModeFiatShamir:
		return "fiat-shamir"
	case ModeBeacon:
		return "beacon"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// MatMulSpec describes a bare matrix-product work unit: A (M×K) and B (K×N)
// derived from Seed (see GenRow), C = A·B.
type MatMulSpec struct {
	M, K, N uint32
	Seed    uint64
}

// Limits on what a task may ask for. They bound every allocation a verifier
// makes for a bundle of that task.
const (
	MaxDim         = 1 << 16 // rows or columns of any matrix
	MaxMatrixElems = 1 << 28 // elements of any one matrix (1 GiB of int32)
	MaxSamples     = 1 << 16
	// MaxInner is the largest inner dimension whose int8 products sum
	// exactly in int32 (131071·2^14 < 2^31); matmul.MaxInner is the same.
	MaxInner        = 1<<17 - 1
	maxTaskEncoding = 4096
)

// ErrTask reports a malformed or out-of-range task.
var ErrTask = errors.New("protocol: invalid task")

// Task is the specification of a job: what to compute, on which data, how it
// is challenged. Its hash, the task id, is bound into every commitment.
type Task struct {
	Work        Work
	Mode        Mode
	Samples     uint32       // rows sampled per row group (all rows if larger)
	Train       model.Config // WorkTrain
	DatasetRoot commit.Hash  // WorkTrain: Merkle root of the training set (see DatasetLeaf)
	MatMul      MatMulSpec   // WorkMatMul
}

// Validate checks the task against the limits.
func (t Task) Validate() error {
	if t.Mode != ModeFiatShamir && t.Mode != ModeBeacon {
		return fmt.Errorf("%w: mode %d", ErrTask, t.Mode)
	}
	if t.Samples == 0 || t.Samples > MaxSamples {
		return fmt.Errorf("%w: samples %d not in [1, %d]", ErrTask, t.Samples, MaxSamples)
	}
	switch t.Work {
	case WorkTrain:
		if err := t.Train.Validate(); err != nil {
			return fmt.Errorf("%w: %v", ErrTask, err)
		}
	case WorkMatMul:
		m := t.MatMul
		for _, d := range []uint32{m.M, m.K, m.N} {
			if d == 0 || d > MaxDim {
				return fmt.Errorf("%w: matmul dimension %d not in [1, %d]", ErrTask, d, MaxDim)
			}
		}
		if m.K > MaxInner {
			return fmt.Errorf("%w: inner dimension %d > %d", ErrTask, m.K, MaxInner)
		}
		if uint64(m.M)*uint64(m.N) > MaxMatrixElems || uint64(m.M)*uint64(m.K) > MaxMatrixElems || uint64(m.K)*uint64(m.N) > MaxMatrixElems {
			return fmt.Errorf("%w: matmul %d×%d×%d exceeds %d elements per matrix", ErrTask, m.M, m.K, m.N, MaxMatrixElems)
		}
	default:
		return fmt.Errorf("%w: work kind %d", ErrTask, t.Work)
	}
	return nil
}

// AppendBinary appends the canonical encoding:
//
//	uint8 work ‖ uint8 mode ‖ uint32be samples ‖ body
//	train body:  dataset root (32) ‖ model.Config encoding
//	matmul body: uint32be M ‖ uint32be K ‖ uint32be N ‖ uint64be seed
func (t Task) AppendBinary(dst []byte) []byte {
	dst = append(dst, byte(t.Work), byte(t.Mode))
	dst = binary.BigEndian.AppendUint32(dst, t.Samples)
	switch t.Work {
	case WorkTrain:
		dst = append(dst, t.DatasetRoot[:]...)
		dst = t.Train.AppendBinary(dst)
	case WorkMatMul:
		dst = binary.BigEndian.AppendUint32(dst, t.MatMul.M)
		dst = binary.BigEndian.AppendUint32(dst, t.MatMul.K)
		dst = binary.BigEndian.AppendUint32(dst, t.MatMul.N)
		dst = binary.BigEndian.AppendUint64(dst, t.MatMul.Seed)
	}
	return dst
}

// ParseTask decodes a task encoding that must span all of b, and validates it.
func ParseTask(b []byte) (Task, error) {
	var t Task
	if len(b) > maxTaskEncoding {
		return t, fmt.Errorf("%w: encoding of %d bytes exceeds %d", ErrTask, len(b), maxTaskEncoding)
	}
	if len(b) < 6 {
		return t, fmt.Errorf("%w: truncated", ErrTask)
	}
	t.Work, t.Mode = Work(b[0]), Mode(b[1])
	t.Samples = binary.BigEndian.Uint32(b[2:])
	rest := b[6:]
	switch t.Work {
	case WorkTrain:
		if len(rest) < 32 {
			return t, fmt.Errorf("%w: truncated", ErrTask)
		}
		copy(t.DatasetRoot[:], rest)
		cfg, n, err := model.ParseConfig(rest[32:])
		if err != nil {
			return t, fmt.Errorf("%w: %v", ErrTask, err)
		}
		t.Train = cfg
		rest = rest[32+n:]
	case WorkMatMul:
		if len(rest) < 20 {
			return t, fmt.Errorf("%w: truncated", ErrTask)
		}
		t.MatMul = MatMulSpec{
			M:    binary.BigEndian.Uint32(rest),
			K:    binary.BigEndian.Uint32(rest[4:]),
			N:    binary.BigEndian.Uint32(rest[8:]),
			Seed: binary.BigEndian.Uint64(rest[12:]),
		}
		rest = rest[20:]
	default:
		return t, fmt.Errorf("%w: work kind %d", ErrTask, b[0])
	}
	if len(rest) != 0 {
		return t, fmt.Errorf("%w: %d trailing bytes", ErrTask, len(rest))
	}
	if err := t.Validate(); err != nil {
		return t, err
	}
	return t, nil
}

// ID is the task id: SHA-256("trainproof/v1/task" ‖ encoding).
func (t Task) ID() commit.Hash {
	h := sha256.New()
	h.Write([]byte("trainproof/v1/task"))
	h.Write(t.AppendBinary(nil))
	var out commit.Hash
	h.Sum(out[:0])
	return out
}
