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
