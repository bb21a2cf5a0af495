// Exact int8 GEMM for Hopper (sm_90a): wgmma on the tensor cores, operands
// brought in by the Tensor Memory Accelerator (bulk tensor copies), a ring of
// shared-memory stages guarded by mbarriers, and warp specialisation. The
// same source runs in the SIMT emulator, which emulates each primitive from
// the PTX ISA (kernels/emu/README.md), so every test run checks it against
// the CPU backend bit for bit.
//
// C (M×N int32, row stride ldc) = A · Btᵀ with A M×Kp and Bt N×Kp int8
// row-major, K contiguous: the operands gemm_s8_tc takes (gpu.Backend packs
// them). K-major A and B are what wgmma wants for 8-bit types, which have no
// transpose.
//
// A CTA is three warpgroups (384 threads):
//   warpgroup 0   the producer: one thread waits for a free stage (its empty
//                 mbarrier), announces the stage's bytes on its full mbarrier
//                 (arrive.expect_tx) and issues two box copies into it: the
//                 128×128 A box and the 256×128 B box, 128-byte swizzled.
//   warpgroups 1, 2  consumers: each waits for the stage's full mbarrier and
//                 multiplies its 64 rows of A by the 256 columns of B with
//                 four wgmma m64n256k32 (k = 32 bytes each), keeps that group
//                 in flight while the next stage is awaited (wait_group 1),
//                 then releases the previous stage (one arrival per consumer
//                 warpgroup on its empty mbarrier).
// The grid is persistent: CTA b takes tiles b, b + gridDim.x, …, rastered in
// groups of SM90_GROUP_M tile rows so that concurrent CTAs share A and B
// boxes in L2. The producer runs ahead into the next tile while the
// consumers store the last one. Edges need no code: the box copies read
// zeros outside the tensor, and the epilogue stores only inside M×N.
//
// gemm_s8_sm90_cv also hashes C in its epilogue, before C leaves the SM: a
// tile row is 256 int32 = 1 KiB, exactly one BLAKE3 chunk of the row's
// commitment (docs/PROTOCOL.md §3, kernels/hash_rows.cu), so each CTA
// writes the chunk chaining values of the rows it holds, and
// blake3_parents finishes the rows' leaves.
#include "simt.h"
#include "hash_rows.cu"  // b3_compress, b3_key: the chunk scheme the epilogue shares

#define SM90_BM 128
#define SM90_BN 256
#define SM90_BK 128  // bytes of K per stage: one 128-byte swizzle row
#define SM90_STAGES 4
#define SM90_CONSUMERS 2
#define SM90_THREADS (128 * (1 + SM90_CONSUMERS))
#define SM90_GROUP_M 8
#define SM90_A_BYTES (SM90_BM * SM90_BK)  // 16 KiB
#define SM90_B_BYTES (SM90_BN * SM90_BK)  // 32 KiB
#define SM90_STAGE_BYTES (SM90_A_BYTES + SM90_B_BYTES)
// Dynamic shared memory to launch with: 1 KiB of slack to align the stages to
// the 1024-byte swizzle atom, the stages, then the full and empty mbarriers.
#define SM90_SMEM (1024 + SM90_STAGES * SM90_STAGE_BYTES + 2 * SM90_STAGES * 8)

// sm90_desc is the wgmma matrix descriptor (PTX ISA, "Matrix Descriptor
// Format") of a K-major operand whose rows are 128 bytes in 8-row, 1024-byte
// atoms with the 128-byte swizzle the box copies write: start address >> 4
// (bits 0–13), leading byte offset unused for a swizzled K-major operand (1,
// bits 16–29), stride byte offset 1024 >> 4 between 8-row groups (bits
// 32–45), base offset 0 (the atoms are 1024-aligned), swizzle mode 1 =
// 128 bytes (bits 62–63). Advancing K by 32 bytes inside the atom is adding
// 32 to the start address: the swizzle is a function of the address.
DEVICE uint64_t sm90_desc(uint32_t saddr) {
  return (uint64_t)((saddr & 0x3FFFF) >> 4) | (1ull << 16) | ((uint64_t)(1024 >> 4) << 32) | (1ull << 62);
}

// sm90_tile maps a linear tile number to its (row, column) tile, in groups
// of SM90_GROUP_M tile rows walked column by column.
DEVICE void sm90_tile(long long t, long long tiles_m, long long tiles_n, long long* bm, long long* bn) {
  long long per_group = SM90_GROUP_M * tiles_n, first = t / per_group * SM90_GROUP_M;
  long long gm = tiles_m - first < SM90_GROUP_M ? tiles_m - first : SM90_GROUP_M;
  *bm = first + t % per_group % gm;
  *bn = t % per_group / gm;
}

