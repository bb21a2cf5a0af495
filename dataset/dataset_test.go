package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func idxImages(n, r, c int) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0x803)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	b = binary.BigEndian.AppendUint32(b, uint32(r))
	b = binary.BigEndian.AppendUint32(b, uint32(c))
	for i := 0; i < n*r*c; i++ {
		b = append(b, byte(i))
	}
	return b
}

func idxLabels(n int) []byte {
	b := binary.BigEndian.AppendUint32(nil, 0x801)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	for i := 0; i < n; i++ {
		b = append(b, byte(i%10))
	}
	return b
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func write(t *testing.T, dir, name string, b []byte, compress bool) {
	if compress {
		name, b = name+".gz", gz(t, b)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
}

func TestLoadSynthetic(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dir := t.TempDir()
		for _, p := range []string{"train", "t10k"} {
			write(t, dir, p+"-images-idx3-ubyte", idxImages(5, 3, 2), compress)
			write(t, dir, p+"-labels-idx1-ubyte", idxLabels(5), compress)
		}
		tr, te, err := Load(dir)
		require.NoError(t, err)
		require.Equal(t, 5, tr.N)
		require.Equal(t, 3, tr.Rows)
		require.Equal(t, 2, tr.Cols)
		require.Equal(t, []byte{6, 7, 8, 9, 10, 11}, tr.Image(1))
		require.Equal(t, []uint8{0, 1, 2, 3, 4}, te.Labels)
	}
	// A raw file named .gz (someone ran gunzip -c into it) still loads.
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x-images-idx3-ubyte.gz"), idxImages(2, 1, 1), 0o644))
	write(t, dir, "x-labels-idx1-ubyte", idxLabels(2), true)
	s, err := LoadSet(dir, "x")
	require.NoError(t, err)
	require.Equal(t, []byte{0, 1}, s.Images)
}

func TestMissing(t *testing.T) {
	_, _, err := Load(t.TempDir())
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "apt-get install dataset-fashion-mnist")
	require.Contains(t, err.Error(), "--data DIR")
}

func TestMalformed(t *testing.T) {
	hdr := func(magic, n, r, c uint32) []byte {
		b := binary.BigEndian.AppendUint32(nil, magic)
		b = binary.BigEndian.AppendUint32(b, n)
		b = binary.BigEndian.AppendUint32(b, r)
		return binary.BigEndian.AppendUint32(b, c)
	}
	badImages := map[string][]byte{
		"empty":          nil,
		"short header":   idxImages(5, 3, 2)[:12],
		"short body":     idxImages(5, 3, 2)[:20],
		"trailing byte":  append(idxImages(5, 3, 2), 0),
		"label magic":    idxLabels(3),
		"signed magic":   hdr(0x808, 1, 1, 1),
		"zero images":    hdr(0x803, 0, 1, 1),
		"too many":       hdr(0x803, MaxItems+1, 1, 1),
		"huge count":     hdr(0x803, 0xffffffff, 1, 1),
		"zero rows":      hdr(0x803, 1, 0, 1),
		"wide":           hdr(0x803, 1, 1, MaxSide+1),
		"too many bytes": hdr(0x803, MaxItems, MaxSide, MaxSide),
		"lying header":   hdr(0x803, 1000, 28, 28), // 784 000 bytes declared, none present
	}
	for name, b := range badImages {
		_, _, _, _, err := ParseImages(b)
		require.ErrorIs(t, err, ErrFormat, "%s (bytes)", name)
		_, _, _, _, err = DecodeImages(bytes.NewReader(b))
		require.ErrorIs(t, err, ErrFormat, "%s (reader)", name)
	}
	badLabels := map[string][]byte{
		"empty":         nil,
		"short":         idxLabels(3)[:9],
		"trailing byte": append(idxLabels(3), 0),
		"image magic":   idxImages(1, 1, 1),
		"zero":          idxLabels(0),
		"too many":      hdr(0x801, MaxItems+1, 0, 0)[:8],
	}
	for name, b := range badLabels {
		_, err := ParseLabels(b)
		require.ErrorIs(t, err, ErrFormat, "%s (bytes)", name)
		_, err = DecodeLabels(bytes.NewReader(b))
		require.ErrorIs(t, err, ErrFormat, "%s (reader)", name)
	}

	// Files that disagree, or hold a label that is not a class.
	dir := t.TempDir()
	write(t, dir, "a-images-idx3-ubyte", idxImages(5, 3, 2), false)
	write(t, dir, "a-labels-idx1-ubyte", idxLabels(4), false)
	_, err := LoadSet(dir, "a")
	require.ErrorIs(t, err, ErrFormat)
	labels := idxLabels(5)
	labels[len(labels)-1] = 10
	write(t, dir, "b-images-idx3-ubyte", idxImages(5, 3, 2), true)
	write(t, dir, "b-labels-idx1-ubyte", labels, true)
	_, err = LoadSet(dir, "b")
	require.ErrorIs(t, err, ErrFormat)
	require.Contains(t, err.Error(), "not a class")
	// A truncated gzip stream.
	z := gz(t, idxImages(50, 3, 2))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c-images-idx3-ubyte.gz"), z[:len(z)/2], 0o644))
	write(t, dir, "c-labels-idx1-ubyte", idxLabels(50), false)
	_, err = LoadSet(dir, "c")
	require.Error(t, err)
}

func TestRealSet(t *testing.T) {
	tr, te, err := Load(DefaultDir)
	if err != nil {
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
	for _, c := range []struct {
		s *Set
		n int
	}{{tr, 60000}, {te, 10000}} {
		require.Equal(t, c.n, c.s.N)
		require.Equal(t, 28, c.s.Rows)
		require.Equal(t, 28, c.s.Cols)
		require.Len(t, c.s.Images, c.n*28*28)
		require.Len(t, c.s.Labels, c.n)
		var count [Classes]int
		for _, l := range c.s.Labels {
			require.Less(t, l, uint8(Classes))
			count[l]++
		}
		for _, k := range count {
			require.Equal(t, c.n/Classes, k, "Fashion-MNIST is balanced")
		}
	}
}

func FuzzParseIDX(f *testing.F) {
	f.Add(idxImages(2, 2, 2))
	f.Add(idxImages(1, 28, 28))
	f.Add(idxLabels(3))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, r, c, img, err := ParseImages(b)
		n2, r2, c2, img2, err2 := DecodeImages(bytes.NewReader(b))
		require.Equal(t, err == nil, err2 == nil, "bytes and reader agree")
		if err == nil {
			require.Len(t, img, n*r*c)
			require.Equal(t, b[16:], img)
			require.Equal(t, []int{n, r, c}, []int{n2, r2, c2})
			require.Equal(t, img, img2)
		}
		l, err := ParseLabels(b)
		l2, err2 := DecodeLabels(bytes.NewReader(b))
		require.Equal(t, err == nil, err2 == nil)
		if err == nil {
			require.Equal(t, b[8:], l)
			require.Equal(t, l, l2)
		}
	})
}
