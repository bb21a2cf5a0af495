package bundle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/seed46f70faa/trainproof/internal/safefile"
	"github.com/seed46f70faa/trainproof/protocol"
)

// headerFixed is the part of the header before the task encoding: magic,
// version, variant and the task's length.
const headerFixed = len(Magic) + 2 + 1 + 2

// ReadHeader reads only the header of the bundle file at path: its task and
// step. It lets a caller order many bundles (a chain is checked in step
// order) without holding any of them in memory.
//
// ReadHeader reads at most a few kilobytes whatever the file holds. It
// refuses what Decode would refuse from the header alone: bad magic, another
// version (ErrVersion), an unknown variant, a malformed task (ErrFormat), and
// a file whose size is not the one the task implies or exceeds MaxSize
// (ErrFormat, ErrTooLarge). It checks neither the body nor the signature:
// only Decode does.
func ReadHeader(path string) (protocol.Task, uint64, error) {
	f, size, err := open(path)
	if err != nil {
		return protocol.Task{}, 0, err
	}
	defer f.Close()
	return readHeader(f, size)
}

// readHeader parses a header from r, the start of a bundle of n bytes.
func readHeader(r io.Reader, n int64) (protocol.Task, uint64, error) {
	if n > MaxSize {
		return protocol.Task{}, 0, fmt.Errorf("%w: %d bytes exceeds the limit of %d", ErrTooLarge, n, MaxSize)
	}
	fixed := make([]byte, headerFixed)
	if err := readFull(r, fixed); err != nil {
		return protocol.Task{}, 0, err
	}
	if string(fixed[:len(Magic)]) != Magic {
		return protocol.Task{}, 0, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if v := binary.BigEndian.Uint16(fixed[len(Magic):]); v != Version {
		return protocol.Task{}, 0, fmt.Errorf("%w %d (this build reads version %d only; re-prove the step with a current prover)", ErrVersion, v, Version)
	}
	b := &Bundle{Variant: Variant(fixed[len(Magic)+2])}
	if b.Variant != Sampled && b.Variant != Full {
		return protocol.Task{}, 0, fmt.Errorf("%w: unknown variant %d", ErrFormat, b.Variant)
	}
	// The length is a u16, so this allocation is at most 64 KiB + 8.
	taskLen := int(binary.BigEndian.Uint16(fixed[len(Magic)+3:]))
	rest := make([]byte, taskLen+8)
	if err := readFull(r, rest); err != nil {
		return protocol.Task{}, 0, err
	}
	task, err := protocol.ParseTask(rest[:taskLen])
	if err != nil {
		return protocol.Task{}, 0, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	plan, err := protocol.NewPlan(task)
	if err != nil {
		return protocol.Task{}, 0, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	want, err := size(b, plan, taskLen, MaxSize)
	if err != nil {
		return protocol.Task{}, 0, err
	}
	if uint64(n) != want {
		return protocol.Task{}, 0, fmt.Errorf("%w: %d bytes, the task implies %d", ErrFormat, n, want)
	}
	return task, binary.BigEndian.Uint64(rest[taskLen:]), nil
}

// readFull reads len(b) bytes, reporting a short input as a truncated bundle.
func readFull(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated header", ErrFormat)
	}
	return err
}

// open opens a bundle file (safefile.Open); what is not a regular file is
// not a bundle (ErrFormat), not an I/O error.
func open(path string) (*os.File, int64, error) {
	f, size, err := safefile.Open(path)
	if errors.Is(err, safefile.ErrNotRegular) {
		return nil, 0, fmt.Errorf("%w: %s is not a regular file", ErrFormat, path)
	}
	return f, size, err
}
