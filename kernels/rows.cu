// The element-wise functions of a training step on the device, bit for bit
// the functions of package model (model/rows.go; the same names without
// "_rows"). One thread per row for the row-normalised ones (a row's shift
// depends on the whole row), one thread per element for the others.
#include "simt.h"

// round_shift divides x by 2^s rounding half away from zero; s ≤ 0
// multiplies by 2^−s (model.roundShift).
DEVICE long long round_shift(long long x, int s) {
  if (s <= 0) return x * (1ll << (-s));
  long long sign = x < 0 ? -1 : 1;
  long long ax = x < 0 ? -x : x;
  return sign * ((ax + (1ll << (s - 1))) >> s);
}

DEVICE long long clampll(long long x, long long lo, long long hi) { return x < lo ? lo : (x > hi ? hi : x); }

// act_shift is model.ActShift: the smallest s ≥ −7 with round_shift(max(0, max z), s) ≤ 127.
DEVICE int act_shift(const int32_t* z, long long cols) {
  long long mx = 0;
  for (long long j = 0; j < cols; j++)
    if (z[j] > mx) mx = z[j];
  int s = -7;
  while (round_shift(mx, s) > 127) s++;
  return s;
}

// view_rows: out = clamp(round_shift(m, ws), ±127) for n elements.
KERNEL void view_rows(const int32_t* m, long long n, long long ws, int8_t* out) {
  for (long long i = (long long)BID_X * BDIM_X + TID_X; i < n; i += (long long)GDIM_X * BDIM_X)
    out[i] = (int8_t)clampll(round_shift(m[i], (int)ws), -127, 127);
}

// act_rows: ReLU and per-row normalisation (model.ActRow).
KERNEL void act_rows(const int32_t* z, long long rows, long long cols, int8_t* out) {
  long long r = (long long)BID_X * BDIM_X + TID_X;
  if (r >= rows) return;
  const int32_t* zr = z + r * cols;
  int s = act_shift(zr, cols);
  for (long long j = 0; j < cols; j++) out[r * cols + j] = (int8_t)round_shift(zr[j] > 0 ? zr[j] : 0, s);
}

// loss_grad_rows: round(127·softmax) − 127·onehot with the 2^x table (model.LossGradRow). cols ≤ 256.
KERNEL void loss_grad_rows(const int32_t* z, long long rows, long long cols, const uint8_t* labels,
                           long long logit_shift, int8_t* out) {
  const long long table[16] = {65536, 62757, 60097, 57549, 55109, 52773, 50535, 48393,
                               46341, 44376, 42495, 40693, 38968, 37316, 35734, 34219};
  long long r = (long long)BID_X * BDIM_X + TID_X;
  if (r >= rows) return;
  const int32_t* zr = z + r * cols;
  long long mx = -(1ll << 62);
  for (long long j = 0; j < cols; j++) {
    long long u = (long long)zr[j] >> logit_shift;
    if (u > mx) mx = u;
  }
  long long sum = 0;
  for (long long j = 0; j < cols; j++) {
    long long d = mx - ((long long)zr[j] >> logit_shift);
    if (d < 256) sum += table[d & 15] >> (d >> 4);
  }
  for (long long j = 0; j < cols; j++) {
    long long d = mx - ((long long)zr[j] >> logit_shift);
    long long e = d < 256 ? table[d & 15] >> (d >> 4) : 0;
    long long g = (254 * e + sum) / (2 * sum);
    if (j == labels[r]) g -= 127;
    out[r * cols + j] = (int8_t)g;
  }
}

// back_act_rows: the gradient through act_rows (model.BackActRow), with
// shift = act_shift(z) + grad_shift − RefActShift.
KERNEL void back_act_rows(const int32_t* d, const int32_t* z, long long rows, long long cols, long long grad_minus_ref,
                          int8_t* out) {
  long long r = (long long)BID_X * BDIM_X + TID_X;
  if (r >= rows) return;
  const int32_t* zr = z + r * cols;
  int s = act_shift(zr, cols) + (int)grad_minus_ref;
  for (long long j = 0; j < cols; j++)
    out[r * cols + j] = zr[j] > 0 ? (int8_t)clampll(round_shift(d[r * cols + j], s), -127, 127) : 0;
}

// update_one is model.UpdateRow for one element.
DEVICE int32_t update_one(int32_t m, int32_t dw, long long lr_shift, long long decay_shift, long long lim) {
  long long x = (long long)m - round_shift(dw, (int)lr_shift);
  if (decay_shift > 0) x -= round_shift(m, (int)decay_shift);
  return (int32_t)clampll(x, -lim, lim);
}

// gemm_s8_tc_update is gemm_s8_tc for a weight gradient DW = A · Btᵀ
// (M×N, row stride N) with the SGD update fused into its epilogue: besides
// DW it writes m_out = update_one(m_in, DW) for the same elements (m_in and
// m_out M×N), so the update reads no DW back from memory and needs no
// launch of its own. Launch as gemm_s8_tc.
KERNEL LAUNCH_BOUNDS(GEMM_THREADS, 2) void gemm_s8_tc_update(const int8_t* A, const int8_t* Bt, int32_t* C,
                                                             long long M, long long N, long long Kp,
                                                             const int32_t* m_in, long long lr_shift,
                                                             long long decay_shift, long long lim, int32_t* m_out) {
  DYNAMIC_SMEM(smem);
  long long bm, bn;
  gemm_block(&bm, &bn);
  gemm_acc_t acc;
  gemm_tile(smem, A, Bt, M, N, Kp, bm, bn, acc);
  gemm_epilogue(bm, bn, M, N, acc, [&](long long row, long long col, int32_t v) {
    long long at = row * N + col;
    C[at] = v;
    m_out[at] = update_one(m_in[at], v, lr_shift, decay_shift, lim);
  });
}

// gather_rows copies rows idx[0], …, idx[n−1] of a matrix (row_bytes bytes
// each, row-major) one after another into dst: a bundle's opened rows of one
// matrix, gathered on the device so that they come back in the step's one
// read-back instead of a copy each. One thread a byte, grid-stride.
KERNEL void gather_rows(const unsigned char* src, long long row_bytes, const long long* idx, long long n,
                        unsigned char* dst) {
  long long total = n * row_bytes;
  for (long long i = (long long)BID_X * BDIM_X + TID_X; i < total; i += (long long)GDIM_X * BDIM_X) {
    long long k = i / row_bytes;
    dst[i] = src[idx[k] * row_bytes + (i - k * row_bytes)];
  }
}
