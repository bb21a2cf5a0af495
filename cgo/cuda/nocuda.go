//go:build !cuda

package cuda

import "github.com/seed46f70faa/trainproof/gpu"

// Open fails in builds without the cuda tag.
func Open(ordinal int) (gpu.Device, error) { return nil, gpu.ErrNoGPU }
