// Package dataset loads Fashion-MNIST (or any MNIST-shaped set) from IDX
// files, gzip-compressed or raw. Every header value is checked against a
// limit before anything is allocated.
package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// DefaultDir is where Debian's dataset-fashion-mnist package installs the set.
const DefaultDir = "/usr/share/datasets/fashion-mnist"

// ErrNotFound reports a missing data set.
var ErrNotFound = errors.New("dataset: Fashion-MNIST not found")

// ErrFormat reports a malformed IDX file.
var ErrFormat = errors.New("dataset: malformed IDX file")

// Limits on what an IDX file may declare.
const (
	MaxItems = 1_000_000
	MaxSide  = 1024
	maxBytes = 1 << 30
)

// Set is a labelled image set: N images of Rows×Cols bytes.
type Set struct {
	N, Rows, Cols int
	Images        []byte // N·Rows·Cols, row-major images one after another
	Labels        []uint8
}

// Image returns image i (no copy).
func (s *Set) Image(i int) []byte {
	n := s.Rows * s.Cols
	return s.Images[i*n : (i+1)*n]
}

// Load reads the training and test sets from dir.
func Load(dir string) (train, test *Set, err error) {
	if train, err = LoadSet(dir, "train"); err != nil {
		return nil, nil, err
	}
	if test, err = LoadSet(dir, "t10k"); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// LoadSet reads prefix-images-idx3-ubyte[.gz] and prefix-labels-idx1-ubyte[.gz].
func LoadSet(dir, prefix string) (*Set, error) {
	imgs, err := readIDXFile(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	labs, err := readIDXFile(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	n, rows, cols, images, err := ParseImages(imgs)
	if err != nil {
		return nil, fmt.Errorf("%s images: %w", prefix, err)
	}
	labels, err := ParseLabels(labs)
	if err != nil {
		return nil, fmt.Errorf("%s labels: %w", prefix, err)
	}
	if len(labels) != n {
		return nil, fmt.Errorf("%w: %d images but %d labels", ErrFormat, n, len(labels))
	}
	for i, l := range labels {
		if l > 9 {
			return nil, fmt.Errorf("%w: label %d of example %d is not a class 0-9", ErrFormat, l, i)
		}
	}
	return &Set{N: n, Rows: rows, Cols: cols, Images: images, Labels: labels}, nil
}

func readIDXFile(dir, name string) ([]byte, error) {
	for _, p := range []string{filepath.Join(dir, name+".gz"), filepath.Join(dir, name)} {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		var r io.Reader = f
		if filepath.Ext(p) == ".gz" {
			zr, err := gzip.NewReader(f)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrFormat, p, err)
			}
			r = zr
		}
		b, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrFormat, p, err)
		}
		if len(b) > maxBytes {
			return nil, fmt.Errorf("%w: %s exceeds %d bytes", ErrFormat, p, maxBytes)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: no %s[.gz] in %s (install Debian's dataset-fashion-mnist package: apt-get install dataset-fashion-mnist, or pass --data DIR)", ErrNotFound, name, dir)
}

// ParseImages parses an IDX3 unsigned-byte image file.
func ParseImages(b []byte) (n, rows, cols int, images []byte, err error) {
	if len(b) < 16 || binary.BigEndian.Uint32(b) != 0x00000803 {
		return 0, 0, 0, nil, fmt.Errorf("%w: not an IDX3 ubyte image file", ErrFormat)
	}
	n = int(binary.BigEndian.Uint32(b[4:]))
	rows = int(binary.BigEndian.Uint32(b[8:]))
	cols = int(binary.BigEndian.Uint32(b[12:]))
	if n < 1 || n > MaxItems || rows < 1 || rows > MaxSide || cols < 1 || cols > MaxSide {
		return 0, 0, 0, nil, fmt.Errorf("%w: %d images of %d×%d out of range", ErrFormat, n, rows, cols)
	}
	if uint64(len(b)-16) != uint64(n)*uint64(rows)*uint64(cols) {
		return 0, 0, 0, nil, fmt.Errorf("%w: %d bytes of pixels, header says %d×%d×%d", ErrFormat, len(b)-16, n, rows, cols)
	}
	return n, rows, cols, bytes.Clone(b[16:]), nil
}

// ParseLabels parses an IDX1 unsigned-byte label file.
func ParseLabels(b []byte) ([]uint8, error) {
	if len(b) < 8 || binary.BigEndian.Uint32(b) != 0x00000801 {
		return nil, fmt.Errorf("%w: not an IDX1 ubyte label file", ErrFormat)
	}
	n := int(binary.BigEndian.Uint32(b[4:]))
	if n < 1 || n > MaxItems || len(b)-8 != n {
		return nil, fmt.Errorf("%w: %d labels declared, %d present", ErrFormat, n, len(b)-8)
	}
	return bytes.Clone(b[8:]), nil
}
