// Package safefile opens and reads the files a node or a miner is handed
// (bundles, keys, nonces, checkpoints, ceremony files) so that no file can
// hang the reader or make it hold more than a stated limit: only regular
// files are opened, checked before opening (opening a FIFO blocks until
// someone writes to it), and a read is bounded before anything is
// allocated, into one buffer of the file's size.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

var (
	// ErrNotRegular reports a FIFO, device, socket or directory (inside an
	// *os.PathError, as an open that fails).
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge reports a file over the caller's limit.
	ErrTooLarge = errors.New("larger than allowed")
)

// Open opens path if it is a regular file, and returns its size.
func Open(path string) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, &os.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	// The path may have been swapped between the two calls.
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = &os.PathError{Op: "open", Path: path, Err: ErrNotRegular}
		}
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// ReadFile reads a regular file of at most limit bytes, refusing a larger
// one before reading it, into one buffer of the file's size (io.ReadAll
// grows by doubling and can hold twice the file at its peak).
func ReadFile(path string, limit int64) ([]byte, error) {
	f, size, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > limit {
		return nil, fmt.Errorf("%s: %d bytes: %w (at most %d)", path, size, ErrTooLarge, limit)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("%s: %w (was it truncated while being read?)", path, err)
	}
	if n, _ := f.Read(make([]byte, 1)); n != 0 {
		return nil, fmt.Errorf("%s: grew while being read: %w", path, ErrTooLarge)
	}
	return b, nil
}
