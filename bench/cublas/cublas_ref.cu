// cublas_ref: the int8 GEMM reference the auditors' bench compares our
// kernel against on the same GPU. It times cublasLtMatmul (int8 × int8 →
// int32, "TN" layout, a 64 MiB workspace so cuBLASLt may pick its fast
// kernels, the best of the heuristic's algorithms) at the sizes given on the
// command line and prints one JSON object per size:
//   {"n":4096,"ms":0.123,"tops":1117.2,"algo":0}
// Build on the GPU machine: make cublas-ref (nvcc -O2 -lcublasLt).
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK_CUDA(x)                                                             \
  do {                                                                            \
    cudaError_t e = (x);                                                          \
    if (e != cudaSuccess) {                                                       \
      fprintf(stderr, "cublas_ref: %s: %s\n", #x, cudaGetErrorString(e));         \
      exit(1);                                                                    \
    }                                                                             \
  } while (0)
#define CHECK_LT(x)                                                               \
  do {                                                                            \
    cublasStatus_t s = (x);                                                       \
    if (s != CUBLAS_STATUS_SUCCESS) {                                             \
      fprintf(stderr, "cublas_ref: %s: status %d\n", #x, (int)s);                 \
      exit(1);                                                                    \
    }                                                                             \
  } while (0)

static double time_gemm(cublasLtHandle_t lt, int n, int reps, int* algo_used) {
  size_t bytes8 = (size_t)n * n, bytes32 = 4 * (size_t)n * n;
  int8_t *a, *b;
  int32_t* c;
  void* ws;
  const size_t ws_size = 64 << 20;
  CHECK_CUDA(cudaMalloc(&a, bytes8));
  CHECK_CUDA(cudaMalloc(&b, bytes8));
  CHECK_CUDA(cudaMalloc(&c, bytes32));
  CHECK_CUDA(cudaMalloc(&ws, ws_size));
  CHECK_CUDA(cudaMemset(a, 1, bytes8));
  CHECK_CUDA(cudaMemset(b, 2, bytes8));

  cublasLtMatmulDesc_t op;
  CHECK_LT(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32I, CUDA_R_32I));
  cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
  CHECK_LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t));
  CHECK_LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof nn));
  cublasLtMatrixLayout_t la, lb, lc;
  CHECK_LT(cublasLtMatrixLayoutCreate(&la, CUDA_R_8I, n, n, n));  // k×m, used transposed
  CHECK_LT(cublasLtMatrixLayoutCreate(&lb, CUDA_R_8I, n, n, n));  // k×n
  CHECK_LT(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32I, n, n, n)); // m×n
  cublasLtMatmulPreference_t pref;
  CHECK_LT(cublasLtMatmulPreferenceCreate(&pref));
  CHECK_LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_size, sizeof ws_size));
  cublasLtMatmulHeuristicResult_t heur[8];
  int found = 0;
  CHECK_LT(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 8, heur, &found));
  if (found == 0) {
    fprintf(stderr, "cublas_ref: no int8 algorithm for n=%d\n", n);
    exit(1);
  }
  int32_t alpha = 1, beta = 0;
  cudaEvent_t e0, e1;
  CHECK_CUDA(cudaEventCreate(&e0));
  CHECK_CUDA(cudaEventCreate(&e1));
  double best = 1e30;
  for (int h = 0; h < found; h++) {
    if (heur[h].state != CUBLAS_STATUS_SUCCESS) continue;
    // warm-up
    if (cublasLtMatmul(lt, op, &alpha, a, la, b, lb, &beta, c, lc, c, lc, &heur[h].algo, ws, ws_size, 0) !=
        CUBLAS_STATUS_SUCCESS)
      continue;
    CHECK_CUDA(cudaEventRecord(e0));
    for (int r = 0; r < reps; r++)
      CHECK_LT(cublasLtMatmul(lt, op, &alpha, a, la, b, lb, &beta, c, lc, c, lc, &heur[h].algo, ws, ws_size, 0));
    CHECK_CUDA(cudaEventRecord(e1));
    CHECK_CUDA(cudaEventSynchronize(e1));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, e0, e1));
    if (ms / reps < best) {
      best = ms / reps;
      *algo_used = h;
    }
  }
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatmulDescDestroy(op);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  cudaFree(ws);
  return best;
}

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; i++) sizes.push_back(atoi(argv[i]));
  if (sizes.empty()) sizes = {1024, 2048, 4096, 8192, 16384};
  cublasLtHandle_t lt;
  CHECK_LT(cublasLtCreate(&lt));
  for (int n : sizes) {
    int algo = -1;
    double ms = time_gemm(lt, n, n <= 4096 ? 20 : 5, &algo);
    printf("{\"n\":%d,\"ms\":%.4f,\"tops\":%.1f,\"algo\":%d}\n", n, ms, 2.0 * n * n * (double)n / (ms * 1e-3) / 1e12, algo);
    fflush(stdout);
  }
  cublasLtDestroy(lt);
  return 0;
}
