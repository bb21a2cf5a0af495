//go:build cuda

package cuda

// #cgo LDFLAGS: -ldl
// #include <dlfcn.h>
// #include <stdio.h>
// #include <stdint.h>
// #include <stdlib.h>
// #include <string.h>
//
// // The driver API's types, declared here so that no CUDA header or library
// // is needed to build: libcuda.so.1 is loaded at run time (dlopen) and the
// // entry points resolved by their versioned names, the ABI that the CUDA 11
// // headers select (drivers keep every ABI version they ever exported).
// typedef int CUresult;
// typedef int CUdevice;
// typedef void* CUcontext;
// typedef void* CUmodule;
// typedef void* CUfunction;
// typedef void* CUstream;
// typedef void* CUevent;
// typedef unsigned long long CUdeviceptr;
//
// static struct {
//   void* lib;
//   CUresult (*Init)(unsigned);
//   CUresult (*DeviceGet)(CUdevice*, int);
//   CUresult (*DeviceGetName)(char*, int, CUdevice);
//   CUresult (*DeviceGetAttribute)(int*, int, CUdevice);
//   CUresult (*PrimaryCtxRetain)(CUcontext*, CUdevice);
//   CUresult (*PrimaryCtxRelease)(CUdevice);
//   CUresult (*CtxSetCurrent)(CUcontext);
//   CUresult (*ModuleLoadData)(CUmodule*, const void*);
//   CUresult (*ModuleUnload)(CUmodule);
//   CUresult (*ModuleGetFunction)(CUfunction*, CUmodule, const char*);
//   CUresult (*FuncSetAttribute)(CUfunction, int, int);
//   CUresult (*MemAlloc)(CUdeviceptr*, size_t);
//   CUresult (*MemFree)(CUdeviceptr);
//   CUresult (*MemHostAlloc)(void**, size_t, unsigned);
//   CUresult (*MemFreeHost)(void*);
//   CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream);
//   CUresult (*MemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
//   CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
//   CUresult (*MemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
//   CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream, void**, void**);
//   CUresult (*StreamCreate)(CUstream*, unsigned);
//   CUresult (*StreamDestroy)(CUstream);
//   CUresult (*EventCreate)(CUevent*, unsigned);
//   CUresult (*EventRecord)(CUevent, CUstream);
//   CUresult (*EventSynchronize)(CUevent);
//   CUresult (*EventDestroy)(CUevent);
//   CUresult (*MemGetInfo)(size_t*, size_t*);
//   CUresult (*GetErrorName)(CUresult, const char**);
//   // CUDA 12 drivers only (Hopper's tensor maps); NULL on older drivers.
//   CUresult (*TensorMapEncodeTiled)(void*, int, uint32_t, void*, const uint64_t*, const uint64_t*, const uint32_t*, const uint32_t*, int, int, int, int);
// } cu;
//
// // tp_load opens libcuda.so.1 and resolves every entry point; it returns
// // NULL or what is missing (owned by the shim or by libdl).
// static const char* tp_load(void) {
//   if (cu.lib) return NULL;
//   void* h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
//   if (!h) return dlerror();
//   static char missing[128];
// #define SYM(field, name) \
//   if (!(*(void**)&cu.field = dlsym(h, name))) { snprintf(missing, sizeof missing, "libcuda.so.1 has no %s", name); dlclose(h); return missing; }
//   SYM(Init, "cuInit")
//   SYM(DeviceGet, "cuDeviceGet")
//   SYM(DeviceGetName, "cuDeviceGetName")
//   SYM(DeviceGetAttribute, "cuDeviceGetAttribute")
//   SYM(PrimaryCtxRetain, "cuDevicePrimaryCtxRetain")
//   SYM(PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2")
//   SYM(CtxSetCurrent, "cuCtxSetCurrent")
//   SYM(ModuleLoadData, "cuModuleLoadData")
//   SYM(ModuleUnload, "cuModuleUnload")
//   SYM(ModuleGetFunction, "cuModuleGetFunction")
//   SYM(FuncSetAttribute, "cuFuncSetAttribute")
//   SYM(MemAlloc, "cuMemAlloc_v2")
//   SYM(MemFree, "cuMemFree_v2")
//   SYM(MemHostAlloc, "cuMemHostAlloc")
//   SYM(MemFreeHost, "cuMemFreeHost")
//   SYM(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2")
//   SYM(MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2")
//   SYM(MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2")
//   SYM(MemsetD8Async, "cuMemsetD8Async")
//   SYM(LaunchKernel, "cuLaunchKernel")
//   SYM(StreamCreate, "cuStreamCreate")
//   SYM(StreamDestroy, "cuStreamDestroy_v2")
//   SYM(EventCreate, "cuEventCreate")
//   SYM(EventRecord, "cuEventRecord")
//   SYM(EventSynchronize, "cuEventSynchronize")
//   SYM(EventDestroy, "cuEventDestroy_v2")
//   SYM(MemGetInfo, "cuMemGetInfo_v2")
//   SYM(GetErrorName, "cuGetErrorName")
// #undef SYM
//   *(void**)&cu.TensorMapEncodeTiled = dlsym(h, "cuTensorMapEncodeTiled");
//   cu.lib = h;
//   return NULL;
// }
//
// static const char* tp_error_name(CUresult r) {
//   const char* s = NULL;
//   if (cu.GetErrorName && cu.GetErrorName(r, &s) == 0 && s) return s;
//   return "CUDA_ERROR_UNKNOWN";
// }
//
// // A context is current per OS thread and goroutines move between
// // threads, so every call makes the device's context current first (a
// // thread-local store in the driver; not cached here, because a released
// // primary context's handle may come back for a new one).
// static CUresult tp_ctx(CUcontext c) { return cu.CtxSetCurrent(c); }
//
// static CUresult tp_init(void) { return cu.Init(0); }
// // tp_arch returns the compute capability and the SM count
// // (CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR 75, _MINOR 76,
// // MULTIPROCESSOR_COUNT 16).
// static CUresult tp_arch(CUdevice d, int* major, int* minor, int* sms) {
//   CUresult r = cu.DeviceGetAttribute(major, 75, d);
//   if (!r) r = cu.DeviceGetAttribute(minor, 76, d);
//   if (!r) r = cu.DeviceGetAttribute(sms, 16, d);
//   return r;
// }
// static CUresult tp_device(int ordinal, CUdevice* d, char* name, int n) {
//   CUresult r = cu.DeviceGet(d, ordinal);
//   if (r) return r;
//   return cu.DeviceGetName(name, n, *d);
// }
// static CUresult tp_open(CUdevice d, const void* image, CUcontext* c, CUmodule* m, CUstream* s, CUevent* e) {
//   CUresult r = cu.PrimaryCtxRetain(c, d);
//   if (r) return r;
//   if ((r = tp_ctx(*c))) return r;
//   if ((r = cu.ModuleLoadData(m, image))) return r;
//   if ((r = cu.StreamCreate(s, 1 /* CU_STREAM_NON_BLOCKING */))) return r;
//   return cu.EventCreate(e, 2 /* CU_EVENT_DISABLE_TIMING */);
// }
// static void tp_close(CUdevice d, CUcontext c, CUmodule m, CUstream s, CUevent e) {
//   if (tp_ctx(c) == 0) {
//     if (e) cu.EventDestroy(e);
//     if (s) cu.StreamDestroy(s);
//     if (m) cu.ModuleUnload(m);
//   }
//   cu.PrimaryCtxRelease(d);
// }
// static CUresult tp_function(CUcontext c, CUmodule m, const char* name, CUfunction* f) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.ModuleGetFunction(f, m, name);
// }
// static CUresult tp_set_smem(CUcontext c, CUfunction f, int bytes) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.FuncSetAttribute(f, 8 /* CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES */, bytes);
// }
// static CUresult tp_alloc(CUcontext c, size_t n, CUdeviceptr* p) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.MemAlloc(p, n);
// }
// static CUresult tp_free(CUcontext c, CUdeviceptr p) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.MemFree(p);
// }
// static CUresult tp_host_alloc(CUcontext c, size_t n, void** p) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.MemHostAlloc(p, n, 0);
// }
// static CUresult tp_host_free(CUcontext c, void* p) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.MemFreeHost(p);
// }
// static CUresult tp_htod(CUcontext c, CUstream s, CUdeviceptr dst, const void* src, size_t n) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.MemcpyHtoDAsync(dst, src, n, s);
// }
// static CUresult tp_dtoh(CUcontext c, CUstream s, void* dst, CUdeviceptr src, size_t n) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.MemcpyDtoHAsync(dst, src, n, s);
// }
// static CUresult tp_dtod(CUcontext c, CUstream s, CUdeviceptr dst, CUdeviceptr src, size_t n) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.MemcpyDtoDAsync(dst, src, n, s);
// }
// static CUresult tp_memset(CUcontext c, CUstream s, CUdeviceptr p, unsigned char v, size_t n) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.MemsetD8Async(p, v, n, s);
// }
// // tp_launch passes each argument as one 8-byte slot (kernel parameters
// // are long long or pointers); the driver copies them before returning.
// static CUresult tp_launch(CUcontext c, CUstream s, CUfunction f, unsigned gx, unsigned gy, unsigned gz,
//                           unsigned bx, unsigned by, unsigned bz, unsigned smem, uint64_t* args, int n) {
//   void* params[32];
//   if (n > 32) return 1; // CUDA_ERROR_INVALID_VALUE
//   for (int i = 0; i < n; i++) params[i] = &args[i];
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.LaunchKernel(f, gx, gy, gz, bx, by, bz, smem, s, params, NULL);
// }
// // tp_sync records the stream's event and waits for it.
// static CUresult tp_sync(CUcontext c, CUstream s, CUevent e) {
//   CUresult r = tp_ctx(c);
//   if (r) return r;
//   if ((r = cu.EventRecord(e, s))) return r;
//   return cu.EventSynchronize(e);
// }
// static CUresult tp_meminfo(CUcontext c, size_t* free, size_t* total) {
//   CUresult r = tp_ctx(c);
//   return r ? r : cu.MemGetInfo(free, total);
// }
// // tp_tensor_map encodes a 2-D uint8 tensor map (CUtensorMap, 128 bytes,
// // 64-byte aligned): dims {inner, outer}, the outer stride in bytes, boxes
// // of boxInner × boxOuter, element strides 1, no interleave, the given
// // swizzle (CUtensorMapSwizzle), L2 promotion 256 B, out-of-bounds zeros.
// // It returns CUDA_ERROR_NOT_SUPPORTED (801) on a driver without it.
// static CUresult tp_tensor_map(CUcontext c, uint64_t* out, CUdeviceptr base, uint64_t inner, uint64_t outer,
//                               uint64_t stride, uint32_t boxInner, uint32_t boxOuter, int swizzle) {
//   if (!cu.TensorMapEncodeTiled) return 801;
//   CUresult r = tp_ctx(c);
//   if (r) return r;
//   uint64_t dims[2] = {inner, outer}, strides[1] = {stride};
//   uint32_t box[2] = {boxInner, boxOuter}, estr[2] = {1, 1};
//   _Alignas(64) uint64_t map[16];
//   r = cu.TensorMapEncodeTiled(map, 0 /* UINT8 */, 2, (void*)base, dims, strides, box, estr,
//                               0 /* INTERLEAVE_NONE */, swizzle, 3 /* L2_PROMOTION_L2_256B */, 0 /* OOB_FILL_NONE */);
//   if (r == 0) memcpy(out, map, sizeof map);
//   return r;
// }
//
import "C"

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/seed46f70faa/trainproof/gpu"
)

