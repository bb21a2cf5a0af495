//go:build !cuda

package gpu_test

import "testing"

// devices are the devices the kernel suite runs on: in the default build, the
// SIMT emulator.
func devices(t testing.TB) []namedDevice {
	return []namedDevice{{"emu", newEmu(t, 1<<30)}}
}
