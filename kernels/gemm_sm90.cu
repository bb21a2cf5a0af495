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
// gemm_s8_sm90_cv also hashes C before it leaves the SM: a tile row is 256
// int32 = 1 KiB, exactly one BLAKE3 chunk of the row's commitment
// (docs/PROTOCOL.md §3, kernels/hash_rows.cu), so each CTA writes the chunk
// chaining values of the rows it holds, and blake3_parents finishes the
// rows' leaves. The producer warpgroup's three idle warps hash: the
// consumers stage each finished tile in shared memory (128 KiB) and go on to
// the next tile's wgmma while the 96 hashers compress the staged rows, a row
// a thread (rows t and t + 96), on the ALUs the tensor cores leave idle. To
// make room, its stages are 128×64 and 256×64 bytes (64-byte swizzle, two
// wgmma k steps a stage).
#include "simt.h"
#include "hash_rows.cu"  // b3_compress, b3_key: the chunk scheme the epilogue shares

#define SM90_BM 128
#define SM90_BN 256
#define SM90_STAGES 4
#define SM90_CONSUMERS 2
#define SM90_GROUP_M 8
// gemm_s8_sm90: 128 bytes of K a stage (one 128-byte swizzle row), 384 threads.
#define SM90_BK 128
#define SM90_THREADS (128 * (1 + SM90_CONSUMERS))
// gemm_s8_sm90_cv: 64 bytes of K a stage (64-byte swizzle), 96 hashers, a staged C tile.
#define SM90_BK_CV 64
#define SM90_HASHERS 96
#define SM90_STAGING_BYTES (SM90_BM * SM90_BN * 4)
// Dynamic shared memory to launch with: 1 KiB of slack to align the stages to
// the swizzle pattern, the stages, the staged tile (cv), the mbarriers.
#define SM90_SMEM (1024 + SM90_STAGES * (SM90_BM + SM90_BN) * SM90_BK + 2 * SM90_STAGES * 8)
#define SM90_SMEM_CV \
  (1024 + SM90_STAGES * (SM90_BM + SM90_BN) * SM90_BK_CV + SM90_STAGING_BYTES + (2 * SM90_STAGES + 2) * 8)

// sm90_desc is the wgmma matrix descriptor (PTX ISA, "Matrix Descriptor
// Format") of a K-major operand whose rows are StageK bytes in 8-row atoms
// with the StageK-byte swizzle the box copies write: start address >> 4 (bits 0–13),
// leading byte offset unused for a swizzled K-major operand (1, bits 16–29),
// stride byte offset 8·StageK >> 4 between 8-row groups (bits 32–45), base
// offset 0 (the atoms are aligned), swizzle mode (bits 62–63) 1 = 128 bytes,
// 2 = 64 bytes. Advancing K by 32 bytes inside the atom is adding 32 to the
// start address: the swizzle is a function of the address.
template <int StageK>
DEVICE uint64_t sm90_desc(uint32_t saddr) {
  return (uint64_t)((saddr & 0x3FFFF) >> 4) | (1ull << 16) | ((uint64_t)(8 * StageK >> 4) << 32) |
         ((StageK == 128 ? 1ull : 2ull) << 62);
}

// sm90_tile maps a linear tile number to its (row, column) tile, in groups
// of SM90_GROUP_M tile rows walked column by column.
DEVICE void sm90_tile(long long t, long long tiles_m, long long tiles_n, long long* bm, long long* bn) {
  long long per_group = SM90_GROUP_M * tiles_n, first = t / per_group * SM90_GROUP_M;
  long long gm = tiles_m - first < SM90_GROUP_M ? tiles_m - first : SM90_GROUP_M;
  *bm = first + t % per_group % gm;
  *bn = t % per_group / gm;
}

// sm90_staged is the word of the staged tile at (row r, column c): rows of
// 1 KiB whose 16-byte pieces are XOR-swizzled by r % 32, so that 32 hashers
// reading the same piece of 32 rows, and a warp storing accumulator pairs,
// spread over the banks.
DEVICE int sm90_staged(int r, int c) { return r * SM90_BN + ((((c >> 2) ^ (r & 31))) << 2) + (c & 3); }