// Kernels is the fatbin of kernels/*.cu, built by `make kernels` and
// committed.
//
//go:embed kernels.fatbin
var Kernels string

// ErrOutOfMemory wraps the driver's out-of-memory error.
var ErrOutOfMemory = errors.New("cuda: out of device memory")

// ErrUnavailable reports that this cuda build found no usable GPU: no
// libcuda.so.1, no device, or a driver that cannot run the kernels.
var ErrUnavailable = errors.New("cuda: no usable GPU")

const cudaErrorOutOfMemory = 2

// Error is a failed driver call.
type Error struct {
	Call string
	Code int
	Name string
}

func (e *Error) Error() string { return fmt.Sprintf("cuda: %s: %s (%d)", e.Call, e.Name, e.Code) }

func (e *Error) Is(target error) bool {
	return target == ErrOutOfMemory && e.Code == cudaErrorOutOfMemory
}

func check(call string, r C.CUresult) error {
	if r == 0 {
		return nil
	}
	return &Error{Call: call, Code: int(r), Name: C.GoString(C.tp_error_name(r))}
}

// reason is a driver error without the package prefix, to follow ErrUnavailable's.
func reason(err error) string { return strings.TrimPrefix(err.Error(), "cuda: ") }

var (
	loadOnce sync.Once
	loadErr  error
)