// sm90_chunk_cvs hashes the calling warp's 16 rows of the tile (column
// tile bn of tiles_n) as BLAKE3 chunk bn of each row under key, and writes
// each chaining value to cvs[8·(row·tiles_n + bn) …] (the layout of
// blake3_chunks; with one chunk a row it is the root, the row's leaf). A
// row's 256 words sit in the four lanes of a quad (lane q holds columns
// 8j + 2q, 8j + 2q + 1): for each 64-byte block, 32 shuffles gather the
// block of row g into lane q = 0 and of row g + 8 into lane q = 1, which
// compress; lanes 2 and 3 only lend their words. Columns past N are zero
// (the B box reads zeros there), which is BLAKE3's padding of a short
// last chunk.
DEVICE void sm90_chunk_cvs(const int32_t acc[128], const uint32_t key[8], long long bn, long long N,
                           long long tiles_n, long long row_g, long long M, uint32_t* cvs) {
  int lane = LANE_ID, q = lane & 3, half = q & 1;
  long long len = (N - bn * SM90_BN) * 4;
  if (len > B3_CHUNK_LEN) len = B3_CHUNK_LEN;
  int blocks = (int)((len + B3_BLOCK_LEN - 1) / B3_BLOCK_LEN);
  uint32_t cv[8];
  UNROLL
  for (int i = 0; i < 8; i++) cv[i] = key[i];
  UNROLL
  for (int b = 0; b < 16; b++) {
    if (b >= blocks) break;  // the same for every thread of the CTA
    uint32_t m[16];
    UNROLL
    for (int c = 0; c < 16; c++) {
      // Word c of block b is column 16b + c: register 4·(2b + c/8) + (c%2) (+2 for row g + 8) of lane q = (c%8)/2.
      int src = (lane & ~3) | ((c % 8) / 2), i = 4 * (2 * b + c / 8) + (c % 2);
      uint32_t lo = shfl_idx((uint32_t)acc[i], src), hi = shfl_idx((uint32_t)acc[i + 2], src);
      m[c] = half ? hi : lo;
    }
    if (q < 2) {
      uint32_t flags = B3_KEYED_HASH | (b == 0 ? B3_CHUNK_START : 0u);
      if (b == blocks - 1) flags |= B3_CHUNK_END | (tiles_n == 1 ? B3_ROOT : 0u);
      int n = b == blocks - 1 ? (int)(len - B3_BLOCK_LEN * b) : B3_BLOCK_LEN;
      b3_compress(cv, m, (unsigned long long)bn, (uint32_t)n, flags);
    }
  }
  long long row = row_g + 8 * half;
  if (q < 2 && row < M) {
    UNROLL
    for (int i = 0; i < 8; i++) cvs[8 * (row * tiles_n + bn) + i] = cv[i];
  }
}

