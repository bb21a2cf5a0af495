//go:build cuda

package gpu_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	cu "gorgonia.org/cu"

	"github.com/seed46f70faa/trainproof/cgo/cuda"
)

// TestDriverAgreesWithGorgonia holds cgo/cuda's run-time-loaded driver
// calls against gorgonia.org/cu, the design card's CUDA binding, as an
// independent oracle: the same device, name and memory. gorgonia.org/cu is
// kept here, in the cuda test binary that only runs on a GPU machine,
// because its package init exits the process when cuInit fails: the prover
// itself must start without a GPU (docs/ARCHITECTURE.md, "GPU host path").
func TestDriverAgreesWithGorgonia(t *testing.T) {
	n, err := cu.NumDevices()
	require.NoError(t, err)
	require.Positive(t, n)
	dev := cu.Device(0)
	name, err := dev.Name()
	require.NoError(t, err)
	total, err := dev.TotalMem()
	require.NoError(t, err)
	major, minor, err := dev.ComputeCapability()
	require.NoError(t, err)

	d, err := cuda.Open(0)
	require.NoError(t, err)
	c := d.(*cuda.Device)
	defer c.Close()
	require.Equal(t, name, c.Name())
	_, ours := c.MemInfo()
	require.EqualValues(t, total, ours)
	t.Logf("device 0: %s, sm_%d%d, %d MiB (gorgonia.org/cu and cgo/cuda agree)", name, major, minor, total>>20)
}
