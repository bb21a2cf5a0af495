//go:build unix

package bundle_test

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seed46f70faa/trainproof/bundle"
)

// TestNotRegular: a FIFO or a device is refused before it is opened (opening
// a FIFO would block until a writer came).
func TestNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.tpb")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, p := range []string{fifo, "/dev/zero"} {
		_, _, err := bundle.ReadHeader(p)
		require.ErrorIs(t, err, bundle.ErrFormat, p)
		_, _, err = bundle.ReadFile(p, 0)
		require.ErrorIs(t, err, bundle.ErrFormat, p)
	}
}
