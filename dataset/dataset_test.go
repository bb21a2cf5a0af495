package dataset

import (
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

func write(t *testing.T, dir, name string, b []byte, gz bool) {
	if gz {
		f, err := os.Create(filepath.Join(dir, name+".gz"))
		require.NoError(t, err)
		w := gzip.NewWriter(f)
		_, err = w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		require.NoError(t, f.Close())
		return
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
}

func TestLoadSynthetic(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		for _, p := range []string{"train", "t10k"} {
			write(t, dir, p+"-images-idx3-ubyte", idxImages(5, 3, 2), gz)
			write(t, dir, p+"-labels-idx1-ubyte", idxLabels(5), gz)
		}
		tr, te, err := Load(dir)
		require.NoError(t, err)
		require.Equal(t, 5, tr.N)
		require.Equal(t, []byte{6, 7, 8, 9, 10, 11}, tr.Image(1))
		require.Equal(t, uint8(4), te.Labels[4])
	}
}

func TestMissingAndMalformed(t *testing.T) {
	_, _, err := Load(t.TempDir())
	require.ErrorIs(t, err, ErrNotFound)
	require.Contains(t, err.Error(), "apt-get install dataset-fashion-mnist")

	bad := [][]byte{
		nil,
		idxImages(5, 3, 2)[:20],
		append(idxImages(5, 3, 2), 0),
		append(binary.BigEndian.AppendUint32(nil, 0x803), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 0, 0, 1),
		idxLabels(3),
	}
	for i, b := range bad {
		_, _, _, _, err := ParseImages(b)
		require.ErrorIs(t, err, ErrFormat, "case %d", i)
	}
	_, err = ParseLabels(idxLabels(3)[:9])
	require.ErrorIs(t, err, ErrFormat)

	dir := t.TempDir()
	write(t, dir, "train-images-idx3-ubyte", idxImages(5, 3, 2), false)
	write(t, dir, "train-labels-idx1-ubyte", idxLabels(4), false)
	_, err = LoadSet(dir, "train")
	require.ErrorIs(t, err, ErrFormat)
}

func TestRealSet(t *testing.T) {
	tr, te, err := Load(DefaultDir)
	if err != nil {
		t.Skipf("Fashion-MNIST not installed: %v", err)
	}
	require.Equal(t, 60000, tr.N)
	require.Equal(t, 10000, te.N)
	require.Equal(t, 28, tr.Rows)
}

func FuzzParseIDX(f *testing.F) {
	f.Add(idxImages(2, 2, 2))
	f.Add(idxLabels(3))
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, r, c, img, err := ParseImages(b); err == nil {
			require.Len(t, img, n*r*c)
		}
		if l, err := ParseLabels(b); err == nil {
			require.Len(t, l, len(b)-8)
		}
	})
}
