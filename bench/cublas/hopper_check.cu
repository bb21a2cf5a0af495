// hopper-check: the device check for kernels/gemm_sm90.cu (issue 16), for a
// machine with an H100/H200 and CUDA >= 12.0. Not part of the build.
//
//   nvcc -O2 -std=c++17 -arch=sm_90a -I kernels -o hopper-check bench/cublas/hopper_check.cu -lcuda
//   ./hopper-check            # n = 1024 2048 4096 8192 16384
//
// For each n: A n×n, Bt n×n int8 (K contiguous, the packed layout the
// backend hands both GEMM kernels), C int32. Runs gemm_s8_tc (the sm_80
// kernel) and gemm_s8_sm90 (persistent, one CTA an SM), checks that they
// agree on every element, spot-checks 256 elements against a CPU dot
// product, times 10 runs of each with events after 3 warm-ups, and prints
// TOPS (2n³ / time). Then gemm_s8_sm90_cv (C and its rows' chunk chaining
// values) against gemm_s8_sm90, for the fused commitment's cost; its C is
// compared too. (The chaining values are checked against the CPU by the
// emulated tests; here only their cost is measured.)
#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "all.cu"

#define CK(x)                                                                                  \
  do {                                                                                         \
    cudaError_t e = (x);                                                                       \
    if (e != cudaSuccess) {                                                                    \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e));       \
      exit(1);                                                                                 \
    }                                                                                          \
  } while (0)

// encode builds the CUtensorMap a kernel expects: uint8, dims {kp, rows},
// row stride kp, box {bk, box_rows}, bk-byte swizzle (128 for gemm_s8_sm90,
// 64 for gemm_s8_sm90_cv), zero fill outside.
static CUtensorMap encode(const void* base, unsigned long long rows, unsigned long long kp, unsigned bk,
                          unsigned box_rows) {
  CUtensorMap m;
  cuuint64_t dims[2] = {kp, rows};
  cuuint64_t strides[1] = {kp};
  cuuint32_t box[2] = {bk, box_rows};
  cuuint32_t elem[2] = {1, 1};
  CUresult r = cuTensorMapEncodeTiled(&m, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void*>(base), dims, strides, box,
                                      elem, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                      bk == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B,
                                      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    fprintf(stderr, "cuTensorMapEncodeTiled: %d\n", (int)r);
    exit(1);
  }
  return m;
}