// load opens the driver library and initialises the driver, once.
func load() error {
	loadOnce.Do(func() {
		if msg := C.tp_load(); msg != nil {
			loadErr = fmt.Errorf("%w: %s", ErrUnavailable, C.GoString(msg))
			return
		}
		if err := check("cuInit", C.tp_init()); err != nil {
			loadErr = fmt.Errorf("%w: %s", ErrUnavailable, reason(err))
		}
	})
	return loadErr
}

// Device is one GPU: its primary context, the kernels' module, and one
// non-blocking stream with an event that Sync records and waits for.
type Device struct {
	name   string
	arch   [3]int // compute capability major, minor; SM count
	dev    C.CUdevice
	ctx    C.CUcontext
	mod    C.CUmodule
	stream C.CUstream
	event  C.CUevent

	mu     sync.Mutex
	fns    map[string]C.CUfunction
	smem   map[string]int // the dynamic shared memory each function is allowed
	allocs map[uintptr]int
	poison bool
}

// Open loads the driver (at run time: a cuda build starts, and runs its
// CPU paths, on a machine without one), selects device ordinal, makes its
// primary context current and loads the kernels. Without a usable GPU it
// returns an error wrapping ErrUnavailable.
func Open(ordinal int) (gpu.Device, error) {
	if err := load(); err != nil {
		return nil, err
	}
	d := &Device{fns: map[string]C.CUfunction{}, smem: map[string]int{}, allocs: map[uintptr]int{}}
	var name [256]C.char
	if err := check("cuDeviceGet", C.tp_device(C.int(ordinal), &d.dev, &name[0], C.int(len(name)))); err != nil {
		return nil, fmt.Errorf("%w: device %d: %s", ErrUnavailable, ordinal, reason(err))
	}
	d.name = C.GoString(&name[0])
	var major, minor, sms C.int
	if err := check("cuDeviceGetAttribute", C.tp_arch(d.dev, &major, &minor, &sms)); err != nil {
		return nil, fmt.Errorf("%w: device %d: %s", ErrUnavailable, ordinal, reason(err))
	}
	d.arch = [3]int{int(major), int(minor), int(sms)}
	image := C.CString(Kernels) // cuModuleLoadData reads the image during the call
	defer C.free(unsafe.Pointer(image))
	if err := check("opening the device", C.tp_open(d.dev, unsafe.Pointer(image), &d.ctx, &d.mod, &d.stream, &d.event)); err != nil {
		C.tp_close(d.dev, d.ctx, d.mod, d.stream, d.event)
		return nil, fmt.Errorf("%w: %s: %s", ErrUnavailable, d.name, reason(err))
	}
	return d, nil
}

