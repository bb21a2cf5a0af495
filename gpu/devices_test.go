//go:build !cuda

package gpu_test

import (
	"testing"

	"github.com/seed46f70faa/trainproof/cgo/emu"
)

// devices are the devices the kernel suite runs on: in the default build, the
// SIMT emulator.
func devices(t testing.TB) []namedDevice {
	d := emu.New(1 << 30)
	t.Cleanup(func() { d.Close() })
	return []namedDevice{{"emu", d}}
}
