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

// Tile shape of gemm_s8_tc (Ampere/Ada mma.sync; Hopper has gemm_sm90.cu):
// a 128×128 block of C per CTA of 8 warps (2 along M × 4 along N), each
// warp 64×32 = 4×4 mma.m16n8k32 tiles, K in steps of 64 bytes through a
// GEMM_STAGES-deep cp.async ring. A stage holds 128 rows of A and 128 of Bt,
// 64 bytes each (four 16-byte chunks); chunk c of row r sits at chunk
// c ^ ((r >> 1) & 3), so that the 8 rows one ldmatrix phase reads (and the
// rows cp.async writes) fall in 8 different 16-byte bank groups.
#define BM 128
#define BN 128
#define BK 64
#define GEMM_STAGES 3  // 48 KiB: two blocks a multiprocessor also on Ada (100 KB of shared memory)
#define GEMM_THREADS 256
#define STAGE_BYTES ((BM + BN) * BK)
#define GEMM_SMEM (GEMM_STAGES * STAGE_BYTES)

// gemm_acc_t: one warp's 64×32 accumulators, acc[i][j] the m16n8 tile (i, j).
typedef int32_t gemm_acc_t[4][4][4];

// swz is the byte offset of 16-byte chunk c of row r in a stage's operand.
DEVICE int swz(int r, int c) { return r * BK + 16 * (c ^ ((r >> 1) & 3)); }

// gemm_copies: the calling thread's share of every stage, 2·128·4 chunks
// over 256 threads: chunk c = TID_X % 4 of rows r and r + 64 (r = TID_X / 4)
// of A's and of Bt's tile. src[x] is the chunk's source at k = 0 (null for a
// row past M or N), dst[x] its offset in a stage. Computed once, so that
// the k-loop only adds k0.
struct gemm_copies {
  const int8_t* src[4];
  int dst[4];
  int k;  // 16·c
};

DEVICE void gemm_copies_init(gemm_copies* cp, const int8_t* A, const int8_t* Bt, long long M, long long N,
                             long long Kp, long long bm, long long bn) {
  int r = TID_X / 4, c = TID_X % 4;
  cp->k = 16 * c;
  UNROLL
  for (int h = 0; h < 2; h++) {
    int rr = r + 64 * h;
    long long ra = bm * BM + rr, rb = bn * BN + rr;
    cp->src[h] = ra < M ? A + ra * Kp + 16 * c : nullptr;
    cp->src[2 + h] = rb < N ? Bt + rb * Kp + 16 * c : nullptr;
    cp->dst[h] = swz(rr, c);
    cp->dst[2 + h] = BM * BK + swz(rr, c);
  }
}

// load_stage queues the cp.async copies of k-tile [k0, k0+64) into stage.
// Rows past M or N and chunks past Kp (Kp is a multiple of 32, so the last
// k-tile may be half) are zero-filled (source size 0, from the row base).
DEVICE void load_stage(unsigned char* smem, int stage, const gemm_copies* cp, const int8_t* A, long long Kp,
                       long long k0) {
  unsigned char* s = smem + stage * STAGE_BYTES;
  bool kin = k0 + cp->k < Kp;
  UNROLL
  for (int x = 0; x < 4; x++) {
    bool in = kin && cp->src[x] != nullptr;
    cp_async16(s + cp->dst[x], in ? cp->src[x] + k0 : A, in ? 16 : 0);
  }
}

// gemm_tile runs the main loop of block (bm, bn) of C = A · Btᵀ (A M×Kp,
// Bt N×Kp, int8 row-major, Kp a multiple of 32): GEMM_STAGES−1 k-tiles in
// flight, one barrier per k-tile, fragments by ldmatrix.x4 from the swizzled
// stages, mma.sync m16n8k32 on the tensor cores. acc receives the calling
// warp's 64×32 tile; gemm_epilogue walks its elements.
//
// ldmatrix.x4 gives lane l, of matrix i, the word at byte 4·(l%4) of row l/4:
// with matrices (rows 0–7, k 0–15), (rows 8–15, k 0–15), (rows 0–7, k 16–31),
// (rows 8–15, k 16–31) of a 16×32 A tile that is the m16n8k32 A fragment
// a0..a3 (row g + 8·(i%2), bytes 16·(i/2) + 4q); with (n 0–7, k 0–15),
// (n 0–7, k 16–31), (n 8–15, k 0–15), (n 8–15, k 16–31) of Bt it is the B
// fragments b0, b1 of two n8 tiles (column g, bytes 16·i + 4q).
DEVICE void gemm_tile(unsigned char* smem, const int8_t* A, const int8_t* Bt, long long M, long long N, long long Kp,
                      long long bm, long long bn, gemm_acc_t acc) {
  int warp = TID_X / 32, lane = LANE_ID;
  int wm = warp / 4, wn = warp % 4;  // warp tile: rows 64·wm.., columns 32·wn..
  UNROLL
  for (int i = 0; i < 4; i++)
    UNROLL
    for (int j = 0; j < 4; j++)
      UNROLL
      for (int e = 0; e < 4; e++) acc[i][j][e] = 0;

  // This lane's ldmatrix rows and chunk halves (see above).
  int ra = lane % 8 + 8 * ((lane / 8) % 2), ha = lane / 16;
  int rb = lane % 8 + 8 * (lane / 16), hb = (lane / 8) % 2;

  gemm_copies cp;
  gemm_copies_init(&cp, A, Bt, M, N, Kp, bm, bn);
  long long kt_n = (Kp + BK - 1) / BK;
  UNROLL
  for (int s = 0; s < GEMM_STAGES - 1; s++) {
    if (s < kt_n) load_stage(smem, s, &cp, A, Kp, (long long)s * BK);
    cp_async_commit();
  }
  for (long long kt = 0; kt < kt_n; kt++) {
    // k-tile kt has landed (only the GEMM_STAGES−2 newest groups may be in
    // flight) for every thread; and every warp is done with k-tile kt−1,
    // whose stage the next load overwrites.
    CP_ASYNC_WAIT(GEMM_STAGES - 2);
    SYNC_THREADS();
    long long kn = kt + GEMM_STAGES - 1;
    if (kn < kt_n) load_stage(smem, (int)(kn % GEMM_STAGES), &cp, A, Kp, kn * BK);
    cp_async_commit();
    const unsigned char* sA = smem + (int)(kt % GEMM_STAGES) * STAGE_BYTES;
    const unsigned char* sB = sA + BM * BK;
    UNROLL
    for (int ks = 0; ks < BK / 32; ks++) {
      uint32_t af[4][4], bf[4][2];
      UNROLL
      for (int i = 0; i < 4; i++) ldmatrix_x4(af[i], sA + swz(wm * 64 + i * 16 + ra, 2 * ks + ha));
      UNROLL
      for (int jp = 0; jp < 2; jp++) {
        uint32_t r[4];
        ldmatrix_x4(r, sB + swz(wn * 32 + jp * 16 + rb, 2 * ks + hb));
        bf[2 * jp][0] = r[0];
        bf[2 * jp][1] = r[1];
        bf[2 * jp + 1][0] = r[2];
        bf[2 * jp + 1][1] = r[3];
      }
      UNROLL
      for (int i = 0; i < 4; i++)
        UNROLL
        for (int j = 0; j < 4; j++) mma_s8_16832(acc[i][j], af[i], bf[j], acc[i][j]);
    }
  }
  CP_ASYNC_WAIT(0);  // no copy outlives the block (the tail groups are empty)
}

