// Package dataset loads Fashion-MNIST (or any MNIST-shaped set) from IDX
// files, gzip-compressed or raw. Every header value is checked against a
// limit before anything is allocated, and a file must hold exactly what its
// header declares.
package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// DefaultDir is where Debian's dataset-fashion-mnist package installs the set.
const DefaultDir = "/usr/share/datasets/fashion-mnist"

// ErrNotFound reports a missing data set.
var ErrNotFound = errors.New("dataset: Fashion-MNIST not found")

// ErrFormat reports a malformed IDX file.
var ErrFormat = errors.New("dataset: malformed IDX file")

// Limits on what an IDX file may declare.
const (
	MaxItems = 1_000_000 // images or labels in one file
	MaxSide  = 1024      // rows and columns of an image
	MaxBytes = 1 << 30   // pixels in one file
	Classes  = 10        // labels are 0 … Classes−1
)

// IDX magic numbers: unsigned bytes, 3 dimensions (images) or 1 (labels).
const (
	magicImages = 0x00000803
	magicLabels = 0x00000801
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

// Load reads the training set (train-*) and the test set (t10k-*) from dir.
// A missing file is reported as ErrNotFound, with how to install the set.
func Load(dir string) (train, test *Set, err error) {
	if train, err = LoadSet(dir, "train"); err != nil {
		return nil, nil, err
	}
	if test, err = LoadSet(dir, "t10k"); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// LoadSet reads prefix-images-idx3-ubyte[.gz] and prefix-labels-idx1-ubyte[.gz]
// from dir. The two must agree on the count, and every label must be a
// class 0 … 9.
func LoadSet(dir, prefix string) (*Set, error) {
	var s Set
	err := withIDXFile(dir, prefix+"-images-idx3-ubyte", func(r io.Reader) (err error) {
		s.N, s.Rows, s.Cols, s.Images, err = DecodeImages(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = withIDXFile(dir, prefix+"-labels-idx1-ubyte", func(r io.Reader) (err error) {
		s.Labels, err = DecodeLabels(r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(s.Labels) != s.N {
		return nil, fmt.Errorf("%w: %s: %d images but %d labels", ErrFormat, prefix, s.N, len(s.Labels))
	}
	for i, l := range s.Labels {
		if l >= Classes {
			return nil, fmt.Errorf("%w: %s: label %d of example %d is not a class 0-9", ErrFormat, prefix, l, i)
		}
	}
	return &s, nil
}

// withIDXFile opens dir/name.gz, or else dir/name, and calls f on its
// content, decompressed when it starts with the gzip magic.
func withIDXFile(dir, name string, f func(io.Reader) error) error {
	for _, p := range []string{filepath.Join(dir, name+".gz"), filepath.Join(dir, name)} {
		file, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("dataset: %w", err)
		}
		defer file.Close()
		br := bufio.NewReaderSize(file, 1<<16)
		var r io.Reader = br
		if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrFormat, p, err)
			}
			defer zr.Close()
			r = zr
		}
		if err := f(r); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	}
	return fmt.Errorf("%w: no %s[.gz] in %s (install it with: apt-get install dataset-fashion-mnist, or use --data DIR)", ErrNotFound, name, dir)
}

// DecodeImages reads an IDX3 unsigned-byte image file: magic 0x00000803,
// then big-endian u32 count, rows, cols, then the pixels. The header is
// checked against MaxItems, MaxSide and MaxBytes before anything is
// allocated, memory grows only as pixels actually arrive, and r must end
// exactly after them.
func DecodeImages(r io.Reader) (n, rows, cols int, images []byte, err error) {
	var h [16]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, 0, 0, nil, fmt.Errorf("%w: image header: %v", ErrFormat, err)
	}
	if n, rows, cols, err = imageHeader(h[:]); err != nil {
		return 0, 0, 0, nil, err
	}
	if images, err = readBody(r, n*rows*cols); err != nil {
		return 0, 0, 0, nil, fmt.Errorf("%w: %d images of %d×%d: %v", ErrFormat, n, rows, cols, err)
	}
	return n, rows, cols, images, nil
}

// DecodeLabels reads an IDX1 unsigned-byte label file: magic 0x00000801,
// a big-endian u32 count (at most MaxItems, checked before allocating),
// then the labels; r must end exactly after them.
func DecodeLabels(r io.Reader) ([]uint8, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("%w: label header: %v", ErrFormat, err)
	}
	n, err := labelHeader(h[:])
	if err != nil {
		return nil, err
	}
	labels, err := readBody(r, n)
	if err != nil {
		return nil, fmt.Errorf("%w: %d labels: %v", ErrFormat, n, err)
	}
	return labels, nil
}

// ParseImages is DecodeImages on a whole file in memory; its length is
// checked against the header before anything is allocated.
func ParseImages(b []byte) (n, rows, cols int, images []byte, err error) {
	if len(b) < 16 {
		return 0, 0, 0, nil, fmt.Errorf("%w: image header: truncated", ErrFormat)
	}
	if n, rows, cols, err = imageHeader(b[:16]); err != nil {
		return 0, 0, 0, nil, err
	}
	if len(b)-16 != n*rows*cols {
		return 0, 0, 0, nil, fmt.Errorf("%w: %d bytes of pixels, header says %d×%d×%d", ErrFormat, len(b)-16, n, rows, cols)
	}
	return n, rows, cols, bytes.Clone(b[16:]), nil
}

// ParseLabels is DecodeLabels on a whole file in memory.
func ParseLabels(b []byte) ([]uint8, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("%w: label header: truncated", ErrFormat)
	}
	n, err := labelHeader(b[:8])
	if err != nil {
		return nil, err
	}
	if len(b)-8 != n {
		return nil, fmt.Errorf("%w: %d labels declared, %d present", ErrFormat, n, len(b)-8)
	}
	return bytes.Clone(b[8:]), nil
}

func imageHeader(h []byte) (n, rows, cols int, err error) {
	if m := binary.BigEndian.Uint32(h); m != magicImages {
		return 0, 0, 0, fmt.Errorf("%w: magic %#08x is not an IDX3 ubyte image file (%#08x)", ErrFormat, m, magicImages)
	}
	n64, r64, c64 := uint64(binary.BigEndian.Uint32(h[4:])), uint64(binary.BigEndian.Uint32(h[8:])), uint64(binary.BigEndian.Uint32(h[12:]))
	if n64 < 1 || n64 > MaxItems || r64 < 1 || r64 > MaxSide || c64 < 1 || c64 > MaxSide || n64*r64*c64 > MaxBytes {
		return 0, 0, 0, fmt.Errorf("%w: %d images of %d×%d out of range (at most %d images of %d×%d, %d bytes)", ErrFormat, n64, r64, c64, MaxItems, MaxSide, MaxSide, MaxBytes)
	}
	return int(n64), int(r64), int(c64), nil
}

func labelHeader(h []byte) (int, error) {
	if m := binary.BigEndian.Uint32(h); m != magicLabels {
		return 0, fmt.Errorf("%w: magic %#08x is not an IDX1 ubyte label file (%#08x)", ErrFormat, m, magicLabels)
	}
	n := binary.BigEndian.Uint32(h[4:])
	if n < 1 || n > MaxItems {
		return 0, fmt.Errorf("%w: %d labels out of range [1, %d]", ErrFormat, n, MaxItems)
	}
	return int(n), nil
}

// readBody reads exactly size bytes and then requires the end of r. It
// allocates at most 64 MiB ahead of the data that has arrived, so a header
// that lies about its size costs little more memory than the data behind it.
func readBody(r io.Reader, size int) ([]byte, error) {
	const chunk = 64 << 20
	b := make([]byte, 0, min(size, chunk))
	for len(b) < size {
		n := min(size-len(b), chunk)
		b = slices.Grow(b, n)
		k, err := io.ReadFull(r, b[len(b):len(b)+n])
		b = b[:len(b)+k]
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("file ends after %d of %d bytes", len(b), size)
		}
		if err != nil {
			return nil, err
		}
	}
	var one [1]byte
	switch k, err := io.ReadFull(r, one[:]); {
	case k > 0:
		return nil, errors.New("data after the declared end")
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	return b, nil
}
