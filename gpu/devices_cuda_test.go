//go:build cuda

package gpu_test

import (
	"testing"

	"github.com/seed46f70faa/trainproof/cgo/cuda"
	"github.com/seed46f70faa/trainproof/cgo/emu"
)

// devices: on a GPU build the suite runs on the real device too; a missing
// device is a failure, not a skip.
func devices(t testing.TB) []namedDevice {
	e := emu.New(1 << 30)
	t.Cleanup(func() { e.Close() })
	d, err := cuda.Open(0)
	if err != nil {
		t.Fatalf("cuda build without a usable GPU: %v", err)
	}
	return []namedDevice{{"emu", e}, {"cuda", d}}
}
