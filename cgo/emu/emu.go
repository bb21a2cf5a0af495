// Package emu is the emulated GPU: a device driver whose kernels are the very
// sources in kernels/, compiled by the host C++ compiler and run by the SIMT
// emulator (kernels/emu). It implements the device interface of package gpu
// so that the CUDA code path runs, and is tested, on machines without a GPU.
//
// It is stricter than a GPU where a GPU would forgive a bug by luck:
//
//   - Work is asynchronous as on a CUDA stream, only more so: copies and
//     launches are queued and run when the stream is synchronised (Sync, or
//     Free, which waits as cuMemFree does). Until then a copy's destination
//     holds poison (0xA5): a host that reads a read-back buffer before its
//     Sync, or reuses a staging buffer before the copy from it has run,
//     computes with garbage, and a test fails.
//   - Device memory is host memory with red zones on both sides of every
//     allocation, checked after every launch; fresh memory is poisoned.
//   - Every driver-level call is counted (Calls), so that tests can hold a
//     training step to a budget of allocations, copies, launches and
//     synchronisations.
//
// Built with the tag emusan, the kernels are compiled with AddressSanitizer
// and UBSan (bounds checks on kernels' local arrays); see sanitize_on.go.
package emu

// #cgo CXXFLAGS: -O2 -std=c++17 -Wall -Wno-unused-function -I${SRCDIR}/../../kernels
// #include <stdlib.h>
// #include <string.h>
// #include "kernels.h"
import "C"

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"unsafe"
)

// redZone bytes guard each side of every allocation.
const redZone = 256

const redByte = 0xCB

// Poison fills fresh device memory, reused pool memory and the destination of
// every read-back until the copy lands.
const Poison = 0xA5

// ErrOutOfMemory reports an allocation beyond the emulated device's capacity.
var ErrOutOfMemory = errors.New("emu: out of device memory")

// Calls counts the driver-level calls a device has received: what a real GPU
// would see of the host's orchestration.
type Calls struct {
	Alloc, Free         int // device memory (cuMemAlloc, cuMemFree)
	HostAlloc, HostFree int // pinned host memory (cuMemHostAlloc, cuMemFreeHost)
	HtoD, DtoH, DtoD    int // copies (cuMemcpy*Async)
	Memset              int // poisoning reused memory (cuMemsetD8Async)
	Launch              int // kernel launches (cuLaunchKernel)
	Sync                int // host waits for the stream (cuStreamSynchronize)
	// Kernels counts launches by kernel.
	Kernels map[string]int
}

// Sub returns c − d, field by field (the calls made between two snapshots).
func (c Calls) Sub(d Calls) Calls {
	out := Calls{Alloc: c.Alloc - d.Alloc, Free: c.Free - d.Free, HostAlloc: c.HostAlloc - d.HostAlloc,
		HostFree: c.HostFree - d.HostFree, HtoD: c.HtoD - d.HtoD, DtoH: c.DtoH - d.DtoH, DtoD: c.DtoD - d.DtoD,
		Memset: c.Memset - d.Memset, Launch: c.Launch - d.Launch, Sync: c.Sync - d.Sync, Kernels: map[string]int{}}
	for k, n := range c.Kernels {
		if n -= d.Kernels[k]; n != 0 {
			out.Kernels[k] = n
		}
	}
	return out
}

// String lists the counts on one line.
func (c Calls) String() string {
	names := make([]string, 0, len(c.Kernels))
	for k := range c.Kernels {
		names = append(names, k)
	}
	sort.Strings(names)
	s := fmt.Sprintf("alloc %d, free %d, host alloc %d, host free %d, HtoD %d, DtoH %d, DtoD %d, memset %d, launch %d, sync %d (",
		c.Alloc, c.Free, c.HostAlloc, c.HostFree, c.HtoD, c.DtoH, c.DtoD, c.Memset, c.Launch, c.Sync)
	for i, k := range names {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s×%d", k, c.Kernels[k])
	}
	return s + ")"
}

// Device is an emulated GPU with a fixed memory capacity and one stream.
type Device struct {
	mu       sync.Mutex
	capacity uint64
	used     uint64
	allocs   map[uintptr]alloc
	pinned   map[unsafe.Pointer]int // pinned host allocations (C memory)
	queue    []op                   // the stream: work not yet run
	err      error                  // the first failure of queued work, reported by the next Sync
	calls    Calls
}

type alloc struct {
	base unsafe.Pointer // start of the red zone before the data
	size int
}

// op is one queued piece of stream work.
type op func(d *Device) error

