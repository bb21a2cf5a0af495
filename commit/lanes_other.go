//go:build !amd64 || purego

package commit

// laneKernels are the kernels this build runs: the pure-Go one.
var laneKernels = []laneKernel{genericKernel}
