//go:build amd64 && !purego

package commit

import "golang.org/x/sys/cpu"

// laneKernels are the kernels this machine runs, fastest first.
var laneKernels = func() []laneKernel {
	var ks []laneKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, laneKernel{"avx512", 16, compress16AVX512})
	}
	if cpu.X86.HasAVX2 {
		ks = append(ks, laneKernel{"avx2", 8, compress8AVX2})
	}
	return append(ks, genericKernel)
}()