int main(int argc, char** argv) {
  std::vector<long long> sizes = {1024, 2048, 4096, 8192, 16384};
  if (argc > 1) {
    sizes.clear();
    for (int i = 1; i < argc; i++) sizes.push_back(atoll(argv[i]));
  }
  int sms = 0;
  CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  printf("device %s, %d SMs, sm_%d%d\n", prop.name, sms, prop.major, prop.minor);
  CK(cudaFuncSetAttribute(gemm_s8_sm90, cudaFuncAttributeMaxDynamicSharedMemorySize, SM90_SMEM));
  CK(cudaFuncSetAttribute(gemm_s8_sm90_cv, cudaFuncAttributeMaxDynamicSharedMemorySize, SM90_SMEM_CV));
  for (long long n : sizes) {
    long long kp = n;  // a multiple of 32
    size_t ab = (size_t)n * kp, cb = (size_t)n * n * 4;
    std::vector<int8_t> hA(ab), hB(ab);
    unsigned long long x = 88172645463325252ull;
    for (size_t i = 0; i < ab; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      hA[i] = (int8_t)x;
      hB[i] = (int8_t)(x >> 8);
    }
    int8_t *dA, *dB;
    int32_t *dC1, *dC2;
    uint32_t* dCV;
    void* dMaps;
    long long cpr = (n + 255) / 256;
    CK(cudaMalloc(&dA, ab));
    CK(cudaMalloc(&dB, ab));
    CK(cudaMalloc(&dC1, cb));
    CK(cudaMalloc(&dC2, cb));
    CK(cudaMalloc(&dCV, (size_t)n * cpr * 32));
    CK(cudaMalloc(&dMaps, 512));
    CK(cudaMemcpy(dA, hA.data(), ab, cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dB, hB.data(), ab, cudaMemcpyHostToDevice));
    CUtensorMap maps[4] = {encode(dA, n, kp, SM90_BK, SM90_BM), encode(dB, n, kp, SM90_BK, SM90_BN),
                           encode(dA, n, kp, SM90_BK_CV, SM90_BM), encode(dB, n, kp, SM90_BK_CV, SM90_BN)};
    CK(cudaMemcpy(dMaps, maps, sizeof maps, cudaMemcpyHostToDevice));
    const void* mA = dMaps;
    const void* mB = (const char*)dMaps + 128;
    const void* mAcv = (const char*)dMaps + 256;
    const void* mBcv = (const char*)dMaps + 384;
    long long tiles = ((n + SM90_BM - 1) / SM90_BM) * ((n + SM90_BN - 1) / SM90_BN);
    int grid90 = (int)(tiles < sms ? tiles : sms);
    dim3 g80((unsigned)((n + 63) / 64), (unsigned)((n + 63) / 64));
    auto run80 = [&] { gemm_s8_tc<<<g80, 128, 2 * (64 + 64) * 48>>>(dA, dB, dC1, n, n, kp, n); };
    auto run90 = [&] { gemm_s8_sm90<<<grid90, SM90_THREADS, SM90_SMEM>>>(mA, mB, dC2, n, n, kp, n); };
    auto run90cv = [&] {
      gemm_s8_sm90_cv<<<grid90, SM90_THREADS, SM90_SMEM_CV>>>(mAcv, mBcv, dC2, n, n, kp, n, 1, 2, 3, 4, dCV);
    };
    auto time = [&](auto f) {
      cudaEvent_t a, b;
      CK(cudaEventCreate(&a));
      CK(cudaEventCreate(&b));
      for (int i = 0; i < 3; i++) f();
      CK(cudaEventRecord(a));
      for (int i = 0; i < 10; i++) f();
      CK(cudaEventRecord(b));
      CK(cudaEventSynchronize(b));
      CK(cudaGetLastError());
      float ms;
      CK(cudaEventElapsedTime(&ms, a, b));
      return ms / 10;
    };
    float t80 = time(run80), t90 = time(run90);
    std::vector<int32_t> c1((size_t)n * n), c2((size_t)n * n);
    CK(cudaMemcpy(c1.data(), dC1, cb, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(c2.data(), dC2, cb, cudaMemcpyDeviceToHost));
    long long diff = 0;
    for (size_t i = 0; i < c1.size(); i++) diff += c1[i] != c2[i];
    int bad = 0;
    for (int s = 0; s < 256; s++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      long long r = (long long)(x % (unsigned long long)n), c = (long long)((x >> 32) % (unsigned long long)n);
      int32_t want = 0;
      for (long long k = 0; k < kp; k++) want += (int32_t)hA[r * kp + k] * (int32_t)hB[c * kp + k];
      bad += want != c2[r * n + c];
    }
    float tcv = time(run90cv);
    std::vector<int32_t> c3((size_t)n * n);
    CK(cudaMemcpy(c3.data(), dC2, cb, cudaMemcpyDeviceToHost));
    long long diffcv = 0;
    for (size_t i = 0; i < c1.size(); i++) diffcv += c1[i] != c3[i];
    double ops = 2.0 * n * n * (double)n;
    printf("n=%lld  gemm_s8_tc %.3f ms %.0f TOPS | gemm_s8_sm90 %.3f ms %.0f TOPS (grid %d) | gemm_s8_sm90_cv %.3f ms "
           "(+%.0f%%) | mismatches vs sm80 %lld (cv's C %lld), vs CPU %d/256\n",
           n, t80, ops / t80 / 1e9, t90, ops / t90 / 1e9, grid90, tcv, 100.0 * (tcv - t90) / t90, diff, diffcv, bad);
    cudaFree(dA), cudaFree(dB), cudaFree(dC1), cudaFree(dC2), cudaFree(dCV), cudaFree(dMaps);
  }
  return 0;
}