// gemm_epilogue_pairs calls f(row, col, v0, v1) for every pair of the
// calling warp's accumulators whose first element lies inside the M×N
// result: c_e of fragment (i, j) is at row g + 8·(e/2), column 2q + (e%2)
// of its 16×8 tile, so c_0, c_1 (and c_2, c_3) are neighbours, col is even
// and v1 is column col + 1, which may be N.
template <typename F>
DEVICE void gemm_epilogue_pairs(long long bm, long long bn, long long M, long long N, gemm_acc_t acc, F f) {
  int warp = TID_X / 32, lane = LANE_ID;
  int wm = warp / 4, wn = warp % 4;
  int g = lane >> 2, q = lane & 3;
  UNROLL
  for (int i = 0; i < 4; i++)
    UNROLL
    for (int j = 0; j < 4; j++)
      UNROLL
      for (int h = 0; h < 2; h++) {
        long long row = bm * BM + wm * 64 + i * 16 + g + 8 * h;
        long long col = bn * BN + wn * 32 + j * 8 + 2 * q;
        if (row < M && col < N) f(row, col, acc[i][j][2 * h], acc[i][j][2 * h + 1]);
      }
}

// gemm_epilogue calls f(row, col, value) for every element of the calling
// warp's accumulators that lies inside the M×N result.
template <typename F>
DEVICE void gemm_epilogue(long long bm, long long bn, long long M, long long N, gemm_acc_t acc, F f) {
  gemm_epilogue_pairs(bm, bn, M, N, acc, [&](long long row, long long col, int32_t v0, int32_t v1) {
    f(row, col, v0);
    if (col + 1 < N) f(row, col + 1, v1);
  });
}

// gemm_block maps the launch's block to its tile (bm, bn) of a grid
// (⌈N/BN⌉, ⌈M/BM⌉) in groups of GEMM_GROUP_M tile rows: consecutive blocks
// walk down a group's columns, so the blocks resident together share a few
// tiles of A and of Bt in L2 instead of one row of A and all of Bt.
#define GEMM_GROUP_M 8
DEVICE void gemm_block(long long* bm, long long* bn) {
  long long tn = GDIM_X, tm = GDIM_Y, id = (long long)BID_Y * tn + BID_X;
  long long per = GEMM_GROUP_M * tn, first = id / per * GEMM_GROUP_M, rows = tm - first;
  if (rows > GEMM_GROUP_M) rows = GEMM_GROUP_M;
  *bm = first + id % per % rows;
  *bn = id % per / rows;
}

// gemm_s8_tc computes C (M×N int32, row stride ldc) = A · Btᵀ where A is M×Kp
// and Bt is N×Kp, both int8 row-major, Kp a multiple of 32. Launch with
// GEMM_THREADS (256) threads per block, grid (⌈N/128⌉, ⌈M/128⌉), GEMM_SMEM
// (48 KiB) of dynamic shared memory.
KERNEL LAUNCH_BOUNDS(GEMM_THREADS, 2) void gemm_s8_tc(const int8_t* A, const int8_t* Bt, int32_t* C, long long M,
                                                      long long N, long long Kp, long long ldc) {
  DYNAMIC_SMEM(smem);
  long long bm, bn;
  gemm_block(&bm, &bn);
  gemm_acc_t acc;
  gemm_tile(smem, A, Bt, M, N, Kp, bm, bn, acc);
  // Pairs as one 8-byte store where ldc keeps them 8-byte aligned (C itself
  // is: device allocations are), else one or two 4-byte stores.
  gemm_epilogue_pairs(bm, bn, M, N, acc, [&](long long row, long long col, int32_t v0, int32_t v1) {
    int32_t* p = C + row * ldc + col;
    if ((ldc & 1) == 0 && col + 1 < N) {
      st_global_v2(p, v0, v1);
    } else {
      p[0] = v0;
      if (col + 1 < N) p[1] = v1;
    }
  });
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
