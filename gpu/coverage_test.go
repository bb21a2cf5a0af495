package gpu_test

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/seed46f70faa/trainproof/cgo/emu"
)

// emulated records the emulated devices the suite made, so that TestMain can
// check that every kernel of the build ran in some test.
var emulated struct {
	sync.Mutex
	devs []*emu.Device
}

// newEmu returns an emulated device that counts towards kernel coverage.
func newEmu(t testing.TB, capacity uint64) *emu.Device {
	d := emu.New(capacity)
	t.Cleanup(func() { d.Close() })
	emulated.Lock()
	emulated.devs = append(emulated.devs, d)
	emulated.Unlock()
	return d
}

// TestMain fails a full run of the suite (no -run filter) in which some
// kernel of kernels/*.cu was never launched: every kernel has a test here,
// the hashing ones included.
func TestMain(m *testing.M) {
	code := m.Run()
	if f := flag.Lookup("test.run"); code == 0 && f != nil && f.Value.String() == "" {
		launched := map[string]bool{}
		emulated.Lock()
		for _, d := range emulated.devs {
			for k := range d.Calls().Kernels {
				launched[k] = true
			}
		}
		emulated.Unlock()
		for _, k := range emu.Kernels(false) {
			if !launched[k] {
				fmt.Fprintf(os.Stderr, "FAIL: kernel %s was not launched by any test of package gpu\n", k)
				code = 1
			}
		}
	}
	os.Exit(code)
}
