// Package emu is the emulated GPU: a device driver whose kernels are the very
// sources in kernels/, compiled by the host C++ compiler and run by the SIMT
// emulator (kernels/emu). It implements the device interface of package gpu
// so that the CUDA code path runs, and is tested, on machines without a GPU.
//
// Device memory is host memory with red zones on both sides of every
// allocation; Launch checks them afterwards and reports an overrun as an
// error naming the kernel.
package emu

// #cgo CXXFLAGS: -O2 -std=c++17 -Wall -Wno-unused-function -I${SRCDIR}/../../kernels
// #include <stdlib.h>
// #include "kernels.h"
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// redZone bytes guard each side of every allocation.
const redZone = 256

const redByte = 0xCB

// ErrOutOfMemory reports an allocation beyond the emulated device's capacity.
var ErrOutOfMemory = errors.New("emu: out of device memory")

// Device is an emulated GPU with a fixed memory capacity.
type Device struct {
	mu       sync.Mutex
	capacity uint64
	used     uint64
	allocs   map[uintptr]alloc
}

type alloc struct {
	base unsafe.Pointer // start of the red zone before the data
	size int
}

// New returns a device with capacity bytes of memory.
func New(capacity uint64) *Device {
	return &Device{capacity: capacity, allocs: map[uintptr]alloc{}}
}

// Name identifies the device.
func (d *Device) Name() string { return "emu (SIMT emulator on the CPU)" }

// Alloc returns a device pointer to size bytes, poisoned.
func (d *Device) Alloc(size int) (uintptr, error) {
	if size <= 0 {
		return 0, fmt.Errorf("emu: allocation of %d bytes", size)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.used+uint64(size) > d.capacity {
		return 0, fmt.Errorf("%w: %d bytes requested, %d of %d in use", ErrOutOfMemory, size, d.used, d.capacity)
	}
	base := C.malloc(C.size_t(size + 2*redZone))
	if base == nil {
		return 0, ErrOutOfMemory
	}
	all := unsafe.Slice((*byte)(base), size+2*redZone)
	for i := range all {
		all[i] = redByte
	}
	for i := redZone; i < redZone+size; i++ {
		all[i] = 0xA5 // poison: a kernel that reads before writing sees garbage
	}
	p := uintptr(base) + redZone
	d.allocs[p] = alloc{base: base, size: size}
	d.used += uint64(size)
	return p, nil
}

// Free releases an allocation.
func (d *Device) Free(p uintptr) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.allocs[p]
	if !ok {
		return fmt.Errorf("emu: free of %#x, which is not an allocation", p)
	}
	delete(d.allocs, p)
	d.used -= uint64(a.size)
	C.free(a.base)
	return nil
}

func (d *Device) slice(p uintptr, n int) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for base, a := range d.allocs {
		if p >= base && p+uintptr(n) <= base+uintptr(a.size) {
			return unsafe.Slice((*byte)(unsafe.Add(a.base, redZone+int(p-base))), n), nil
		}
	}
	return nil, fmt.Errorf("emu: %d bytes at %#x are not inside one allocation", n, p)
}

// CopyHtoD copies host bytes to device memory.
func (d *Device) CopyHtoD(dst uintptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	s, err := d.slice(dst, len(src))
	if err != nil {
		return err
	}
	copy(s, src)
	return nil
}

// CopyDtoH copies device memory to host bytes.
func (d *Device) CopyDtoH(dst []byte, src uintptr) error {
	if len(dst) == 0 {
		return nil
	}
	s, err := d.slice(src, len(dst))
	if err != nil {
		return err
	}
	copy(dst, s)
	return nil
}

// Launch runs a kernel. Every argument is one 64-bit slot: device pointers
// and integers alike (the convention of the real driver's wrapper too).
func (d *Device) Launch(kernel string, grid, block [3]int, smem int, args ...uint64) error {
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
	d.mu.Lock()
	defer d.mu.Unlock()
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

// Sync waits for the device: launches are synchronous here.
func (d *Device) Sync() error { return nil }

// MemInfo reports free and total device memory.
func (d *Device) MemInfo() (free, total uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.capacity - d.used, d.capacity
}

// Close frees every allocation.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for p, a := range d.allocs {
		C.free(a.base)
		delete(d.allocs, p)
	}
	d.used = 0
	return nil
}
