//go:build cuda

package cuda

// #cgo LDFLAGS: -lcuda
// #include <cuda.h>
// static CUresult set_max_dynamic_smem(CUfunction f, int bytes) {
//   return cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
// }
// static CUresult host_alloc(void** p, size_t n) { return cuMemHostAlloc(p, n, 0); }
// static CUresult host_free(void* p) { return cuMemFreeHost(p); }
import "C"

import (
	_ "embed"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/seed46f70faa/trainproof/gpu"
)

// Kernels is the fatbin of kernels/*.cu (sm_80 and sm_90 SASS, compute_80
// PTX), built by `make kernels` and committed.
//
//go:embed kernels.fatbin
var Kernels string

// ErrOutOfMemory wraps the driver's out-of-memory error.
var ErrOutOfMemory = errors.New("cuda: out of device memory")

// Device is one GPU. Every driver call runs on one locked OS thread (CUDA
// contexts are per thread).
type Device struct {
	name   string
	calls  chan func()
	ctx    cu.CUContext
	mod    cu.Module
	fns    map[string]cu.Function
	mu     sync.Mutex
	allocs map[uintptr]int
}

// Open selects device ordinal, makes a context on it and loads the kernels.
func Open(ordinal int) (gpu.Device, error) {
	d := &Device{calls: make(chan func()), fns: map[string]cu.Function{}, allocs: map[uintptr]int{}}
	ready := make(chan error)
	go func() {
		runtime.LockOSThread()
		dev, err := cu.GetDevice(ordinal)
		if err != nil {
			ready <- fmt.Errorf("cuda: device %d: %w", ordinal, err)
			return
		}
		name, _ := dev.Name()
		d.name = name
		d.ctx, err = dev.MakeContext(cu.SchedAuto)
		if err != nil {
			ready <- fmt.Errorf("cuda: context on %s: %w", name, err)
			return
		}
		d.mod, err = cu.LoadData(Kernels)
		if err != nil {
			ready <- fmt.Errorf("cuda: loading kernels: %w", err)
			return
		}
		ready <- nil
		for f := range d.calls {
			f()
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

// do runs f on the device's thread.
func (d *Device) do(f func() error) error {
	done := make(chan error)
	d.calls <- func() { done <- f() }
	return <-done
}

func (d *Device) Name() string { return d.name }

func wrap(err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "OutOfMemory") {
		return fmt.Errorf("%w: %v", ErrOutOfMemory, err)
	}
	return fmt.Errorf("cuda: %w", err)
}

func (d *Device) Alloc(size int) (uintptr, error) {
	var p cu.DevicePtr
	err := d.do(func() error {
		var err error
		p, err = cu.MemAlloc(int64(size))
		return err
	})
	if err != nil {
		return 0, wrap(err)
	}
	d.mu.Lock()
	d.allocs[uintptr(p)] = size
	d.mu.Unlock()
	return uintptr(p), nil
}

func (d *Device) Free(p uintptr) error {
	d.mu.Lock()
	_, ok := d.allocs[p]
	delete(d.allocs, p)
	d.mu.Unlock()
	if !ok {
		return fmt.Errorf("cuda: free of %#x, which is not an allocation", p)
	}
	return wrap(d.do(func() error { return cu.MemFree(cu.DevicePtr(p)) }))
}

func (d *Device) CopyHtoD(dst uintptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return wrap(d.do(func() error { return cu.MemcpyHtoD(cu.DevicePtr(dst), unsafe.Pointer(&src[0]), int64(len(src))) }))
}

func (d *Device) CopyDtoH(dst []byte, src uintptr) error {
	if len(dst) == 0 {
		return nil
	}
	return wrap(d.do(func() error { return cu.MemcpyDtoH(unsafe.Pointer(&dst[0]), cu.DevicePtr(src), int64(len(dst))) }))
}

// Launch runs a kernel and checks the launch and the kernel's completion.
// Every argument is an 8-byte slot (gorgonia.org/cu reads 8 bytes each).
func (d *Device) Launch(kernel string, grid, block [3]int, smem int, args ...uint64) error {
	return wrap(d.do(func() error {
		fn, ok := d.fns[kernel]
		if !ok {
			var err error
			if fn, err = d.mod.Function(kernel); err != nil {
				return fmt.Errorf("kernel %s: %w", kernel, err)
			}
			d.fns[kernel] = fn
		}
		if smem > 48<<10 {
			if r := C.set_max_dynamic_smem(*(*C.CUfunction)(unsafe.Pointer(&fn)), C.int(smem)); r != C.CUDA_SUCCESS {
				return fmt.Errorf("kernel %s: cuFuncSetAttribute(%d bytes of shared memory) failed: %d", kernel, smem, int(r))
			}
		}
		slots := make([]uint64, len(args))
		copy(slots, args)
		ptrs := make([]unsafe.Pointer, len(args))
		for i := range slots {
			ptrs[i] = unsafe.Pointer(&slots[i])
		}
		if err := fn.Launch(grid[0], grid[1], grid[2], block[0], block[1], block[2], smem, cu.Stream{}, ptrs); err != nil {
			return fmt.Errorf("launching %s: %w", kernel, err)
		}
		if err := cu.Synchronize(); err != nil {
			return fmt.Errorf("kernel %s: %w", kernel, err)
		}
		return nil
	}))
}

func (d *Device) Sync() error { return wrap(d.do(cu.Synchronize)) }

func (d *Device) MemInfo() (free, total uint64) {
	d.do(func() error {
		f, t, err := cu.MemInfo()
		free, total = uint64(f), uint64(t)
		return err
	})
	return free, total
}

// HostAlloc returns pinned host memory (faster transfers); free it with HostFree.
func (d *Device) HostAlloc(n int) ([]byte, error) {
	var p unsafe.Pointer
	err := d.do(func() error {
		if r := C.host_alloc(&p, C.size_t(n)); r != C.CUDA_SUCCESS {
			return fmt.Errorf("cuMemHostAlloc(%d): %d", n, int(r))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), n), nil
}

// HostFree releases memory from HostAlloc.
func (d *Device) HostFree(b []byte) error {
	return d.do(func() error {
		if r := C.host_free(unsafe.Pointer(&b[0])); r != C.CUDA_SUCCESS {
			return fmt.Errorf("cuMemFreeHost: %d", int(r))
		}
		return nil
	})
}
