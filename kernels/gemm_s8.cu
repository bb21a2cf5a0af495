// Exact int8 GEMM on tensor cores, and the Freivalds row projection, for
// trainproof's GPU backend. Written against simt.h only, so that the same
// source runs on a GPU (nvcc) and in the SIMT emulator (g++).
#include "simt.h"

// pack_s8 writes the zero-padded drows×dcols matrix dst from the logical
// rows×cols matrix L, where L[r][c] = trans ? src[c·rows + r] : src[r·cols + c].
// It turns any operand into the layout gemm_s8_tc wants (K contiguous,
// padded to a multiple of 32). One thread per element, grid-stride.
KERNEL void pack_s8(const int8_t* src, long long rows, long long cols, long long trans, int8_t* dst,
                    long long drows, long long dcols) {
  long long n = drows * dcols;
  for (long long i = (long long)BID_X * BDIM_X + TID_X; i < n; i += (long long)GDIM_X * BDIM_X) {
    long long r = i / dcols, c = i % dcols;
    int8_t v = 0;
    if (r < rows && c < cols) v = trans ? src[c * rows + r] : src[r * cols + c];
    dst[i] = v;
  }
}

// fill_u8 sets n bytes to v.
KERNEL void fill_u8(unsigned char* dst, long long n, long long v) {
  for (long long i = (long long)BID_X * BDIM_X + TID_X; i < n; i += (long long)GDIM_X * BDIM_X) dst[i] = (unsigned char)v;
}

// Tile shape of gemm_s8_tc: a 64×64 block of C per CTA of 4 warps (2×2),
// each warp 32×32 = 2×4 mma.m16n8k32 tiles, K in steps of 32 through a
// two-stage cp.async pipeline.
#define BM 64
#define BN 64
#define BK 32
#define SROW 48  // shared-memory row stride in bytes: 32 + 16 of padding
#define STAGE_BYTES ((BM + BN) * SROW)

DEVICE void load_stage(unsigned char* smem, int stage, const int8_t* A, const int8_t* Bt, long long M, long long N,
                       long long Kp, long long bm, long long bn, long long k0) {
  unsigned char* sA = smem + stage * STAGE_BYTES;
  unsigned char* sB = sA + BM * SROW;
  int r = TID_X / 2, c = TID_X % 2;  // 128 threads: one 16-byte chunk of A and one of B each
  long long ra = bm * BM + r, rb = bn * BN + r;
  const int8_t* ga = ra < M ? A + ra * Kp + k0 + 16 * c : A;
  const int8_t* gb = rb < N ? Bt + rb * Kp + k0 + 16 * c : Bt;
  cp_async16(sA + r * SROW + 16 * c, ga, ra < M ? 16 : 0);
  cp_async16(sB + r * SROW + 16 * c, gb, rb < N ? 16 : 0);
}

// gemm_tile runs the main loop of block (bm, bn) of C = A · Btᵀ (A M×Kp,
// Bt N×Kp, int8 row-major, Kp a multiple of 32): a 2-stage cp.async
// pipeline into smem, mma.sync m16n8k32 on the tensor cores. acc receives
// the calling warp's 32×32 tile; gemm_epilogue walks its elements.
DEVICE void gemm_tile(unsigned char* smem, const int8_t* A, const int8_t* Bt, long long M, long long N, long long Kp,
                      long long bm, long long bn, int32_t acc[2][4][4]) {
  int warp = TID_X / 32, lane = LANE_ID;
  int wm = warp / 2, wn = warp % 2;  // warp tile (32 rows, 32 columns)
  int g = lane >> 2, q = lane & 3;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++)
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0;

  long long kt_n = Kp / BK;
  load_stage(smem, 0, A, Bt, M, N, Kp, bm, bn, 0);
  cp_async_commit();
  for (long long kt = 0; kt < kt_n; kt++) {
    if (kt + 1 < kt_n) load_stage(smem, (kt + 1) & 1, A, Bt, M, N, Kp, bm, bn, (kt + 1) * BK);
    cp_async_commit();
    CP_ASYNC_WAIT(1);
    SYNC_THREADS();
    const unsigned char* sA = smem + (kt & 1) * STAGE_BYTES;
    const unsigned char* sB = sA + BM * SROW;
    uint32_t af[2][4], bf[4][2];
    for (int i = 0; i < 2; i++) {
      const unsigned char* p = sA + (wm * 32 + i * 16) * SROW;
      af[i][0] = *(const uint32_t*)(p + g * SROW + 4 * q);
      af[i][1] = *(const uint32_t*)(p + (g + 8) * SROW + 4 * q);
      af[i][2] = *(const uint32_t*)(p + g * SROW + 16 + 4 * q);
      af[i][3] = *(const uint32_t*)(p + (g + 8) * SROW + 16 + 4 * q);
    }
    for (int j = 0; j < 4; j++) {
      const unsigned char* p = sB + (wn * 32 + j * 8 + g) * SROW;
      bf[j][0] = *(const uint32_t*)(p + 4 * q);
      bf[j][1] = *(const uint32_t*)(p + 16 + 4 * q);
    }
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 4; j++) mma_s8_16832(acc[i][j], af[i], bf[j], acc[i][j]);
    SYNC_THREADS();
  }
}

