package emu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestKernelLinks: every kernel source has a k_*.h link here, so that editing
// a kernel rebuilds the emulated package (the Go build cache only hashes
// files in the package's own directory).
func TestKernelLinks(t *testing.T) {
	linked := map[string]bool{}
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "k_") && e.Type()&os.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(e.Name())
			require.NoError(t, err)
			abs, _ := filepath.Abs(target)
			linked[abs] = true
		}
	}
	err = filepath.WalkDir("../../kernels", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".cu", ".h", ".cc":
			abs, _ := filepath.Abs(path)
			require.True(t, linked[abs], "kernel source %s has no k_*.h link in cgo/emu", path)
		}
		return nil
	})
	require.NoError(t, err)
}
