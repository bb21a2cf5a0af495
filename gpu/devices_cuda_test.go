//go:build cuda

package gpu_test

import (
	"testing"

	"github.com/seed46f70faa/trainproof/cgo/cuda"
)

// devices: on a GPU build the suite runs on the real device too; a missing
// device is a failure, not a skip.
func devices(t testing.TB) []namedDevice {
	d, err := cuda.Open(0)
	if err != nil {
		t.Fatalf("cuda build without a usable GPU: %v", err)
	}
	c := d.(*cuda.Device)
	c.SetPoison(true) // reused memory poisoned, as on the emulator
	t.Cleanup(func() { c.Close() })
	return []namedDevice{{"emu", newEmu(t, 1<<30)}, {"cuda", d}}
}