// sm90_gemm is the kernel; with CV, the epilogue also writes the tile rows'
// chunk chaining values (sm90_chunk_cvs) under key.
template <bool CV>
DEVICE void sm90_gemm(const void* map_a, const void* map_b, int32_t* C, long long M, long long N, long long Kp,
                      long long ldc, const uint64_t* k, uint32_t* cvs) {
  DYNAMIC_SMEM(smem_raw);
  unsigned char* smem = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);
  uint64_t* full = (uint64_t*)(smem + SM90_STAGES * SM90_STAGE_BYTES);
  uint64_t* empty = full + SM90_STAGES;
  int wg = TID_X / 128, t = TID_X % 128;
  if (TID_X == 0) {
    for (int s = 0; s < SM90_STAGES; s++) {
      mbar_init(&full[s], 1);                // the producer's arrive.expect_tx; the copies' bytes
      mbar_init(&empty[s], SM90_CONSUMERS);  // one arrival per consumer warpgroup
    }
    fence_proxy_async();  // the copies complete on these barriers through the async proxy
  }
  SYNC_THREADS();

  long long tiles_m = (M + SM90_BM - 1) / SM90_BM, tiles_n = (N + SM90_BN - 1) / SM90_BN;
  long long tiles = tiles_m * tiles_n, kblocks = (Kp + SM90_BK - 1) / SM90_BK;
  int stage = 0;
  unsigned phase = 0;
  if (wg == 0) {
    SETMAXNREG_DEC(40);
    if (t != 0) return;
    for (long long tile = BID_X; tile < tiles; tile += GDIM_X) {
      long long bm, bn;
      sm90_tile(tile, tiles_m, tiles_n, &bm, &bn);
      for (long long kb = 0; kb < kblocks; kb++) {
        mbar_wait(&empty[stage], phase ^ 1);  // the first pass finds every stage free
        unsigned char* sa = smem + stage * SM90_STAGE_BYTES;
        mbar_arrive_expect_tx(&full[stage], SM90_STAGE_BYTES);
        tma_load_2d(sa, map_a, (int)(kb * SM90_BK), (int)(bm * SM90_BM), &full[stage]);
        tma_load_2d(sa + SM90_A_BYTES, map_b, (int)(kb * SM90_BK), (int)(bn * SM90_BN), &full[stage]);
        if (++stage == SM90_STAGES) {
          stage = 0;
          phase ^= 1;
        }
      }
    }
    return;
  }

  SETMAXNREG_INC(232);
  int c = wg - 1, w = t / 32, lane = LANE_ID, g = lane >> 2, q = lane & 3;
  int32_t acc[128];
  for (long long tile = BID_X; tile < tiles; tile += GDIM_X) {
    long long bm, bn;
    sm90_tile(tile, tiles_m, tiles_n, &bm, &bn);
    UNROLL
    for (int i = 0; i < 128; i++) acc[i] = 0;
    int prev = 0;
    for (long long kb = 0; kb < kblocks; kb++) {
      mbar_wait(&full[stage], phase);
      uint32_t sa = smem_addr(smem + stage * SM90_STAGE_BYTES);
      uint32_t a0 = sa + c * 64 * SM90_BK, b0 = sa + SM90_A_BYTES;
      wgmma_acc_fence(acc);
      wgmma_fence();
      UNROLL
      for (int k = 0; k < SM90_BK / 32; k++) wgmma_m64n256k32_s8(acc, sm90_desc(a0 + 32 * k), sm90_desc(b0 + 32 * k), 1);
      wgmma_commit();
      wgmma_acc_fence(acc);
      WGMMA_WAIT(1);  // the previous stage's group has finished reading
      if (kb > 0 && t == 0) mbar_arrive(&empty[prev]);
      prev = stage;
      if (++stage == SM90_STAGES) {
        stage = 0;
        phase ^= 1;
      }
    }
    WGMMA_WAIT(0);
    wgmma_acc_fence(acc);
    if (kblocks > 0 && t == 0) mbar_arrive(&empty[prev]);
    // d[i] of the m64n256 accumulator: row 16w + g + 8·((i>>1)&1), column 8·(i>>2) + 2q + (i&1):
    // d[i], d[i+1] (i even) are neighbours, one 8-byte store when both are inside and ldc is even.
    long long row0 = bm * SM90_BM + c * 64 + 16 * w + g, col0 = bn * SM90_BN + 2 * q;
    UNROLL
    for (int i = 0; i < 128; i += 2) {
      long long row = row0 + 8 * ((i >> 1) & 1), col = col0 + 8 * (i >> 2);
      if (row >= M || col >= N) continue;
      int32_t* p = C + row * ldc + col;
      if (col + 1 < N && (ldc & 1) == 0) {
        st_global_v2(p, acc[i], acc[i + 1]);
      } else {
        p[0] = acc[i];
        if (col + 1 < N) p[1] = acc[i + 1];
      }
    }
    if (CV) {
      uint32_t key[8];
      b3_key(key, k[0], k[1], k[2], k[3]);
      sm90_chunk_cvs(acc, key, bn, N, tiles_n, row0, M, cvs);
    }
  }
}

// gemm_s8_sm90: map_a and map_b are tensor maps in global memory (a
// CUtensorMap each, from cuTensorMapEncodeTiled: uint8, dims {Kp, M} and
// {Kp, N}, row stride Kp, boxes {128, 128} and {128, 256}, SWIZZLE_128B).
// Launch with SM90_THREADS threads, SM90_SMEM bytes of dynamic shared
// memory, and at most one CTA per SM (the grid may be smaller than the tile
// count: CTAs loop over tiles).
KERNEL LAUNCH_BOUNDS(SM90_THREADS, 1) void gemm_s8_sm90(const void* map_a, const void* map_b, int32_t* C, long long M,
                                                         long long N, long long Kp, long long ldc) {
  sm90_gemm<false>(map_a, map_b, C, M, N, Kp, ldc, nullptr, nullptr);
}

// gemm_s8_sm90_cv is gemm_s8_sm90 that also writes the chunk chaining
// values of C's rows under the BLAKE3 key k0..k3 (eight little-endian words,
// two an argument, as blake3_chunks takes it) to cvs: ⌈N/256⌉ a row, eight
// words each, row-major; with N ≤ 256 they are the rows' leaves.
KERNEL LAUNCH_BOUNDS(SM90_THREADS, 1) void gemm_s8_sm90_cv(const void* map_a, const void* map_b, int32_t* C,
                                                            long long M, long long N, long long Kp, long long ldc,
                                                            unsigned long long k0, unsigned long long k1,
                                                            unsigned long long k2, unsigned long long k3,
                                                            uint32_t* cvs) {
  const uint64_t k[4] = {k0, k1, k2, k3};
  sm90_gemm<true>(map_a, map_b, C, M, N, Kp, ldc, k, cvs);
}
