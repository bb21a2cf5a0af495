// The SIMT emulator's device-side API: what kernels/simt.h maps the CUDA
// primitives to when kernels are compiled by the host C++ compiler.
// See README.md in this directory for the design.
#pragma once
#include <cstdint>
#include <cstddef>

namespace emu {

struct dim3 {
  unsigned x, y, z;
};

// Identity of the running thread.
const dim3& thread_idx();
const dim3& block_idx();
const dim3& block_dim();
const dim3& grid_dim();
unsigned lane_id();

// Block barrier (__syncthreads).
void barrier();

// The block's dynamic shared memory.
unsigned char* dynamic_smem();

// Warp collectives: every one of the 32 lanes must reach the same call.
// mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 with the fragment layout
// of the PTX ISA (§9.7.13.4.x "Matrix Fragments for mma.m16n8k32").
void mma_s8_16832(int32_t d[4], const uint32_t a[4], const uint32_t b[2], const int32_t c[4]);
// shfl.sync.idx / shfl.sync.bfly on 32-bit values (full mask).
uint32_t shfl_idx(uint32_t v, int src_lane);
uint32_t shfl_xor(uint32_t v, int lane_mask);
// ldmatrix.sync.aligned.m8n8.xN.shared.b16 (N = num: 1, 2 or 4), PTX ISA
// "Warp-level matrix load instruction: ldmatrix": lanes 8i..8i+7 give the
// 16-byte-aligned shared addresses of rows 0..7 of matrix i (the other
// lanes' addresses are ignored); lane l receives in r[i] the 32-bit word
// at byte 4·(l%4) of row l/4 of matrix i (elements 2·(l%4), 2·(l%4)+1 of
// the b16 row). Addresses that are misaligned or outside dynamic shared
// memory are errors naming the lane; no .trans.
void ldmatrix(uint32_t* r, int num, const void* row_addr);

// cp.async.cg.shared.global [dst], [src], 16, src_size: copies src_size
// bytes (0..16) and zero-fills the rest. The destination is poisoned at issue
// and written only when a cp.async.wait_group retires the copy's group.
void cp_async16(void* dst_smem, const void* src_gmem, int src_size);
void cp_async_commit();
void cp_async_wait(int pending);

// ld.global.nc.v4.u32: 16 bytes at a 16-byte-aligned global address as four
// words (little-endian, as on the device); a misaligned address is an error
// naming the thread, as it is a fault on the device.
void ld_global_v4(const void* src_gmem, uint32_t w[4]);
// st.global.v2.s32: two words at an 8-byte-aligned global address; a
// misaligned address is an error naming the thread.
void st_global_v2(int32_t* dst_gmem, int32_t a, int32_t b);
// st.shared.v2: likewise in shared memory (also out of bounds is an error).
void st_shared_v2(uint32_t* dst_smem, int32_t a, int32_t b);

// ---- Hopper (sm_90a): mbarrier, bulk tensor copies, async proxy, wgmma ----
// Taken from the PTX ISA (8.x): §9.7.12.15 "Parallel Synchronization and
// Communication Instructions: mbarrier", §9.7.9.25 "Data Movement:
// cp.async.bulk.tensor", §9.7.12.4 "membar/fence" (fence.proxy.async) and
// §9.7.15 "Asynchronous Warpgroup Level Matrix Multiply-Accumulate
// Instructions" (wgmma). See README.md for what each detects.

// smem_addr is the address of p in the shared state space (cvta.to.shared).
// The emulated dynamic shared memory starts at kSmemWindow, 128- but not
// 1024-byte aligned, so a kernel that assumes swizzle alignment fails.
constexpr uint32_t kSmemWindow = 0x480;
uint32_t smem_addr(const void* p);

// mbarrier.init.shared::cta.b64 [bar], count.
void mbar_init(uint64_t* bar, unsigned count);
// mbarrier.arrive.shared::cta.b64 _, [bar].
void mbar_arrive(uint64_t* bar);
// mbarrier.arrive.expect_tx.shared::cta.b64 _, [bar], bytes: adds bytes to
// the phase's pending transaction count, then arrives.
void mbar_arrive_expect_tx(uint64_t* bar, unsigned bytes);
// Loops on mbarrier.try_wait.parity.shared::cta.b64 until the phase whose
// parity is `parity` has completed.
void mbar_wait(uint64_t* bar, unsigned parity);
// fence.proxy.async.shared::cta: generic-proxy writes to shared memory so far
// (data, mbarrier.init) become visible to the async proxy (bulk copies, wgmma).
void fence_proxy_async();

// TensorMap2D is the emulator's CUtensorMap (128 bytes, 64-byte aligned, in
// global memory): a 2-D tensor of 1-byte elements, dims[0] contiguous,
// row stride `stride` bytes, boxes of box[0]×box[1] elements.
struct alignas(64) TensorMap2D {
  uint64_t magic;  // kTensorMapMagic
  uint64_t base;   // global address, 16-byte aligned
  uint64_t dims[2];
  uint64_t stride;  // bytes between rows (dims[1]), a multiple of 16
  uint32_t box[2];
  uint32_t swizzle;  // 0 none, 1 32B, 2 64B, 3 128B (CU_TENSOR_MAP_SWIZZLE_*)
  uint32_t pad_[19];
};
static_assert(sizeof(TensorMap2D) == 128, "a tensor map is 128 bytes");
constexpr uint64_t kTensorMapMagic = 0x31304d5450545054ull;  // "TPTPTM01"

// cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes
// [dst], [map, {c0, c1}], [bar]: copies the box at coordinates (c0, c1)
// (elements outside the tensor read as zero) to dst with the map's swizzle,
// and completes box bytes of transactions on bar when it lands. The
// destination is poisoned at issue; the copy lands only when no thread of
// the block can run without it, so a read without the mbarrier wait sees
// poison.
void tma_load_2d(void* dst_smem, const void* map, int c0, int c1, uint64_t* bar);

// wgmma.fence.sync.aligned, wgmma.commit_group.sync.aligned,
// wgmma.wait_group.sync.aligned n.
void wgmma_fence();
void wgmma_commit();
void wgmma_wait(int pending);
// wgmma.mma_async.sync.aligned.m64nNk32.s32.s8.s8 d, a-desc, b-desc, scale-d:
// a warpgroup collective (all 128 threads). d holds the thread's N/2
// accumulators; both operands K-major in shared memory per their matrix
// descriptors. d reads as poison until a wgmma.wait_group retires the group.
void wgmma_s8(int32_t* d, int n, uint64_t desc_a, uint64_t desc_b, int scale_d);

// Counters over every launch (for bytes-per-MAC figures).
struct Stats {
  uint64_t tma_bytes;   // bytes requested by bulk tensor copies (boxes)
  uint64_t tma_copies;  // bulk tensor copies
  uint64_t wgmma_macs;  // multiply-accumulates issued through wgmma
  uint64_t wgmmas;      // wgmma.mma_async instructions (per warpgroup)
  // sm_80: cp.async bytes requested (16 a copy, zero fill included),
  // multiply-accumulates issued through mma.sync, 8×8 matrices loaded by
  // ldmatrix and the shared-memory wavefronts they take (one each when
  // free of bank conflicts: 32 banks of 4 bytes, a matrix one phase).
  uint64_t cp_async_bytes;
  uint64_t mma_macs;
  uint64_t ldsm_matrices;
  uint64_t ldsm_wavefronts;
};
Stats stats();

// 64-bit high product (__umul64hi).
inline uint64_t umul64hi(uint64_t a, uint64_t b) {
  return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

// Launching (host side).
typedef void (*trampoline)(const uint64_t* args);
// launch runs a kernel over a grid; it returns nullptr, or an error message
// owned by the emulator (divergence, shared-memory overrun, bad launch).
const char* launch(const char* name, trampoline fn, dim3 grid, dim3 block, size_t smem, const uint64_t* args);

}  // namespace emu