// Arch returns the device's compute capability and its SM count.
func (d *Device) Arch() (major, minor, sms int) { return d.arch[0], d.arch[1], d.arch[2] }

// Close releases the stream, the module and the primary context.
func (d *Device) Close() error {
	C.tp_close(d.dev, d.ctx, d.mod, d.stream, d.event)
	return nil
}

// SetPoison makes the device poison (0xA5) the memory package gpu hands out
// again, as the emulator does: for tests, at the cost of a memset each time.
func (d *Device) SetPoison(on bool) { d.poison = on }

func (d *Device) Name() string { return d.name }

func (d *Device) Alloc(size int) (uintptr, error) {
	var p C.CUdeviceptr
	if err := check("cuMemAlloc", C.tp_alloc(d.ctx, C.size_t(size), &p)); err != nil {
		return 0, err
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
	// Queued work may still use the memory: wait for the stream (package gpu
	// frees only outside the steady state).
	if err := d.Sync(); err != nil {
		return err
	}
	return check("cuMemFree", C.tp_free(d.ctx, C.CUdeviceptr(p)))
}

// HostAlloc returns pinned host memory (cuMemHostAlloc): copies to and from
// it are asynchronous. Free it with HostFree.
func (d *Device) HostAlloc(n int) ([]byte, error) {
	var p unsafe.Pointer
	if err := check("cuMemHostAlloc", C.tp_host_alloc(d.ctx, C.size_t(n), &p)); err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), n), nil
}

// HostFree releases memory from HostAlloc.
func (d *Device) HostFree(b []byte) error {
	if err := d.Sync(); err != nil { // copies from or to it may be queued
		return err
	}
	return check("cuMemFreeHost", C.tp_host_free(d.ctx, unsafe.Pointer(&b[0])))
}

