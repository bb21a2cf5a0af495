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
#define GDIM_Y gridDim.y
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
// st_global_v2 writes two int32 at an 8-byte-aligned global address (one st.global.v2.s32).
DEVICE void st_global_v2(int32_t* p, int32_t a, int32_t b) { *(int2*)p = make_int2(a, b); }
// st_shared_v2 writes two words at an 8-byte-aligned shared address (one st.shared.v2).
DEVICE void st_shared_v2(uint32_t* p, int32_t a, int32_t b) { *(int2*)p = make_int2(a, b); }
// ldmatrix_xN: ldmatrix.sync.aligned.m8n8.xN.shared.b16. Lanes 8i..8i+7 give
// the 16-byte rows of matrix i; lane l gets in r[i] the word at byte
// 4·(l%4) of row l/4 of matrix i. For int8 that is exactly an
// mma.m16n8k32 fragment register (see gemm_s8.cu).
DEVICE void ldmatrix_x1(uint32_t r[1], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n"
               : "=r"(r[0])
               : "r"((unsigned)__cvta_generic_to_shared(p)));
}
DEVICE void ldmatrix_x2(uint32_t r[2], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"((unsigned)__cvta_generic_to_shared(p)));
}
DEVICE void ldmatrix_x4(uint32_t r[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"((unsigned)__cvta_generic_to_shared(p)));
}

// ---- Hopper (sm_90a): mbarrier, bulk tensor copies, wgmma ----
// PTX ISA 8.x; only the sm_90a pass of nvcc (-gencode arch=compute_90a,
// code=sm_90a) has them: the other passes compile stubs that trap, so a
// Hopper kernel launched on an older card fails loudly instead of computing.
#define LAUNCH_BOUNDS(threads, blocks) __launch_bounds__(threads, blocks)
DEVICE uint32_t smem_addr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
DEVICE void mbar_init(uint64_t* bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(count) : "memory");
}
DEVICE void mbar_arrive(uint64_t* bar) {
  asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}\n" ::"r"(smem_addr(bar)) : "memory");
}
DEVICE void mbar_arrive_expect_tx(uint64_t* bar, unsigned bytes) {
  asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.expect_tx.shared::cta.b64 st, [%0], %1;\n}\n" ::"r"(smem_addr(bar)),
               "r"(bytes)
               : "memory");
}
// A try_wait loop: the label is local to the braces, so every inlined copy has its own.
DEVICE void mbar_wait(uint64_t* bar, unsigned parity) {
  asm volatile(
      "{\n.reg .pred done;\nTP_MBAR_WAIT:\nmbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra TP_MBAR_WAIT;\n}\n" ::"r"(smem_addr(bar)),
      "r"(parity)
      : "memory");
}
DEVICE void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// map: the generic address of a CUtensorMap in global memory (written by the host before the launch).
DEVICE void tma_load_2d(void* dst, const void* map, int c0, int c1, uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(
          smem_addr(dst)),
      "l"(map), "r"(c0), "r"(c1), "r"(smem_addr(bar))
      : "memory");
}
DEVICE void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
DEVICE void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
DEVICE void wgmma_wait_n() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
template <int R>
DEVICE void setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R));
}
template <int R>
DEVICE void setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R));
}
// wgmma_acc_fence keeps the compiler from moving the accumulators of an
// in-flight wgmma (it cannot see the asynchrony).
DEVICE void wgmma_acc_fence(int32_t d[128]) {
  UNROLL
  for (int i = 0; i < 128; i++) asm volatile("" : "+r"(d[i])::"memory");
}
// wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8: D (64×256, s32) = A·B (+ D
// when scale_d), A and B K-major in shared memory (descriptors).
DEVICE void wgmma_m64n256k32_s8(int32_t d[128], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, %128, %129, p;\n}\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]), "+r"(d[8]),
        "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]), "+r"(d[16]),
        "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]), "+r"(d[24]),
        "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]), "+r"(d[32]),
        "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]), "+r"(d[40]),
        "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]), "+r"(d[48]),
        "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]), "+r"(d[56]),
        "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63]), "+r"(d[64]),
        "+r"(d[65]), "+r"(d[66]), "+r"(d[67]), "+r"(d[68]), "+r"(d[69]), "+r"(d[70]), "+r"(d[71]), "+r"(d[72]),
        "+r"(d[73]), "+r"(d[74]), "+r"(d[75]), "+r"(d[76]), "+r"(d[77]), "+r"(d[78]), "+r"(d[79]), "+r"(d[80]),
        "+r"(d[81]), "+r"(d[82]), "+r"(d[83]), "+r"(d[84]), "+r"(d[85]), "+r"(d[86]), "+r"(d[87]), "+r"(d[88]),
        "+r"(d[89]), "+r"(d[90]), "+r"(d[91]), "+r"(d[92]), "+r"(d[93]), "+r"(d[94]), "+r"(d[95]), "+r"(d[96]),
        "+r"(d[97]), "+r"(d[98]), "+r"(d[99]), "+r"(d[100]), "+r"(d[101]), "+r"(d[102]), "+r"(d[103]), "+r"(d[104]),
        "+r"(d[105]), "+r"(d[106]), "+r"(d[107]), "+r"(d[108]), "+r"(d[109]), "+r"(d[110]), "+r"(d[111]),
        "+r"(d[112]), "+r"(d[113]), "+r"(d[114]), "+r"(d[115]), "+r"(d[116]), "+r"(d[117]), "+r"(d[118]),
        "+r"(d[119]), "+r"(d[120]), "+r"(d[121]), "+r"(d[122]), "+r"(d[123]), "+r"(d[124]), "+r"(d[125]),
        "+r"(d[126]), "+r"(d[127])
      : "l"(desc_a), "l"(desc_b), "r"(scale_d));
}
#else
DEVICE void mbar_init(uint64_t*, unsigned) { __trap(); }
DEVICE void mbar_arrive(uint64_t*) { __trap(); }
DEVICE void mbar_arrive_expect_tx(uint64_t*, unsigned) { __trap(); }
DEVICE void mbar_wait(uint64_t*, unsigned) { __trap(); }
DEVICE void fence_proxy_async() { __trap(); }
DEVICE void tma_load_2d(void*, const void*, int, int, uint64_t*) { __trap(); }
DEVICE void wgmma_fence() { __trap(); }
DEVICE void wgmma_commit() { __trap(); }
template <int N>
DEVICE void wgmma_wait_n() { __trap(); }
template <int R>
DEVICE void setmaxnreg_inc() {}
template <int R>
DEVICE void setmaxnreg_dec() {}
DEVICE void wgmma_acc_fence(int32_t*) {}
DEVICE void wgmma_m64n256k32_s8(int32_t*, uint64_t, uint64_t, int) { __trap(); }
#endif
#define WGMMA_WAIT(n) wgmma_wait_n<n>()
#define SETMAXNREG_INC(r) setmaxnreg_inc<r>()
#define SETMAXNREG_DEC(r) setmaxnreg_dec<r>()

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
#define GDIM_Y (emu::grid_dim().y)
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
using emu::st_global_v2;
using emu::st_shared_v2;
static inline void ldmatrix_x1(uint32_t r[1], const void* p) { emu::ldmatrix(r, 1, p); }
static inline void ldmatrix_x2(uint32_t r[2], const void* p) { emu::ldmatrix(r, 2, p); }
static inline void ldmatrix_x4(uint32_t r[4], const void* p) { emu::ldmatrix(r, 4, p); }
#define CP_ASYNC_WAIT(n) emu::cp_async_wait(n)
#define LAUNCH_BOUNDS(threads, blocks)
using emu::fence_proxy_async;
using emu::mbar_arrive;
using emu::mbar_arrive_expect_tx;
using emu::mbar_init;
using emu::mbar_wait;
using emu::smem_addr;
using emu::tma_load_2d;
using emu::wgmma_commit;
using emu::wgmma_fence;
static inline void wgmma_acc_fence(int32_t*) {}
static inline void wgmma_m64n256k32_s8(int32_t d[128], uint64_t desc_a, uint64_t desc_b, int scale_d) {
  emu::wgmma_s8(d, 256, desc_a, desc_b, scale_d);
}
#define WGMMA_WAIT(n) emu::wgmma_wait(n)
#define SETMAXNREG_INC(r)
#define SETMAXNREG_DEC(r)

#endif
