//go:build !linux

package commit

import "time"

// threadCPU is unknown here: benchmarks report wall-time rates only.
func threadCPU() time.Duration { return 0 }
