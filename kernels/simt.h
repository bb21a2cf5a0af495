// simt.h: the only place where trainproof's kernels touch the hardware.
//
// Compiled by nvcc, every primitive is its PTX instruction. Compiled by the
// host C++ compiler (the SIMT emulator, kernels/emu), every primitive is the
// emulator's version. Kernel sources (kernels/*.cu) use only what is defined
// here, so their logic is shared: no #ifdef outside this file.
#pragma once
#include <stdint.h>

#if defined(__CUDACC__)

#define KERNEL extern "C" __global__
#define DEVICE __device__ __forceinline__
#define TID_X threadIdx.x
#define TID_Y threadIdx.y
#define BID_X blockIdx.x
#define BID_Y blockIdx.y
#define BDIM_X blockDim.x
#define BDIM_Y blockDim.y
#define GDIM_X gridDim.x
#define LANE_ID (threadIdx.x & 31)
#define SYNC_THREADS() __syncthreads()
#define DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]
#define UNROLL _Pragma("unroll")

DEVICE void mma_s8_16832(int32_t d[4], const uint32_t a[4], const uint32_t b[2], const int32_t c[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
      : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]),
        "r"(c[0]), "r"(c[1]), "r"(c[2]), "r"(c[3]));
}
DEVICE uint32_t shfl_idx(uint32_t v, int src) { return __shfl_sync(0xffffffffu, v, src); }
DEVICE uint32_t shfl_xor(uint32_t v, int m) { return __shfl_xor_sync(0xffffffffu, v, m); }
DEVICE void cp_async16(void* dst, const void* src, int src_size) {
  unsigned s = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(src_size));
}
DEVICE void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
DEVICE void cp_async_wait_n() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }
#define CP_ASYNC_WAIT(n) cp_async_wait_n<n>()
DEVICE uint64_t umul64hi(uint64_t a, uint64_t b) { return __umul64hi(a, b); }
// ld_global_v4 reads 16 bytes at a 16-byte-aligned global address (one
// ld.global.nc.v4.u32) as four little-endian words.
DEVICE void ld_global_v4(const void* p, uint32_t w[4]) {
  uint4 v = __ldg((const uint4*)p);
  w[0] = v.x;
  w[1] = v.y;
  w[2] = v.z;
  w[3] = v.w;
}

#else  // the SIMT emulator

#include "emu/emu.h"
#include <string.h>

#define KERNEL static
#define DEVICE static inline
#define TID_X (emu::thread_idx().x)
#define TID_Y (emu::thread_idx().y)
#define BID_X (emu::block_idx().x)
#define BID_Y (emu::block_idx().y)
#define BDIM_X (emu::block_dim().x)
#define BDIM_Y (emu::block_dim().y)
#define GDIM_X (emu::grid_dim().x)
#define LANE_ID (emu::lane_id())
#define SYNC_THREADS() emu::barrier()
#define DYNAMIC_SMEM(name) unsigned char* name = emu::dynamic_smem()
#define UNROLL
using emu::cp_async16;
using emu::cp_async_commit;
using emu::mma_s8_16832;
using emu::shfl_idx;
using emu::shfl_xor;
using emu::umul64hi;
using emu::ld_global_v4;
#define CP_ASYNC_WAIT(n) emu::cp_async_wait(n)

#endif