// sm90_hash_row: the chaining value of chunk bn of a row (tiles_n chunks a
// row; with one, the root: the row's leaf) from its staged words; len is
// the chunk's length in bytes. Words past N are zero (the B box reads zeros
// there), which is BLAKE3's padding of a short last chunk.
DEVICE void sm90_hash_row(const uint32_t* staged, int r, const uint32_t key[8], long long bn, long long len,
                          long long tiles_n, uint32_t cv[8]) {
  int blocks = (int)((len + B3_BLOCK_LEN - 1) / B3_BLOCK_LEN);
  UNROLL
  for (int i = 0; i < 8; i++) cv[i] = key[i];
  for (int b = 0; b < blocks; b++) {
    uint32_t m[16];
    UNROLL
    for (int i = 0; i < 16; i++) m[i] = staged[sm90_staged(r, 16 * b + i)];
    uint32_t flags = B3_KEYED_HASH | (b == 0 ? B3_CHUNK_START : 0u);
    if (b == blocks - 1) flags |= B3_CHUNK_END | (tiles_n == 1 ? B3_ROOT : 0u);
    int n = b == blocks - 1 ? (int)(len - B3_BLOCK_LEN * b) : B3_BLOCK_LEN;
    b3_compress(cv, m, (unsigned long long)bn, (uint32_t)n, flags);
  }
}