// CopyHtoD queues a copy on the stream. From pinned memory it is
// asynchronous; from Go (pageable) memory the driver stages the source
// before returning.
func (d *Device) CopyHtoD(dst uintptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return check("cuMemcpyHtoDAsync", C.tp_htod(d.ctx, d.stream, C.CUdeviceptr(dst), unsafe.Pointer(&src[0]), C.size_t(len(src))))
}

// CopyDtoH queues a copy on the stream; into pinned memory it is
// asynchronous (the data is there after Sync), into Go memory the driver
// returns when it has landed.
func (d *Device) CopyDtoH(dst []byte, src uintptr) error {
	if len(dst) == 0 {
		return nil
	}
	return check("cuMemcpyDtoHAsync", C.tp_dtoh(d.ctx, d.stream, unsafe.Pointer(&dst[0]), C.CUdeviceptr(src), C.size_t(len(dst))))
}

func (d *Device) CopyDtoD(dst, src uintptr, n int) error {
	if n == 0 {
		return nil
	}
	return check("cuMemcpyDtoDAsync", C.tp_dtod(d.ctx, d.stream, C.CUdeviceptr(dst), C.CUdeviceptr(src), C.size_t(n)))
}

// Poison queues a memset of reused memory when SetPoison is on.
func (d *Device) Poison(p uintptr, n int) error {
	if !d.poison {
		return nil
	}
	return check("cuMemsetD8Async", C.tp_memset(d.ctx, d.stream, C.CUdeviceptr(p), 0xA5, C.size_t(n)))
}

func (d *Device) function(kernel string, smem int) (C.CUfunction, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn, ok := d.fns[kernel]
	if !ok {
		name := C.CString(kernel)
		defer C.free(unsafe.Pointer(name))
		if err := check("cuModuleGetFunction("+kernel+")", C.tp_function(d.ctx, d.mod, name, &fn)); err != nil {
			return nil, err
		}
		d.fns[kernel] = fn
	}
	if smem > 48<<10 && smem > d.smem[kernel] {
		if err := check("cuFuncSetAttribute("+kernel+")", C.tp_set_smem(d.ctx, fn, C.int(smem))); err != nil {
			return nil, err
		}
		d.smem[kernel] = smem
	}
	return fn, nil
}

// Launch queues a kernel on the stream. Every argument is an 8-byte slot.
// A fault in the kernel is reported by the next Sync.
func (d *Device) Launch(kernel string, grid, block [3]int, smem int, args ...uint64) error {
	fn, err := d.function(kernel, smem)
	if err != nil {
		return err
	}
	var slots [32]uint64
	n := copy(slots[:], args)
	if n < len(args) {
		return fmt.Errorf("cuda: kernel %s: %d arguments, at most %d", kernel, len(args), len(slots))
	}
	return check("cuLaunchKernel("+kernel+")", C.tp_launch(d.ctx, d.stream, fn, C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]),
		C.uint(block[0]), C.uint(block[1]), C.uint(block[2]), C.uint(smem), (*C.uint64_t)(unsafe.Pointer(&slots[0])), C.int(n)))
}

// Sync records the stream's event and waits for it.
func (d *Device) Sync() error {
	return check("cuEventSynchronize", C.tp_sync(d.ctx, d.stream, d.event))
}

// EncodeTensorMap2D encodes a Hopper tensor map with the driver's
// cuTensorMapEncodeTiled (gpu.TensorMapper: what the sm_90a GEMM's bulk
// tensor copies read). Drivers older than CUDA 12 have none: the error says
// so, and gpu.Backend stays on the sm_80 kernel.
func (d *Device) EncodeTensorMap2D(base uintptr, inner, outer, stride, boxInner, boxOuter, swizzle int) ([128]byte, error) {
	var m [16]C.uint64_t
	r := C.tp_tensor_map(d.ctx, &m[0], C.CUdeviceptr(base), C.uint64_t(inner), C.uint64_t(outer), C.uint64_t(stride),
		C.uint32_t(boxInner), C.uint32_t(boxOuter), C.int(swizzle))
	if err := check("cuTensorMapEncodeTiled", r); err != nil {
		return [128]byte{}, err
	}
	var out [128]byte
	copy(out[:], unsafe.Slice((*byte)(unsafe.Pointer(&m[0])), 128))
	return out, nil
}

// MemInfo returns the device's free and total memory.
func (d *Device) MemInfo() (free, total uint64) {
	var f, t C.size_t
	if C.tp_meminfo(d.ctx, &f, &t) != 0 {
		return 0, 0
	}
	return uint64(f), uint64(t)
}