// New returns a device with capacity bytes of memory.
func New(capacity uint64) *Device {
	return &Device{capacity: capacity, allocs: map[uintptr]alloc{}, pinned: map[unsafe.Pointer]int{}, calls: Calls{Kernels: map[string]int{}}}
}

// Name identifies the device.
func (d *Device) Name() string { return "emu (SIMT emulator on the CPU)" }

// Calls returns the calls counted so far.
func (d *Device) Calls() Calls {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.calls
	c.Kernels = make(map[string]int, len(d.calls.Kernels))
	for k, n := range d.calls.Kernels {
		c.Kernels[k] = n
	}
	return c
}

// Alloc returns a device pointer to size bytes, poisoned.
func (d *Device) Alloc(size int) (uintptr, error) {
	if size <= 0 {
		return 0, fmt.Errorf("emu: allocation of %d bytes", size)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.Alloc++
	if d.used+uint64(size) > d.capacity {
		return 0, fmt.Errorf("%w: %d bytes requested, %d of %d in use", ErrOutOfMemory, size, d.used, d.capacity)
	}
	base := C.aligned_alloc(256, C.size_t((size+2*redZone+255)&^255)) // cuMemAlloc aligns to 256 bytes
	if base == nil {
		return 0, ErrOutOfMemory
	}
	all := unsafe.Slice((*byte)(base), size+2*redZone)
	for i := range all {
		all[i] = redByte
	}
	for i := redZone; i < redZone+size; i++ {
		all[i] = Poison // a kernel that reads before writing sees garbage
	}
	p := uintptr(base) + redZone
	d.allocs[p] = alloc{base: base, size: size}
	d.used += uint64(size)
	return p, nil
}

// Free releases an allocation. Like cuMemFree it waits for the stream first,
// so queued work never runs on freed memory; a failure of that work is kept
// for the next Sync.
func (d *Device) Free(p uintptr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.Free++
	d.drain()
	a, ok := d.allocs[p]
	if !ok {
		return fmt.Errorf("emu: free of %#x, which is not an allocation", p)
	}
	delete(d.allocs, p)
	d.used -= uint64(a.size)
	C.free(a.base)
	return nil
}

// HostAlloc returns n bytes of "pinned" host memory (C memory, never moved
// or collected), poisoned. Free it with HostFree.
func (d *Device) HostAlloc(n int) ([]byte, error) {
	if n <= 0 {
		return nil, fmt.Errorf("emu: host allocation of %d bytes", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.HostAlloc++
	p := C.malloc(C.size_t(n))
	if p == nil {
		return nil, fmt.Errorf("emu: host allocation of %d bytes failed", n)
	}
	C.memset(p, Poison, C.size_t(n))
	d.pinned[p] = n
	return unsafe.Slice((*byte)(p), n), nil
}

// HostFree releases memory from HostAlloc, after the stream has drained.
func (d *Device) HostFree(b []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.HostFree++
	if len(b) == 0 {
		return fmt.Errorf("emu: host free of an empty slice")
	}
	p := unsafe.Pointer(&b[0])
	if _, ok := d.pinned[p]; !ok {
		return fmt.Errorf("emu: host free of %p, which is not a host allocation", p)
	}
	d.drain()
	delete(d.pinned, p)
	C.free(p)
	return nil
}

// slice returns device memory [p, p+n) inside one allocation. d.mu is held.
func (d *Device) slice(p uintptr, n int) ([]byte, error) {
	for base, a := range d.allocs {
		if p >= base && p+uintptr(n) <= base+uintptr(a.size) {
			return unsafe.Slice((*byte)(unsafe.Add(a.base, redZone+int(p-base))), n), nil
		}
	}
	return nil, fmt.Errorf("emu: %d bytes at %#x are not inside one allocation", n, p)
}

// enqueue appends stream work. d.mu is held.
func (d *Device) enqueue(o op) { d.queue = append(d.queue, o) }

// drain runs the queued work in order, keeping the first error. d.mu is held.
func (d *Device) drain() {
	q := d.queue
	d.queue = nil
	for _, o := range q {
		if err := o(d); err != nil && d.err == nil {
			d.err = err
		}
	}
}

// CopyHtoD queues a copy of src to device memory. src is read when the copy
// runs, at the next Sync: it must not change before then.
func (d *Device) CopyHtoD(dst uintptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.HtoD++
	if _, err := d.slice(dst, len(src)); err != nil {
		return err
	}
	d.enqueue(func(d *Device) error {
		s, err := d.slice(dst, len(src))
		if err != nil {
			return err
		}
		copy(s, src)
		return nil
	})
	return nil
}

// CopyDtoH queues a copy of device memory to dst and poisons dst: the data
// is there only after the next Sync.
func (d *Device) CopyDtoH(dst []byte, src uintptr) error {
	if len(dst) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.DtoH++
	if _, err := d.slice(src, len(dst)); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = Poison
	}
	d.enqueue(func(d *Device) error {
		s, err := d.slice(src, len(dst))
		if err != nil {
			return err
		}
		copy(dst, s)
		return nil
	})
	return nil
}

// CopyDtoD queues a copy of n bytes between device addresses.
func (d *Device) CopyDtoD(dst, src uintptr, n int) error {
	if n == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.DtoD++
	if _, err := d.slice(src, n); err != nil {
		return err
	}
	if _, err := d.slice(dst, n); err != nil {
		return err
	}
	d.enqueue(func(d *Device) error {
		s, err := d.slice(src, n)
		if err != nil {
			return err
		}
		t, err := d.slice(dst, n)
		if err != nil {
			return err
		}
		copy(t, s)
		return nil
	})
	return nil
}

// Poison queues filling n bytes at p with the poison byte, in stream order:
// package gpu poisons pool memory it hands out again, as fresh memory is.
func (d *Device) Poison(p uintptr, n int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.Memset++
	if _, err := d.slice(p, n); err != nil {
		return err
	}
	d.enqueue(func(d *Device) error {
		s, err := d.slice(p, n)
		if err != nil {
			return err
		}
		for i := range s {
			s[i] = Poison
		}
		return nil
	})
	return nil
}

// Launch queues a kernel. Every argument is one 64-bit slot: device pointers
// and integers alike (the convention of the real driver's wrapper too). A
// kernel's failure (divergence, an overrun, a bad configuration) is reported
// by the next Sync.
func (d *Device) Launch(kernel string, grid, block [3]int, smem int, args ...uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.Launch++
	d.calls.Kernels[kernel]++
	args = append([]uint64(nil), args...)
	d.enqueue(func(d *Device) error {
		if d.err != nil {
			return nil // the stream has failed: later work does not run
		}
		return d.run(kernel, grid, block, smem, args)
	})
	return nil
}

func (d *Device) run(kernel string, grid, block [3]int, smem int, args []uint64) error {
	name := C.CString(kernel)
	defer C.free(unsafe.Pointer(name))
	var argp *C.uint64_t
	if len(args) > 0 {
		argp = (*C.uint64_t)(C.malloc(C.size_t(8 * len(args))))
		defer C.free(unsafe.Pointer(argp))
		copy(unsafe.Slice((*uint64)(unsafe.Pointer(argp)), len(args)), args)
	}
	msg := C.emu_launch(name, C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]), C.uint(block[0]), C.uint(block[1]), C.uint(block[2]),
		C.size_t(smem), argp, C.int(len(args)))
	if msg != nil {
		return fmt.Errorf("emu: %s", C.GoString(msg))
	}
	return d.checkRedZones(kernel)
}

