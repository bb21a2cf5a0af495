// The translation unit nvcc builds into the fatbin: every kernel of trainproof.
#include "gemm_s8.cu"
#include "rows.cu"
#include "gemm_sm90.cu"  // includes hash_rows.cu, whose BLAKE3 its epilogue shares