// sm90_gemm is the kernel body, K in StageK-byte stages; with Hash, warps 1–3
// hash the tiles the consumers stage (sm90_hash_row) under key k0..k3.
template <int StageK, bool Hash>
DEVICE void sm90_gemm(const void* map_a, const void* map_b, int32_t* C, long long M, long long N, long long Kp,
                      long long ldc, const uint64_t* k, uint32_t* cvs) {
  const int a_bytes = SM90_BM * StageK, stage_bytes = (SM90_BM + SM90_BN) * StageK;
  DYNAMIC_SMEM(smem_raw);
  unsigned char* smem = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);
  uint32_t* staged = (uint32_t*)(smem + SM90_STAGES * stage_bytes);  // Hash: one C tile, 128 rows of 1 KiB
  uint64_t* full = (uint64_t*)(smem + SM90_STAGES * stage_bytes + (Hash ? SM90_STAGING_BYTES : 0));
  uint64_t* empty = full + SM90_STAGES;
  uint64_t* staged_full = empty + SM90_STAGES;  // Hash: every consumer thread has staged its part of a tile
  uint64_t* staged_empty = staged_full + 1;     // Hash: every hasher is done with it
  int wg = TID_X / 128, t = TID_X % 128;
  if (TID_X == 0) {
    for (int s = 0; s < SM90_STAGES; s++) {
      mbar_init(&full[s], 1);                // the producer's arrive.expect_tx; the copies' bytes
      mbar_init(&empty[s], SM90_CONSUMERS);  // one arrival per consumer warpgroup
    }
    if (Hash) {
      mbar_init(staged_full, 128 * SM90_CONSUMERS);
      mbar_init(staged_empty, SM90_HASHERS);
    }
    fence_proxy_async();  // the copies complete on these barriers through the async proxy
  }
  SYNC_THREADS();

  long long tiles_m = (M + SM90_BM - 1) / SM90_BM, tiles_n = (N + SM90_BN - 1) / SM90_BN;
  long long tiles = tiles_m * tiles_n, kblocks = (Kp + StageK - 1) / StageK;
  int stage = 0;
  unsigned phase = 0, staged_phase = 0;
  if (wg == 0) {
    // Producer and hashers (Hash) keep 96 registers, consumers get 208; else 40 and 232 (of 168 each at launch).
    if (Hash) {
      SETMAXNREG_DEC(96);
    } else {
      SETMAXNREG_DEC(40);
    }
    if (Hash && t >= 32) {  // a hasher: rows t − 32 and t + 64 of every staged tile
      uint32_t key[8];
      b3_key(key, k[0], k[1], k[2], k[3]);
      for (long long tile = BID_X; tile < tiles; tile += GDIM_X) {
        long long bm, bn;
        sm90_tile(tile, tiles_m, tiles_n, &bm, &bn);
        long long len = (N - bn * SM90_BN) * 4;
        if (len > B3_CHUNK_LEN) len = B3_CHUNK_LEN;
        mbar_wait(staged_full, staged_phase);
        for (int r = t - 32; r < SM90_BM; r += SM90_HASHERS) {
          uint32_t cv[8];
          sm90_hash_row(staged, r, key, bn, len, tiles_n, cv);
          long long row = bm * SM90_BM + r;
          if (row < M) {
            UNROLL
            for (int i = 0; i < 8; i++) cvs[8 * (row * tiles_n + bn) + i] = cv[i];
          }
        }
        mbar_arrive(staged_empty);
        staged_phase ^= 1;
      }
      return;
    }
    if (t != 0) return;
    for (long long tile = BID_X; tile < tiles; tile += GDIM_X) {
      long long bm, bn;
      sm90_tile(tile, tiles_m, tiles_n, &bm, &bn);
      for (long long kb = 0; kb < kblocks; kb++) {
        mbar_wait(&empty[stage], phase ^ 1);  // the first pass finds every stage free
        unsigned char* sa = smem + stage * stage_bytes;
        mbar_arrive_expect_tx(&full[stage], stage_bytes);
        tma_load_2d(sa, map_a, (int)(kb * StageK), (int)(bm * SM90_BM), &full[stage]);
        tma_load_2d(sa + a_bytes, map_b, (int)(kb * StageK), (int)(bn * SM90_BN), &full[stage]);
        if (++stage == SM90_STAGES) {
          stage = 0;
          phase ^= 1;
        }
      }
    }
    return;
  }

  if (Hash) {
    SETMAXNREG_INC(208);
  } else {
    SETMAXNREG_INC(232);
  }
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
      uint32_t sa = smem_addr(smem + stage * stage_bytes);
      uint32_t a0 = sa + c * 64 * StageK, b0 = sa + a_bytes;
      wgmma_acc_fence(acc);
      wgmma_fence();
      UNROLL
      for (int kk = 0; kk < StageK / 32; kk++)
        wgmma_m64n256k32_s8(acc, sm90_desc<StageK>(a0 + 32 * kk), sm90_desc<StageK>(b0 + 32 * kk), 1);
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
    int r0 = c * 64 + 16 * w + g;  // row in the tile
    long long row0 = bm * SM90_BM + r0, col0 = bn * SM90_BN + 2 * q;
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
    if (Hash) {  // stage the tile for the hashers once they are done with the last one
      mbar_wait(staged_empty, staged_phase ^ 1);
      UNROLL
      for (int i = 0; i < 128; i += 2) {
        int r = r0 + 8 * ((i >> 1) & 1), col = 8 * (i >> 2) + 2 * q;
        st_shared_v2(&staged[sm90_staged(r, col)], acc[i], acc[i + 1]);
      }
      mbar_arrive(staged_full);
      staged_phase ^= 1;
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
  sm90_gemm<SM90_BK, false>(map_a, map_b, C, M, N, Kp, ldc, nullptr, nullptr);
}

// gemm_s8_sm90_cv is gemm_s8_sm90 that also writes the chunk chaining
// values of C's rows under the BLAKE3 key k0..k3 (eight little-endian words,
// two an argument, as blake3_chunks takes it) to cvs: ⌈N/256⌉ a row, eight
// words each, row-major; with N ≤ 256 they are the rows' leaves. Its tensor
// maps have boxes {64, 128} and {64, 256} with SWIZZLE_64B; launch with
// SM90_THREADS threads and SM90_SMEM_CV bytes of dynamic shared memory.
KERNEL LAUNCH_BOUNDS(SM90_THREADS, 1) void gemm_s8_sm90_cv(const void* map_a, const void* map_b, int32_t* C,
                                                               long long M, long long N, long long Kp, long long ldc,
                                                               unsigned long long k0, unsigned long long k1,
                                                               unsigned long long k2, unsigned long long k3,
                                                               uint32_t* cvs) {
  const uint64_t k[4] = {k0, k1, k2, k3};
  sm90_gemm<SM90_BK_CV, true>(map_a, map_b, C, M, N, Kp, ldc, k, cvs);
}