// gemm_epilogue calls f(row, col, value) for every element of the calling
// warp's accumulators that lies inside the M×N result: c_e of fragment
// (i, j) is at row g + 8·(e/2), column 2q + (e%2) of its 16×8 tile.
template <typename F>
DEVICE void gemm_epilogue(long long bm, long long bn, long long M, long long N, int32_t acc[2][4][4], F f) {
  int warp = TID_X / 32, lane = LANE_ID;
  int wm = warp / 2, wn = warp % 2;
  int g = lane >> 2, q = lane & 3;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++)
      for (int e = 0; e < 4; e++) {
        long long row = bm * BM + wm * 32 + i * 16 + g + 8 * (e / 2);
        long long col = bn * BN + wn * 32 + j * 8 + 2 * q + (e % 2);
        if (row < M && col < N) f(row, col, acc[i][j][e]);
      }
}

// gemm_s8_tc computes C (M×N int32, row stride ldc) = A · Btᵀ where A is M×Kp
// and Bt is N×Kp, both int8 row-major, Kp a multiple of 32. Launch with
// 128 threads per block, grid (⌈N/64⌉, ⌈M/64⌉), 2·STAGE_BYTES of dynamic
// shared memory.
KERNEL void gemm_s8_tc(const int8_t* A, const int8_t* Bt, int32_t* C, long long M, long long N, long long Kp,
                       long long ldc) {
  DYNAMIC_SMEM(smem);
  long long bn = BID_X, bm = BID_Y;
  int32_t acc[2][4][4];
  gemm_tile(smem, A, Bt, M, N, Kp, bm, bn, acc);
  gemm_epilogue(bm, bn, M, N, acc, [&](long long row, long long col, int32_t v) { C[row * ldc + col] = v; });
}

// Arithmetic in F_p, p = 2^61 − 1 (the Freivalds field, package field).
#define FP_P 0x1FFFFFFFFFFFFFFFull
DEVICE uint64_t fp_reduce(uint64_t x) {
  x = (x & FP_P) + (x >> 61);
  return x >= FP_P ? x - FP_P : x;
}
DEVICE uint64_t fp_add(uint64_t a, uint64_t b) { return fp_reduce(a + b); }
DEVICE uint64_t fp_mul(uint64_t a, uint64_t b) {
  uint64_t lo = a * b, hi = umul64hi(a, b);
  return fp_reduce((lo & FP_P) + ((lo >> 61) | (hi << 3)));
}
DEVICE uint64_t fp_from_i64(long long x) {
  return x >= 0 ? fp_reduce((uint64_t)x) : (FP_P - fp_reduce((uint64_t)(-x))) % FP_P;
}

// project_rows computes out[i] = Σ_j C[i][j]·r[j] mod p for every row of an
// int8 or int32 matrix: one warp per row, lanes striding over the columns, a
// butterfly reduction. Launch with 32·w threads per block, ⌈rows/w⌉ blocks.
template <typename T>
DEVICE void project_rows(const T* C, long long rows, long long cols, const uint64_t* r, uint64_t* out) {
  long long row = (long long)BID_X * (BDIM_X / 32) + TID_X / 32;
  int lane = LANE_ID;
  uint64_t acc = 0;
  if (row < rows)
    for (long long j = lane; j < cols; j += 32) acc = fp_add(acc, fp_mul(fp_from_i64(C[row * cols + j]), r[j]));
  for (int m = 16; m >= 1; m /= 2) {
    uint64_t lo = shfl_xor((uint32_t)acc, m), hi = shfl_xor((uint32_t)(acc >> 32), m);
    acc = fp_add(acc, ((uint64_t)hi << 32) | lo);
  }
  if (row < rows && lane == 0) out[row] = acc;
}

KERNEL void project_i32(const int32_t* C, long long rows, long long cols, const uint64_t* r, uint64_t* out) {
  project_rows(C, rows, cols, r, out);
}

KERNEL void project_i8(const int8_t* C, long long rows, long long cols, const uint64_t* r, uint64_t* out) {
  project_rows(C, rows, cols, r, out);
}

// project_cols_i8 computes out[j] = Σ_i M[i][j]·r[i] mod p: one thread per
// column, neighbouring threads reading neighbouring bytes of each row.
KERNEL void project_cols_i8(const int8_t* M, long long rows, long long cols, const uint64_t* r, uint64_t* out) {
  long long j = (long long)BID_X * BDIM_X + TID_X;
  if (j >= cols) return;
  uint64_t acc = 0;
  for (long long i = 0; i < rows; i++) acc = fp_add(acc, fp_mul(fp_from_i64(M[i * cols + j]), r[i]));
  out[j] = acc;
}
