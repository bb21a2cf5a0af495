// Kernels that test the SIMT emulator itself (not trainproof's kernels):
// known-answer tests of the emulated instructions, and kernels that must trip
// each of the emulator's detectors. Written against simt.h like any kernel.
#include "simt.h"

// kat_mma: one warp. Every lane builds its mma.m16n8k32 fragments from the
// PTX ISA layout (see emu.cc) of A[16][32] and B[32][8] (given as Bt[8][32]),
// multiplies, and writes each of its four results to D at the position the
// layout assigns, so D must equal A·B exactly when the emulator honours the
// layout. lanes[l] records the d registers as the lane received them.
KERNEL void kat_mma(const int8_t* A, const int8_t* Bt, int32_t* D, int32_t* lanes) {
  int lane = LANE_ID, g = lane >> 2, q = lane & 3;
  uint32_t a[4], b[2];
  for (int r = 0; r < 4; r++) {
    uint32_t v = 0;
    for (int byte = 0; byte < 4; byte++) {
      int i = 4 * r + byte;
      int row = g + 8 * ((i / 4) % 2), col = 4 * q + (i % 4) + 16 * (i / 8);
      v |= (uint32_t)(uint8_t)A[row * 32 + col] << (8 * byte);
    }
    a[r] = v;
  }
  for (int r = 0; r < 2; r++) {
    uint32_t v = 0;
    for (int byte = 0; byte < 4; byte++) {
      int i = 4 * r + byte;
      int k = 4 * q + (i % 4) + 16 * (i / 4);
      v |= (uint32_t)(uint8_t)Bt[g * 32 + k] << (8 * byte);
    }
    b[r] = v;
  }
  int32_t c[4] = {0, 0, 0, 0}, d[4];
  mma_s8_16832(d, a, b, c);
  for (int i = 0; i < 4; i++) {
    D[(g + 8 * (i / 2)) * 8 + 2 * q + (i % 2)] = d[i];
    lanes[lane * 4 + i] = d[i];
  }
}

// kat_shfl: out[lane] = value of lane (lane+3)%32 via shfl idx, and of lane^5 via shfl xor.
KERNEL void kat_shfl(int32_t* out) {
  int lane = LANE_ID;
  out[lane] = (int32_t)shfl_idx((uint32_t)(lane * 10), (lane + 3) % 32);
  out[32 + lane] = (int32_t)shfl_xor((uint32_t)(lane * 10), 5);
}

// kat_ldsm: one warp. src (512 bytes) is copied to shared memory as 32
// rows of 16 bytes; lane l gives row (7l + 3) % 32 as its ldmatrix address
// (lanes that .x1 or .x2 ignore give a bad one, which must not matter).
// out[7l .. 7l+6] receive the lane's .x1, .x2 and .x4 registers. With bad
// = 1, lane 5 gives a misaligned address, which must fail; with bad = 2,
// every matrix is rows 0, 64, …, 448 (a 4-way bank conflict).
KERNEL void kat_ldsm(const uint32_t* src, uint32_t* out, long long bad) {
  DYNAMIC_SMEM(smem);
  int lane = LANE_ID;
  uint32_t* s = (uint32_t*)smem;
  for (int i = lane; i < 128; i += 32) s[i] = src[i];
  SYNC_THREADS();
  const unsigned char* row = smem + 16 * ((7 * lane + 3) % 32);
  if (bad == 1 && lane == 5) row += 8;
  if (bad == 2) row = smem + 64 * (lane % 8);
  uint32_t r1[1], r2[2], r4[4];
  ldmatrix_x1(r1, lane < 8 ? row : smem + 1);
  ldmatrix_x2(r2, lane < 16 ? row : smem + 1);
  ldmatrix_x4(r4, row);
  out[7 * lane] = r1[0];
  for (int i = 0; i < 2; i++) out[7 * lane + 1 + i] = r2[i];
  for (int i = 0; i < 4; i++) out[7 * lane + 3 + i] = r4[i];
}

// missing_wait copies 16 bytes into shared memory with cp.async and reads
// them back without waiting: the emulator must hand back poison, not data.
KERNEL void missing_wait(const int8_t* src, int8_t* dst, long long wait) {
  DYNAMIC_SMEM(smem);
  if (TID_X == 0) cp_async16(smem, src, 16);
  cp_async_commit();
  if (wait) CP_ASYNC_WAIT(0);
  SYNC_THREADS();
  if (TID_X < 16) dst[TID_X] = (int8_t)smem[TID_X];
}

// divergent_barrier: half the block returns before the barrier.
KERNEL void divergent_barrier() {
  if (TID_X % 2 == 0) return;
  SYNC_THREADS();
}

// divergent_shfl: one lane of the warp skips the shuffle.
KERNEL void divergent_shfl(int32_t* out) {
  if (LANE_ID == 31) return;
  out[LANE_ID] = (int32_t)shfl_xor(1, 1);
}

// smem_overrun writes one byte past the end of dynamic shared memory.
KERNEL void smem_overrun(long long size) {
  DYNAMIC_SMEM(smem);
  if (TID_X == 0) smem[size] = 1;
  SYNC_THREADS();
}

// gmem_overrun writes p[n].
KERNEL void gmem_overrun(int8_t* p, long long n) {
  if (TID_X == 0) p[n] = 1;
}

// local_overrun sums into a local accumulator with a loop bound that n = 5
// makes one too many: acc[4] is past the array. Results do not show it (the
// stray write lands in the thread's stack); the sanitizer build does.
KERNEL void local_overrun(int32_t* out, long long n) {
  int32_t acc[4];
  for (int i = 0; i < 4; i++) acc[i] = 0;
  for (long long i = 0; i < n; i++) acc[i] += (int32_t)(i + 1);
  if (TID_X == 0) out[0] = acc[0] + acc[1] + acc[2] + acc[3];
}
