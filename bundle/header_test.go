package bundle_test

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
	"github.com/seed46f70faa/trainproof/protocol"
)

func writeTemp(t testing.TB, dir string, b []byte) string {
	p := filepath.Join(dir, "b.tpb")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func TestReadHeader(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		for _, m := range []protocol.Mode{protocol.ModeFiatShamir, protocol.ModeBeacon} {
			enc := sample(t, v, m)
			b, err := bundle.Decode(enc, 0)
			require.NoError(t, err)
			// A later step, so that the step field is read, not assumed.
			b.Step = 0x0102030405060708
			enc, err = bundle.Encode(b, testKey)
			require.NoError(t, err)
			task, step, err := bundle.ReadHeader(writeTemp(t, dir, enc))
			require.NoError(t, err, "%v %v", v, m)
			require.Equal(t, b.Task.ID(), task.ID())
			require.Equal(t, b.Step, step)
		}
	}
}

func TestReadHeaderRejects(t *testing.T) {
	good := sample(t, bundle.Sampled, protocol.ModeFiatShamir)
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, bundle.ErrFormat},
		{"magic only", []byte(bundle.Magic), bundle.ErrFormat},
		{"bad magic", edit(func(b []byte) []byte { b[0] = 'X'; return b }), bundle.ErrFormat},
		{"version 1", edit(func(b []byte) []byte { binary.BigEndian.PutUint16(b[4:], 1); return b }), bundle.ErrVersion},
		{"unknown variant", edit(func(b []byte) []byte { b[6] = 9; return b }), bundle.ErrFormat},
		{"task cut short", good[:12], bundle.ErrFormat},
		{"task too long", edit(func(b []byte) []byte { binary.BigEndian.PutUint16(b[7:], 0xffff); return b }), bundle.ErrFormat},
		{"body cut short", good[:len(good)-1], bundle.ErrFormat},
		{"trailing byte", append(append([]byte(nil), good...), 0), bundle.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := bundle.ReadHeader(writeTemp(t, t.TempDir(), tc.in))
			require.ErrorIs(t, err, tc.want)
			_, err = bundle.Decode(tc.in, 0)
			require.Error(t, err, "Decode must refuse what ReadHeader refuses")
		})
	}

	_, _, err := bundle.ReadHeader(filepath.Join(t.TempDir(), "missing.tpb"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe, "an I/O error stays one, so callers can tell it from a bad bundle")
}

// TestReadHeaderTooLarge: a file over MaxSize is refused without reading it
// (the file is sparse: it costs no disk).
func TestReadHeaderTooLarge(t *testing.T) {
	p := writeTemp(t, t.TempDir(), sample(t, bundle.Sampled, protocol.ModeFiatShamir))
	require.NoError(t, os.Truncate(p, bundle.MaxSize+1))
	_, _, err := bundle.ReadHeader(p)
	require.ErrorIs(t, err, bundle.ErrTooLarge)
}

// FuzzReadHeader: ReadHeader never panics, fails only with ErrFormat or
// ErrTooLarge, accepts whatever Decode accepts and then agrees with it.
func FuzzReadHeader(f *testing.F) {
	for _, v := range []bundle.Variant{bundle.Sampled, bundle.Full} {
		for _, m := range []protocol.Mode{protocol.ModeFiatShamir, protocol.ModeBeacon} {
			f.Add(sample(f, v, m))
		}
	}
	golden, _ := filepath.Glob(filepath.Join("testdata", "*.tpb"))
	for _, g := range golden {
		b, err := os.ReadFile(g)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte("TPB\x01\x00\x02\x01\x00\x00"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		task, step, err := bundle.ReadHeader(writeTemp(t, dir, in))
		if err != nil && !errors.Is(err, bundle.ErrFormat) && !errors.Is(err, bundle.ErrTooLarge) {
			t.Fatalf("error that is neither ErrFormat nor ErrTooLarge: %v", err)
		}
		b, derr := bundle.Decode(in, 0)
		if derr != nil {
			return
		}
		require.NoError(t, err, "Decode accepts what ReadHeader refuses")
		require.Equal(t, b.Task.ID(), task.ID())
		require.Equal(t, b.Step, step)
	})
}