func (d *Device) checkRedZones(kernel string) error {
	for p, a := range d.allocs {
		all := unsafe.Slice((*byte)(a.base), a.size+2*redZone)
		for i := 0; i < redZone; i++ {
			if all[i] != redByte || all[redZone+a.size+i] != redByte {
				return fmt.Errorf("emu: kernel %s wrote outside the allocation at %#x (%d bytes)", kernel, p, a.size)
			}
		}
	}
	return nil
}

// Sync runs the queued work and reports its first failure (then clears it,
// as the host has now seen it).
func (d *Device) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls.Sync++
	d.drain()
	err := d.err
	d.err = nil
	return err
}

// MemInfo reports free and total device memory.
func (d *Device) MemInfo() (free, total uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.capacity - d.used, d.capacity
}

// Close frees every allocation, device and pinned; queued work is dropped.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.queue = nil
	for p, a := range d.allocs {
		C.free(a.base)
		delete(d.allocs, p)
	}
	for p := range d.pinned {
		C.free(p)
		delete(d.pinned, p)
	}
	d.used = 0
	return nil
}

// Kernels lists the kernels of the emulated build: trainproof's, and with
// selftest the emulator's own test kernels too.
func Kernels(selftest bool) []string {
	var out []string
	for i := 0; ; i++ {
		var st C.int
		name := C.emu_kernel(C.int(i), &st)
		if name == nil {
			return out
		}
		if st == 0 || selftest {
			out = append(out, C.GoString(name))
		}
	}
}
