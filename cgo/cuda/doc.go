// Package cuda is the real GPU driver behind package gpu's Device interface.
//
// It loads libcuda.so.1 at run time (dlopen) and calls the driver API
// directly through a small cgo shim: a binary built with the tag cuda has no
// link-time dependency on the driver, starts on a machine without a GPU or
// driver, and runs its CPU paths there; Open reports ErrUnavailable. (It used
// gorgonia.org/cu, whose package init exits the process when cuInit fails,
// which no binary that may run without a GPU can import, and which has no
// pinned host memory or asynchronous copies into it.)
//
// The host path is asynchronous: one non-blocking stream per device, copies
// and launches queued on it (cuMemcpy*Async, cuLaunchKernel), and one event
// that Sync records and waits for; pinned staging and read-back buffers come
// from cuMemHostAlloc.
//
// The default build (no cuda tag) has Open return gpu.ErrNoGPU.
package cuda
