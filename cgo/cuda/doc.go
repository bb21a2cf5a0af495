// Package cuda is the real GPU driver behind package gpu's Device interface:
// gorgonia.org/cu for contexts, memory, modules and launches, plus the two
// calls it lacks (cuFuncSetAttribute for more than 48 KiB of dynamic shared
// memory, and pinned host memory) as direct cgo calls.
//
// Everything is behind the build tag cuda: gorgonia.org/cu's package init
// exits the process when cuInit fails, so cuda-tagged binaries are for GPU
// machines only. The default build has Open return gpu.ErrNoGPU.
package cuda
