//go:build !cuda

package gpu_test

import (
	"testing"

	"github.com/seed46f70faa/trainproof/cgo/emu"
	"github.com/seed46f70faa/trainproof/gpu"
)

type namedDevice struct {
	name string
	dev  gpu.Device
}

// devices are the devices the kernel suite runs on: in the default build, the
// SIMT emulator.
func devices(t testing.TB) []namedDevice {
	d := emu.New(1 << 30)
	t.Cleanup(func() { d.Close() })
	return []namedDevice{{"emu", d}}
}
